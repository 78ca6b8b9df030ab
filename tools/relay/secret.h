/* The password or token for AUTH injection, fetched only when a server
 * asks for AUTH: the first line of a private file, or the output of a
 * command (msmtp's passwordeval).  Never logged; the caller wipes it. */
#ifndef SMTPSHIM_SECRET_H
#define SMTPSHIM_SECRET_H

#include <stddef.h>

#include "shim/common/config.h"

/* Returns 0 with the secret in out (NUL-terminated), or -1 with the cause
 * in err.  A password file readable or writable by group or others is
 * refused; a command counts only if it exits with status 0 before
 * deadline (else it is killed, with what it started). */
int secret_get(const struct config *c, char *out, size_t len, long long deadline, char *err,
	       size_t errlen);

#endif
