/* Threads and fork together, as MTAs and language runtimes do: one thread
 * keeps calling getpeername() on an intercepted socket while the main
 * thread forks again and again, and every child calls getpeername() on
 * the same socket once and exits.  Any lock the shim holds across such a
 * call must be usable in the child (a lock copied while held is never
 * released there): every child must finish within 2 seconds.
 *
 * usage: fork_while_threads_use_socket HOST PORT MESSAGE [FORKS] */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smtp_client.h"

static int sock;
static atomic_int stop;

static void *hammer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof peer;
		getpeername(sock, (struct sockaddr *)&peer, &plen);
	}
	return NULL;
}

/* 1: exited 0; 0: still running after the deadline (then killed). */
static int wait_child(pid_t pid, int *status)
{
	for (int i = 0; i < 2000; i++) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 1;
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct client_args a;
	pthread_t t;

	client_args(argc, argv, &a);
	int forks = a.nextra ? atoi(a.extra[0]) : 200;
	sock = connect_to(&a, AF_UNSPEC, 0, NULL, NULL);
	if (pthread_create(&t, NULL, hammer, NULL))
		fail("pthread_create failed");

	for (int i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid < 0)
			fail("fork: %s", strerror(errno));
		if (pid == 0) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof peer;
			_exit(getpeername(sock, (struct sockaddr *)&peer, &plen) == 0 ? 0 : 3);
		}
		int st = 0;
		if (!wait_child(pid, &st)) {
			atomic_store(&stop, 1);
			fail("fork %d: the child hung in getpeername() (a lock of the shim was "
			     "held by another thread at fork time)", i);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fail("fork %d: getpeername() failed in the child (status 0x%x)", i, st);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	ok("%d children forked while a thread used the socket all finished", forks);
	deliver_or_fail(sock, &a);
	close(sock);
	return 0;
}
