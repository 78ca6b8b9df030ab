/* The relay's set-up of one session, as one explicit state machine (after
 * OpenSMTPD's mta_session.c), with a trace line on each transition (-v):
 *
 *   CONTEXT -> UPSTREAM -> GREETING -> READY                 (no credentials)
 *                                   \-> EHLO -> AUTH -> READY (credentials)
 *   any state but READY -> FAILED
 *
 *   CONTEXT   the TLS context: built ahead by a relay server, or here.
 *   UPSTREAM  connect, implicit TLS or STARTTLS, the verified handshake
 *             (upstream.c, attempt.c).
 *   GREETING  the server's greeting, consumed whatever the mode: with
 *             STARTTLS it came in plaintext, before TLS, to the attempt
 *             that won (nothing is read here: after STARTTLS the server
 *             says nothing first); with implicit TLS it is read here,
 *             inside TLS.
 *   EHLO      our own, over TLS, when credentials are set (auth.c).
 *   AUTH      with the configured credentials; a server that offers no
 *             AUTH gets none, and the session goes on as it is.
 *   READY     the session goes to the pump; greeting is what the app is
 *             greeted with: the server's own (implicit TLS, no
 *             credentials), else ours.
 *   FAILED    status and err are the app's 421.
 *
 * Each wait is bounded by --timeout: UPSTREAM's per attempt, the greeting,
 * EHLO and AUTH together. */
#ifndef SMTPSHIM_SETUP_H
#define SMTPSHIM_SETUP_H

#include <openssl/ssl.h>

#include "outcome.h"
#include "smtp_reply.h"
#include "server.h"
#include "session.h"
#include "upstream.h"

enum setup_state {
	SETUP_CONTEXT,
	SETUP_UPSTREAM,
	SETUP_GREETING,
	SETUP_EHLO,
	SETUP_AUTH,
	SETUP_READY,
	SETUP_FAILED,
};

struct setup {
	enum setup_state state;
	SSL_CTX *ctx;             /* held until this one-session process exits */
	struct upstream u;        /* READY: the verified session */
	int local;                /* credentials: our EHLO and AUTH; the app's
				   * are answered locally (filter.c) */
	int authenticated;
	long long deadline;       /* of the greeting, EHLO and AUTH */
	const char *auth_mech;    /* authenticated: the mechanism used */
	const char *status;       /* FAILED: the 421's enhanced status code */
	enum outcome outcome;     /* FAILED: its kind, for the log line */
	char greeting[SMTP_REPLY_MAX + 1]; /* READY: the app's greeting */
	char err[1000];           /* FAILED: its cause, in words */
	struct smtp_reply ehlo;   /* the server's reply to our EHLO (credentials only) */
};

/* Runs the set-up from CONTEXT to READY or FAILED (then setup_close).  ready is a TLS context
 * built ahead (a relay server's), used if it trusts what the session asks
 * for; NULL: build one. */
void setup_run(struct setup *st, const struct session *s, const struct ready_context *ready);

/* Lets go of the server's session (after the pump, or on FAILED). */
void setup_close(struct setup *st);

#endif
