/* A daemon: fork, setsid, fork again, chdir /, close every descriptor
 * (with close_range, or a close() loop up to RLIMIT_NOFILE as older
 * daemons do), reopen stdio -- and only then resolve, connect and deliver.
 * Whatever the shim set up before cannot survive this; it must not need
 * to.  The daemon reports into STATUS_FILE ("ok: daemon finished" last).
 *
 * usage: daemonize_then_deliver HOST PORT MESSAGE close_range|loop STATUS_FILE */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;

	client_args(argc, argv, &a);
	if (a.nextra != 2)
		fail("usage: ... close_range|loop STATUS_FILE");
	const char *how = a.extra[0], *status = a.extra[1];

	pid_t first = fork();
	if (first < 0)
		fail("fork: %s", strerror(errno));
	if (first > 0) {
		int st;
		if (waitpid(first, &st, 0) != first || !WIFEXITED(st) || WEXITSTATUS(st))
			fail("the first child failed");
		ok("daemon started");
		return 0;
	}
	if (setsid() < 0)
		fail("setsid: %s", strerror(errno));
	pid_t second = fork();
	if (second < 0)
		fail("fork: %s", strerror(errno));
	if (second > 0)
		_exit(0);
	if (chdir("/") < 0)
		fail("chdir /: %s", strerror(errno));
	umask(022);
	close_all_fds_except(-1, how);
	reopen_stdio(status);
	ok("daemon pid %d closed every descriptor (%s)", (int)getpid(), how);

	int fd = connect_to(&a, AF_UNSPEC, 0, NULL, NULL);
	deliver_or_fail(fd, &a);
	close(fd);
	ok("daemon finished");
	return 0;
}
