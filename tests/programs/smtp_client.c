#include "smtp_client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void fail(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* One write, so lines from several threads or processes stay whole. */
	dprintf(2, "FAIL: %s\n", line);
	exit(1);
}

void ok(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	dprintf(1, "ok: %s\n", line);
}

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		fail("cannot read the message %s: %s", path, strerror(errno));
	char *p = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	while (p && n < (size_t)st.st_size) {
		ssize_t r = read(fd, p + n, (size_t)st.st_size - n);
		if (r <= 0)
			fail("cannot read the message %s: %s", path, r ? strerror(errno) : "short");
		n += (size_t)r;
	}
	if (!p)
		fail("out of memory");
	close(fd);
	p[n] = '\0';
	*len = n;
	return p;
}

void client_args(int argc, char **argv, struct client_args *a)
{
	if (argc < 4)
		fail("usage: %s HOST PORT MESSAGE_FILE [EXTRA...]", argv[0]);
	a->host = argv[1];
	a->port = argv[2];
	a->data = read_file(argv[3], &a->len);
	a->nextra = argc - 4;
	a->extra = argv + 4;
}

void resolve(const char *host, const char *port, int family, int flags,
	     struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = flags;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		fail("getaddrinfo(%s, %s): %s", host, port, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
}

int connect_to(const struct client_args *a, int family, int ai_flags,
	       struct sockaddr_storage *dst, socklen_t *len)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	resolve(a->host, a->port, family, ai_flags, &ss, &sslen);
	int fd = tcp_socket(ss.ss_family, 0);
	if (connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
		int e = errno;
		char text[ADDR_STR_MAX];
		fail("connect to %s: %s", addr_str((struct sockaddr *)&ss, text), strerror(e));
	}
	if (dst)
		*dst = ss;
	if (len)
		*len = sslen;
	return fd;
}

const char *addr_str(const struct sockaddr *sa, char *buf)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
		snprintf(buf, ADDR_STR_MAX, "%s:%u", ip, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
		snprintf(buf, ADDR_STR_MAX, "[%s]:%u", ip, ntohs(s->sin6_port));
	} else {
		snprintf(buf, ADDR_STR_MAX, "(family %d)", sa->sa_family);
	}
	return buf;
}

void expect_peer(int fd, const struct sockaddr *dst, socklen_t len)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	char want[ADDR_STR_MAX], got[ADDR_STR_MAX];

	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		fail("getpeername: %s", strerror(errno));
	addr_str(dst, want);
	if (strcmp(addr_str((struct sockaddr *)&peer, got), want) || plen != len)
		fail("getpeername says %s (length %u), the program dialled %s (length %u)", got,
		     (unsigned)plen, want, (unsigned)len);
	ok("getpeername: %s", got);
}

int addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24 == 127;
	if (sa->sa_family != AF_INET6)
		return 0;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

int tcp_socket(int family, int type_flags)
{
	int fd = socket(family, SOCK_STREAM | type_flags, 0);
	if (fd < 0)
		fail("socket(%s): %s", family == AF_INET6 ? "AF_INET6" : "AF_INET", strerror(errno));
	return fd;
}

void set_nonblocking(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0)
		fail("fcntl(O_NONBLOCK): %s", strerror(errno));
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int wait_connected(int fd, enum wait_how how)
{
	int n = -1;
	if (how == WAIT_POLL) {
		struct pollfd p = {fd, POLLOUT, 0};
		n = poll(&p, 1, SMTP_TIMEOUT_MS);
		if (n == 1 && !(p.revents & (POLLOUT | POLLERR | POLLHUP)))
			fail("poll: unexpected revents 0x%x", p.revents);
	} else if (how == WAIT_SELECT) {
		fd_set w;
		struct timeval tv = {SMTP_TIMEOUT_MS / 1000, 0};
		if (fd >= FD_SETSIZE)
			fail("fd %d too big for select()", fd);
		FD_ZERO(&w);
		FD_SET(fd, &w);
		n = select(fd + 1, NULL, &w, NULL, &tv);
		if (n == 1 && !FD_ISSET(fd, &w))
			fail("select: fd not in the write set");
	} else {
		struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd}, got;
		int ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			fail("epoll: %s", strerror(errno));
		n = epoll_wait(ep, &got, 1, SMTP_TIMEOUT_MS);
		if (n == 1 && got.data.fd != fd)
			fail("epoll_wait: wrong fd");
		close(ep);
	}
	if (n < 0)
		fail("waiting for the connection: %s", strerror(errno));
	if (n == 0)
		fail("the connection did not become writable within %d ms", SMTP_TIMEOUT_MS);
	int err = -1;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		fail("getsockopt(SO_ERROR): %s", strerror(errno));
	return err;
}

/* ---- SMTP ------------------------------------------------------------ */

void smtp_init(struct smtp *s, int fd)
{
	memset(s, 0, sizeof *s);
	s->fd = fd;
}

static int wait_for(struct smtp *s, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = {s->fd, events, 0};
		int n = poll(&p, 1, left > 0 ? (int)left : 0);
		if (n > 0)
			return 0;
		if (n == 0) {
			snprintf(s->err, sizeof s->err, "no %s within %d ms",
				 events == POLLIN ? "reply" : "room to send", SMTP_TIMEOUT_MS);
			return -1;
		}
		if (errno != EINTR) {
			snprintf(s->err, sizeof s->err, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

int smtp_send_all(struct smtp *s, const void *p, size_t n, int flags)
{
	long long deadline = now_ms() + SMTP_TIMEOUT_MS;
	const char *c = p;
	while (n) {
		ssize_t w = send(s->fd, c, n, flags | s->send_flags | MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_for(s, POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(s->err, sizeof s->err, "send: %s", strerror(errno));
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line from the socket into line (NUL-terminated, CRLF removed). */
static int read_line(struct smtp *s, char *line, size_t cap, long long deadline)
{
	for (;;) {
		char *nl = memchr(s->buf, '\n', s->have);
		if (nl) {
			size_t n = (size_t)(nl - s->buf) + 1;
			size_t keep = n - 1;
			if (keep && s->buf[keep - 1] == '\r')
				keep--;
			if (keep >= cap)
				keep = cap - 1;
			memcpy(line, s->buf, keep);
			line[keep] = '\0';
			memmove(s->buf, s->buf + n, s->have - n);
			s->have -= n;
			return 0;
		}
		if (s->have == sizeof s->buf) {
			snprintf(s->err, sizeof s->err, "reply line longer than %zu bytes", s->have);
			return -1;
		}
		if (wait_for(s, POLLIN, deadline) < 0)
			return -1;
		ssize_t r = recv(s->fd, s->buf + s->have, sizeof s->buf - s->have, 0);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			continue;
		if (r < 0) {
			snprintf(s->err, sizeof s->err, "recv: %s", strerror(errno));
			return -1;
		}
		if (r == 0) {
			snprintf(s->err, sizeof s->err, "connection closed before a reply%s%.*s",
				 s->have ? "; partial: " : "", (int)s->have, s->buf);
			return -1;
		}
		s->have += (size_t)r;
	}
}

int smtp_read_reply(struct smtp *s)
{
	long long deadline = now_ms() + SMTP_TIMEOUT_MS;
	char line[1024];
	int code = -1;
	for (int first = 1;; first = 0) {
		if (read_line(s, line, sizeof line, deadline) < 0)
			return -1;
		if (first)
			snprintf(s->reply, sizeof s->reply, "%s", line);
		if (strlen(line) < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '9' || line[2] < '0' || line[2] > '9' ||
		    (line[3] && line[3] != ' ' && line[3] != '-')) {
			snprintf(s->err, sizeof s->err, "not an SMTP reply: %s", line);
			return -1;
		}
		int c = atoi(line);
		if (!first && c != code) {
			snprintf(s->err, sizeof s->err, "reply lines disagree: %s", line);
			return -1;
		}
		code = c;
		if (line[3] != '-')
			return code;
	}
}

int smtp_expect(struct smtp *s, int code, const char *step)
{
	int got = smtp_read_reply(s);
	if (got < 0) {
		char why[sizeof s->err];
		snprintf(why, sizeof why, "%s", s->err);
		snprintf(s->err, sizeof s->err, "%.60s: %.1300s", step, why);
		return -1;
	}
	if (got != code) {
		snprintf(s->err, sizeof s->err, "%s: expected %d, got: %s", step, code, s->reply);
		return -1;
	}
	return 0;
}

int smtp_cmd(struct smtp *s, int code, const char *step, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof line - 2) {
		snprintf(s->err, sizeof s->err, "%s: command too long", step);
		return -1;
	}
	memcpy(line + n, "\r\n", 2);
	if (smtp_send_all(s, line, (size_t)n + 2, 0) < 0) {
		char why[sizeof s->err];
		snprintf(why, sizeof why, "%s", s->err);
		snprintf(s->err, sizeof s->err, "%.60s: %.1300s", step, why);
		return -1;
	}
	return smtp_expect(s, code, step);
}

/* RFC 5321 4.5.2: a line starting with "." gets one more. */
int smtp_send_data(struct smtp *s, const char *data, size_t len)
{
	char *out = malloc(len + len / 2 + 8);
	size_t n = 0;
	if (!out) {
		snprintf(s->err, sizeof s->err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '.' && (i == 0 || data[i - 1] == '\n'))
			out[n++] = '.';
		out[n++] = data[i];
	}
	if (n < 2 || out[n - 2] != '\r' || out[n - 1] != '\n')
		memcpy(out + n, "\r\n", 2), n += 2;
	memcpy(out + n, ".\r\n", 3);
	n += 3;
	int rc = smtp_send_all(s, out, n, 0);
	free(out);
	return rc;
}

int smtp_transaction(struct smtp *s, const char *data, size_t len)
{
	if (smtp_expect(s, 220, "greeting") < 0 ||
	    smtp_cmd(s, 250, "EHLO", "EHLO %s", SMTP_HELO) < 0 ||
	    smtp_cmd(s, 250, "MAIL", "MAIL FROM:<%s>", SMTP_FROM) < 0 ||
	    smtp_cmd(s, 250, "RCPT", "RCPT TO:<%s>", SMTP_RCPT1) < 0 ||
	    smtp_cmd(s, 250, "RCPT", "RCPT TO:<%s>", SMTP_RCPT2) < 0 ||
	    smtp_cmd(s, 354, "DATA", "DATA") < 0)
		return -1;
	if (smtp_send_data(s, data, len) < 0)
		return -1;
	return smtp_expect(s, 250, "end of DATA");
}

int smtp_deliver(int fd, const char *data, size_t len, char *err, size_t errlen)
{
	struct smtp *s = malloc(sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	smtp_init(s, fd);
	int rc = smtp_transaction(s, data, len) < 0 || smtp_cmd(s, 221, "QUIT", "QUIT") < 0 ? -1 : 0;
	if (rc < 0)
		snprintf(err, errlen, "%s", s->err);
	free(s);
	return rc;
}

void deliver_or_fail(int fd, const struct client_args *a)
{
	char err[1500];
	if (smtp_deliver(fd, a->data, a->len, err, sizeof err) < 0)
		fail("SMTP: %s", err);
	ok("delivered");
}

int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		fail("opendir /proc/self/fd: %s", strerror(errno));
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd */
}

int list_children(char *buf, size_t len)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	size_t used = 0;
	int n = 0;
	if (!d)
		fail("opendir /proc/self/task: %s", strerror(errno));
	buf[0] = '\0';
	while ((e = readdir(d))) {
		char path[300], text[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* the thread has just ended */
		ssize_t r = read(fd, text, sizeof text - 1);
		close(fd);
		if (r <= 0)
			continue;
		text[r] = '\0';
		for (char *p = strtok(text, " \n"); p; p = strtok(NULL, " \n")) {
			n++;
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
						 used ? " " : "", p);
		}
	}
	closedir(d);
	return n;
}

static void close_range_or_fail(unsigned lo, unsigned hi)
{
#ifdef SYS_close_range
	if (lo > hi || syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
	fail("close_range(%u, %u): %s", lo, hi, strerror(errno));
#else
	(void)lo, (void)hi;
	fail("close_range is not known to this C library");
#endif
}

void close_all_fds_except(int keep, const char *how)
{
	if (!strcmp(how, "close_range")) {
		if (keep > 0)
			close_range_or_fail(0, (unsigned)keep - 1);
		close_range_or_fail((unsigned)keep + 1, ~0U);
		return;
	}
	if (strcmp(how, "loop"))
		fail("unknown way to close descriptors '%s'", how);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail("getrlimit: %s", strerror(errno));
	rlim_t max = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 20) ? (1 << 20) : rl.rlim_cur;
	for (rlim_t fd = 0; fd < max; fd++)
		if ((int)fd != keep)
			close((int)fd);
}

void reopen_stdio(const char *path)
{
	int nul = open("/dev/null", O_RDONLY);
	int out = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (nul != 0 || out < 0 || (out != 1 && dup2(out, 1) < 0) || dup2(1, 2) < 0)
		_exit(99); /* nowhere left to say so */
	if (out > 2)
		close(out);
}
