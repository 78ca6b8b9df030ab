/* TCP Fast Open as exim does it: no connect() at all, but
 * sendto(fd, NULL, 0, MSG_FASTOPEN | MSG_DONTWAIT, dst) on a fresh socket
 * (transport/smtp.c, "tfo_out").  That call is the connect, so the shim
 * must catch it like one: the kernel's answer is 0 or EINPROGRESS, the
 * socket then becomes writable with SO_ERROR 0, getpeername() names the
 * original destination, and the session delivers over TLS.  Without
 * interception it would reach port 25 directly (the test's plaintext trap).
 *
 * usage: sendto_fastopen_connects HOST PORT MESSAGE dontwait|blocking */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;

	client_args(argc, argv, &a);
	int dontwait = !(a.nextra && !strcmp(a.extra[0], "blocking"));
	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &len);
	int fd = tcp_socket(dst.ss_family, 0);
	ssize_t rc = sendto(fd, NULL, 0, MSG_FASTOPEN | (dontwait ? MSG_DONTWAIT : 0),
			    (struct sockaddr *)&dst, len);
	if (rc < 0 && !(dontwait && errno == EINPROGRESS))
		fail("sendto(MSG_FASTOPEN%s): %s", dontwait ? "|MSG_DONTWAIT" : "", strerror(errno));
	if (rc > 0)
		fail("sendto(MSG_FASTOPEN) of 0 bytes returned %zd", rc);
	ok("sendto(MSG_FASTOPEN): %s", rc == 0 ? "0" : "EINPROGRESS");

	int err = wait_connected(fd, WAIT_POLL);
	if (err)
		fail("SO_ERROR is %s", strerror(err));
	ok("writable, SO_ERROR 0");
	expect_peer(fd, (struct sockaddr *)&dst, len);
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
