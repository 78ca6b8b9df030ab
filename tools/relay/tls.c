#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim/common/addr.h"
#include "smtp_reply.h"
#include "net.h"

SSL_CTX *tls_context(const char *ca_file, char *err, size_t errlen)
{
	/* The handshake's first key derivation constructs every KDF and MAC
	 * method OpenSSL has and adds their names to its shared name map.
	 * Done here, in a relay server that is once, in its own memory; done
	 * by each session, a forked session copies the name map's pages of the
	 * server's heap (188 -> 144 KiB copied per held session).  A provider
	 * set-up without them leaves no error behind to be blamed later. */
	ERR_set_mark();
	EVP_KDF_free(EVP_KDF_fetch(NULL, "TLS13-KDF", NULL));
	EVP_MAC_free(EVP_MAC_fetch(NULL, "HMAC", NULL));
	ERR_pop_to_mark();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "cannot set up TLS: %s", ERR_reason_error_string(ERR_get_error()));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Partial writes and a moving buffer: the relay's queues compact.  Buffers
	 * released while empty: an idle held-open session stays small. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS);
	int ok = ca_file && *ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
				     : SSL_CTX_set_default_verify_paths(ctx);
	if (!ok) {
		/* OpenSSL names no reason when the file cannot even be opened. */
		const char *why = ERR_reason_error_string(ERR_get_error());
		int unreadable = ca_file && *ca_file && access(ca_file, R_OK) < 0;
		snprintf(err, errlen, "cannot load CA certificates%s%s: %s", ca_file ? " from " : "",
			 ca_file ? ca_file : "",
			 unreadable ? strerror(errno) : why ? why : "no certificate in it");
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int set_identity(SSL *ssl, const char *identity)
{
	if (addr_is_ip_text(identity))
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), identity);
	/* Partial wildcards ("mail*.example.com") are not for mail servers. */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set_tlsext_host_name(ssl, identity) && SSL_set1_host(ssl, identity);
}

/* The cause of a failed handshake, as specific as OpenSSL lets us be, and
 * its kind. */
static enum tls_result describe_failure(SSL *ssl, int ret, const char *identity, char *err,
					size_t errlen)
{
	long v = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_last_error();
	int code = SSL_get_error(ssl, ret);

	if (v != X509_V_OK) {
		int name = v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH;
		snprintf(err, errlen, "certificate verify failed: %s%s%s%s",
			 X509_verify_cert_error_string(v), name ? " (the certificate is not for " : "",
			 name ? identity : "", name ? ")" : "");
		ERR_clear_error();
		return TLS_FAIL_CERTIFICATE;
	}
	if (e) {
		snprintf(err, errlen, "%s", ERR_reason_error_string(e));
	} else if (code == SSL_ERROR_SYSCALL || code == SSL_ERROR_ZERO_RETURN) {
		snprintf(err, errlen, "the server closed the connection during the handshake");
	} else {
		snprintf(err, errlen, "handshake failed (SSL error %d)", code);
	}
	ERR_clear_error();
	return TLS_FAIL_CONNECTION;
}

SSL *tls_begin(SSL_CTX *ctx, int fd, const char *identity, char *err, size_t errlen)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || !set_identity(ssl, identity)) {
		snprintf(err, errlen, "cannot set up TLS for %s", identity);
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

short tls_wants(SSL *ssl, int ret)
{
	switch (SSL_get_error(ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return POLLIN;
	case SSL_ERROR_WANT_WRITE:
		return POLLOUT;
	default:
		return 0;
	}
}

enum tls_result tls_continue(SSL *ssl, const char *identity, short *events, char *err,
			     size_t errlen)
{
	ERR_clear_error();
	int ret = SSL_connect(ssl);
	if (ret == 1)
		return TLS_VERIFIED;
	*events = tls_wants(ssl, ret);
	if (*events)
		return TLS_WAITING;
	return describe_failure(ssl, ret, identity, err, errlen);
}

void tls_describe(SSL *ssl, const char *identity, char *buf, size_t len)
{
	char subject[256] = "?";
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (cert) {
		X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
		X509_free(cert);
	}
	snprintf(buf, len, "%s %s, certificate %s verified for %s", SSL_get_version(ssl),
		 SSL_get_cipher_name(ssl), subject, identity);
}

/* Waits for what the last SSL call asked for; 0 when the session is over
 * or the deadline passed (err says which). */
static int tls_wait(SSL *ssl, int fd, int ret, long long deadline, char *err, size_t errlen)
{
	short ev = tls_wants(ssl, ret);
	if (!ev) {
		int code = SSL_get_error(ssl, ret);
		int closed = code == SSL_ERROR_ZERO_RETURN || code == SSL_ERROR_SYSCALL;
		snprintf(err, errlen, "%s", closed ? "the server closed the connection" : "TLS error");
		ERR_clear_error();
		errno = closed ? ECONNRESET : EPROTO;
		return 0;
	}
	int r = net_wait(fd, ev, deadline);
	if (r <= 0)
		snprintf(err, errlen, "%s", r == 0 ? "no reply in time" : strerror(errno));
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0;
}

int tls_write_all(SSL *ssl, int fd, const void *buf, size_t len, long long deadline, char *err,
		  size_t errlen)
{
	const char *p = buf;
	while (len) {
		int n = SSL_write(ssl, p, len > 1 << 20 ? 1 << 20 : (int)len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (!tls_wait(ssl, fd, n, deadline, err, errlen)) {
			return -1;
		}
	}
	return 0;
}

int tls_read_reply(SSL *ssl, int fd, struct reply_parser *p, long long deadline, char *err,
		   size_t errlen)
{
	char buf[SMTP_LINE_MAX];
	reply_parser_init(p);
	for (;;) {
		int n = SSL_read(ssl, buf, sizeof buf);
		if (n <= 0) {
			if (!tls_wait(ssl, fd, n, deadline, err, errlen))
				return -1;
			continue;
		}
		size_t used;
		enum reply_status st = reply_parser_feed(p, buf, (size_t)n, &used);
		if (st == REPLY_ERROR) {
			snprintf(err, errlen, "not an SMTP server (%s)", p->error);
			errno = EPROTO;
			return -1;
		}
		if (st == REPLY_DONE) {
			if (used < (size_t)n || SSL_pending(ssl)) {
				snprintf(err, errlen, "sent more than one reply without being asked");
				errno = EPROTO;
				return -1;
			}
			return 0;
		}
	}
}
