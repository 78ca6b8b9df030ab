/* The first call into the shim comes from a thread other than the main
 * one: main() only starts a thread and joins it, and that thread makes
 * the process's first hooked call (getaddrinfo, then connect) and
 * delivers.  The shim's lazy set-up must work from there.
 *
 * usage: first_call_from_thread HOST PORT MESSAGE */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "smtp_client.h"

static struct client_args a;

static void *worker(void *arg)
{
	(void)arg;
	if (syscall(SYS_gettid) == getpid())
		fail("the worker runs on the main thread");
	int fd = connect_to(&a, AF_UNSPEC, 0, NULL, NULL);
	ok("first hooked call from a thread, not main");
	deliver_or_fail(fd, &a);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	client_args(argc, argv, &a);
	if (pthread_create(&t, NULL, worker, NULL))
		fail("pthread_create failed");
	pthread_join(t, NULL);
	return 0;
}
