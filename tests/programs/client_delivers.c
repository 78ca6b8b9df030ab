/* The plainest client: resolve, blocking connect, deliver.  Built as a
 * 32-bit (cc -m32) and a musl-linked program, it proves the shim reaches
 * programs of another ABI through the same smtpshim wrapper.
 *
 * usage: client_delivers HOST PORT MESSAGE */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;

	client_args(argc, argv, &a);
	ok("%zu-bit program", sizeof(void *) * 8);
	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &len);
	int fd = tcp_socket(dst.ss_family, 0);
	if (connect(fd, (struct sockaddr *)&dst, len) < 0)
		fail("connect: %s", strerror(errno));
	expect_peer(fd, (struct sockaddr *)&dst, len);
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
