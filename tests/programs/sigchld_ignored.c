/* A host that sets SIGCHLD to SIG_IGN (so the kernel reaps its children)
 * or SA_NOCLDWAIT: connect() must still return promptly -- the shim's own
 * wait for its short-lived helper must neither hang nor fail -- and the
 * session delivers, with no child left behind.
 *
 * usage: sigchld_ignored HOST PORT MESSAGE ign|nocldwait */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smtp_client.h"

static void on_sigchld(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;
	struct sigaction sa;
	char kids[256];

	client_args(argc, argv, &a);
	int nocldwait = a.nextra && !strcmp(a.extra[0], "nocldwait");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = nocldwait ? on_sigchld : SIG_IGN;
	sa.sa_flags = nocldwait ? SA_NOCLDWAIT | SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		fail("sigaction: %s", strerror(errno));

	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &len);
	int fd = tcp_socket(dst.ss_family, 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (connect(fd, (struct sockaddr *)&dst, len) < 0)
		fail("connect with SIGCHLD %s: %s", nocldwait ? "SA_NOCLDWAIT" : "SIG_IGN",
		     strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (took > 2)
		fail("connect took %.1f s", took);
	ok("connect: 0 with SIGCHLD %s", nocldwait ? "SA_NOCLDWAIT" : "SIG_IGN");
	deliver_or_fail(fd, &a);
	close(fd);
	if (list_children(kids, sizeof kids))
		fail("the process has children it never made: %s", kids);
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		fail("waitpid(-1) does not say ECHILD");
	ok("no children");
	return 0;
}
