#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

long long net_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int net_wait(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - net_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {fd, events, 0};
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

void net_set_nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void net_set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void net_set_keepalive(int fd)
{
	int one = 1, idle = NET_KEEPALIVE_IDLE, intvl = NET_KEEPALIVE_INTVL, cnt = NET_KEEPALIVE_CNT;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

int net_connect(const struct sockaddr *sa, socklen_t len, long long deadline, char *err,
		size_t errlen)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	net_set_nodelay(fd);
	if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	int ready = net_wait(fd, POLLOUT, deadline);
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (ready == 1)
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (ready != 1 || soerr) {
		snprintf(err, errlen, "%s", ready == 0 ? "timed out" : strerror(soerr ? soerr : errno));
		close(fd);
		return -1;
	}
	return fd;
}

ssize_t net_read(int fd, void *buf, size_t len, long long deadline)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		int r = net_wait(fd, POLLIN, deadline);
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			return -1;
	}
}

int net_write_all(int fd, const void *buf, size_t len, long long deadline)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		int r = net_wait(fd, POLLOUT, deadline);
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			return -1;
	}
	return 0;
}

void net_close_gently(int fd, unsigned seconds)
{
	char sink[4096];
	long long deadline = net_now_ms() + (long long)seconds * 1000;
	shutdown(fd, SHUT_WR);
	net_set_nonblocking(fd);
	while (net_read(fd, sink, sizeof sink, deadline) > 0)
		;
	close(fd);
}
