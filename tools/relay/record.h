/* The log line of one session (issue 9): what the relay did -- who
 * connected where, the server it reached, TLS and certificate, AUTH,
 * messages and bytes, time, outcome and, for a failure, the 421 the
 * program read -- gathered as the session goes and written once at its
 * end (log_target.h).  key=value words; a value from the network or the
 * program is quoted, escaped and cut, so it can never break the line.
 * No secret is ever handed to it: AUTH is its mechanism and user name. */
#ifndef SMTPSHIM_RECORD_H
#define SMTPSHIM_RECORD_H

#include "filter.h"
#include "outcome.h"
#include "pump.h"
#include "session.h"
#include "setup.h"

#define RECORD_LINE_MAX 4096

struct record {
	long long start_ms, end_ms; /* end: the app served (before the gentle close) */
	const struct session *s;
	char upstream[300];      /* "host:port" that won, or the host tried */
	char tls[128];           /* "TLSv1.3/TLS_AES_256_GCM_SHA384" */
	char cert[256];          /* the certificate's subject */
	const char *verify;      /* "ok", "failed", or NULL: not that far */
	char auth[80];           /* "PLAIN", "program:LOGIN", or "" */
	unsigned messages;
	unsigned long long bytes_out, bytes_in; /* from the program, to it */
	enum outcome outcome;
	char reply[REFUSAL_MAX]; /* the 421, without its CRLF */
};

void record_start(struct record *r, const struct session *s);

/* The set-up's result: the server, TLS, the certificate, our AUTH. */
void record_setup(struct record *r, const struct setup *st);

/* The relayed session's: messages, bytes, a 421 it ended with. */
void record_session(struct record *r, const struct filter *f, const struct pump_result *p);

/* The 421 (reply, n bytes with its CRLF) the session ended with, and its
 * kind; the first one counts. */
void record_refusal(struct record *r, enum outcome kind, const char *reply, size_t n);

/* The line, without a newline; returns its length. */
size_t record_format(const struct record *r, char *buf, size_t len);

/* Formats the line and writes it where the session's "log" says. */
void record_write(const struct record *r);

#endif
