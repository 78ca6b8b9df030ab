#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim/common/config.h"
#include "shim/common/relay_handoff.h"
#include "shim/common/text.h"
#include "net.h"
#include "tls.h"

/* A shim that connected sends its hello at once; one that does not is
 * not waited for longer than this (the server serves its own user only,
 * so this bounds a mistake, not an attack). */
#define HELLO_WAIT_MS 2000
#define CONTEXTS_MAX 8

/* The trust stores built so far, by CA file; rebuilt when the file
 * changes (a CA bundle updated while the server runs). */
struct cached_context {
	char ca_file[CONFIG_PATH_MAX];
	struct stat st;
	int have_st;
	SSL_CTX *ctx;
};
static struct cached_context contexts[CONTEXTS_MAX];
static unsigned n_contexts, next_evict;

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static SSL_CTX *context_for(const char *ca_file)
{
	struct stat st;
	const char *file = *ca_file ? ca_file : X509_get_default_cert_file();
	int have_st = stat(file, &st) == 0;
	struct cached_context *c = NULL;

	for (unsigned i = 0; i < n_contexts && !c; i++)
		if (!strcmp(contexts[i].ca_file, ca_file))
			c = &contexts[i];
	if (c && c->have_st == have_st && (!have_st || same_file(&c->st, &st)))
		return c->ctx;
	if (!c)
		c = &contexts[n_contexts < CONTEXTS_MAX ? n_contexts++ : next_evict++ % CONTEXTS_MAX];
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	char err[512];
	/* A store that does not load is the session's to report: it builds
	 * its own and fails with the relay's usual 421. */
	c->ctx = tls_context(ca_file, err, sizeof err);
	snprintf(c->ca_file, sizeof c->ca_file, "%s", ca_file);
	c->st = st;
	c->have_st = have_st;
	return c->ctx;
}

/* The hello line and the descriptors that come with it: fds[0] the
 * listener, fds[1] the host's stderr or -1. */
struct hello {
	int with_stderr; /* fds[1] is the host's stderr, for the session's */
	char ca_file[CONFIG_PATH_MAX];
	char cwd[4096];
	int fds[2];
};

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
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
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

static void close_hello(struct hello *h)
{
	for (int i = 0; i < 2; i++)
		if (h->fds[i] >= 0)
			close(h->fds[i]);
}

static void *run_session(void *ready)
{
	return (void *)(intptr_t)relay_session(ready);
}

/* The child: the descriptors where a relay started for this connection
 * has them, then that relay's session, with the context built ahead. */
_Noreturn static void serve_session(int conn, struct hello *h, SSL_CTX *ctx)
{
	int nul = open("/dev/null", O_RDWR);
	if (dup2(h->fds[0], RELAY_LISTEN_FD) < 0 || dup2(conn, RELAY_SESSION_FD) < 0 ||
	    (h->with_stderr && h->fds[1] >= 0 ? dup2(h->fds[1], 2) : dup2(nul, 2)) < 0)
		_exit(1);
	syscall(SYS_close_range, RELAY_READY_FD, ~0U, 0);
	fcntl(RELAY_LISTEN_FD, F_SETFD, FD_CLOEXEC);
	fcntl(RELAY_SESSION_FD, F_SETFD, FD_CLOEXEC);
	if (chdir(h->cwd) < 0 && chdir("/") < 0)
		_exit(1);
	prctl(PR_SET_NAME, "smtpshim-relay"); /* a session, as a relay started for it */
	relay_start_up();
	if (write(RELAY_SESSION_FD, "R", 1) != 1)
		_exit(1);
	struct ready_context ready = {h->ca_file, ctx};
	/* The session runs on a thread of its own, so that its allocations
	 * come from a fresh malloc arena: in the main arena, whose pages are
	 * shared with the server until written, every small allocation would
	 * copy a whole page of the server's heap. */
	pthread_t t;
	void *rc;
	if (pthread_create(&t, NULL, run_session, ctx ? &ready : NULL) != 0)
		_exit(relay_session(ctx ? &ready : NULL));
	pthread_join(t, &rc);
	_exit((int)(intptr_t)rc);
}

static void serve(int conn)
{
	struct ucred cred;
	socklen_t clen = sizeof cred;
	struct hello h = {.fds = {-1, -1}};

	/* The kernel's word on who connected: this user's processes only. */
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != geteuid() ||
	    read_hello(conn, &h) < 0) {
		close_hello(&h);
		return;
	}
	SSL_CTX *ctx = context_for(h.ca_file);
	pid_t pid = fork();
	if (pid == 0)
		serve_session(conn, &h, ctx);
	close_hello(&h);
}

int server_main(const char *name, const char *idle_text)
{
	unsigned long idle;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(name);

	if (text_parse_ulong(idle_text, 1, 86400, &idle) < 0 || !n ||
	    n >= sizeof sa.sun_path - 1 || strncmp(name, RELAY_SERVER_PREFIX,
						   strlen(RELAY_SERVER_PREFIX))) {
		fprintf(stderr, "usage: smtpshim-relay --serve smtpshim-relay/UID/ID SECONDS\n");
		return 2;
	}
	prctl(PR_SET_NAME, "smtpshim-server"); /* ps tells it from its sessions */
	relay_start_up();
	/* Children are reaped by the kernel: the server waits for none. */
	struct sigaction ign = {.sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT};
	sigemptyset(&ign.sa_mask);
	sigaction(SIGCHLD, &ign, NULL);
	memcpy(sa.sun_path + 1, name, n); /* abstract: sun_path[0] is 0 */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 128) < 0) {
		/* Another server took the name first: the shim will use it. */
		relay_tell_ready();
		return errno == EADDRINUSE ? 0 : 1;
	}
	context_for(""); /* the system store, the one most sessions use */
	relay_tell_ready();
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, (int)idle * 1000);
		if (r == 0)
			_exit(0); /* nothing to flush or free: the sessions are processes of their own */
		if (r < 0)
			continue;
		int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		serve(conn);
		close(conn);
	}
}
