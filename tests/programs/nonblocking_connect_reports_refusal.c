/* Nothing listens upstream.  Without the shim a non-blocking connect
 * would end in SO_ERROR = ECONNREFUSED; under the shim the program's
 * socket really is connected (to its relay), so SO_ERROR is 0, and the
 * refusal arrives where SMTP programs report server errors: as a 421
 * greeting that names the cause.  This is the documented behaviour.
 *
 * usage: nonblocking_connect_reports_refusal HOST PORT MESSAGE */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;
	struct smtp s;

	client_args(argc, argv, &a);
	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &len);
	int fd = tcp_socket(dst.ss_family, SOCK_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&dst, len) < 0 && errno != EINPROGRESS)
		fail("non-blocking connect: %s", strerror(errno));
	int err = wait_connected(fd, WAIT_POLL);
	if (err)
		fail("SO_ERROR is %s; the socket should be connected to the relay", strerror(err));
	ok("SO_ERROR 0");

	smtp_init(&s, fd);
	int code = smtp_read_reply(&s);
	if (code < 0)
		fail("no greeting: %s", s.err);
	if (code != 421)
		fail("greeting %s, expected a 421 naming the refusal", s.reply);
	ok("greeting: %s", s.reply);
	close(fd);
	return 0;
}
