/* getpeername() with a buffer shorter than the address: the kernel writes
 * only what fits, reports the address's full length, and writes nothing
 * past the buffer -- also for a zero-length query with no buffer at all
 * (getpeername(fd, NULL, &zero), which asks only for the length).  The
 * intercepted socket must behave the same, or the shim corrupts the
 * program's memory.
 *
 * usage: getpeername_short_buffer_is_truncated HOST PORT MESSAGE */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	socklen_t len;

	client_args(argc, argv, &a);
	int fd = connect_to(&a, AF_UNSPEC, 0, &dst, &len);

	/* 4 bytes (family and port) inside a larger, marked buffer. */
	unsigned char buf[64];
	memset(buf, 0xee, sizeof buf);
	socklen_t slen = 4;
	if (getpeername(fd, (struct sockaddr *)buf, &slen) < 0)
		fail("getpeername with a 4-byte buffer: %s", strerror(errno));
	int past = 0;
	for (size_t i = 4; i < sizeof buf; i++)
		past += buf[i] != 0xee;
	if (past)
		fail("getpeername with a 4-byte buffer wrote %d bytes past its end", past);
	if (memcmp(buf, &dst, 4))
		fail("getpeername with a 4-byte buffer: not the destination's first 4 bytes");
	if (slen != len)
		fail("getpeername with a 4-byte buffer: length %u, the address's is %u",
		     (unsigned)slen, (unsigned)len);
	ok("getpeername with a 4-byte buffer: truncated, length %u", (unsigned)slen);

	/* In a child, so a crash is reported rather than suffered. */
	pid_t pid = fork();
	if (pid == 0) {
		socklen_t zero = 0;
		_exit(getpeername(fd, NULL, &zero) == 0 && zero == len ? 0 : 3);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		fail("fork/waitpid: %s", strerror(errno));
	if (WIFSIGNALED(st))
		fail("getpeername(fd, NULL, &zero) crashed the program with signal %d",
		     WTERMSIG(st));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("getpeername(fd, NULL, &zero) did not return 0 with the full length");
	ok("getpeername with no buffer: length %u", (unsigned)len);

	deliver_or_fail(fd, &a);
	close(fd);
	return 0;
}
