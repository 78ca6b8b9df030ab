#include "attempt.h"

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim/common/addr.h"
#include "hostname.h"
#include "log.h"
#include "net.h"
#include "tls.h"

static const char *const state_names[] = {
	[AT_CONNECT] = "connect",    [AT_GREETING] = "greeting", [AT_EHLO] = "EHLO",
	[AT_STARTTLS] = "STARTTLS",  [AT_HANDSHAKE] = "TLS",     [AT_OPEN] = "open",
	[AT_FAILED] = "failed",
};

__attribute__((format(printf, 3, 4)))
static void fail(struct attempt *a, enum outcome kind, const char *fmt, ...)
{
	va_list ap;
	a->outcome = kind;
	va_start(ap, fmt);
	vsnprintf(a->err, sizeof a->err, fmt, ap);
	va_end(ap);
	log_info("%s", a->err);
	attempt_close(a);
	a->state = AT_FAILED;
}

void attempt_close(struct attempt *a)
{
	if (a->ssl)
		SSL_free(a->ssl);
	if (a->fd >= 0)
		close(a->fd);
	a->ssl = NULL;
	a->fd = -1;
	a->events = 0;
}

static void enter(struct attempt *a, enum attempt_state s, short events, unsigned timeout)
{
	a->state = s;
	a->events = events;
	a->deadline = net_now_ms() + timeout * 1000LL;
}

void attempt_start(struct attempt *a, SSL_CTX *ctx, unsigned timeout)
{
	char addr[ADDR_TEXT_MAX];
	(void)ctx;
	a->fd = -1;
	a->ssl = NULL;
	a->started_ms = net_now_ms();
	addr_text((struct sockaddr *)&a->addr, addr, sizeof addr);
	log_info("connecting to %s (%s)", addr, a->starttls ? "STARTTLS" : "implicit TLS");
	a->fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		fail(a, OUTCOME_CONNECT, "cannot connect to %s: %s", a->where, strerror(errno));
		return;
	}
	net_set_nodelay(a->fd);
	net_set_keepalive(a->fd);
	if (connect(a->fd, (struct sockaddr *)&a->addr, a->addr_len) < 0 && errno != EINPROGRESS) {
		fail(a, OUTCOME_CONNECT, "cannot connect to %s: %s", a->where, strerror(errno));
		return;
	}
	enter(a, AT_CONNECT, POLLOUT, timeout);
}

static void begin_tls(struct attempt *a, SSL_CTX *ctx, unsigned timeout)
{
	char why[400];
	a->ssl = tls_begin(ctx, a->fd, a->identity, why, sizeof why);
	if (!a->ssl) {
		fail(a, OUTCOME_TLS, "TLS with %s failed: %s", a->where, why);
		return;
	}
	enter(a, AT_HANDSHAKE, POLLOUT, timeout);
}

static void send_command(struct attempt *a, const char *line, enum attempt_state next,
			 unsigned timeout)
{
	log_lines("C(plain):", line, strlen(line));
	a->out_len = (size_t)snprintf(a->out, sizeof a->out, "%s", line);
	a->out_off = 0;
	enter(a, next, POLLOUT, timeout);
}

static void refused(struct attempt *a, const char *what)
{
	char summary[300];
	reply_summary(&a->parser.reply, summary, sizeof summary);
	fail(a, OUTCOME_REFUSED, "%s %s: %s", a->where, what, summary);
}

/* A complete plaintext reply for the current state: what comes next. */
static void on_reply(struct attempt *a, SSL_CTX *ctx, unsigned timeout)
{
	const struct smtp_reply *r = &a->parser.reply;
	log_lines("S(plain):", r->raw, r->len);
	if (a->state == AT_GREETING) {
		char ehlo[300], host[256];
		if (r->code != 220)
			return refused(a, "refused the session");
		/* Our own name only; the app's EHLO goes later, inside TLS. */
		hostname_ours(host, sizeof host);
		snprintf(ehlo, sizeof ehlo, "EHLO %s\r\n", host);
		send_command(a, ehlo, AT_EHLO, timeout);
	} else if (a->state == AT_EHLO) {
		if (r->code != 250)
			return refused(a, "refused EHLO");
		if (!reply_has_keyword(r, "STARTTLS"))
			return fail(a, OUTCOME_NO_STARTTLS, "%s does not offer STARTTLS; refusing to send in plaintext",
				    a->where);
		send_command(a, "STARTTLS\r\n", AT_STARTTLS, timeout);
	} else {
		if (r->code != 220)
			return refused(a, "refused STARTTLS");
		begin_tls(a, ctx, timeout);
	}
}

static void read_plain(struct attempt *a, SSL_CTX *ctx, unsigned timeout)
{
	char buf[SMTP_LINE_MAX];
	ssize_t n = read(a->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		return fail(a, OUTCOME_CLOSED, "%s %s: %s", a->where, state_names[a->state],
			    n == 0 ? "the server closed the connection" : strerror(errno));
	size_t used;
	enum reply_status st = reply_parser_feed(&a->parser, buf, (size_t)n, &used);
	if (st == REPLY_ERROR)
		return fail(a, OUTCOME_PROTOCOL, "%s %s: not an SMTP server (%s)", a->where, state_names[a->state],
			    a->parser.error);
	if (st == REPLY_MORE)
		return;
	/* Nothing may follow a reply before we speak again: after
	 * STARTTLS's 220 such bytes would be read as if they came through
	 * TLS (the CVE-2011-0411 family). */
	char more;
	if (used < (size_t)n || recv(a->fd, &more, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		return fail(a, OUTCOME_INJECTION, "%s sent data after its %s reply without being asked "
			       "(possible STARTTLS injection attack); refusing it",
			    a->where, state_names[a->state]);
	on_reply(a, ctx, timeout);
}

/* Past its deadline: the current state's cause. */
static void timed_out(struct attempt *a)
{
	if (a->state == AT_CONNECT)
		return fail(a, OUTCOME_CONNECT, "cannot connect to %s: timed out", a->where);
	if (a->state == AT_HANDSHAKE)
		return fail(a, OUTCOME_TIMEOUT, "TLS with %s failed: handshake timed out (nothing answers there)",
			    a->where);
	fail(a, OUTCOME_TIMEOUT, "%s %s: no reply in time", a->where, state_names[a->state]);
}

/* TCP is up: TLS at once (implicit), or the plaintext greeting first. */
static void on_connected(struct attempt *a, SSL_CTX *ctx, unsigned timeout)
{
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr)
		return fail(a, OUTCOME_CONNECT, "cannot connect to %s: %s", a->where, strerror(soerr));
	a->connected = 1;
	if (!a->starttls)
		return begin_tls(a, ctx, timeout);
	reply_parser_init(&a->parser);
	enter(a, AT_GREETING, POLLIN, timeout);
}

/* The rest of our plaintext command, then its reply. */
static void write_plain(struct attempt *a)
{
	ssize_t w = write(a->fd, a->out + a->out_off, a->out_len - a->out_off);
	if (w < 0 && errno != EAGAIN && errno != EINTR)
		return fail(a, OUTCOME_CLOSED, "%s: cannot send %s: %s", a->where, state_names[a->state],
			    strerror(errno));
	if (w > 0)
		a->out_off += (size_t)w;
	if (a->out_off == a->out_len) {
		reply_parser_init(&a->parser);
		a->events = POLLIN;
	}
}

static void continue_tls(struct attempt *a)
{
	char why[400];
	short ev = 0;
	a->tls = tls_continue(a->ssl, a->identity, &ev, why, sizeof why);
	if (a->tls == TLS_FAIL_CONNECTION || a->tls == TLS_FAIL_CERTIFICATE)
		return fail(a, a->tls == TLS_FAIL_CERTIFICATE ? OUTCOME_CERTIFICATE : OUTCOME_TLS,
			    "TLS with %s failed: %s", a->where, why);
	a->events = a->tls == TLS_VERIFIED ? 0 : ev;
	if (a->tls == TLS_VERIFIED)
		a->state = AT_OPEN;
}

void attempt_step(struct attempt *a, SSL_CTX *ctx, short revents, unsigned timeout)
{
	if (a->state == AT_OPEN || a->state == AT_FAILED)
		return;
	if (!revents) {
		if (net_now_ms() >= a->deadline)
			timed_out(a);
		return;
	}
	switch (a->state) {
	case AT_CONNECT:
		return on_connected(a, ctx, timeout);
	case AT_GREETING:
	case AT_EHLO:
	case AT_STARTTLS:
		if (a->out_off < a->out_len)
			return write_plain(a);
		return read_plain(a, ctx, timeout);
	case AT_HANDSHAKE:
		return continue_tls(a);
	default:
		return;
	}
}
