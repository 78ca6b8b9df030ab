/* A second connect() on the same socket (swaks calls connect() again on
 * its non-blocking socket to learn the outcome): the answers are the
 * kernel's for the connection that exists, not a second relay.
 *
 * The same sequence -- connect, connect again at once, wait, connect a
 * third time -- is first run against a listener of our own on a port the
 * shim does not catch; the intercepted socket must give the same answers,
 * and the third must be EISCONN.  Only one session may result: the test
 * also checks that exactly one relay ran.
 *
 * usage: second_connect_reports_eisconn HOST PORT MESSAGE */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

static const char *outcome(int rc, char *buf)
{
	if (rc == 0)
		return "0";
	snprintf(buf, 32, "%s", errno == EINPROGRESS ? "EINPROGRESS"
				: errno == EALREADY  ? "EALREADY"
				: errno == EISCONN   ? "EISCONN"
						     : strerror(errno));
	return buf;
}

/* Writes "first,second,third" into seq; returns the connected socket. */
static int three_connects(const struct sockaddr *dst, socklen_t len, char *seq, size_t seqlen)
{
	char b1[32], b2[32], b3[32];
	int fd = tcp_socket(dst->sa_family, SOCK_NONBLOCK);
	const char *r1 = outcome(connect(fd, dst, len), b1);
	const char *r2 = outcome(connect(fd, dst, len), b2);
	int err = wait_connected(fd, WAIT_POLL);
	if (err)
		fail("SO_ERROR after the first connects: %s", strerror(err));
	const char *r3 = outcome(connect(fd, dst, len), b3);
	snprintf(seq, seqlen, "%s,%s,%s", r1, r2, r3);
	return fd;
}

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;
	char native[128], shimmed[128];

	client_args(argc, argv, &a);
	resolve(a.host, a.port, AF_INET, 0, &dst, &len);

	/* The kernel's own answers, on a connection the shim does not touch. */
	struct sockaddr_in own = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t ownlen = sizeof own;
	int l = tcp_socket(AF_INET, 0);
	if (bind(l, (struct sockaddr *)&own, sizeof own) < 0 || listen(l, 4) < 0 ||
	    getsockname(l, (struct sockaddr *)&own, &ownlen) < 0)
		fail("own listener: %s", strerror(errno));
	close(three_connects((struct sockaddr *)&own, ownlen, native, sizeof native));
	close(l);

	int fd = three_connects((struct sockaddr *)&dst, len, shimmed, sizeof shimmed);
	printf("kernel: %s\nshim: %s\n", native, shimmed);
	fflush(stdout);
	if (strcmp(native, shimmed))
		fail("connect() answers %s under the shim, the kernel answers %s", shimmed, native);
	if (strcmp(strrchr(shimmed, ','), ",EISCONN"))
		fail("connect() on a connected socket gave %s, expected EISCONN last", shimmed);
	ok("connect answers as the kernel's: %s", shimmed);
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
