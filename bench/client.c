/* The bench's SMTP client: one program that speaks plain SMTP, implicit TLS
 * or STARTTLS, so that "native TLS" and "plain under smtpshim / stunnel"
 * differ in nothing but who does the TLS.
 *
 * Each session resolves HOST (getaddrinfo, as real clients do, and the shim
 * needs to see the name), connects, and sends one message.  In TLS modes
 * each session also creates its TLS context and loads the CA file (timed,
 * in GREETING), as the relay must for every session; there is no session
 * resumption.
 *
 * usage: client plain|tls|starttls HOST PORT CA_FILE COUNT [options]
 *   --bulk MB    send a message of MB MiB (76-char lines) instead of ~1 KB
 *   --hold       after the message's 250, print "hold", wait for a line on
 *                stdin (at most 60 s), then QUIT (memory is measured then)
 *   --pause MS   sleep between sessions (not timed; lets the previous
 *                relay or stunnel thread finish first)
 * Prints one line per session, times in microseconds:
 *   session CONNECT GREETING TOTAL DATA_BYTES DATA_US
 * CONNECT: connect() returned (under the shim: the relay has been started)
 * GREETING: the 220 is read (TLS context and handshake included)
 * TOTAL: QUIT's 221 is read and the socket closed
 * DATA_US: from the 354 to the message's 250 */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

static const char *mode, *host, *port, *ca_file;
static char *message;
static size_t message_len;

static long long now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

__attribute__((noreturn)) static void die(const char *what)
{
	fprintf(stderr, "client: %s\n", what);
	exit(1);
}

/* Reads one (possibly multi-line) reply and checks its first digit. */
static void expect(struct conn *c, char digit, const char *after)
{
	for (;;) {
		size_t len;
		const char *line;
		while (!(line = conn_line(c, &len)))
			if (conn_fill(c) <= 0)
				die(after);
		int last = len < 4 || line[3] != '-';
		if (line[0] != digit) {
			fprintf(stderr, "client: after %s: %.*s", after, (int)len, line);
			exit(1);
		}
		conn_consume(c, len);
		if (last)
			return;
	}
}

static void command(struct conn *c, const char *line, char digit)
{
	if (conn_puts(c, line) < 0)
		die(line);
	expect(c, digit, line);
}

static SSL_CTX *tls_context(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !SSL_CTX_load_verify_locations(ctx, ca_file, NULL))
		die("cannot set up TLS");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* The same verification the relay does: chain, host name, SNI. */
static void start_tls(struct conn *c, SSL_CTX **ctx)
{
	if (!*ctx)
		*ctx = tls_context();
	c->ssl = SSL_new(*ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, host) ||
	    !SSL_set1_host(c->ssl, host) || SSL_connect(c->ssl) != 1)
		die("TLS handshake failed");
}

static int connect_to_host(void)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		die("cannot resolve the host");
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("cannot connect");
	freeaddrinfo(ai);
	return fd;
}

static void hold(void)
{
	char line[16];
	struct pollfd p = {0, POLLIN, 0};
	printf("hold\n");
	fflush(stdout);
	if (poll(&p, 1, 60000) == 1 && read(0, line, sizeof line) < 0)
		die("stdin");
}

static void session(struct conn *c, int held)
{
	SSL_CTX *ctx = NULL;
	long long t0 = now_us();
	conn_init(c, connect_to_host());
	long long t_connect = now_us();
	if (!strcmp(mode, "tls"))
		start_tls(c, &ctx);
	expect(c, '2', "connect");
	long long t_greeting = now_us();
	command(c, "EHLO client.test\r\n", '2');
	if (!strcmp(mode, "starttls")) {
		command(c, "STARTTLS\r\n", '2');
		start_tls(c, &ctx);
		command(c, "EHLO client.test\r\n", '2');
	}
	command(c, "MAIL FROM:<alice@client.test>\r\n", '2');
	command(c, "RCPT TO:<bob@mail.test>\r\n", '2');
	command(c, "DATA\r\n", '3');
	long long t_data = now_us();
	if (conn_write(c, message, message_len) < 0)
		die("DATA");
	expect(c, '2', "the message");
	long long t_sent = now_us();
	if (held)
		hold();
	command(c, "QUIT\r\n", '2');
	conn_close(c);
	long long t_end = now_us();
	SSL_CTX_free(ctx);
	printf("session %lld %lld %lld %zu %lld\n", t_connect - t0, t_greeting - t0, t_end - t0,
	       message_len, t_sent - t_data);
	fflush(stdout);
}

/* A small message, or a big one of 76-character lines (as base64
 * attachments are, never starting with a dot); then the terminator. */
static void make_message(long mib)
{
	static const char small[] =
		"From: alice@client.test\r\nTo: bob@mail.test\r\nSubject: bench\r\n"
		"Message-ID: <bench@client.test>\r\n\r\n";
	const char *end = ".\r\n";
	size_t body = mib > 0 ? (size_t)mib << 20 : 1024;
	body -= body % 78; /* whole lines */
	message_len = sizeof small - 1 + body + strlen(end);
	message = malloc(message_len);
	if (!message)
		die("out of memory");
	memcpy(message, small, sizeof small - 1);
	char *p = message + sizeof small - 1;
	for (size_t i = 0; i < body; i++)
		p[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : (char)('A' + i % 26);
	memcpy(p + body, end, strlen(end));
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: client plain|tls|starttls HOST PORT CA_FILE COUNT "
				"[--bulk MB] [--hold] [--pause MS]\n");
		return 2;
	}
	mode = argv[1], host = argv[2], port = argv[3], ca_file = argv[4];
	int count = atoi(argv[5]), held = 0, pause_ms = 0;
	long mib = 0;
	for (int i = 6; i < argc; i++) {
		if (!strcmp(argv[i], "--hold"))
			held = 1;
		else if (!strcmp(argv[i], "--bulk") && i + 1 < argc)
			mib = atol(argv[++i]);
		else if (!strcmp(argv[i], "--pause") && i + 1 < argc)
			pause_ms = atoi(argv[++i]);
		else
			die("unknown option");
	}
	if (strcmp(mode, "plain") && strcmp(mode, "tls") && strcmp(mode, "starttls"))
		die("mode is plain, tls or starttls");
	make_message(mib);
	static struct conn c;
	for (int i = 0; i < count && i < 100000; i++) {
		if (i && pause_ms)
			usleep((useconds_t)pause_ms * 1000);
		session(&c, held);
	}
	return 0;
}
