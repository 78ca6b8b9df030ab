/* AUTH injection: over the verified TLS session, once the server has
 * greeted (setup.c), the relay says EHLO and authenticates with the
 * configured credentials, so the app needs to know nothing of AUTH. */
#ifndef SMTPSHIM_AUTH_H
#define SMTPSHIM_AUTH_H

#include "outcome.h"
#include "smtp_reply.h"
#include "session.h"
#include "upstream.h"

/* Our own EHLO: 0 with the server's reply in *ehlo (for the app's EHLO,
 * answered locally), or -1 with the message for the app's 421 in err
 * (carrying the server's own reply) and its kind in *kind.  deadline
 * bounds EHLO and AUTH. */
int auth_ehlo(const struct upstream *u, long long deadline, struct smtp_reply *ehlo, char *err,
	      size_t errlen, enum outcome *kind);

/* Returns 1 when the relay authenticated (its mechanism's name in
 * *mech), 0 when the server offers no AUTH in *ehlo (nothing done: the
 * session goes on as it is), -1 on failure, with the message for the
 * app's 421 in err, its enhanced status code in *status and its kind in
 * *kind. */
int auth_inject(const struct upstream *u, const struct config *c, const struct smtp_reply *ehlo,
		long long deadline, char *err, size_t errlen, const char **status,
		enum outcome *kind, const char **mech);

#endif
