/* A signal handler that connects while its thread is inside a hook: POSIX
 * lets handlers call connect(), so no hook may hold a lock the handler's
 * connect() would wait for (a self-deadlock).  A timer fires every 200
 * microseconds while the main thread loops on getaddrinfo(), connect() and
 * getpeername() to an intercepted destination; the first ROUNDS handler
 * calls each connect a socket of their own to the same destination and
 * close it.  The program must finish (the harness kills a hung one) and
 * then deliver.
 *
 * usage: connect_from_signal_handler HOST PORT MESSAGE ROUNDS */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "smtp_client.h"

static struct sockaddr_storage dst;
static socklen_t dstlen;
static volatile sig_atomic_t in_handler_connects, handler_budget;

static void on_alarm(int sig)
{
	int saved = errno;
	(void)sig;
	if (handler_budget > 0) {
		handler_budget--;
		int fd = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&dst, dstlen) == 0)
			in_handler_connects++;
		if (fd >= 0)
			close(fd);
	}
	errno = saved;
}

int main(int argc, char **argv)
{
	struct client_args a;
	struct sigaction sa;

	client_args(argc, argv, &a);
	int rounds = a.nextra > 0 ? atoi(a.extra[0]) : 20;
	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &dstlen);
	handler_budget = rounds;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, NULL);
	int loops = 0;
	while (handler_budget > 0 && loops < 100000) {
		struct sockaddr_storage ss;
		socklen_t len;
		resolve(a.host, a.port, AF_UNSPEC, 0, &ss, &len);
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && (connect(fd, (struct sockaddr *)&ss, len) == 0 || errno == EINTR)) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof peer;
			getpeername(fd, (struct sockaddr *)&peer, &plen);
		}
		if (fd >= 0)
			close(fd);
		loops++;
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	if (in_handler_connects == 0)
		fail("no connect() from the signal handler completed");
	ok("%d connects from a signal handler during %d rounds of hooks", (int)in_handler_connects,
	   loops);
	int fd = tcp_socket(dst.ss_family, 0);
	if (connect(fd, (struct sockaddr *)&dst, dstlen) < 0)
		fail("connect: %s", strerror(errno));
	deliver_or_fail(fd, &a);
	return 0;
}
