/* connect(): hands a connection to a relay when it is ours. */
#include "intercept.h"
#include "libc.h"

static int shim_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!intercept_wanted(fd, addr, len))
		return libc_connect(fd, addr, len);
	return intercept_connect(fd, addr);
}

__attribute__((visibility("default")))
int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return shim_connect(fd, addr, len);
}
