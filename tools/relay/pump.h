/* Moves bytes between the app's socket and the TLS session to the server,
 * through the filter, until both are done. */
#ifndef SMTPSHIM_PUMP_H
#define SMTPSHIM_PUMP_H

#include <openssl/ssl.h>

#include "filter.h"

struct pump_ends {
	int app;            /* the app's connection (loopback) */
	SSL *ssl;           /* the verified TLS session upstream */
	int server;         /* its socket */
	const char *where;  /* "mail.example.com:465", for messages */
	unsigned timeout;   /* seconds to wait for a server that should answer */
	const char *greeting; /* sent to the app first, or NULL */
};

/* Returns when the session is over; closes nothing. */
void pump_run(const struct pump_ends *e, struct filter *f);

#endif
