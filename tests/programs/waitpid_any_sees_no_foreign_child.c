/* A host that reaps with waitpid(-1) -- from a SIGCHLD handler and from a
 * thread looping waitpid(-1, WNOHANG) all through the connect and the
 * session -- must see its own child and nothing else: the relay is never
 * its child, and no SIGCHLD arrives for it.  The program forks one child
 * of its own (it exits after 200 ms) so the reaping is not idle.
 *
 * usage: waitpid_any_sees_no_foreign_child HOST PORT MESSAGE */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smtp_client.h"

static pid_t own_child;
static atomic_int sigchld_count, reaped_own, reaped_foreign, stop;
static atomic_int foreign_pid;

static void reap(void)
{
	int saved = errno, st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == own_child)
			atomic_fetch_add(&reaped_own, 1);
		else {
			atomic_fetch_add(&reaped_foreign, 1);
			atomic_store(&foreign_pid, p);
		}
	}
	errno = saved;
}

static void on_sigchld(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigchld_count, 1);
	reap();
}

static void *reaper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		reap();
	return NULL;
}

int main(int argc, char **argv)
{
	struct client_args a;
	struct sigaction sa;
	pthread_t t;
	char kids[256];

	client_args(argc, argv, &a);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		fail("sigaction: %s", strerror(errno));

	own_child = fork();
	if (own_child < 0)
		fail("fork: %s", strerror(errno));
	if (own_child == 0) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
		_exit(0);
	}
	if (pthread_create(&t, NULL, reaper, NULL))
		fail("pthread_create failed");

	int fd = connect_to(&a, AF_UNSPEC, 0, NULL, NULL);
	deliver_or_fail(fd, &a);
	close(fd);

	/* Our own child has surely exited by now; give the reaping a moment. */
	for (int i = 0; i < 100 && !atomic_load(&reaped_own); i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);

	if (atomic_load(&reaped_foreign))
		fail("waitpid(-1) returned %d child(ren) the program never made (pid %d)",
		     atomic_load(&reaped_foreign), atomic_load(&foreign_pid));
	if (atomic_load(&reaped_own) != 1)
		fail("our own child was reaped %d times", atomic_load(&reaped_own));
	if (atomic_load(&sigchld_count) != 1)
		fail("%d SIGCHLD arrived; only our own child should have sent one",
		     atomic_load(&sigchld_count));
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		fail("waitpid(-1) does not say ECHILD after everything was reaped");
	if (list_children(kids, sizeof kids))
		fail("the process still has children: %s", kids);
	ok("waitpid(-1) saw only our own child; one SIGCHLD; no children left");
	return 0;
}
