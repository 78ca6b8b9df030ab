/* The host connects and then forks; the child carries on with the socket
 * (pre-forking servers and MTAs hand connections to children this way).
 * The child sees the original destination and delivers; the parent closes
 * its copy and waits for its child.  (That waitpid(-1) would find no one
 * else's child is waitpid_any_sees_no_foreign_child's to prove.)
 *
 * usage: fork_child_uses_socket HOST PORT MESSAGE */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst, peer;
	socklen_t plen = sizeof peer;
	char want[ADDR_STR_MAX], got[ADDR_STR_MAX];
	int status;

	client_args(argc, argv, &a);
	int fd = connect_to(&a, AF_UNSPEC, 0, &dst, NULL);

	pid_t child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
			fail("getpeername in the child: %s", strerror(errno));
		addr_str((struct sockaddr *)&dst, want);
		if (strcmp(addr_str((struct sockaddr *)&peer, got), want))
			fail("getpeername in the child says %s, the parent dialled %s", got, want);
		ok("getpeername in the child: %s", got);
		deliver_or_fail(fd, &a);
		_exit(0);
	}
	close(fd);
	pid_t w;
	while ((w = waitpid(child, &status, 0)) < 0 && errno == EINTR)
		;
	if (w != child)
		fail("waitpid(%d): %s", (int)child, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed (status 0x%x)", status);
	ok("the child delivered and exited 0");
	return 0;
}
