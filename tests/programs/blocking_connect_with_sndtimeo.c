/* A blocking connect() on a socket with SO_SNDTIMEO (msmtp and others bound
 * their connects this way): it returns 0 well inside the timeout, and the
 * option is still the program's own afterwards -- the socket was not
 * swapped for another one.
 *
 * usage: blocking_connect_with_sndtimeo HOST PORT MESSAGE */
#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "smtp_client.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;
	struct timeval tv = {3, 500000}, got;
	socklen_t glen = sizeof got;

	client_args(argc, argv, &a);
	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &len);
	int fd = tcp_socket(dst.ss_family, 0);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		fail("setsockopt(SO_SNDTIMEO): %s", strerror(errno));
	double t0 = now();
	if (connect(fd, (struct sockaddr *)&dst, len) < 0)
		fail("blocking connect with SO_SNDTIMEO: %s", strerror(errno));
	double took = now() - t0;
	if (took > 3.5)
		fail("connect took %.2f s, longer than SO_SNDTIMEO (3.5 s)", took);
	ok("connect: 0 within SO_SNDTIMEO");
	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &got, &glen) < 0)
		fail("getsockopt(SO_SNDTIMEO): %s", strerror(errno));
	if (got.tv_sec != tv.tv_sec || got.tv_usec / 1000 != tv.tv_usec / 1000)
		fail("SO_SNDTIMEO is %ld.%06ld after connect, was set to 3.500000", (long)got.tv_sec,
		     (long)got.tv_usec);
	ok("SO_SNDTIMEO still 3.5 s");
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
