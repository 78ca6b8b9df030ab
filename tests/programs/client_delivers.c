/* The plainest client: resolve, blocking connect, deliver.  Built as a
 * 32-bit (cc -m32) and a musl-linked program, it proves the shim reaches
 * programs of another ABI through the same smtpshim wrapper.  Given a
 * NEXT program, it then execs it with the same HOST PORT MESSAGE (and the
 * rest): a chain of programs of different ABIs under one smtpshim, where
 * each must find its own build of the shim from the one LD_PRELOAD value.
 *
 * usage: client_delivers HOST PORT MESSAGE [NEXT [NEXT...]] */
#include <errno.h>
#include <stdio.h>
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
#ifdef __GLIBC__
	ok("C library: glibc");
#else
	ok("C library: musl");
#endif
	int fd = connect_to(&a, AF_UNSPEC, 0, &dst, &len);
	expect_peer(fd, (struct sockaddr *)&dst, len);
	deliver_or_fail(fd, &a);
	close(fd);
	if (a.nextra) {
		/* NEXT HOST PORT MESSAGE [NEXT...]: the next program's name moved
		 * to the front of the rest */
		char *next = argv[4];
		memmove(argv + 2, argv + 1, 3 * sizeof *argv);
		argv[1] = next;
		fflush(NULL);
		execv(next, argv + 1);
		fail("exec %s: %s", next, strerror(errno));
	}
	return 0;
}
