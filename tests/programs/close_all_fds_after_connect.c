/* The host connects, then closes every other descriptor it has (close_range
 * or a close() loop, as programs do before exec or when they daemonize
 * late), and goes on with the socket.  The session must not depend on any
 * descriptor the shim might have kept in the host.  Reports go to
 * STATUS_FILE, reopened as stdout and stderr after the closing.
 *
 * usage: close_all_fds_after_connect HOST PORT MESSAGE close_range|loop STATUS_FILE */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;

	client_args(argc, argv, &a);
	if (a.nextra != 2)
		fail("usage: ... close_range|loop STATUS_FILE");
	int fd = connect_to(&a, AF_UNSPEC, 0, NULL, NULL);

	close_all_fds_except(fd, a.extra[0]);
	reopen_stdio(a.extra[1]);
	int open_now = count_open_fds();
	if (open_now != 4)
		fail("%d descriptors open, expected stdio and the socket", open_now);
	ok("every descriptor but the socket closed (%s)", a.extra[0]);
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
