/* How a session ended, as its log line says it (outcome=...): a success,
 * or the kind of failure behind the app's 421.  Each part of the relay
 * that can fail names the kind where it knows it (attempt.c, setup.c,
 * auth.c, pump.c, main.c); smtpshim(1), LOG LINE, explains each. */
#ifndef SMTPSHIM_OUTCOME_H
#define SMTPSHIM_OUTCOME_H

#include <errno.h>

enum outcome {
	OUTCOME_NONE,            /* no failure: delivered or no-mail, by the count */
	OUTCOME_CONNECT,         /* no port of the server could be reached */
	OUTCOME_TLS,             /* TLS could not be negotiated */
	OUTCOME_CERTIFICATE,     /* the certificate did not verify */
	OUTCOME_NO_STARTTLS,     /* STARTTLS not offered */
	OUTCOME_INJECTION,       /* bytes after a plaintext reply (STARTTLS injection) */
	OUTCOME_REFUSED,         /* the server refused the session, EHLO or STARTTLS */
	OUTCOME_TIMEOUT,         /* the server did not answer in time */
	OUTCOME_CLOSED,          /* the server closed with a reply outstanding */
	OUTCOME_PROTOCOL,        /* the server broke SMTP (not SMTP, a reply too long) */
	OUTCOME_AUTH,            /* the server rejected our AUTH, or offers none we can use */
	OUTCOME_SECRET,          /* the password file or command failed */
	OUTCOME_SMUGGLING,       /* the app's message had a "." line by a bare CR or LF */
	OUTCOME_BDAT,            /* the app sent BDAT */
	OUTCOME_CONFIG,          /* settings the relay refuses, a CA file it cannot load */
	OUTCOME_SESSION,         /* no valid session text from the shim */
};

static inline const char *outcome_name(enum outcome o)
{
	static const char *const names[] = {
		[OUTCOME_NONE] = "-",
		[OUTCOME_CONNECT] = "connect-failed",
		[OUTCOME_TLS] = "tls-failed",
		[OUTCOME_CERTIFICATE] = "certificate-not-verified",
		[OUTCOME_NO_STARTTLS] = "no-starttls",
		[OUTCOME_INJECTION] = "starttls-injection",
		[OUTCOME_REFUSED] = "server-refused",
		[OUTCOME_TIMEOUT] = "timeout",
		[OUTCOME_CLOSED] = "server-closed",
		[OUTCOME_PROTOCOL] = "protocol-error",
		[OUTCOME_AUTH] = "auth-failed",
		[OUTCOME_SECRET] = "secret-failed",
		[OUTCOME_SMUGGLING] = "smuggling-refused",
		[OUTCOME_BDAT] = "bdat-refused",
		[OUTCOME_CONFIG] = "config-error",
		[OUTCOME_SESSION] = "bad-session",
	};
	return names[o];
}

/* The kind behind a failed tls_read_reply or tls_write_all: the errno
 * they leave (tls.h). */
static inline enum outcome outcome_of_errno(int e)
{
	return e == ETIMEDOUT ? OUTCOME_TIMEOUT : e == EPROTO ? OUTCOME_PROTOCOL : OUTCOME_CLOSED;
}

#endif
