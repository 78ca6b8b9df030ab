/* The relay's own EHLO name (hostname.c, one for the whole relay) and
 * TCP keepalive on upstream sockets.
 * (hostname.c and net.c are compiled in here; see test_session.c.) */
#include <netinet/tcp.h>

#include "../../tools/relay/hostname.c"
#include "../../tools/relay/net.c"
#include "check.h"

static void test_ehlo_name_is_a_plain_host_name(void)
{
	char name[256], small[4];
	hostname_ours(name, sizeof name);
	CHECK(name[0] != '\0' && text_is_host(name));
	CHECK(strpbrk(name, " \r\n") == NULL);
	hostname_ours(small, sizeof small);
	CHECK(strlen(small) <= 3); /* cut, never overrun */
}

static void test_keepalive(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 0, idle = 0, intvl = 0, cnt = 0;
	socklen_t l = sizeof on;
	net_set_keepalive(fd);
	getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &l);
	l = sizeof idle;
	getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &l);
	l = sizeof intvl;
	getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, &l);
	l = sizeof cnt;
	getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, &l);
	CHECK(on == 1);
	CHECK(idle == 60 && intvl == 15 && cnt == 4);
	close(fd);
}

int main(void)
{
	test_ehlo_name_is_a_plain_host_name();
	test_keepalive();
	return check_done("test_relay_names");
}
