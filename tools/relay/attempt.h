/* One way of reaching the server -- one address, one port, implicit TLS
 * or STARTTLS -- as an explicit state machine (after OpenSMTPD's
 * mta_session.c), so that several can run in one poll loop: auto mode
 * starts them staggered (RFC 8305) and the first verified session wins.
 *
 *   CONNECT -> [GREETING -> EHLO -> STARTTLS ->] HANDSHAKE -> OPEN
 *
 * Every state has a deadline; any failure ends in FAILED with the cause in
 * words.  The STARTTLS part: the greeting must be 220, our own EHLO (never
 * the app's), STARTTLS required as a whole keyword, 220 to it; nothing of
 * the app's is sent in plaintext, and a byte after a reply before we
 * speak again -- after the 220 to STARTTLS above all -- is refused as a
 * possible injection attack. */
#ifndef SMTPSHIM_ATTEMPT_H
#define SMTPSHIM_ATTEMPT_H

#include <openssl/ssl.h>
#include <sys/socket.h>

#include "outcome.h"
#include "smtp_reply.h"
#include "tls.h"

enum attempt_state {
	AT_CONNECT,
	AT_GREETING,
	AT_EHLO,
	AT_STARTTLS,
	AT_HANDSHAKE,
	AT_OPEN,
	AT_FAILED,
};

struct attempt {
	enum attempt_state state;
	int starttls;
	uint16_t port;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd;
	SSL *ssl;
	const char *identity;    /* the name (or address) to verify */
	long long deadline;      /* of the current state */
	long long started_ms;
	short events;            /* what the current state waits for */
	enum tls_result tls;     /* how the handshake ended (TLS_FAIL_CERTIFICATE:
				  * no other port of this host will do) */
	int connected;           /* got past TCP: a TLS/SMTP problem, not reachability */
	char out[320];           /* a command being written */
	size_t out_len, out_off;
	struct reply_parser parser;
	char where[300];         /* "mail.example.com:587" */
	char err[700];
	enum outcome outcome;    /* FAILED: the kind, for the log line */
};

/* Starts the TCP connection (non-blocking); the attempt may already be
 * FAILED on return. */
void attempt_start(struct attempt *a, SSL_CTX *ctx, unsigned timeout);

/* Advances on poll's revents (or a passed deadline) as far as it can. */
void attempt_step(struct attempt *a, SSL_CTX *ctx, short revents, unsigned timeout);

/* Closes whatever the attempt holds (a loser, or a failure). */
void attempt_close(struct attempt *a);

#endif
