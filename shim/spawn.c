#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_STACK (64 * 1024)

extern char **environ;

struct child_args {
	const char *helper;
	int listen_fd, session_fd, keep_stderr;
	char *const *envp;
	volatile int exec_errno; /* shared memory (CLONE_VM): written on failure */
};

static void close_from(int lowest)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = lowest; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		close((int)fd);
}

/* Runs in the host's memory until execve (CLONE_VM|CLONE_VFORK): only
 * plain system calls here, nothing that allocates or locks.  All signals
 * stay blocked through exec; the relay unblocks what it handles. */
static int child_main(void *arg)
{
	struct child_args *a = arg;
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* Move our fds above 2..4 first so the dup2 calls cannot clobber them. */
	int lfd = fcntl(a->listen_fd, F_DUPFD_CLOEXEC, 10);
	int sfd = fcntl(a->session_fd, F_DUPFD_CLOEXEC, 10);
	int nfd = nul < 0 ? -1 : fcntl(nul, F_DUPFD_CLOEXEC, 10);

	if (lfd < 0 || sfd < 0 || nfd < 0 || dup2(nfd, 0) < 0 || dup2(nfd, 1) < 0 ||
	    (!a->keep_stderr && dup2(nfd, 2) < 0) || dup2(lfd, 3) < 0 || dup2(sfd, 4) < 0) {
		a->exec_errno = errno ? errno : EBADF;
		_exit(127);
	}
	close_from(5);
	char *argv[] = {(char *)"smtpshim-relay", NULL};
	execve(a->helper, argv, a->envp);
	a->exec_errno = errno;
	_exit(127);
}

/* The relay gets no environment of the host's but PATH and HOME: no
 * LD_PRELOAD (it must not intercept itself), no host secrets. */
static void pick_env(char **out, size_t max)
{
	size_t n = 0;
	for (char **e = environ; e && *e && n + 1 < max; e++)
		if (!strncmp(*e, "PATH=", 5) || !strncmp(*e, "HOME=", 5))
			out[n++] = *e;
	out[n] = NULL;
}

int spawn_relay(const char *helper, int listen_fd, int session_fd, int keep_stderr, pid_t *pid)
{
	char *envp[3];
	struct child_args a = {helper, listen_fd, session_fd, keep_stderr, envp, 0};
	sigset_t all, old;

	pick_env(envp, 3);
	void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return errno;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* Exit signal 0: the host gets no SIGCHLD and its wait(-1) or
	 * waitpid(-1) never returns this child (only __WCLONE sees it). */
	int child = clone(child_main, (char *)stack + CHILD_STACK, CLONE_VM | CLONE_VFORK, &a);
	int err = child < 0 ? errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	munmap(stack, CHILD_STACK);

	if (err)
		return err;
	if (a.exec_errno) {
		spawn_reap(child);
		return a.exec_errno;
	}
	*pid = child;
	return 0;
}

void spawn_reap(pid_t pid)
{
	int saved = errno;
	while (waitpid(pid, NULL, __WCLONE) < 0 && errno == EINTR)
		;
	errno = saved;
}
