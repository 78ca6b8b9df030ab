/* TCP keepalive on the relay's upstream sockets (net.c): on, and probing
 * after a minute idle, every 15 seconds, four times. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/relay/net.h"
#include "check.h"

static void test_upstream_socket_has_keepalive(void)
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
	test_upstream_socket_has_keepalive();
	return check_done("test_upstream_keepalive");
}
