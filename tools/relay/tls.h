/* The relay's TLS client: TLS 1.2 or newer, the system trust store or
 * --ca-file, SNI, and the name (or address) checked by OpenSSL itself. */
#ifndef SMTPSHIM_TLS_H
#define SMTPSHIM_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

SSL_CTX *tls_context(const char *ca_file, char *err, size_t errlen);

/* How a step of the handshake ended.  A failure says which kind it was:
 * the connection (another port or address may do better) or the
 * certificate (no other port of the same host will pass it: upstream.c
 * stops trying). */
enum tls_result {
	TLS_WAITING,          /* for *events on the fd */
	TLS_VERIFIED,
	TLS_FAIL_CONNECTION,  /* closed, reset, no TLS, a protocol error */
	TLS_FAIL_CERTIFICATE, /* the chain or the name did not verify */
};

/* The handshake on a connected non-blocking fd, in steps, so several can
 * run in one poll loop (attempt.c): tls_begin sets up, tls_continue goes
 * as far as it can; on a failure the cause is in err, in words.  identity
 * is the host name to verify (and send as SNI), or an IP address to match
 * the certificate's IP entries. */
SSL *tls_begin(SSL_CTX *ctx, int fd, const char *identity, char *err, size_t errlen);
enum tls_result tls_continue(SSL *ssl, const char *identity, short *events, char *err,
			     size_t errlen);

/* What an SSL call that returned ret without progress waits for on its
 * fd: POLLIN (SSL_ERROR_WANT_READ), POLLOUT (SSL_ERROR_WANT_WRITE), or 0
 * when it is not waiting but failed or the session is over.  The one
 * mapping for every SSL call of the relay and the probe. */
short tls_wants(SSL *ssl, int ret);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate CN=... verified for NAME" */
void tls_describe(SSL *ssl, const char *identity, char *buf, size_t len);

/* Blocking-style I/O on the non-blocking fd under ssl, bounded by
 * deadline, for the few exchanges the relay has with the server itself
 * (greeting, EHLO, AUTH).  Return 0, or -1 with the cause in err and
 * its kind in errno: ETIMEDOUT, EPROTO (not SMTP, a TLS error), else the
 * connection closed (outcome.h). */
int tls_write_all(SSL *ssl, int fd, const void *buf, size_t len, long long deadline, char *err,
		  size_t errlen);

struct reply_parser;
/* Exactly one reply; bytes beyond it, unasked, are a protocol error. */
int tls_read_reply(SSL *ssl, int fd, struct reply_parser *p, long long deadline, char *err,
		   size_t errlen);

#endif
