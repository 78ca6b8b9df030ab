/* A v4-mapped destination: an AF_INET6 socket dials ::ffff:127.0.0.1 port
 * 25 -- what a dual-stack program gets from getaddrinfo(AF_INET6,
 * AI_V4MAPPED) for an IPv4-only host.  The relay must reach the IPv4
 * server, verify the certificate for the name (or for 127.0.0.1 when the
 * program dialled the literal), and getpeername() must name the
 * v4-mapped address the program dialled.
 *
 * usage: v4_mapped_destination_delivers HOST PORT MESSAGE */
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
	resolve(a.host, a.port, AF_INET6, AI_V4MAPPED, &dst, &len);
	addr_str((struct sockaddr *)&dst, want);
	if (!IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&dst)->sin6_addr))
		fail("%s resolved to %s, not a v4-mapped address", a.host, want);
	int fd = tcp_socket(AF_INET6, 0);
	if (connect(fd, (struct sockaddr *)&dst, len) < 0)
		fail("connect to %s: %s", want, strerror(errno));
	expect_peer(fd, (struct sockaddr *)&dst, len);
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
