/* An AF_INET6 socket with IPV6_V6ONLY=1 (as daemons that bind v4 and v6
 * separately make them) dials [::1]:25: the hand-off must not need
 * v4-mapped addresses on it, the option reads back as set, and the message
 * arrives over TLS.
 *
 * usage: ipv6_v6only_socket_delivers HOST PORT MESSAGE */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len, olen;
	char want[ADDR_STR_MAX];
	int one = 1, v6only = 0;

	client_args(argc, argv, &a);
	resolve(a.host, a.port, AF_INET6, 0, &dst, &len);
	int fd = tcp_socket(AF_INET6, 0);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		fail("setsockopt(IPV6_V6ONLY): %s", strerror(errno));
	addr_str((struct sockaddr *)&dst, want);
	if (connect(fd, (struct sockaddr *)&dst, len) < 0)
		fail("connect to %s from an IPV6_V6ONLY socket: %s", want, strerror(errno));
	olen = sizeof v6only;
	if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) < 0 || v6only != 1)
		fail("IPV6_V6ONLY reads %d after connect", v6only);
	ok("IPV6_V6ONLY 1");
	expect_peer(fd, (struct sockaddr *)&dst, len);
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
