/* Who may have chosen a file this process reads.  In a process running as
 * root -- or set-user-ID -- the environment, $HOME and the working
 * directory may belong to a less privileged user (a set-user-ID program
 * that became root fully and runs a child with its caller's environment),
 * so files are trusted only as sudo trusts its own: owned by root and
 * changeable by nobody else along the whole path. */
#ifndef SMTPSHIM_TRUSTED_FILE_H
#define SMTPSHIM_TRUSTED_FILE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/stat.h>

/* True when the real, effective or saved uid is 0, or the loader set
 * AT_SECURE (a set-user-ID or set-group-ID program, file capabilities). */
int trusted_process_privileged(void);

/* The owner rule alone, for a file already looked at: owned by the
 * process's user or root.  0, or -1 with a message naming what and path. */
int trusted_file_owner_check(const char *what, const char *path, const struct stat *st,
			     char *err, size_t errlen);

/* Opens path read-only if this process may trust it: a regular file
 * owned by the process's user or root that group and others cannot
 * write.  In a privileged process also every directory on the way
 * (symbolic links resolved): owned by root or the process's user, not
 * writable by group or others unless it is a root-owned sticky directory
 * such as /tmp.  Returns the descriptor (close-on-exec), or -1 with a
 * message that starts with what and the path and says why. */
int trusted_file_open(const char *what, const char *path, char *err, size_t errlen);

/* trusted_file_open, then the whole file (up to len - 1 bytes) into buf,
 * NUL-terminated, with plain system calls (no stdio: the shim reads in
 * the host).  Returns the bytes read (len - 1: maybe more were there), or
 * -1 with the message in err. */
ssize_t trusted_file_read(const char *what, const char *path, char *buf, size_t len, char *err,
			  size_t errlen);

#endif
