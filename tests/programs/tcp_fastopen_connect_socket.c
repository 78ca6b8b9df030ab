/* A socket with TCP_FASTOPEN_CONNECT (Linux 4.11+): connect() may return 0
 * at once and the kernel sends the SYN only with the first write.  SMTP
 * servers speak first, so a program that now waits for the greeting would
 * wait forever if that deferral applied to the relay's connection.  The
 * connection must come up and deliver without the program writing first.
 *
 * usage: tcp_fastopen_connect_socket HOST PORT MESSAGE */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;
	int one = 1;

	client_args(argc, argv, &a);
	resolve(a.host, a.port, AF_UNSPEC, 0, &dst, &len);
	int fd = tcp_socket(dst.ss_family, 0);
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one) < 0)
		fail("setsockopt(TCP_FASTOPEN_CONNECT): %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&dst, len) < 0)
		fail("connect on a TCP_FASTOPEN_CONNECT socket: %s", strerror(errno));
	ok("connect: 0");
	/* The server's greeting must arrive without a write of ours first. */
	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
