/* A spare of the relay server (spare.h).  Forking, the page-table copy
 * and the first writes to the server's pages cost milliseconds on a
 * virtual machine; a spare pays them before any connection, so the
 * session that comes waits for none of it. */
#include "spare.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "shim/common/config.h"
#include "shim/common/relay_handoff.h"
#include "contexts.h"
#include "net.h"
#include "server.h"

/* A shim that connected sends its hello at once; one that does not is
 * not waited for longer than this (the server serves its own user only,
 * so this bounds a mistake, not an attack). */
#define HELLO_WAIT_MS 2000

struct spare {
	int listener, alive, report;
	pthread_t main; /* whose name ps shows for the process */
};

/* The hello line and the descriptors that come with it: fds[0] the
 * listener, fds[1] the host's stderr or -1. */
struct hello {
	int with_stderr; /* fds[1] is the host's stderr, for the session's */
	char ca_file[CONFIG_PATH_MAX];
	char cwd[4096];
	int fds[2];
};

static void keep_fds(struct msghdr *msg, struct hello *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (i < 2 && h->fds[i] < 0)
				h->fds[i] = fd;
			else
				close(fd);
		}
	}
}

static int read_hello(int conn, struct hello *h)
{
	char line[RELAY_SERVER_HELLO_MAX + 1];
	size_t have = 0;
	long long deadline = net_now_ms() + HELLO_WAIT_MS;

	while (!memchr(line, '\n', have)) {
		union {
			char buf[CMSG_SPACE(2 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = {line + have, sizeof line - 1 - have};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				     .msg_controllen = sizeof u.buf};
		if (have == sizeof line - 1 || net_wait(conn, POLLIN, deadline) != 1)
			return -1;
		ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			return -1;
		keep_fds(&msg, h);
		have += (size_t)n;
	}
	line[have] = '\0';
	char *tab1, *tab2, *end = strchr(line, '\n');
	size_t hello = strlen(RELAY_SERVER_HELLO);
	*end = '\0';
	if (h->fds[0] < 0 || strncmp(line, RELAY_SERVER_HELLO " ", hello + 1) ||
	    !(tab1 = strchr(line, '\t')) || !(tab2 = strchr(tab1 + 1, '\t')))
		return -1;
	*tab1 = *tab2 = '\0';
	h->with_stderr = line[hello + 1] == '1';
	snprintf(h->ca_file, sizeof h->ca_file, "%s", tab1 + 1);
	snprintf(h->cwd, sizeof h->cwd, "%s", tab2 + 1);
	return 0;
}

/* The kernel's word on who connected: this user's processes only. */
static int same_user(int conn)
{
	struct ucred cred;
	socklen_t clen = sizeof cred;
	return getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 &&
	       cred.uid == geteuid();
}

/* Waits for a connection while the server lives; -1 once it has gone. */
static int take_connection(const struct spare *sp)
{
	for (;;) {
		struct pollfd p[2] = {{sp->alive, POLLIN, 0}, {sp->listener, POLLIN, 0}};
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents)
			return -1;
		/* Another spare may have taken it first: EAGAIN, wait again. */
		int conn = accept4(sp->listener, NULL, NULL, SOCK_CLOEXEC);
		if (conn >= 0)
			return conn;
	}
}

static void tell_server(int report, char what, const char *ca_file)
{
	char msg[1 + CONFIG_PATH_MAX];
	size_t n = strlen(ca_file);
	msg[0] = what;
	memcpy(msg + 1, ca_file, n);
	ssize_t ignored = send(report, msg, 1 + n, MSG_NOSIGNAL);
	(void)ignored;
}

/* The descriptors where a relay started for this connection has them,
 * then that relay's session, with the context built ahead. */
static int serve_session(const struct spare *sp, int conn, struct hello *h, SSL_CTX *ctx)
{
	/* Each descriptor first above the places they go to: any of them may
	 * sit on 2-5 now (where the server's descriptors left room), and one
	 * dup2 would close another before it is moved. */
	int from[4] = {h->with_stderr && h->fds[1] >= 0 ? h->fds[1] : open("/dev/null", O_RDWR),
		       h->fds[0], conn, sp->report};
	int to[4] = {2, RELAY_LISTEN_FD, RELAY_SESSION_FD, SPARE_REPORT_FD};
	for (int i = 0; i < 4; i++)
		if (from[i] < 0 || (from[i] = fcntl(from[i], F_DUPFD_CLOEXEC, SPARE_REPORT_FD + 1)) < 0)
			return 1;
	for (int i = 0; i < 4; i++)
		if (dup2(from[i], to[i]) < 0)
			return 1;
	syscall(SYS_close_range, SPARE_REPORT_FD + 1, ~0U, 0);
	for (int fd = RELAY_LISTEN_FD; fd <= SPARE_REPORT_FD; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (chdir(h->cwd) < 0 && chdir("/") < 0)
		return 1;
	/* A session, as a relay started for it. */
	prctl(PR_SET_NAME, "smtpshim-relay");
	pthread_setname_np(sp->main, "smtpshim-relay");
	struct ready_context ready = {h->ca_file, ctx, SPARE_REPORT_FD};
	return relay_session(&ready);
}

/* A session's first handshake writes to pages this process still shares
 * with the server (OpenSSL's method stores, the context, the new arena):
 * each write a copy-on-write fault.  A ClientHello made here, before any
 * connection, takes those faults while nobody waits. */
static void warm_up(void)
{
	SSL_CTX *ctx = contexts_latest();
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	if (!ssl)
		return;
	SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
	SSL_set_tlsext_host_name(ssl, "warm-up.invalid");
	SSL_connect(ssl);
	SSL_free(ssl);
	ERR_clear_error();
}

void spare_over(const struct ready_context *ready)
{
	if (!ready || ready->report_fd < 0)
		return;
	tell_server(ready->report_fd, SPARE_OVER, "");
	close(ready->report_fd);
}

static void *spare_thread(void *arg)
{
	const struct spare *sp = arg;
	struct hello h = {.fds = {-1, -1}};

	warm_up();
	int conn = take_connection(sp);
	if (conn < 0)
		return (void *)0;
	close(sp->listener);
	close(sp->alive);
	/* The shim waits in the program's connect() for this 'R': it comes
	 * as soon as the session is ours (the listener is here), and the
	 * rest of the set-up follows while the shim writes the session
	 * text. */
	int taken = same_user(conn) && read_hello(conn, &h) == 0 && write(conn, "R", 1) == 1;
	tell_server(sp->report, SPARE_TOOK, ""); /* one spare less, whatever came */
	if (!taken)
		return (void *)1;
	if (!contexts_have(h.ca_file))
		tell_server(sp->report, SPARE_NEW_CA, h.ca_file);
	SSL_CTX *ctx = contexts_get(h.ca_file);
	return (void *)(intptr_t)serve_session(sp, conn, &h, ctx);
}

_Noreturn void spare_run(int listener, int alive, int report)
{
	struct spare sp = {listener, alive, report, pthread_self()};
	prctl(PR_SET_NAME, "smtpshim-spare");
	relay_start_up();
	/* The session runs on a thread of its own, so that its allocations
	 * come from a fresh malloc arena: in the main arena, whose pages are
	 * shared with the server until written, every small allocation would
	 * copy a whole page of the server's heap. */
	pthread_t t;
	void *rc;
	if (pthread_create(&t, NULL, spare_thread, &sp) != 0)
		_exit((int)(intptr_t)spare_thread(&sp));
	pthread_join(t, &rc);
	_exit((int)(intptr_t)rc);
}
