/* A non-blocking connect() as Python smtplib, curl, Net::SMTP and swaks do
 * it: connect() says EINPROGRESS (or 0), the program waits for
 * writability with poll(), select() or epoll, SO_ERROR says 0, and the
 * session delivers.  The descriptors open afterwards are the ones open
 * before: the hand-off leaves nothing in the host.
 *
 * usage: nonblocking_connect HOST PORT MESSAGE poll|select|epoll */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;
	enum wait_how how = WAIT_POLL;

	client_args(argc, argv, &a);
	if (a.nextra != 1)
		fail("say how to wait: poll, select or epoll");
	if (!strcmp(a.extra[0], "select"))
		how = WAIT_SELECT;
	else if (!strcmp(a.extra[0], "epoll"))
		how = WAIT_EPOLL;
	else if (strcmp(a.extra[0], "poll"))
		fail("unknown wait '%s'", a.extra[0]);

	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &len);
	int fds_before = count_open_fds();
	int fd = tcp_socket(dst.ss_family, SOCK_NONBLOCK);
	int rc = connect(fd, (struct sockaddr *)&dst, len);
	if (rc < 0 && errno != EINPROGRESS)
		fail("non-blocking connect: %s (expected EINPROGRESS or 0)", strerror(errno));
	ok("connect: %s", rc == 0 ? "0" : "EINPROGRESS");

	int err = wait_connected(fd, how);
	if (err)
		fail("%s: writable, but SO_ERROR is %s", a.extra[0], strerror(err));
	ok("%s: writable, SO_ERROR 0", a.extra[0]);

	deliver_or_fail(fd, &a);
	close(fd);
	int fds_after = count_open_fds();
	if (fds_after != fds_before)
		fail("%d descriptors open before the connection, %d after it was closed",
		     fds_before, fds_after);
	ok("no descriptor left open");
	return 0;
}
