/* Moves bytes between the app's socket and the TLS session to the server,
 * through the filter, until both are done. */
#ifndef SMTPSHIM_PUMP_H
#define SMTPSHIM_PUMP_H

#include <openssl/ssl.h>

#include "filter.h"
#include "outcome.h"
#include "refusal.h"

struct pump_ends {
	int app;            /* the app's connection (loopback) */
	SSL *ssl;           /* the verified TLS session upstream */
	int server;         /* its socket */
	const char *where;  /* "mail.example.com:465", for messages */
	unsigned timeout;   /* seconds to wait for a server that should answer */
	const char *greeting; /* sent to the app first, or NULL */
};

/* What the session did, for its log line (messages: the filter's). */
struct pump_result {
	unsigned long long from_app, to_app; /* bytes read from the app, written to it */
	enum outcome outcome;                /* what ended it with a 421, or OUTCOME_NONE */
	char reply[REFUSAL_MAX];             /* that 421 */
};

/* Returns when the session is over; closes nothing. */
void pump_run(const struct pump_ends *e, struct filter *f, struct pump_result *r);

#endif
