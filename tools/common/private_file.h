/* A file holding a secret must be the user's alone: the relay refuses to
 * read a password file that another user (root aside) owns or that group
 * or others could read or change, and the wrapper says so before the
 * program starts. */
#ifndef SMTPSHIM_PRIVATE_FILE_H
#define SMTPSHIM_PRIVATE_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* st: the file's status (fstat of the opened file), or NULL to stat path.
 * Returns 0, or -1 with a message that says how to fix it. */
int private_file_check(const char *path, const struct stat *st, char *err, size_t errlen);

/* A leading "~/" is $HOME; anything else is copied as it is.  -1 if it
 * does not fit. */
int private_file_path(const char *path, char *out, size_t len);

#endif
