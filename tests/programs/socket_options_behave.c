/* The program's socket stays a real TCP socket under the shim: the options
 * MTAs set read back as set (TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE,
 * TCP_CORK), the socket says it is an established TCP stream, the message
 * goes out corked with MSG_MORE (exim's way) and arrives whole.
 *
 * usage: socket_options_behave HOST PORT MESSAGE */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

static int get_int(int fd, int level, int name, const char *what)
{
	int v = -1;
	socklen_t len = sizeof v;
	if (getsockopt(fd, level, name, &v, &len) < 0)
		fail("getsockopt(%s): %s", what, strerror(errno));
	return v;
}

static void set_and_check(int fd, int level, int name, int value, const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof value) < 0)
		fail("setsockopt(%s, %d): %s", what, value, strerror(errno));
	int got = get_int(fd, level, name, what);
	if (got != value)
		fail("%s reads %d after it was set to %d", what, got, value);
	ok("%s %d", what, value);
}

int main(int argc, char **argv)
{
	struct client_args a;
	struct sockaddr_storage dst;
	struct smtp s;

	client_args(argc, argv, &a);
	int fd = connect_to(&a, AF_UNSPEC, 0, &dst, NULL);

	if (get_int(fd, SOL_SOCKET, SO_TYPE, "SO_TYPE") != SOCK_STREAM ||
	    get_int(fd, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL") != IPPROTO_TCP ||
	    get_int(fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN") != dst.ss_family)
		fail("the socket is no longer a TCP stream of the family it was made with");
	struct tcp_info ti;
	socklen_t tlen = sizeof ti;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) < 0)
		fail("getsockopt(TCP_INFO): %s", strerror(errno));
	if (ti.tcpi_state != TCP_ESTABLISHED)
		fail("TCP_INFO state %u, expected ESTABLISHED", ti.tcpi_state);
	ok("an established TCP stream");

	set_and_check(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	set_and_check(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	set_and_check(fd, IPPROTO_TCP, TCP_KEEPIDLE, 120, "TCP_KEEPIDLE");

	smtp_init(&s, fd);
	if (smtp_expect(&s, 220, "greeting") < 0 ||
	    smtp_cmd(&s, 250, "EHLO", "EHLO %s", SMTP_HELO) < 0 ||
	    smtp_cmd(&s, 250, "MAIL", "MAIL FROM:<%s>", SMTP_FROM) < 0 ||
	    smtp_cmd(&s, 250, "RCPT", "RCPT TO:<%s>", SMTP_RCPT1) < 0 ||
	    smtp_cmd(&s, 250, "RCPT", "RCPT TO:<%s>", SMTP_RCPT2) < 0 ||
	    smtp_cmd(&s, 354, "DATA", "DATA") < 0)
		fail("SMTP: %s", s.err);

	/* The body corked and with MSG_MORE; uncorking pushes the rest out. */
	set_and_check(fd, IPPROTO_TCP, TCP_CORK, 1, "TCP_CORK");
	s.send_flags = MSG_MORE;
	if (smtp_send_data(&s, a.data, a.len) < 0)
		fail("sending the message with MSG_MORE: %s", s.err);
	s.send_flags = 0;
	set_and_check(fd, IPPROTO_TCP, TCP_CORK, 0, "TCP_CORK");
	if (smtp_expect(&s, 250, "end of DATA") < 0)
		fail("SMTP: %s", s.err);
	ok("delivered");

	if (smtp_cmd(&s, 221, "QUIT", "QUIT") < 0)
		fail("SMTP: %s", s.err);
	close(fd);
	return 0;
}
