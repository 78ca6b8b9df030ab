/* smtpshim-relay: serves one intercepted connection.  Started by the shim
 * with the loopback listener on fd 3 and the session text on fd 4. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/common/addr.h"
#include "shim/common/relay_handoff.h"
#include "log.h"
#include "net.h"
#include "pump.h"
#include "record.h"
#include "refusal.h"
#include "server.h"
#include "session.h"
#include "setup.h"
#include "tools.h"
#include "zero.h"


/* The session text comes as soon as the app's socket has connected; a
 * stream that neither ends nor completes is given up after this. */
#define SESSION_WAIT_MS 30000
/* An app whose session could not be read is already connected, or about
 * to be: a short wait for it, to tell it why in a 421. */
#define BAD_SESSION_WAIT_MS 2000

/* The shim started us as an orphan already (init adopts us); a session
 * of our own keeps a terminal's signals for the host's job away.  What
 * the host did with signals is not ours: SIGCHLD in particular goes back
 * to its default, since a host that ignores it would have the kernel reap
 * the password command, and its exit status -- a failure -- would be lost
 * (secret.c). */
void relay_start_up(void)
{
	setsid();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, NULL);
}

/* The shim, waiting on fd 5, learns that we run: a relay that dies
 * before this (a library missing) is reported to the app by the shim. */
void relay_tell_ready(void)
{
	struct stat st;
	if (fstat(RELAY_READY_FD, &st) == 0 && S_ISFIFO(st.st_mode)) {
		ssize_t ignored = write(RELAY_READY_FD, "R", 1);
		(void)ignored;
		close(RELAY_READY_FD);
	}
}

/* Only the app's own socket may take the session: another local process
 * racing to the loopback port is turned away (unless the shim could not
 * say which is the app's: client NULL).  The app's connection is
 * close-on-exec, like every descriptor of ours: the password command must
 * not inherit it. */
static int accept_app(const struct sockaddr_storage *client, long long deadline)
{
	int listening = 1;
	socklen_t optlen = sizeof listening;

	/* `smtpshim listen` hands over a connection it accepted itself. */
	getsockopt(RELAY_LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen);
	if (!listening)
		return fcntl(RELAY_LISTEN_FD, F_DUPFD_CLOEXEC, 0);
	net_set_nonblocking(RELAY_LISTEN_FD);
	while (net_wait(RELAY_LISTEN_FD, POLLIN, deadline) == 1) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof peer;
		int fd = accept4(RELAY_LISTEN_FD, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (!client || addr_equal((struct sockaddr *)&peer, (const struct sockaddr *)client))
			return fd;
		char who[ADDR_TEXT_MAX];
		addr_text((struct sockaddr *)&peer, who, sizeof who);
		log_info("refused a connection from %s: not the app's socket", who);
		close(fd);
	}
	return -1;
}

static void refuse(int app, struct record *rec, enum outcome kind, const char *status,
		   const char *why)
{
	char reply[REFUSAL_MAX];
	size_t n = refusal_format(reply, sizeof reply, status, "%s", why);
	log_info("%.*s", (int)n - 2, reply);
	record_refusal(rec, kind, reply, n);
	net_set_nonblocking(app);
	net_write_all(app, reply, n, net_now_ms() + 5000);
	net_close_gently(app, 5);
}

/* The session text did not come whole (rc -1), or was not what the shim
 * writes (-2).  The app, if it connected, reads a 421 rather than a
 * reset; a cause that may quote the text goes only to a peer known to be
 * the app's socket. */
static void bad_session(const struct session *s, int rc, const char *why, struct record *rec)
{
	char text[1100];
	fprintf(stderr, "smtpshim-relay: %s\n", why); /* stderr is open with --verbose only */
	if (!strcmp(why, "no session")) /* the shim's connect failed: nobody to tell */
		return;
	int app = accept_app(s->have_client ? &s->client : NULL, net_now_ms() + BAD_SESSION_WAIT_MS);
	close(RELAY_LISTEN_FD);
	if (app < 0)
		return;
	int tell = rc == -1 || s->have_client;
	snprintf(text, sizeof text, "the relay did not get its session from the shim%s%s%s",
		 tell ? " (" : "", tell ? why : "", tell ? ")" : "");
	refuse(app, rec, OUTCOME_SESSION, "4.3.0", text);
	record_write(rec);
}

int main(int argc, char **argv)
{
	/* This process may hold a password: no core dump, no ptrace by
	 * other processes of the user, before anything is read. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
	if (argc == 3 && !strcmp(argv[1], "--probe"))
		return probe_main(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "--check"))
		return check_main(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "--serve"))
		return server_main(argv[2], argv[3]);
	if (argc > 1) {
		fprintf(stderr, "usage: smtpshim-relay [--probe HOST | --check HOST[:PORT]]\n"
				"(without arguments it is started by the shim, not by hand)\n");
		return 2;
	}
	relay_start_up();
	relay_tell_ready();
	return relay_session(NULL);
}

/* The session text from the shim, then the app's connection; -1 when
 * the session ends there (a bad text was answered by bad_session). */
static int open_session(struct session *s, struct record *rec)
{
	char err[1000];
	int ok = session_read(RELAY_SESSION_FD, s, net_now_ms() + SESSION_WAIT_MS, err, sizeof err);
	close(RELAY_SESSION_FD);
	if (ok < 0) {
		bad_session(s, ok, err, rec);
		return -1;
	}
	log_init(s->cfg.verbose);
	int app = accept_app(s->have_client ? &s->client : NULL,
			     net_now_ms() + (long long)s->cfg.timeout * 1000);
	close(RELAY_LISTEN_FD);
	if (app >= 0)
		net_set_nodelay(app);
	return app;
}

/* Settings this relay must not act on, whoever started it: the app is
 * told why.  Returns 1 if refused. */
static int refuse_settings(int app, const struct session *s, struct record *rec)
{
	char err[1000];
	/* Refused by the shim already; a relay started another way (listen,
	 * an older shim) still never dials a port that would catch it. */
	if (config_check_one_loop(&s->cfg, err, sizeof err) < 0) {
		refuse(app, rec, OUTCOME_CONFIG, "4.3.5", err);
		return 1;
	}
	/* Credentials go only to a relay named beside them: without one they
	 * would go to whatever server the program happens to mail (any MX
	 * with a valid certificate that offers AUTH). */
	if (config_has_credentials(&s->cfg) && !s->cfg.relay_host[0]) {
		refuse(app, rec, OUTCOME_CONFIG, "4.7.0", "credentials are set but no relay: smtpshim sends them only "
				     "to a relay named beside them (relay HOST[:PORT])");
		return 1;
	}
	return 0;
}

/* The session proper: the app greeted, then bytes both ways through the
 * filter until both sides are done. */
static void relay(int app, const struct session *s, const struct setup *st, struct record *rec)
{
	static struct filter f ZERO_PAGE_ALIGNED;
	struct pump_result res = {0};
	struct pump_ends ends = {app, st->u.ssl, st->u.fd, st->u.where, s->cfg.timeout, st->greeting};
	filter_init(&f, 0);
	if (st->local)
		filter_local_session(&f, &st->ehlo);
	filter_set_envelope_from(&f, s->cfg.envelope_from);
	malloc_trim(0);
	pump_run(&ends, &f, &res);
	record_session(rec, &f, &res);
	net_close_gently(app, 5);
}

/* The app's session, once it has connected: set-up, then the relay. */
static int serve_app(int app, const struct session *s, struct setup *st,
		     const struct ready_context *ready, struct record *rec)
{
	if (refuse_settings(app, s, rec))
		return 1;
	/* Connect, TLS, the server's greeting consumed, AUTH: setup.c. */
	setup_run(st, s, ready);
	record_setup(rec, st);
	if (st->state == SETUP_FAILED) {
		refuse(app, rec, st->outcome, st->status, st->err);
		setup_close(st);
		return 1;
	}
	relay(app, s, st, rec);
	setup_close(st);
	return 0;
}

/* One session: the listener on fd 3, the session text on fd 4, and its
 * log line at the end.  ready is a TLS context built ahead for the system
 * store or a CA file (a relay server's), used when the session asks for
 * that one; NULL: build it. */
int relay_session(const struct ready_context *ready)
{
	static struct session s;
	static struct setup st;
	static struct record rec;

	record_start(&rec, &s);
	int app = open_session(&s, &rec);
	int rc = app < 0 ? 1 : serve_app(app, &s, &st, ready, &rec);
	spare_over(ready);
	if (app >= 0)
		record_write(&rec);
	return rc;
}
