/* A program that sends QUIT and at once half-closes its socket with
 * shutdown(SHUT_WR) -- done sending, still reading -- as plain TCP allows:
 * the server's 221 must still arrive, then end-of-file; a send() after the
 * shutdown fails with EPIPE as the kernel makes it.
 *
 * usage: half_close_after_quit_reads_221 HOST PORT MESSAGE */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

int main(int argc, char **argv)
{
	struct client_args a;
	struct smtp s;

	client_args(argc, argv, &a);
	int fd = connect_to(&a, AF_UNSPEC, 0, NULL, NULL);
	smtp_init(&s, fd);
	if (smtp_transaction(&s, a.data, a.len) < 0)
		fail("SMTP: %s", s.err);
	ok("delivered");

	if (smtp_send_all(&s, "QUIT\r\n", 6, 0) < 0)
		fail("QUIT: %s", s.err);
	if (shutdown(fd, SHUT_WR) < 0)
		fail("shutdown(SHUT_WR): %s", strerror(errno));
	if (send(fd, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		fail("send() after shutdown(SHUT_WR) did not fail with EPIPE");
	ok("send after shutdown(SHUT_WR): EPIPE");
	if (smtp_expect(&s, 221, "QUIT, then shutdown(SHUT_WR)") < 0)
		fail("SMTP: %s", s.err);
	ok("221 after shutdown(SHUT_WR)");

	struct pollfd p = {fd, POLLIN, 0};
	char c;
	if (poll(&p, 1, SMTP_TIMEOUT_MS) != 1)
		fail("no end-of-file within %d ms after the 221", SMTP_TIMEOUT_MS);
	ssize_t r = recv(fd, &c, 1, 0);
	if (r != 0)
		fail("expected end-of-file after the 221, recv gave %zd (%s)", r,
		     r < 0 ? strerror(errno) : "data");
	ok("end-of-file after the 221");
	close(fd);
	return 0;
}
