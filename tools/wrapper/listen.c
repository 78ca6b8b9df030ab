#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim/common/addr.h"
#include "shim/common/relay_handoff.h"
#include "shim/common/text.h"
#include "peer_uid.h"
#include "tools/relay/refusal.h"

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

#define UNIX_PREFIX "unix:"

/* The socket file we made, removed when we are stopped.  Only what is
 * still the socket we bound goes: another listener may have replaced it. */
static char unix_path[sizeof ((struct sockaddr_un *)0)->sun_path];
static dev_t unix_dev;
static ino_t unix_ino;

static void remove_socket_and_exit(int sig)
{
	struct stat st;
	(void)sig;
	/* lstat, unlink and _exit are async-signal-safe */
	if (lstat(unix_path, &st) == 0 && st.st_dev == unix_dev && st.st_ino == unix_ino)
		unlink(unix_path);
	_exit(0);
}

/* A stale socket file (its listener is gone: connecting is refused) may
 * be replaced; a live one, or anything that is not a socket, never. */
static int path_is_free(const struct sockaddr_un *sun)
{
	struct stat st;
	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 1 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "smtpshim listen: %s exists and is not a socket; refusing to "
				"replace it\n", sun->sun_path);
		return 0;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live = probe >= 0 && connect(probe, (const struct sockaddr *)sun, sizeof *sun) == 0;
	int stale = !live && errno == ECONNREFUSED;
	if (probe >= 0)
		close(probe);
	if (!stale) {
		fprintf(stderr, "smtpshim listen: %s is a socket %s; refusing to replace it\n",
			sun->sun_path, live ? "something listens on" : "that cannot be checked");
		return 0;
	}
	return unlink(sun->sun_path) == 0 ? 1 : -1;
}

/* unix:PATH: a socket file only its owner can connect to (mode 600, made
 * so from the start by the umask, not fixed afterwards), removed when the
 * listener is stopped. */
static int open_unix(const char *where)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = where + strlen(UNIX_PREFIX);
	if (!*path || strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "smtpshim listen: '%s' is not unix:PATH (a path of at most %zu "
				"bytes)\n", where, sizeof sun.sun_path - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int is_free = fd < 0 ? -1 : path_is_free(&sun);
	if (is_free == 0) {
		close(fd);
		return -1;
	}
	/* From the moment the file exists, a stop must remove it: the
	 * signals wait until their handler is in place. */
	sigset_t stops, before;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGHUP);
	sigprocmask(SIG_BLOCK, &stops, &before);
	mode_t old = umask(0177);
	int bound = is_free > 0 && bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	umask(old);
	struct stat st;
	if (!bound || lstat(path, &st) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "smtpshim listen: cannot listen on %s: %s\n", where, strerror(errno));
		if (bound)
			unlink(path);
		if (fd >= 0)
			close(fd);
		sigprocmask(SIG_SETMASK, &before, NULL);
		return -1;
	}
	memcpy(unix_path, path, strlen(path) + 1);
	unix_dev = st.st_dev;
	unix_ino = st.st_ino;
	struct sigaction sa = {.sa_handler = remove_socket_and_exit};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigprocmask(SIG_SETMASK, &before, NULL);
	return fd;
}

/* One relay per connection, given the accepted socket as fd 3 and the
 * session text on fd 4, as the shim does for an intercepted one. */
static void hand_over(const struct config *cfg, int conn, const struct sockaddr *local,
		      const struct sockaddr *peer)
{
	static char text[SESSION_TEXT_MAX];
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
		char reply[REFUSAL_MAX];
		size_t n = refusal_format(reply, sizeof reply, "4.3.5", "cannot start the relay");
		ssize_t ignored = write(conn, reply, n); /* best effort */
		(void)ignored;
	} else {
		/* The destination is our own port: a section for "*" or for
		 * that port applies, as it would to an intercepted connection. */
		int n = relay_session_text(cfg, "", local, peer, "", text, sizeof text);
		/* If the relay died, the client sees its connection close. */
		if (n > 0) {
			ssize_t ignored = write(pipefd[1], text, (size_t)n);
			(void)ignored;
		}
	}
	close(pipefd[1]);
}

/* Only the user running `smtpshim listen` (or root) may use it: on a
 * shared machine another user would otherwise send with our credentials.
 * On a Unix socket the kernel recorded the client's credentials when it
 * connected (SO_PEERCRED): closing cannot change them. */
static int same_user(int conn, const struct sockaddr *peer)
{
	struct sockaddr_storage here;
	socklen_t len = sizeof here;
	long uid = -1;
	if (peer->sa_family == AF_UNIX) {
		struct ucred cred;
		socklen_t clen = sizeof cred;
		if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
			uid = (long)cred.uid;
	} else if (getsockname(conn, (struct sockaddr *)&here, &len) == 0) {
		uid = peer_uid(peer, (struct sockaddr *)&here);
	}
	if (uid == (long)geteuid() || uid == 0)
		return 1;
	char reply[REFUSAL_MAX];
	size_t n = refusal_format(reply, sizeof reply, "4.7.1", "this port serves its own user only");
	ssize_t ignored = send(conn, reply, n, MSG_NOSIGNAL);
	(void)ignored;
	return 0;
}

int listen_serve(const struct config *cfg, const char *where)
{
	struct sockaddr_storage local;
	socklen_t len;

	static struct config effective;

	/* A Unix socket has no address of its own that a section could
	 * name: its connections stand for SMTP on this host, 127.0.0.1:25. */
	int is_unix = !strncmp(where, UNIX_PREFIX, strlen(UNIX_PREFIX));
	int lfd = is_unix ? open_unix(where) : open_port(where, &local, &len);
	if (lfd < 0)
		return 1;
	if (is_unix) {
		struct sockaddr_in *in = (struct sockaddr_in *)&local;
		memset(&local, 0, sizeof local);
		in->sin_family = AF_INET;
		in->sin_port = htons(25);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *in;
	}
	config_for_destination(cfg, "", (struct sockaddr *)&local,
			       addr_port((struct sockaddr *)&local, len), &effective);
	if (!effective.relay_host[0]) {
		fprintf(stderr, "smtpshim listen: needs --relay HOST[:PORT] (or a section with a "
				"relay for this port): connections to a local port have no "
				"destination of their own\n");
		close(lfd);
		if (is_unix)
			unlink(unix_path);
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
			if (is_unix)
				unlink(unix_path);
			return 1;
		}
		if (same_user(conn, (struct sockaddr *)&peer))
			hand_over(cfg, conn, (struct sockaddr *)&local,
				  is_unix ? NULL : (struct sockaddr *)&peer);
		close(conn);
	}
}
