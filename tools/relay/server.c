/* The relay server (server.h): binds the user's name, builds the trust
 * stores, and keeps SPARES children forked ahead on its socket.  It never
 * accepts a connection itself: a spare does, tells it so, and it forks
 * the next.  It waits for nothing but those reports, and exits when none
 * came for the idle time; the spares waiting then see it gone and exit,
 * the sessions already taken go on. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "shim/common/config.h"
#include "shim/common/relay_handoff.h"
#include "shim/common/text.h"
#include "contexts.h"
#include "spare.h"

/* Spares waiting at once: one serves a client sending mail after mail;
 * the second covers the next connection while the first one's
 * replacement is being forked. */
#define SPARES 2
/* After a failed fork, the next try. */
#define FORK_RETRY_MS 100
/* While a spare is still waiting, the next one is forked when a session
 * is over (or after this long without a word): a fork costs the
 * page-table copy and the faults of the server's memory, and on a small
 * machine it would take the CPU from the sessions that run (measured: the
 * first command after the greeting took 0.58 ms instead of 0.21 with a
 * fork beside it). */
#define REFILL_AFTER_MS 50

struct server {
	int listener;
	int alive[2]; /* a spare waits on [0]; the server holds [1] until it exits */
	int reports[2]; /* spares send on [1]; the server reads [0] */
	int spares;
};

static int fork_spare(struct server *sv)
{
	pid_t pid = fork();
	if (pid == 0) {
		close(sv->alive[1]);
		close(sv->reports[0]);
		spare_run(sv->listener, sv->alive[0], sv->reports[1]);
	}
	return pid < 0 ? -1 : 0;
}

/* A trust store just built: the spares waiting were forked without it and
 * would each build their own for their session -- the CA file loaded on
 * the connection's path, and the store's memory their own.  They are let
 * go (the pipe they watch is closed; one that wakes with a connection
 * then leaves it queued for the next) and forked again with it.  One
 * that took a connection just before reports it after: the count is one
 * short then, and one spare more than SPARES waits, never one fewer. */
static void retire_spares(struct server *sv)
{
	int fresh[2];
	if (pipe2(fresh, O_CLOEXEC) < 0)
		return;
	close(sv->alive[0]);
	close(sv->alive[1]);
	sv->alive[0] = fresh[0];
	sv->alive[1] = fresh[1];
	sv->spares = 0;
}

/* 1 when it is time to fork the spares missing. */
static int read_report(struct server *sv)
{
	char msg[1 + CONFIG_PATH_MAX + 1];
	ssize_t n = recv(sv->reports[0], msg, sizeof msg - 1, MSG_DONTWAIT);
	if (n <= 0)
		return 0;
	msg[n] = '\0';
	if (msg[0] == SPARE_TOOK && sv->spares > 0)
		sv->spares--;
	else if (msg[0] == SPARE_NEW_CA && !contexts_have(msg + 1) && contexts_get(msg + 1) &&
		 sv->spares) {
		retire_spares(sv);
		return 1;
	}
	return msg[0] == SPARE_OVER;
}

static int bind_name(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	memcpy(sa.sun_path + 1, name, n); /* abstract: sun_path[0] is 0 */
	/* Non-blocking: the spares all wait on it, and one that wakes to
	 * find the connection taken by another must not block in accept. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 128) < 0)
		return -1;
	return fd;
}

_Noreturn static void serve(struct server *sv, unsigned long idle)
{
	int refill = 1;
	for (;;) {
		while ((refill || !sv->spares) && sv->spares < SPARES && fork_spare(sv) == 0)
			sv->spares++;
		struct pollfd p = {sv->reports[0], POLLIN, 0};
		int wait_ms = sv->spares == SPARES ? (int)idle * 1000
			      : sv->spares	      ? REFILL_AFTER_MS
						      : FORK_RETRY_MS;
		int r = poll(&p, 1, wait_ms);
		if (r == 0 && sv->spares == SPARES)
			_exit(0); /* nothing to flush or free: the sessions are processes of their own */
		refill = r == 0 || (r > 0 && read_report(sv));
	}
}

int server_main(const char *name, const char *idle_text)
{
	unsigned long idle;
	size_t n = strlen(name);
	struct server sv = {.spares = 0};

	if (text_parse_ulong(idle_text, 1, 86400, &idle) < 0 || !n ||
	    n >= sizeof ((struct sockaddr_un *)0)->sun_path - 1 ||
	    strncmp(name, RELAY_SERVER_PREFIX, strlen(RELAY_SERVER_PREFIX))) {
		fprintf(stderr, "usage: smtpshim-relay --serve smtpshim-relay/UID/ID SECONDS\n");
		return 2;
	}
	prctl(PR_SET_NAME, "smtpshim-server"); /* ps tells it from its sessions */
	relay_start_up();
	/* The time zone for the sessions' log lines, read once here rather
	 * than by each session in the middle of its handshake. */
	tzset();
	/* Children are reaped by the kernel: the server waits for none. */
	struct sigaction ign = {.sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT};
	sigemptyset(&ign.sa_mask);
	sigaction(SIGCHLD, &ign, NULL);
	sv.listener = bind_name(name);
	if (sv.listener < 0) {
		/* Another server took the name first: the shim will use it. */
		relay_tell_ready();
		return errno == EADDRINUSE ? 0 : 1;
	}
	/* Ready once bound, and before any descriptor of ours could sit on
	 * fd 5, which relay_tell_ready() takes for its pipe.  No trust store
	 * is built before the first session says which one it uses: that
	 * session's spare builds it, as a relay started for it would, and the
	 * server builds it for the spares after. */
	relay_tell_ready();
	if (pipe2(sv.alive, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv.reports) < 0)
		return 1;
	serve(&sv, idle);
}
