#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../shim/common/addr.h"
#include "../shim/common/relay_handoff.h"
#include "../shim/common/text.h"
#include "peer_uid.h"

extern char **environ;

static int open_port(const char *where, struct sockaddr_storage *bound, socklen_t *len)
{
	char host[CONFIG_HOST_MAX] = "127.0.0.1";
	uint16_t port = 0;
	const char *p = where;

	/* A bare number is a port on loopback: the safe default. */
	if (strchr(where, ':') || strchr(where, '[')) {
		if (text_split_host_port(where, host, sizeof host, &port) < 0)
			port = 0;
	} else if (text_parse_port(p, &port) < 0) {
		port = 0;
	}
	if (!port) {
		fprintf(stderr, "smtpshim listen: '%s' is not [ADDRESS:]PORT\n", where);
		return -1;
	}
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	char service[8];
	snprintf(service, sizeof service, "%u", port);
	int rc = getaddrinfo(host, service, &hints, &ai);
	if (rc) {
		fprintf(stderr, "smtpshim listen: '%s' is not an address: %s\n", host, gai_strerror(rc));
		return -1;
	}
	/* Whoever reaches this port sends as the configured account: it
	 * serves this machine's own user only.  The unspecified address is
	 * this host to connect() but every interface to bind(). */
	if (!addr_is_loopback(ai->ai_addr) || addr_is_unspecified(ai->ai_addr)) {
		fprintf(stderr, "smtpshim listen: %s is not a loopback address; the port would let "
				"other hosts send mail as you\n", host);
		freeaddrinfo(ai);
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "smtpshim listen: cannot listen on %s: %s\n", where, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	memcpy(bound, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return fd;
}

/* One relay per connection, given the accepted socket as fd 3 and the
 * session text on fd 4, as the shim does for an intercepted one. */
static void hand_over(const struct config *cfg, int conn, const struct sockaddr *local,
		      const struct sockaddr *peer)
{
	static char text[32 * 1024]; /* the shim's SESSION_TEXT_MAX */
	int pipefd[2];
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)"smtpshim-relay", NULL}, *envp[3];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&fa, conn, 3);
	posix_spawn_file_actions_adddup2(&fa, pipefd[0], 4);
	relay_environment(environ, envp, 3);
	int err = posix_spawn(&pid, cfg->helper, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[0]);
	if (err) {
		fprintf(stderr, "smtpshim listen: cannot start the relay %s: %s\n", cfg->helper,
			strerror(err));
		static const char reply[] = "421 4.3.5 smtpshim: cannot start the relay\r\n";
		ssize_t ignored = write(conn, reply, sizeof reply - 1); /* best effort */
		(void)ignored;
	} else {
		/* The destination is our own port: a section for "*" or for
		 * that port applies, as it would to an intercepted connection. */
		int n = relay_session_text(cfg, "", local, peer, text, sizeof text);
		/* If the relay died, the client sees its connection close. */
		if (n > 0) {
			ssize_t ignored = write(pipefd[1], text, (size_t)n);
			(void)ignored;
		}
	}
	close(pipefd[1]);
}

/* Only the user running `smtpshim listen` (or root) may use it: on a
 * shared machine another user would otherwise send with our credentials. */
static int same_user(int conn, const struct sockaddr *peer)
{
	struct sockaddr_storage here;
	socklen_t len = sizeof here;
	long uid = -1;
	if (getsockname(conn, (struct sockaddr *)&here, &len) == 0)
		uid = peer_uid(peer, (struct sockaddr *)&here);
	if (uid == (long)geteuid() || uid == 0)
		return 1;
	static const char reply[] = "421 4.7.1 smtpshim: this port serves its own user only\r\n";
	ssize_t ignored = send(conn, reply, sizeof reply - 1, MSG_NOSIGNAL);
	(void)ignored;
	return 0;
}

int listen_serve(const struct config *cfg, const char *where)
{
	struct sockaddr_storage local;
	socklen_t len;

	static struct config effective;

	int lfd = open_port(where, &local, &len);
	if (lfd < 0)
		return 1;
	config_for_destination(cfg, "", (struct sockaddr *)&local,
			       addr_port((struct sockaddr *)&local, len), &effective);
	if (!effective.relay_host[0]) {
		fprintf(stderr, "smtpshim listen: needs --relay HOST[:PORT] (or a section with a "
				"relay for this port): connections to a local port have no "
				"destination of their own\n");
		close(lfd);
		return 2;
	}
	/* The relays detach themselves; no zombies from their first process. */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (cfg->verbose)
		fprintf(stderr, "smtpshim listen: on %s, relaying to %s\n", where, effective.relay_host);
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof peer;
		int conn = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EMFILE || errno == ENFILE)
				usleep(100000); /* relays finishing will free some */
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
				continue;
			fprintf(stderr, "smtpshim listen: %s\n", strerror(errno));
			return 1;
		}
		if (same_user(conn, (struct sockaddr *)&peer))
			hand_over(cfg, conn, (struct sockaddr *)&local, (struct sockaddr *)&peer);
		close(conn);
	}
}
