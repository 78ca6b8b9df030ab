/* An IPv6 destination: an AF_INET6 socket dials [::1]:25 (by a name that
 * resolves to ::1, or by the literal), the relay reaches the server on
 * [::1], getpeername() names [::1]:25, and the message arrives over TLS.
 *
 * usage: ipv6_destination_delivers HOST PORT MESSAGE */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;
	char want[ADDR_STR_MAX];

	client_args(argc, argv, &a);
	resolve(a.host, a.port, AF_INET6, 0, &dst, &len);
	if (IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&dst)->sin6_addr))
		fail("%s resolved to a v4-mapped address", a.host);
	int fd = tcp_socket(AF_INET6, 0);
	if (connect(fd, (struct sockaddr *)&dst, len) < 0)
		fail("connect to %s: %s", addr_str((struct sockaddr *)&dst, want), strerror(errno));
	expect_peer(fd, (struct sockaddr *)&dst, len);
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
