/* getpeername() on an intercepted socket names the destination the program
 * dialled, not the relay's loopback end -- on the socket itself, on a
 * dup()ed and on an fcntl(F_DUPFD)ed descriptor, with the address's own
 * length.
 *
 * usage: getpeername_is_original_destination HOST PORT MESSAGE */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

static void check_peer(int fd, const struct sockaddr_storage *dst, socklen_t dstlen,
		       const char *which)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	char want[ADDR_STR_MAX], got[ADDR_STR_MAX];

	memset(&peer, 0, sizeof peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		fail("getpeername on %s: %s", which, strerror(errno));
	addr_str((const struct sockaddr *)dst, want);
	addr_str((struct sockaddr *)&peer, got);
	if (strcmp(got, want) || plen != dstlen)
		fail("getpeername on %s: %s (length %u), the program dialled %s (length %u)", which,
		     got, (unsigned)plen, want, (unsigned)dstlen);
	ok("getpeername on %s: %s", which, got);
}

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;

	client_args(argc, argv, &a);
	int fd = connect_to(&a, AF_UNSPEC, 0, &dst, &len);

	check_peer(fd, &dst, len, "the socket");
	int d1 = dup(fd), d2 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	if (d1 < 0 || d2 < 0)
		fail("dup: %s", strerror(errno));
	check_peer(d1, &dst, len, "a dup()ed descriptor");
	check_peer(d2, &dst, len, "an F_DUPFD descriptor");

	close(fd);
	close(d2);
	deliver_or_fail(d1, &a);
	close(d1);
	return 0;
}
