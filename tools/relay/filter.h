/* The SMTP-aware middle of the relay, without any I/O: app bytes in,
 * server bytes in, bytes out to each side.  It enforces what DESIGN.md asks
 * of the session after TLS is up:
 *  - STARTTLS never appears in the capabilities the app sees, and an app
 *    STARTTLS is answered locally: there is no second TLS negotiation;
 *  - CHUNKING (and BINARYMIME, which needs it) are hidden, so every message
 *    goes through DATA, whose end this filter can follow;
 *  - message content is forwarded untouched, commands line by line;
 *  - what the server could read differently from us ends the session: a
 *    line "." next to a bare LF or a bare CR in message content (SMTP
 *    smuggling), an app BDAT (CHUNKING is never offered, so its chunk
 *    would be read as commands here).
 * Replies are matched to commands in order (pipelining included), which is
 * what lets a local reply take its proper place among server replies. */
#ifndef SMTPSHIM_FILTER_H
#define SMTPSHIM_FILTER_H

#include <stddef.h>

#include "outcome.h"
#include "smtp_reply.h"
#include "buf.h"

#define FILTER_LINE_MAX 16384 /* long enough for an XOAUTH2 AUTH line */
#define FILTER_PENDING_MAX 128
#define FILTER_LOCAL_EHLO_MAX 2048

enum pending_kind {
	PEND_REPLY,
	PEND_EHLO,
	PEND_DATA,
	PEND_LOCAL, /* a reply of ours, in its place among the server's */
	PEND_SUBST, /* the server's reply to a RSET sent for the app's EHLO or
		     * HELO: a 2xx is replaced by our local answer */
	PEND_AUTH,  /* the reply to an AUTH or to a SASL response: a 334
		     * while the exchange lasts makes the app's next line a
		     * SASL response; anything else ends the exchange */
	PEND_DOT,   /* the reply to a message's final dot: a 2xx is a message
		     * delivered */
};

struct pending {
	enum pending_kind kind;
	const char *local; /* PEND_LOCAL, PEND_SUBST: the reply to send */
};

enum app_state { APP_COMMAND, APP_WAIT_DATA_REPLY, APP_DATA };

struct filter {
	/* What every session writes first and together; the large buffers
	 * last, so that a session of short lines writes the first page of
	 * each only. */
	enum app_state app;
	size_t line_len;
	int line_too_long;   /* discarding up to the end of an oversized line */
	int data_state;      /* progress through CRLF "." CRLF */
	int sasl_next;       /* the app's next line is a SASL response (secret) */
	size_t auth_replies; /* PEND_AUTH entries in the queue */
	int auth_exchange;   /* the server is inside an AUTH exchange, as far as
			      * its replies (to the AUTH, then 334s) have told */
	size_t quiet_bytes;  /* app bytes that waited while AUTH replies were
			      * outstanding: the lines they hold are never logged */
	int line_quiet;      /* the line in f->line is one of those */
	int app_failed;      /* the app broke the rules: f->error says how */
	size_t q_head, q_len;
	enum outcome app_failure; /* the app broke the rules: the kind */
	/* For the log line: messages the server accepted, and the app's own
	 * AUTH mechanism once the server accepted it (235). */
	unsigned messages;
	char app_auth[16];
	int app_authenticated;
	/* The relay authenticated itself (filter_local_session): the app's
	 * EHLO, HELO and AUTH are answered here, never reach the server. */
	int local_session;
	const char *auth_seq[3]; /* local AUTH: replies after each response */
	int auth_left;           /* SASL responses still expected */
	const char *envelope_from; /* MAIL FROM rewrite, or NULL */
	struct pending queue[FILTER_PENDING_MAX];
	char error[200];     /* why the session must end (either side) */
	struct reply_parser parser;
	char line[FILTER_LINE_MAX];
	char ehlo_reply[FILTER_LOCAL_EHLO_MAX];
	char helo_reply[320];
};

/* expect_greeting: the server's own greeting is still to come (implicit
 * TLS); otherwise the relay has already greeted the app. */
void filter_init(struct filter *f, int expect_greeting);

/* The relay has spoken EHLO (and authenticated) itself: from now on the
 * app's EHLO and HELO are answered from ehlo's capabilities, without AUTH,
 * STARTTLS, CHUNKING and BINARYMIME (the server gets a RSET in their
 * place, which keeps EHLO's reset semantics), and an app AUTH is answered
 * locally, with the exchange its mechanism expects, ending in 235. */
void filter_local_session(struct filter *f, const struct smtp_reply *ehlo);

/* Every MAIL FROM of the app names address instead (its parameters stay).
 * address must outlive the filter. */
void filter_set_envelope_from(struct filter *f, const char *address);

/* Sends local replies that are due and fit; the pump calls it each round. */
void filter_flush(struct filter *f, struct buf *to_app);

/* Consumes app bytes while there is room in the outputs; returns how many.
 * Bytes left over are offered again later.  (size_t)-1 when the app sent
 * what must not reach the server (f->error says what, for a 421): what is
 * not yet sent to the server must be dropped and the session ended
 * without ending DATA, so the server discards a message in progress. */
size_t filter_from_app(struct filter *f, const char *in, size_t n, struct buf *to_server,
		       struct buf *to_app);

/* Message content (in DATA, with room for the reply to its end): how
 * many of in[0, n) pass to the server as they are, which the caller sends
 * from where they lie instead of having them copied; 0 when not in
 * content (use filter_from_app); (size_t)-1 as filter_from_app. */
size_t filter_pass_content(struct filter *f, const char *in, size_t n);

/* Consumes server bytes; returns how many, or (size_t)-1 when the server
 * broke the protocol (f->error says how). */
size_t filter_from_server(struct filter *f, const char *in, size_t n, struct buf *to_app);

/* True while commands await replies: closing then would lose one. */
int filter_busy(const struct filter *f);

#endif
