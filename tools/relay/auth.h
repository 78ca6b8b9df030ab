/* AUTH injection: over the verified TLS session the relay reads the
 * server's greeting (implicit TLS), says EHLO, and authenticates with the
 * configured credentials, so the app needs to know nothing of AUTH. */
#ifndef SMTPSHIM_AUTH_H
#define SMTPSHIM_AUTH_H

#include "../../shim/common/smtp_reply.h"
#include "session.h"
#include "upstream.h"

/* On success the server's EHLO reply is in *ehlo (for the app's EHLO,
 * answered locally), and the return is 1 when the relay authenticated, 0
 * when the server offers no AUTH (nothing done: the session goes on as
 * it is).  On failure -1, with the message for the app's 421 in err
 * (carrying the server's own reply) and its enhanced status code in
 * *status. */
int auth_inject(const struct upstream *u, const struct config *c, struct smtp_reply *ehlo,
		char *err, size_t errlen, const char **status);

#endif
