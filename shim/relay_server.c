/* Handing a connection to the user's relay server: a relay process that
 * has OpenSSL loaded and its trust store built before the connection, and
 * forks a child per session (tools/relay/server.c).  Reached on an
 * abstract Unix socket whose name says whose it is and which relay it
 * runs; trusted only after the kernel says it belongs to this process's
 * user (SO_PEERCRED).  Whenever that fails -- no server, one that cannot
 * start, one of another user sitting on the name -- the caller starts a
 * relay of its own for the connection, as before there were servers. */
#include "relay_server.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/relay_handoff.h"
#include "settings.h"
#include "spawn.h"

static int dial(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while (connect(fd, (const struct sockaddr *)sa, len) < 0) {
		if (errno == EINTR)
			continue;
		close(fd);
		return -1;
	}
	/* Another user may have taken the name first: never theirs. */
	struct ucred cred;
	socklen_t clen = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != geteuid()) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One thread of the process starts the server; the others find it or
 * use a relay of their own meanwhile. */
static atomic_int starting;

static int dial_or_start(const struct config *cfg, const struct sockaddr_un *sa, socklen_t len)
{
	char why[256];
	int fd = dial(sa, len);
	if (fd >= 0)
		return fd;
	int idle = 0;
	if (!atomic_compare_exchange_strong(&starting, &idle, 1))
		return -1;
	int started = spawn_relay_server(cfg->helper, sa->sun_path + 1, cfg->relay_idle,
					 (int)cfg->timeout * 1000, why, sizeof why) == 0;
	atomic_store(&starting, 0);
	return started ? dial(sa, len) : -1;
}

static int send_hello(int fd, const struct config *cfg, int listen_fd)
{
	char line[RELAY_SERVER_HELLO_MAX];
	int n = snprintf(line, sizeof line, RELAY_SERVER_HELLO " %d\t%s\t",
			 config_relay_stderr(cfg), cfg->ca_file);
	/* The working directory a relay started here would have had: "/" in
	 * a host whose environment may not be trusted (spawn.c). */
	if (n < 0 || (size_t)n >= sizeof line - 2)
		return -1;
	if (getauxval(AT_SECURE) || !shim_relay_environment())
		strcpy(line + n, "/");
	else if (!getcwd(line + n, sizeof line - (size_t)n - 1))
		return -1;
	n += (int)strlen(line + n);
	line[n++] = '\n';
	/* The listener, and with -v or "log stderr" the host's stderr: the
	 * server is detached, the session writes where the program does. */
	int fds[2] = {listen_fd, 2};
	size_t nfds = config_relay_stderr(cfg) ? 2 : 1;
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u); /* the padding after the descriptors goes out too */
	struct iovec iov = {line, (size_t)n};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = CMSG_SPACE(nfds * sizeof(int))};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	ssize_t w;
	while ((w = sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return w == n ? 0 : -1;
}

/* The session's child answers 'R' once it holds the listener. */
static int await_child(int fd, int timeout_ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	char r = 0;
	int rc;
	while ((rc = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (rc != 1)
		return -1;
	while ((rc = (int)read(fd, &r, 1)) < 0 && errno == EINTR)
		;
	return rc == 1 && r == 'R' ? 0 : -1;
}

int relay_server_offer(const struct config *cfg, int listen_fd)
{
	struct sockaddr_un sa;
	socklen_t len;

	if (!cfg->relay_server || relay_server_address(cfg->helper, shim_relay_environment(), &sa, &len) < 0)
		return -1;
	int fd = dial_or_start(cfg, &sa, len);
	if (fd >= 0 && send_hello(fd, cfg, listen_fd) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int relay_server_taken(int fd, const struct config *cfg)
{
	return await_child(fd, (int)cfg->timeout * 1000);
}
