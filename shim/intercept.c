#include "intercept.h"

#include <netinet/in.h>

#include "common/addr.h"
#include "handoff.h"
#include "libc.h"
#include "names.h"
#include "sessions.h"
#include "settings.h"

static int is_tcp_stream(int fd)
{
	int type = 0, proto = 0;
	socklen_t len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		return 0;
	len = sizeof proto;
	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 && proto == IPPROTO_TCP;
}

int intercept_wanted(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!addr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return 0;
	const struct config *cfg = shim_settings();
	uint16_t port = addr_port(addr, len);
	if (!port || !config_intercepts_port(cfg, port))
		return 0;
	if (!cfg->allow_loopback && addr_is_loopback(addr))
		return 0;
	if (!shim_active() || !is_tcp_stream(fd))
		return 0;
	/* A [destination] section that says "intercept no" (an internal
	 * smarthost on 25 that is reachable) keeps its connections native. */
	char name[256] = "";
	names_lookup(addr, name, sizeof name);
	return !config_rule_leaves_alone(cfg, config_match(cfg, name, addr, port));
}

int intercept_connect(int fd, const struct sockaddr *addr)
{
	struct intercepted_socket s;

	/* A second connect() on a socket already handed off (swaks polls
	 * this way): let the kernel answer EALREADY, EISCONN or 0 for the
	 * connection that really exists. */
	if (sessions_lookup(fd, &s) == 0)
		return libc_connect(fd, (struct sockaddr *)&s.listener, s.listenerlen);
	return handoff_connect(fd, addr, shim_settings());
}
