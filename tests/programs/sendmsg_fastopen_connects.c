/* TCP Fast Open through sendmsg(): msg_name carries the destination and
 * MSG_FASTOPEN makes the call a connect, just like sendto() (some
 * programs build a msghdr for everything).  The shim must catch it: 0 or
 * EINPROGRESS, then writable with SO_ERROR 0, getpeername() the original
 * destination, and delivery over TLS.
 *
 * usage: sendmsg_fastopen_connects HOST PORT MESSAGE */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
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
	struct msghdr m;
	struct iovec none = {NULL, 0};

	client_args(argc, argv, &a);
	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &len);
	int fd = tcp_socket(dst.ss_family, 0);
	memset(&m, 0, sizeof m);
	m.msg_name = &dst;
	m.msg_namelen = len;
	m.msg_iov = &none;
	m.msg_iovlen = 1;
	ssize_t rc = sendmsg(fd, &m, MSG_FASTOPEN | MSG_DONTWAIT);
	if (rc < 0 && errno != EINPROGRESS)
		fail("sendmsg(MSG_FASTOPEN|MSG_DONTWAIT): %s", strerror(errno));
	if (rc > 0)
		fail("sendmsg(MSG_FASTOPEN) of 0 bytes returned %zd", rc);
	ok("sendmsg(MSG_FASTOPEN): %s", rc == 0 ? "0" : "EINPROGRESS");

	int err = wait_connected(fd, WAIT_POLL);
	if (err)
		fail("SO_ERROR is %s", strerror(err));
	ok("writable, SO_ERROR 0");
	expect_peer(fd, (struct sockaddr *)&dst, len);
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
