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

/* The four queues of one session; 256 KiB, on the heap of a process that
 * serves this one session only. */
static struct buf app_in, to_server, server_in, to_app;

struct side {
	int eof;       /* nothing more will be read */
	int failed;    /* a read or write failed: the peer is gone */
	short want;    /* poll events the last attempt asked for */
};

static int read_app(int fd, struct side *s)
{
	size_t room;
	char *p = buf_tail(&app_in, &room);
	if (s->eof || !room)
		return 0;
	ssize_t n = read(fd, p, room);
	if (n > 0)
		buf_added(&app_in, (size_t)n);
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
	if (n > 0)
		buf_consume(&to_app, (size_t)n);
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

static int write_server(SSL *ssl, struct side *s)
{
	if (!to_server.len || s->failed)
		return 0;
	int n = SSL_write(ssl, buf_data(&to_server),
			  to_server.len > 1 << 30 ? 1 << 30 : (int)to_server.len);
	if (n > 0) {
		buf_consume(&to_server, (size_t)n);
		return 1;
	}
	short w = tls_wants(ssl, n);
	s->want |= w;
	if (!w)
		s->eof = s->failed = 1;
	return !w;
}

static void tell_app(const char *code, const char *where, const char *what)
{
	char msg[REFUSAL_MAX];
	size_t n = refusal_format(msg, sizeof msg, code, "%s %s", where, what);
	if (buf_room(&to_app) >= n)
		buf_append(&to_app, msg, n);
	log_info("%s %s", where, what);
}

/* The app sent what must not reach the server: it reads why, and nothing
 * more goes upstream -- not what is queued, not a close_notify: the
 * server sees the connection end inside DATA and drops the message. */
static void refuse_app(const struct filter *f)
{
	char msg[REFUSAL_MAX];
	size_t n = refusal_format(msg, sizeof msg, "4.5.0", "%s", f->error);
	if (buf_room(&to_app) >= n)
		buf_append(&to_app, msg, n);
	log_info("%s", f->error);
	to_server.start = to_server.len = 0;
	app_in.start = app_in.len = 0;
}

void pump_run(const struct pump_ends *e, struct filter *f)
{
	struct side app = {0}, server = {0};
	int closing_sent = 0, broken = 0, upstream_cut = 0;
	long long give_up = 0; /* deadline once the app has gone */

	net_set_nonblocking(e->app);
	net_set_nonblocking(e->server);
	if (e->greeting)
		buf_append(&to_app, e->greeting, strlen(e->greeting));
	for (;;) {
		int moved = 0;
		app.want = server.want = 0;

		size_t before = to_app.len;
		filter_flush(f, &to_app); /* local replies that waited for room */
		moved |= to_app.len != before;

		if (app_in.len && !broken) {
			size_t k = filter_from_app(f, buf_data(&app_in), app_in.len, &to_server, &to_app);
			if (k == (size_t)-1) {
				refuse_app(f);
				broken = upstream_cut = closing_sent = 1;
				moved = 1;
			} else {
				buf_consume(&app_in, k);
				moved |= k > 0;
			}
		}
		if (server_in.len && !broken) {
			size_t k = filter_from_server(f, buf_data(&server_in), server_in.len, &to_app);
			if (k == (size_t)-1) {
				tell_app("4.5.0", e->where, f->error);
				broken = 1;
				server_in.len = 0;
				k = 1;
			} else {
				buf_consume(&server_in, k);
			}
			moved |= k > 0;
		}
		if (!upstream_cut)
			moved |= write_server(e->ssl, &server);
		moved |= write_app(e->app, &app);
		moved |= read_app(e->app, &app);
		moved |= read_server(e->ssl, &server);

		/* The app finished sending: pass the close on (TLS close_notify)
		 * once its bytes are out and answered -- many servers drop the
		 * reply to a command when the close overtakes it -- waiting a
		 * bounded time for those answers. */
		if (app.eof && !app_in.len && !to_server.len && !filter_busy(f) && !closing_sent &&
		    !server.failed) {
			SSL_shutdown(e->ssl);
			closing_sent = 1;
		}
		/* (and once the session is broken: the app has a bounded time
		 * to read its 421) */
		if ((app.eof || broken) && !give_up)
			give_up = net_now_ms() + (long long)e->timeout * 1000;

		if (server.eof && !broken && !server_in.len && filter_busy(f)) {
			/* The server went away with commands unanswered: say so
			 * rather than leave the app waiting or guessing. */
			tell_app("4.4.2", e->where, "closed the connection before replying");
			broken = 1;
		}
		int server_done = server.eof || broken;
		if ((server_done && !to_app.len) || app.failed ||
		    (app.eof && !filter_busy(f) && !to_server.len && !to_app.len) ||
		    (give_up && net_now_ms() > give_up))
			return;

		/* Wait only when a whole round moved nothing. */
		if (moved)
			continue;

		struct pollfd p[2] = {{e->app, app.want, 0}, {e->server, server.want, 0}};
		if (!server.eof && !server.want && buf_room(&server_in))
			p[1].events |= POLLIN;
		if (!app.eof && !app.want && buf_room(&app_in))
			p[0].events |= POLLIN;
		int wait_ms = give_up ? (int)(give_up - net_now_ms()) : -1;
		if (give_up && wait_ms < 0)
			wait_ms = 0;
		if (poll(p, 2, wait_ms) < 0 && errno != EINTR)
			return;
	}
}
