#include "pump.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "refusal.h"
#include "tls.h"
#include "zero.h"

/* The four queues of one session; 256 KiB, on the heap of a process that
 * serves this one session only. */
static struct buf app_in, to_server, server_in, to_app;

struct side {
	int eof;       /* nothing more will be read */
	int failed;    /* a read or write failed: the peer is gone */
	short want;    /* poll events the last attempt asked for */
	unsigned long long in, out; /* bytes read from the peer, written to it */
};

static int read_app(int fd, struct side *s)
{
	size_t room;
	char *p = buf_tail(&app_in, &room);
	if (s->eof || !room)
		return 0;
	ssize_t n = read(fd, p, room);
	if (n > 0) {
		buf_added(&app_in, (size_t)n);
		s->in += (size_t)n;
	}
	else if (n == 0)
		s->eof = 1;
	else if (errno == EAGAIN)
		s->want |= POLLIN;
	else if (errno != EINTR)
		s->eof = s->failed = 1;
	return n >= 0 || s->failed;
}

static int write_app(int fd, struct side *s)
{
	if (!to_app.len || s->failed)
		return 0;
	ssize_t n = write(fd, buf_data(&to_app), to_app.len);
	if (n > 0) {
		buf_consume(&to_app, (size_t)n);
		s->out += (size_t)n;
	}
	else if (n < 0 && errno == EAGAIN)
		s->want |= POLLOUT;
	else if (n < 0 && errno != EINTR)
		s->eof = s->failed = 1;
	return n > 0 || s->failed;
}

static int read_server(SSL *ssl, struct side *s)
{
	size_t room;
	char *p = buf_tail(&server_in, &room);
	if (s->eof || !room)
		return 0;
	int n = SSL_read(ssl, p, room > 1 << 30 ? 1 << 30 : (int)room);
	if (n > 0) {
		buf_added(&server_in, (size_t)n);
		return 1;
	}
	short w = tls_wants(ssl, n);
	s->want |= w;
	if (!w) {
		s->eof = 1;
		/* A close without close_notify is a broken session, not an end. */
		s->failed = SSL_get_error(ssl, n) != SSL_ERROR_ZERO_RETURN;
	}
	return !w;
}

/* What goes to the server next: message content the filter passed where
 * it lies in app_in (`passed` bytes at its front), else to_server. */
static int write_server(SSL *ssl, struct side *s, size_t *passed)
{
	struct buf *from = *passed ? &app_in : &to_server;
	size_t len = *passed ? *passed : to_server.len;
	if (!len || s->failed)
		return 0;
	int n = SSL_write(ssl, buf_data(from), len > 1 << 30 ? 1 << 30 : (int)len);
	if (n > 0) {
		buf_consume(from, (size_t)n);
		if (*passed)
			*passed -= (size_t)n;
		return 1;
	}
	short w = tls_wants(ssl, n);
	s->want |= w;
	if (!w)
		s->eof = s->failed = 1;
	return !w;
}

/* The state of one session's loop. */
struct pump {
	const struct pump_ends *e;
	struct filter *f;
	struct side app, server;
	int closing_sent;    /* close_notify sent (or never to be) */
	int broken;          /* a 421 is on its way to the app: nothing more is filtered */
	int upstream_cut;    /* nothing more goes to the server */
	size_t passed;       /* app_in's first bytes: content the filter passed, sent from there */
	unsigned long long released_at; /* app bytes moved when the queues were last given back */
	long long give_up;   /* deadline once the app has gone */
	struct pump_result *r;
};

/* A 421 for the app, in its place after what is queued; the first one
 * is the session's outcome. */
static void tell_app(struct pump *p, enum outcome kind, const char *code, const char *why)
{
	char msg[REFUSAL_MAX];
	size_t n = refusal_format(msg, sizeof msg, code, "%s", why);
	if (buf_room(&to_app) >= n)
		buf_append(&to_app, msg, n);
	log_info("%s", why);
	if (p->r->outcome == OUTCOME_NONE) {
		p->r->outcome = kind;
		snprintf(p->r->reply, sizeof p->r->reply, "%.*s", (int)n - 2, msg);
	}
}

static void server_failed(struct pump *p, enum outcome kind, const char *code, const char *what)
{
	char why[REFUSAL_MAX];
	snprintf(why, sizeof why, "%s %s", p->e->where, what);
	tell_app(p, kind, code, why);
}

/* The app sent what must not reach the server: it reads why, and nothing
 * more goes upstream -- not what is queued, not a close_notify: the
 * server sees the connection end inside DATA and drops the message. */
static void refuse_app(struct pump *p)
{
	tell_app(p, p->f->app_failure, "4.5.0", p->f->error);
	to_server.start = to_server.len = 0;
	app_in.start = app_in.len = 0;
	p->passed = 0;
}

/* Queued bytes through the filter, both ways; whether anything moved. */
static int filter_step(struct pump *p)
{
	int moved = 0;
	size_t before = to_app.len;
	filter_flush(p->f, &to_app); /* local replies that waited for room */
	moved |= to_app.len != before;

	/* Message content goes from app_in as it is, once what the filter
	 * queued before it is out: the bulk of a session is never copied. */
	if (app_in.len && !p->broken && !p->passed && !to_server.len) {
		size_t k = filter_pass_content(p->f, buf_data(&app_in), app_in.len);
		p->passed = k == (size_t)-1 ? 0 : k;
		moved |= k > 0;
		if (k == (size_t)-1)
			goto refused;
	}
	if (app_in.len && !p->broken && !p->passed) {
		size_t k = filter_from_app(p->f, buf_data(&app_in), app_in.len, &to_server, &to_app);
		if (k == (size_t)-1)
			goto refused;
		buf_consume(&app_in, k);
		moved |= k > 0;
	}
	if (server_in.len && !p->broken) {
		size_t k = filter_from_server(p->f, buf_data(&server_in), server_in.len, &to_app);
		if (k == (size_t)-1) {
			server_failed(p, OUTCOME_PROTOCOL, "4.5.0", p->f->error);
			p->broken = 1;
			server_in.len = 0;
			k = 1;
		} else {
			buf_consume(&server_in, k);
		}
		moved |= k > 0;
	}
	return moved;
refused:
	refuse_app(p);
	p->broken = p->upstream_cut = p->closing_sent = 1;
	return 1;
}

/* Reads and writes on both sockets as far as they go without waiting. */
static int io_step(struct pump *p)
{
	int moved = 0;
	if (!p->upstream_cut)
		moved |= write_server(p->e->ssl, &p->server, &p->passed);
	moved |= write_app(p->e->app, &p->app);
	moved |= read_app(p->e->app, &p->app);
	moved |= read_server(p->e->ssl, &p->server);
	return moved;
}

/* Passes on the ends of either side; whether the session is over. */
static int ends_step(struct pump *p)
{
	const struct filter *f = p->f;
	/* The app finished sending: pass the close on (TLS close_notify)
	 * once its bytes are out and answered -- many servers drop the
	 * reply to a command when the close overtakes it -- waiting a
	 * bounded time for those answers. */
	if (p->app.eof && !app_in.len && !to_server.len && !filter_busy(f) && !p->closing_sent &&
	    !p->server.failed) {
		SSL_shutdown(p->e->ssl);
		p->closing_sent = 1;
	}
	/* (and once the session is broken: the app has a bounded time
	 * to read its 421) */
	if ((p->app.eof || p->broken) && !p->give_up)
		p->give_up = net_now_ms() + (long long)p->e->timeout * 1000;

	if (p->server.eof && !p->broken && !server_in.len && filter_busy(f)) {
		/* The server went away with commands unanswered: say so
		 * rather than leave the app waiting or guessing. */
		server_failed(p, OUTCOME_CLOSED, "4.4.2", "closed the connection before replying");
		p->broken = 1;
	}
	int server_done = p->server.eof || p->broken;
	return (server_done && !to_app.len) || p->app.failed ||
	       (p->app.eof && !filter_busy(f) && !to_server.len && !to_app.len) ||
	       (p->give_up && net_now_ms() > p->give_up);
}

/* After a large message the queues' pages stay written, and the session
 * may be held open for long after: they are given back once all four are
 * empty and the session waits.  A session of small commands never pays
 * the system call and the faults after it: only after this many bytes. */
#define RELEASE_AFTER (256 * 1024)

static void release_queues(struct pump *p)
{
	struct buf *q[] = {&app_in, &to_server, &server_in, &to_app};
	unsigned long long moved = p->app.in + p->app.out;
	if (moved - p->released_at < RELEASE_AFTER || app_in.len || to_server.len ||
	    server_in.len || to_app.len)
		return;
	p->released_at = moved;
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		q[i]->start = 0;
		zero_give_back(q[i]->d, BUF_CAP);
	}
}

/* Waits for either socket (bounded once the app has gone); -1 if poll
 * itself fails. */
static int wait_step(struct pump *p)
{
	release_queues(p);
	struct pollfd fds[2] = {{p->e->app, p->app.want, 0}, {p->e->server, p->server.want, 0}};
	if (!p->server.eof && !p->server.want && buf_tail_room(&server_in))
		fds[1].events |= POLLIN;
	if (!p->app.eof && !p->app.want && buf_tail_room(&app_in))
		fds[0].events |= POLLIN;
	int wait_ms = p->give_up ? (int)(p->give_up - net_now_ms()) : -1;
	if (p->give_up && wait_ms < 0)
		wait_ms = 0;
	return poll(fds, 2, wait_ms) < 0 && errno != EINTR ? -1 : 0;
}

void pump_run(const struct pump_ends *e, struct filter *f, struct pump_result *r)
{
	struct pump p = {.e = e, .f = f, .r = r};

	net_set_nonblocking(e->app);
	net_set_nonblocking(e->server);
	if (e->greeting)
		buf_append(&to_app, e->greeting, strlen(e->greeting));
	for (;;) {
		p.app.want = p.server.want = 0;
		int moved = filter_step(&p);
		moved |= io_step(&p);
		/* Wait only when a whole round moved nothing. */
		if (ends_step(&p) || (!moved && wait_step(&p) < 0))
			break;
	}
	r->from_app = p.app.in;
	r->to_app = p.app.out;
}
