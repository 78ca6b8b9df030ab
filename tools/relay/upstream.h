/* Reaching the server: which addresses, which ports and modes in which
 * order, and the verified TLS session at the end. */
#ifndef SMTPSHIM_UPSTREAM_H
#define SMTPSHIM_UPSTREAM_H

#include <openssl/ssl.h>

#include "outcome.h"
#include "session.h"

struct upstream {
	int fd;
	SSL *ssl;
	int starttls;          /* the app must get a greeting from us */
	char identity[256];    /* name or address the certificate was checked for */
	char where[300];       /* "identity:port" */
};

/* Tries the attempts the settings call for.  Returns 0 with a verified
 * session, or -1 with a message for the app's 421 in err, its enhanced
 * status code in *status ("4.4.1", "4.7.0") and its kind in *kind. */
int upstream_open(const struct session *s, SSL_CTX *ctx, struct upstream *u, char *err,
		  size_t errlen, const char **status, enum outcome *kind);

#endif
