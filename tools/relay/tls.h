/* The relay's TLS client: TLS 1.2 or newer, the system trust store or
 * --ca-file, SNI, and the name (or address) checked by OpenSSL itself. */
#ifndef SMTPSHIM_TLS_H
#define SMTPSHIM_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

SSL_CTX *tls_context(const char *ca_file, char *err, size_t errlen);

/* Handshake on a connected non-blocking fd.  identity is the host name to
 * verify (and send as SNI), or an IP address to match the certificate's IP
 * entries.  Returns the session, or NULL with the cause in words. */
SSL *tls_handshake(SSL_CTX *ctx, int fd, const char *identity, long long deadline, char *err,
		   size_t errlen);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate CN=... verified for NAME" */
void tls_describe(SSL *ssl, const char *identity, char *buf, size_t len);

/* Tells whether a handshake failure was the certificate (no point in
 * trying another port of the same host) rather than the connection. */
int tls_failed_on_certificate(const char *err);

#endif
