#include "handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/relay_handoff.h"
#include "libc.h"
#include "names.h"
#include "relay_server.h"
#include "sessions.h"
#include "spawn.h"

/* The loopback socket the relay accepts the app's connection on, and the
 * address the app's socket dials to reach it (the same, or its v4-mapped
 * form for an IPv6 socket on a host without ::1). */
struct listener {
	int fd;
	struct sockaddr_storage dial;
	socklen_t dial_len;
};

static int listen_on(int family, struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&ss, 0, sizeof ss);
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *s4;
	}
	l->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return -1;
	l->dial_len = sizeof l->dial;
	if (bind(l->fd, (struct sockaddr *)&ss, len) < 0 || listen(l->fd, 8) < 0 ||
	    getsockname(l->fd, (struct sockaddr *)&l->dial, &l->dial_len) < 0) {
		int saved = errno;
		close(l->fd);
		errno = saved;
		return -1;
	}
	return 0;
}

static int open_listener(int family, struct listener *l)
{
	if (family != AF_INET6)
		return listen_on(AF_INET, l);
	if (listen_on(AF_INET6, l) == 0)
		return 0;
	/* No ::1 here: an IPv6 socket can still reach 127.0.0.1 v4-mapped. */
	if (listen_on(AF_INET, l) < 0)
		return -1;
	struct sockaddr_in v4 = *(struct sockaddr_in *)&l->dial;
	struct sockaddr_in6 *m = (struct sockaddr_in6 *)&l->dial;
	memset(m, 0, sizeof *m);
	m->sin6_family = AF_INET6;
	m->sin6_port = v4.sin_port;
	m->sin6_addr.s6_addr[10] = m->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&m->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
	l->dial_len = sizeof *m;
	return 0;
}

static int socket_family(int fd)
{
	int family = AF_INET;
	socklen_t len = sizeof family;
	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len);
	return family;
}

/* send(), not write(): with MSG_NOSIGNAL a relay that died cannot kill
 * the host with SIGPIPE.  Both ends written to here are sockets. */
static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void remember(int fd, const struct sockaddr *dst, const struct listener *l)
{
	struct intercepted_socket s;
	memset(&s, 0, sizeof s);
	/* As the kernel would report it: its own length, no padding the app
	 * left in sin_zero. */
	if (dst->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)dst;
		struct sockaddr_in *out = (struct sockaddr_in *)&s.dst;
		out->sin_family = AF_INET;
		out->sin_port = in->sin_port;
		out->sin_addr = in->sin_addr;
		s.dstlen = sizeof *out;
	} else {
		memcpy(&s.dst, dst, sizeof(struct sockaddr_in6));
		s.dstlen = sizeof(struct sockaddr_in6);
	}
	s.listener = l->dial;
	s.listenerlen = l->dial_len;
	socklen_t len = sizeof s.local;
	getsockname(fd, (struct sockaddr *)&s.local, &len);
	sessions_record(fd, &s);
}

#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif

/* A TCP_FASTOPEN_CONNECT socket would hold its SYN back until the app's
 * first write, but an SMTP server speaks first: app and relay would wait
 * for each other.  Connect for real instead. */
static int clear_deferred_connect(int fd)
{
	int on = 0, off = 0;
	socklen_t len = sizeof on;
	if (getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &on, &len) < 0 || !on)
		return 0;
	setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &off, sizeof off);
	return 1;
}

/* That option promises connect() returns 0 at once, blocking or not; a
 * loopback handshake completes in microseconds, so wait for it. */
static int finish_deferred_connect(int fd, int rc)
{
	struct pollfd p = {fd, POLLOUT, 0};
	if (rc == 0 || errno != EINPROGRESS || poll(&p, 1, 1000) != 1)
		return rc;
	int soerr = 0;
	socklen_t len = sizeof soerr;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

/* Connects the app's socket to our listener, and tells whether the relay
 * has a session to serve (a connect that fails outright leaves none). */
static int connect_app(int fd, const struct listener *l, int *connected)
{
	int deferred = clear_deferred_connect(fd);
	int rc = libc_connect(fd, (const struct sockaddr *)&l->dial, l->dial_len);
	if (deferred)
		rc = finish_deferred_connect(fd, rc);
	*connected = rc == 0 || errno == EINPROGRESS || errno == EINTR;
	return rc;
}

/* No relay can run: answer the app ourselves with a 421 on its
 * connection, accepted here, so the reason still lands where the app logs
 * replies. */
static void answer_locally(int listen_fd, const char *why)
{
	struct pollfd p = {listen_fd, POLLIN, 0};
	if (poll(&p, 1, 1000) != 1)
		return;
	int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	char reply[CONFIG_ERROR_MAX + 64];
	int n = snprintf(reply, sizeof reply, "421 4.3.5 smtpshim: %s\r\n", why);
	if (n > 0)
		write_all(c, reply, (size_t)n < sizeof reply ? (size_t)n : sizeof reply - 1);
	close(c);
}

/* "PID NAME" for the relay's log line: the name ps and the journal show
 * (comm: a script's own name, not its interpreter's), with whatever
 * would not be one word of a line (a program may name itself anything)
 * made '?'. */
static void program_text(char *buf, size_t len)
{
	char comm[RELAY_PROGRAM_NAME_MAX + 1] = "";
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, comm, sizeof comm - 1);
	if (fd >= 0)
		close(fd);
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	for (char *p = comm; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			*p = '?';
	snprintf(buf, len, "%d %s", (int)getpid(), comm[0] ? comm : "?");
}

/* What the relay needs to know of this session (see relay_handoff.h). */
static int session_text(const struct config *cfg, const struct sockaddr *dst, int fd,
			char *buf, size_t len)
{
	char name[256] = "", program[RELAY_PROGRAM_NAME_MAX + 16];
	struct sockaddr_storage client;
	socklen_t clen = sizeof client;
	int have_client = getsockname(fd, (struct sockaddr *)&client, &clen) == 0;

	names_lookup(dst, name, sizeof name);
	program_text(program, sizeof program);
	return relay_session_text(cfg, name, dst, have_client ? (struct sockaddr *)&client : NULL,
				  program, buf, len);
}

/* A relay started for this connection: the descriptor to write the
 * session text to, or -1 with why. */
static int start_relay(const struct config *cfg, int listen_fd, char *why, size_t whylen)
{
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
		snprintf(why, whylen, "cannot create a socket pair for the relay");
		return -1;
	}
	int err = spawn_relay(cfg->helper, listen_fd, fds[0], config_relay_stderr(cfg),
			      (int)cfg->timeout * 1000, why, whylen);
	close(fds[0]);
	if (err) {
		close(fds[1]);
		return -1;
	}
	return fds[1];
}

/* The app's socket has connected to our listener: a relay for it --
 * the server's child that was offered the session, else one started now
 * -- gets the session text, or the app gets a 421 from us. */
static void hand_over(int fd, const struct sockaddr *dst, const struct config *cfg,
		      const struct listener *l, int offered)
{
	char why[CONFIG_ERROR_MAX + CONFIG_PATH_MAX];
	int relay = offered;

	if (offered >= 0 && relay_server_taken(offered, cfg) < 0) {
		close(offered);
		relay = -1;
	}
	if (relay < 0 && (relay = start_relay(cfg, l->fd, why, sizeof why)) < 0) {
		answer_locally(l->fd, why);
		return;
	}
	/* Off the host's stack, which may be a small thread's: all the
	 * settings and a section can take some room. */
	char *text = mmap(NULL, SESSION_TEXT_MAX, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (text != MAP_FAILED) {
		int n = session_text(cfg, dst, fd, text, SESSION_TEXT_MAX);
		if (n > 0)
			write_all(relay, text, (size_t)n);
		munmap(text, SESSION_TEXT_MAX);
	}
	/* The relay reads up to "@end" and our close: without them it knows
	 * the session text is incomplete. */
	close(relay);
}

int handoff_connect(int fd, const struct sockaddr *dst, const struct config *cfg)
{
	struct listener l;

	if (open_listener(socket_family(fd), &l) < 0)
		return -1;
	/* The user's ready relay is offered the session first, and wakes
	 * while the app's socket connects. */
	int offered = cfg->error[0] ? -1 : relay_server_offer(cfg, l.fd);
	int connected;
	int rc = connect_app(fd, &l, &connected);
	int saved = errno;
	if (connected) {
		remember(fd, dst, &l);
		if (cfg->error[0])
			answer_locally(l.fd, cfg->error);
		else
			hand_over(fd, dst, cfg, &l, offered);
	} else if (offered >= 0) {
		close(offered);
	}
	close(l.fd);
	errno = saved;
	return rc;
}
