#include "smtp.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

static int fail(struct smtp *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof s->error, fmt, ap);
	va_end(ap);
	return -1;
}

int smtp_mode_known(const char *mode)
{
	return !strcmp(mode, "plain") || !strcmp(mode, "tls") || !strcmp(mode, "starttls");
}

/* Reads one (possibly multi-line) reply and checks its first digit. */
static int expect(struct smtp *s, char digit, const char *after)
{
	for (;;) {
		size_t len;
		const char *line;
		while (!(line = conn_line(&s->c, &len))) {
			long n = conn_fill(&s->c);
			if (n <= 0)
				return fail(s, "after %s: %s", after,
					    n == 0 ? "connection closed"
					    : errno == EAGAIN ? "no reply in time" : strerror(errno));
		}
		int last = len < 4 || line[3] != '-';
		if (line[0] != digit)
			return fail(s, "after %s: %.*s", after, (int)(len > 2 ? len - 2 : len), line);
		conn_consume(&s->c, len);
		if (last)
			return 0;
	}
}

static int command(struct smtp *s, const char *line, char digit)
{
	if (conn_puts(&s->c, line) < 0)
		return fail(s, "cannot send %.*s", (int)strcspn(line, "\r"), line);
	return expect(s, digit, line);
}

/* The same verification the relay does: chain, host name, SNI. */
static int start_tls(struct smtp *s)
{
	if (!s->ctx) {
		s->ctx = SSL_CTX_new(TLS_client_method());
		if (!s->ctx || !SSL_CTX_load_verify_locations(s->ctx, s->ca_file, NULL))
			return fail(s, "cannot set up TLS with %s", s->ca_file);
		SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	}
	s->c.ssl = SSL_new(s->ctx);
	if (!s->c.ssl || !SSL_set_fd(s->c.ssl, s->c.fd) ||
	    !SSL_set_tlsext_host_name(s->c.ssl, s->host) || !SSL_set1_host(s->c.ssl, s->host) ||
	    SSL_connect(s->c.ssl) != 1) {
		char why[160];
		ERR_error_string_n(ERR_get_error(), why, sizeof why);
		ERR_clear_error();
		return fail(s, "TLS handshake failed: %s", why);
	}
	return 0;
}

int smtp_connect(struct smtp *s)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	s->c.fd = -1;
	int rc = getaddrinfo(s->host, s->port, &hints, &ai);
	if (rc != 0)
		return fail(s, "cannot resolve %s: %s", s->host, gai_strerror(rc));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return fail(s, "cannot connect to %s port %s: %s", s->host, s->port, strerror(e));
	}
	freeaddrinfo(ai);
	conn_init(&s->c, fd);
	return 0;
}

int smtp_greeting(struct smtp *s)
{
	if (!strcmp(s->mode, "tls") && start_tls(s) < 0)
		return -1;
	return expect(s, '2', "connect");
}

int smtp_hello(struct smtp *s)
{
	if (command(s, "EHLO client.test\r\n", '2') < 0)
		return -1;
	if (strcmp(s->mode, "starttls"))
		return 0;
	if (command(s, "STARTTLS\r\n", '2') < 0 || start_tls(s) < 0)
		return -1;
	return command(s, "EHLO client.test\r\n", '2');
}

int smtp_envelope(struct smtp *s)
{
	if (command(s, "MAIL FROM:<alice@client.test>\r\n", '2') < 0 ||
	    command(s, "RCPT TO:<bob@mail.test>\r\n", '2') < 0)
		return -1;
	return command(s, "DATA\r\n", '3');
}

int smtp_message(struct smtp *s, const char *message, size_t len)
{
	if (conn_write(&s->c, message, len) < 0)
		return fail(s, "cannot send the message: %s", strerror(errno));
	return expect(s, '2', "the message");
}

int smtp_quit(struct smtp *s)
{
	int rc = command(s, "QUIT\r\n", '2');
	smtp_close(s);
	return rc;
}

void smtp_close(struct smtp *s)
{
	if (s->c.fd >= 0)
		conn_close(&s->c);
	s->c.fd = -1;
	SSL_CTX_free(s->ctx);
	s->ctx = NULL;
}

char *smtp_make_message(long mib, size_t *len)
{
	static const char small[] =
		"From: alice@client.test\r\nTo: bob@mail.test\r\nSubject: bench\r\n"
		"Message-ID: <bench@client.test>\r\n\r\n";
	const char *end = ".\r\n";
	size_t body = mib > 0 ? (size_t)mib << 20 : 1024;
	body -= body % 78; /* whole lines */
	*len = sizeof small - 1 + body + strlen(end);
	char *message = malloc(*len);
	if (!message)
		return NULL;
	memcpy(message, small, sizeof small - 1);
	char *p = message + sizeof small - 1;
	for (size_t i = 0; i < body; i++)
		p[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : (char)('A' + i % 26);
	memcpy(p + body, end, strlen(end));
	return message;
}
