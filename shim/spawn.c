#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/relay_handoff.h"
#include "settings.h"

#define CHILD_STACK (64 * 1024)


struct child_args {
	const char *helper;
	char *const *argv;
	int listen_fd, session_fd, ready_fd, keep_stderr, secure; /* -1: /dev/null */
	char *const *envp;
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

/* Tells the shim why the relay never ran: 'E' and errno on the ready pipe. */
_Noreturn static void fail(int ready_fd, int err)
{
	char msg[1 + sizeof err];
	msg[0] = 'E';
	memcpy(msg + 1, &err, sizeof err);
	if (write(ready_fd, msg, sizeof msg) < 0)
		_exit(126);
	_exit(127);
}

/* A copy of the host (its own memory from here on) that becomes the relay. */
_Noreturn static void become_relay(const struct child_args *a)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* Move our fds above 2..5 first so the dup2 calls cannot clobber them. */
	int nfd = nul < 0 ? -1 : fcntl(nul, F_DUPFD_CLOEXEC, 10);
	int lfd = fcntl(a->listen_fd < 0 ? nfd : a->listen_fd, F_DUPFD_CLOEXEC, 10);
	int sfd = fcntl(a->session_fd < 0 ? nfd : a->session_fd, F_DUPFD_CLOEXEC, 10);
	int rfd = fcntl(a->ready_fd, F_DUPFD_CLOEXEC, 10);

	if (rfd < 0)
		_exit(127);
	if (lfd < 0 || sfd < 0 || nfd < 0 || dup2(nfd, 0) < 0 || dup2(nfd, 1) < 0 ||
	    (!a->keep_stderr && dup2(nfd, 2) < 0) || dup2(lfd, RELAY_LISTEN_FD) < 0 ||
	    dup2(sfd, RELAY_SESSION_FD) < 0 || dup2(rfd, RELAY_READY_FD) < 0)
		fail(rfd, errno ? errno : EBADF);
	close_from(RELAY_READY_FD + 1);
	/* In a set-user-ID host (or a root one without settings from root's
	 * wrapper) the working directory may be the invoker's. */
	if (a->secure && chdir("/") < 0)
		fail(RELAY_READY_FD, errno);
	execve(a->helper, a->argv, a->envp);
	fail(RELAY_READY_FD, errno);
}

/* Runs in the host's memory (CLONE_VM|CLONE_VFORK) with all signals
 * blocked: only plain system calls, nothing that allocates or locks.  It
 * never execs, so it keeps the exit signal 0 it was made with (an execve
 * would reset it to SIGCHLD): the host is never signalled and its wait()
 * never sees it.  The relay is its child, made with the raw system call
 * (glibc's fork() would run the host's atfork handlers), and is adopted by
 * init as soon as this process exits. */
static int child_main(void *arg)
{
	long pid = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (pid == 0)
		become_relay(arg);
	_exit(pid < 0 ? 1 : 0);
}

/* The relay gets PATH and HOME only (relay_environment), of the
 * environment the settings came from.  In a set-user-ID or root host
 * without settings from root's wrapper even those may belong to the
 * invoker (PATH would choose the password command's programs): a fixed
 * PATH only. */
static void pick_env(char **out, size_t max, char *const *from)
{
	static char safe_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	if (from) {
		relay_environment(from, out, max);
		return;
	}
	out[0] = safe_path;
	out[1] = NULL;
}

static int start(struct child_args *a)
{
	sigset_t all, old;
	void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -1;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int child = clone(child_main, (char *)stack + CHILD_STACK, CLONE_VM | CLONE_VFORK, a);
	int saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (child > 0)
		while (waitpid(child, NULL, __WCLONE) < 0 && errno == EINTR)
			;
	munmap(stack, CHILD_STACK);
	errno = saved;
	return child > 0 ? 0 : -1;
}

/* 'R' from the relay once it runs; 'E' and an errno if it never did; the
 * pipe's end if it died first. */
static int await_ready(int fd, int timeout_ms, const char *helper, char *why, size_t whylen)
{
	char msg[1 + sizeof(int)];
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n = 0;
	int r;

	while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (r == 1)
		while ((n = read(fd, msg, sizeof msg)) < 0 && errno == EINTR)
			;
	if (r == 1 && n >= 1 && msg[0] == 'R')
		return 0;
	if (r == 1 && n == (ssize_t)sizeof msg && msg[0] == 'E') {
		int err;
		memcpy(&err, msg + 1, sizeof err);
		snprintf(why, whylen, "cannot start the relay %s: %s", helper, strerror(err));
	} else if (r == 1) {
		snprintf(why, whylen, "the relay %s failed at start", helper);
	} else {
		snprintf(why, whylen, "the relay %s did not start in time", helper);
	}
	return -1;
}

static int spawn(const char *helper, char *const *argv, int listen_fd, int session_fd,
		 int keep_stderr, int timeout_ms, char *why, size_t whylen)
{
	char *envp[3];
	int ready[2];
	char *const *from = shim_relay_environment();
	/* Without an environment to trust, the working directory is no more
	 * trustworthy: no relative path may resolve there. */
	int secure = getauxval(AT_SECURE) != 0 || !from;
	struct child_args a = {helper, argv, listen_fd, session_fd, -1, keep_stderr, secure, envp};

	pick_env(envp, 3, from);
	if (pipe2(ready, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "cannot start the relay: %s", strerror(errno));
		return -1;
	}
	a.ready_fd = ready[1];
	int rc = start(&a);
	if (rc < 0)
		snprintf(why, whylen, "cannot start the relay: %s", strerror(errno));
	close(ready[1]);
	if (rc == 0)
		rc = await_ready(ready[0], timeout_ms, helper, why, whylen);
	close(ready[0]);
	return rc;
}

int spawn_relay(const char *helper, int listen_fd, int session_fd, int keep_stderr,
		int timeout_ms, char *why, size_t whylen)
{
	char *argv[] = {(char *)"smtpshim-relay", NULL};
	return spawn(helper, argv, listen_fd, session_fd, keep_stderr, timeout_ms, why, whylen);
}

int spawn_relay_server(const char *helper, const char *name, unsigned idle_seconds,
		       int timeout_ms, char *why, size_t whylen)
{
	char idle[16];
	snprintf(idle, sizeof idle, "%u", idle_seconds);
	char *argv[] = {(char *)"smtpshim-relay", (char *)"--serve", (char *)name, idle, NULL};
	return spawn(helper, argv, -1, -1, 0, timeout_ms, why, whylen);
}
