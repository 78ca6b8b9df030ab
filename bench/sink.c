/* A fast SMTP sink for the bench: implicit TLS on one port, STARTTLS on
 * another (plain SMTP works there too), every message accepted and thrown
 * away.  aiosmtpd reads DATA line by line (~25 MiB/s here) and would be the
 * bottleneck; this reads 64 KiB at a time and only searches for the final
 * "<CRLF>.<CRLF>" (memmem), so its CPU cost stays small next to the TLS
 * being measured.  One thread per connection (small stacks, a backlog the
 * size of the kernel's cap: the bench opens 1000 sessions at once),
 * blocking I/O with timeouts.
 *
 * Session resumption is off (no tickets, no cache): every client, native,
 * shim or stunnel, pays a full handshake, as the shim always does.
 *
 * usage: sink CERT KEY    prints "ports TLS_PORT STARTTLS_PORT", serves
 *                         on 127.0.0.1 until killed */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

/* listen() caps it at net.core.somaxconn (4096 since Linux 5.4). */
#define SOMAXCONN_ASKED 4096
/* A session's thread: OpenSSL's handshake and little else (its buffers
 * are on the heap). */
#define STACK_SIZE (256 * 1024)

static SSL_CTX *ctx;

struct job {
	int fd, implicit;
};

static int listen_any(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, SOMAXCONN_ASKED) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("sink: listen");
		exit(1);
	}
	return fd;
}

static int start_tls(struct conn *c)
{
	c->ssl = SSL_new(ctx);
	return c->ssl && SSL_set_fd(c->ssl, c->fd) && SSL_accept(c->ssl) == 1 ? 0 : -1;
}

/* Where "\r\n.\r\n" ends in the unread bytes, or 0 if it is not there yet.
 * `tail` holds the last 4 bytes before them (starting as "\r\n" so an empty
 * message, ".\r\n" at once, ends too), because the terminator may straddle
 * two reads. */
static size_t data_end(const char *p, size_t n, char tail[4], size_t *tail_len)
{
	static const char end[] = "\r\n.\r\n";
	char seam[8];
	size_t k = n < 4 ? n : 4;
	memcpy(seam, tail, *tail_len);
	memcpy(seam + *tail_len, p, k);
	const char *hit = memmem(seam, *tail_len + k, end, 5);
	if (hit)
		return (size_t)(hit - seam) + 5 - *tail_len;
	hit = memmem(p, n, end, 5);
	if (hit)
		return (size_t)(hit - p) + 5;
	/* not there: keep the last 4 bytes seen (seam holds all of p if n < 4) */
	size_t total = *tail_len + k;
	const char *last = n >= 4 ? p + n - 4 : seam + (total > 4 ? total - 4 : 0);
	*tail_len = n >= 4 ? 4 : (total > 4 ? 4 : total);
	memmove(tail, last, *tail_len);
	return 0;
}

/* Swallows one message; 0 once its terminator is read. */
static int read_data(struct conn *c)
{
	char tail[4] = {'\r', '\n'};
	size_t tail_len = 2;
	for (;;) {
		if (c->len) {
			size_t end = data_end(c->buf + c->start, c->len, tail, &tail_len);
			if (end) {
				conn_consume(c, end); /* pipelined commands stay */
				return 0;
			}
			conn_consume(c, c->len);
		}
		if (conn_fill(c) <= 0)
			return -1;
	}
}

static int verb_is(const char *line, size_t len, const char *verb)
{
	size_t n = strlen(verb);
	return len >= n && !strncasecmp(line, verb, n);
}

static void serve(struct conn *c, int implicit)
{
	if (implicit && start_tls(c) < 0)
		return;
	if (conn_puts(c, "220 mail.test ESMTP bench sink\r\n") < 0)
		return;
	for (;;) {
		size_t len;
		const char *line;
		while (!(line = conn_line(c, &len)))
			if (conn_fill(c) <= 0)
				return;
		const char *reply = "250 2.0.0 Ok\r\n";
		int data = 0, starttls = 0, quit = 0;
		if (verb_is(line, len, "EHLO"))
			reply = !implicit && !c->ssl
					? "250-mail.test\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 SIZE 0\r\n"
					: "250-mail.test\r\n250-8BITMIME\r\n250 SIZE 0\r\n";
		else if (verb_is(line, len, "HELO"))
			reply = "250 mail.test\r\n";
		else if (verb_is(line, len, "DATA"))
			reply = "354 End data with <CR><LF>.<CR><LF>\r\n", data = 1;
		else if (verb_is(line, len, "STARTTLS") && !c->ssl && !implicit)
			reply = "220 2.0.0 Ready to start TLS\r\n", starttls = 1;
		else if (verb_is(line, len, "QUIT"))
			reply = "221 2.0.0 Bye\r\n", quit = 1;
		else if (!verb_is(line, len, "MAIL") && !verb_is(line, len, "RCPT") &&
			 !verb_is(line, len, "RSET") && !verb_is(line, len, "NOOP"))
			reply = "502 5.5.2 Not implemented here\r\n";
		conn_consume(c, len);
		if (conn_puts(c, reply) < 0 || quit)
			return;
		/* RFC 3207: nothing may follow STARTTLS before the handshake */
		if (starttls && (c->len || start_tls(c) < 0))
			return;
		if (data && (read_data(c) < 0 || conn_puts(c, "250 2.0.0 Ok: discarded\r\n") < 0))
			return;
	}
}

static void *session(void *arg)
{
	struct job j = *(struct job *)arg;
	free(arg);
	struct conn *c = malloc(sizeof *c);
	if (c) {
		conn_init(c, j.fd);
		serve(c, j.implicit);
		conn_close(c);
		free(c);
	} else {
		close(j.fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: sink CERT KEY\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "sink: cannot load %s / %s\n", argv[1], argv[2]);
		return 1;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_read_ahead(ctx, 1); /* fewer read() calls per record */

	struct pollfd l[2] = {{listen_any(), POLLIN, 0}, {listen_any(), POLLIN, 0}};
	int port[2];
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in a;
		socklen_t len = sizeof a;
		getsockname(l[i].fd, (struct sockaddr *)&a, &len);
		port[i] = ntohs(a.sin_port);
	}
	printf("ports %d %d\n", port[0], port[1]);
	fflush(stdout);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	for (;;) { /* until the bench kills us */
		if (poll(l, 2, -1) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < 2; i++) {
			if (!(l[i].revents & POLLIN))
				continue;
			int fd = accept4(l[i].fd, NULL, NULL, SOCK_CLOEXEC);
			struct job *j = fd < 0 ? NULL : malloc(sizeof *j);
			pthread_t t;
			if (!j) {
				if (fd >= 0)
					close(fd);
				continue;
			}
			*j = (struct job){fd, i == 0};
			if (pthread_create(&t, &attr, session, j) != 0) {
				close(fd);
				free(j);
			}
		}
	}
}
