/* The client side of one SMTP session, step by step, for the bench's
 * clients: client.c (sessions one after another, timed step by step) and
 * many.c (many sessions at once on threads).  Each step checks the reply
 * it expects and returns 0, or -1 with what went wrong in s->error; none
 * exits, so one failed session of many.c does not end the others.
 *
 * Every session resolves the host (getaddrinfo, as real clients do, and the
 * shim needs to see the name) and, in the TLS modes, creates its own TLS
 * context and loads the CA file, as a relay started per connection must;
 * there is no session resumption. */
#ifndef BENCH_SMTP_H
#define BENCH_SMTP_H

#include <stddef.h>

#include "conn.h"

struct smtp {
	const char *mode;      /* plain, tls (implicit) or starttls */
	const char *host, *port, *ca_file;
	SSL_CTX *ctx;          /* made at the first handshake */
	char error[256];
	struct conn c;
};

/* 0 when mode is one of plain, tls, starttls. */
int smtp_mode_known(const char *mode);

/* Resolves host and connects (under the shim: the relay is started). */
int smtp_connect(struct smtp *s);

/* Implicit TLS's handshake, then the 220. */
int smtp_greeting(struct smtp *s);

/* EHLO; with STARTTLS, STARTTLS, the handshake and EHLO again. */
int smtp_hello(struct smtp *s);

/* MAIL, RCPT, DATA up to the 354. */
int smtp_envelope(struct smtp *s);

/* The message (terminator included) and its 250. */
int smtp_message(struct smtp *s, const char *message, size_t len);

/* QUIT's 221, then closes the session. */
int smtp_quit(struct smtp *s);

/* Closes the session after a failed step (and after smtp_quit: harmless). */
void smtp_close(struct smtp *s);

/* A message of mib MiB of 76-character lines (as base64 attachments are,
 * never starting with a dot), or ~1 KB when mib is 0, terminator
 * included; NULL when out of memory. */
char *smtp_make_message(long mib, size_t *len);

#endif
