/* getpeername(): a handed-off socket reports the destination the app
 * dialled, not the relay's loopback address. */
#include <string.h>

#include "common/addr.h"
#include "libc.h"
#include "sessions.h"

static int shim_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct intercepted_socket s;
	socklen_t room = len ? *len : 0; /* the call below overwrites *len */
	int rc = libc_getpeername(fd, addr, len);

	/* Our sockets' kernel peer is the relay on loopback: any other peer
	 * needs no look-up (and no lock) at all. */
	if (rc < 0 || (room >= *len && !addr_is_loopback(addr)) || sessions_lookup(fd, &s) < 0)
		return rc;
	/* Truncate to the caller's buffer, as the kernel does, and report the
	 * full length. */
	memcpy(addr, &s.dst, room < s.dstlen ? room : s.dstlen);
	*len = s.dstlen;
	return 0;
}

__attribute__((visibility("default")))
int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	return shim_getpeername(fd, addr, len);
}
