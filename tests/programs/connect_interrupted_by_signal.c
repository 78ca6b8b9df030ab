/* Signals during blocking connects: a SIGALRM handler installed without
 * SA_RESTART fires every 100 microseconds while the program connects again
 * and again (on loopback a connect() is that short; slower timers never hit
 * one).  Each connect() must return 0 or -1/EINTR, as libc's would.  After
 * EINTR the program either
 *   close: gives up on that socket and closes it, or
 *   retry: calls connect() again on the same socket, as many programs
 *          do, which must then give the kernel's answer for the connection
 *          under way (0, EALREADY or EISCONN) -- not a second relay; the
 *          first socket so recovered is the one that delivers at the end.
 * Afterwards no descriptor is left open in the host (the test also checks
 * that no relay process stays behind), and the delivery works.
 *
 * usage: connect_interrupted_by_signal HOST PORT MESSAGE close|retry ROUNDS */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "smtp_client.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void timer(long usec)
{
	struct itimerval it = {{0, usec}, {0, usec}};
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		fail("setitimer: %s", strerror(errno));
}

/* connect() again until the kernel says the connection is there. */
static void recover(int fd, const struct sockaddr_storage *dst, socklen_t len, int round)
{
	for (int tries = 0; tries < 100000; tries++) {
		if (connect(fd, (const struct sockaddr *)dst, len) == 0 || errno == EISCONN)
			return;
		if (errno != EINTR && errno != EALREADY)
			fail("round %d: connect() again after EINTR: %s (expected 0, EALREADY or "
			     "EISCONN)", round, strerror(errno));
	}
	fail("round %d: connect() after EINTR never completed", round);
}

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;
	struct sigaction sa;
	int connected = 0, interrupted = 0, kept = -1;

	client_args(argc, argv, &a);
	if (a.nextra != 2 || (strcmp(a.extra[0], "close") && strcmp(a.extra[0], "retry")))
		fail("usage: ... close|retry ROUNDS");
	int retry = !strcmp(a.extra[0], "retry"), rounds = atoi(a.extra[1]);
	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &len);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART: connect() may fail with EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		fail("sigaction: %s", strerror(errno));

	int fds_before = count_open_fds();
	timer(100);
	for (int i = 0; i < rounds; i++) {
		int fd;
		while ((fd = socket(dst.ss_family, SOCK_STREAM, 0)) < 0 && errno == EINTR)
			;
		if (fd < 0)
			fail("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&dst, len) == 0) {
			connected++;
		} else if (errno == EINTR) {
			interrupted++;
			if (retry)
				recover(fd, &dst, len, i);
			if (retry && kept < 0) {
				kept = fd;
				continue;
			}
		} else {
			fail("round %d: connect: %s (expected 0 or EINTR)", i, strerror(errno));
		}
		close(fd);
	}
	timer(0);
	int fds_after = count_open_fds() - (kept >= 0);
	if (fds_after != fds_before)
		fail("%d descriptors open before the rounds, %d after", fds_before, fds_after);
	ok("%d connects under %d SIGALRMs: %d returned 0, %d EINTR", rounds, (int)alarms,
	   connected, interrupted);
	ok("no descriptor left open");
	if (!interrupted)
		fail("no connect() was interrupted: nothing was tested");

	int fd = kept;
	if (fd >= 0) {
		ok("connect() again after EINTR completed the connection");
	} else {
		fd = tcp_socket(dst.ss_family, 0);
		if (connect(fd, (struct sockaddr *)&dst, len) < 0)
			fail("connect after the rounds: %s", strerror(errno));
	}
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
