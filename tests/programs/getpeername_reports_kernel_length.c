/* Programs that keep addresses in a struct sockaddr_storage often pass
 * sizeof(struct sockaddr_storage) to connect(), and leave junk in
 * sin_zero; the kernel accepts both, and its getpeername() then reports
 * the address's own length (16 for IPv4) with sin_zero cleared.  The same
 * connect made to a listener of our own (a port the shim does not catch)
 * gives the kernel's answer; the intercepted socket must give the same.
 *
 * usage: getpeername_reports_kernel_length HOST PORT MESSAGE */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

static void peer_of(int fd, struct sockaddr_storage *peer, socklen_t *plen)
{
	memset(peer, 0xaa, sizeof *peer);
	*plen = sizeof *peer;
	if (getpeername(fd, (struct sockaddr *)peer, plen) < 0)
		fail("getpeername: %s", strerror(errno));
}

/* connect() with the whole storage as the length and junk after the address. */
static int connect_sloppily(struct sockaddr_in dst)
{
	struct sockaddr_storage ss;
	memset(&ss, 0x55, sizeof ss);
	memcpy(&ss, &dst, sizeof dst);
	memset(((struct sockaddr_in *)&ss)->sin_zero, 0x55, 8);
	int fd = tcp_socket(AF_INET, 0);
	if (connect(fd, (struct sockaddr *)&ss, sizeof ss) < 0)
		fail("connect with length %zu: %s", sizeof ss, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst, kpeer, speer;
	socklen_t len, klen, slen;

	client_args(argc, argv, &a);
	resolve(a.host, a.port, AF_INET, 0, &dst, &len);

	struct sockaddr_in own = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t ownlen = sizeof own;
	int l = tcp_socket(AF_INET, 0);
	if (bind(l, (struct sockaddr *)&own, sizeof own) < 0 || listen(l, 4) < 0 ||
	    getsockname(l, (struct sockaddr *)&own, &ownlen) < 0)
		fail("own listener: %s", strerror(errno));
	int k = connect_sloppily(own);
	peer_of(k, &kpeer, &klen);
	close(k);
	close(l);

	int fd = connect_sloppily(*(struct sockaddr_in *)&dst);
	peer_of(fd, &speer, &slen);
	if (slen != klen)
		fail("getpeername length %u under the shim, the kernel says %u", (unsigned)slen,
		     (unsigned)klen);
	ok("getpeername length %u, as the kernel's", (unsigned)slen);
	/* Everything the kernel wrote except the port must match: zeroed
	 * sin_zero, and the rest of the buffer untouched. */
	((struct sockaddr_in *)&kpeer)->sin_port = ((struct sockaddr_in *)&dst)->sin_port;
	((struct sockaddr_in *)&kpeer)->sin_addr = ((struct sockaddr_in *)&dst)->sin_addr;
	if (memcmp(&kpeer, &speer, sizeof kpeer))
		fail("getpeername wrote other bytes than the kernel would (sin_zero not cleared, "
		     "or beyond the address)");
	ok("getpeername bytes as the kernel's");
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
