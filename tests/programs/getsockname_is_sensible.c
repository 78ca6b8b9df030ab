/* getsockname() on an intercepted socket gives a sensible local address:
 * the socket's own family, a loopback address (the socket really is
 * connected to the relay on this host), and a non-zero port.
 *
 * usage: getsockname_is_sensible HOST PORT MESSAGE [inet|inet6] */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage me;
	socklen_t mlen = sizeof me;
	char text[ADDR_STR_MAX];

	client_args(argc, argv, &a);
	int family = a.nextra && !strcmp(a.extra[0], "inet6") ? AF_INET6 : AF_INET;
	int fd = connect_to(&a, family, family == AF_INET6 ? AI_V4MAPPED : 0, NULL, NULL);
	if (getsockname(fd, (struct sockaddr *)&me, &mlen) < 0)
		fail("getsockname: %s", strerror(errno));
	addr_str((struct sockaddr *)&me, text);
	if (me.ss_family != family)
		fail("getsockname: %s is not of the socket's family", text);
	if (mlen != (family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)))
		fail("getsockname: length %u for %s", (unsigned)mlen, text);
	if (!addr_is_loopback((struct sockaddr *)&me))
		fail("getsockname: %s is not a loopback address", text);
	in_port_t port = family == AF_INET ? ((struct sockaddr_in *)&me)->sin_port
					   : ((struct sockaddr_in6 *)&me)->sin6_port;
	if (!port)
		fail("getsockname: port 0");
	ok("getsockname: loopback %s, non-zero port", family == AF_INET ? "IPv4" : "IPv6");
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
