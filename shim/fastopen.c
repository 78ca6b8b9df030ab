/* sendto()/sendmsg() with MSG_FASTOPEN and an address: TCP Fast Open's
 * connect-and-send in one call, as exim uses it (often with no data at
 * all).  For a connection of ours it becomes our connect(), then an
 * ordinary send of the data: the relay's loopback leg gains nothing from
 * Fast Open, and SMTP clients send nothing before the server's greeting. */
#include <errno.h>
#include <string.h>

#include "intercept.h"
#include "libc.h"

static ssize_t connect_then_send(int fd, const struct sockaddr *addr, const struct msghdr *msg,
				 int flags)
{
	if (intercept_connect(fd, addr) < 0)
		return -1; /* EINPROGRESS included: the data was not sent, as with a
			      Fast Open connect that had no cookie */
	size_t total = 0;
	for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
		total += msg->msg_iov[i].iov_len;
	if (total == 0 && !msg->msg_controllen)
		return 0;
	struct msghdr plain = *msg;
	plain.msg_name = NULL;
	plain.msg_namelen = 0;
	return libc_sendmsg(fd, &plain, flags & ~MSG_FASTOPEN);
}

static ssize_t shim_sendto(int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *addr, socklen_t alen)
{
	if (!(flags & MSG_FASTOPEN) || !intercept_wanted(fd, addr, alen))
		return libc_sendto(fd, buf, len, flags, addr, alen);
	struct iovec iov = {(void *)buf, len};
	struct msghdr msg;
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	return connect_then_send(fd, addr, &msg, flags);
}

static ssize_t shim_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!(flags & MSG_FASTOPEN) || !msg ||
	    !intercept_wanted(fd, msg->msg_name, msg->msg_namelen))
		return libc_sendmsg(fd, msg, flags);
	return connect_then_send(fd, msg->msg_name, msg, flags);
}

__attribute__((visibility("default")))
ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
	       socklen_t alen)
{
	return shim_sendto(fd, buf, len, flags, addr, alen);
}

__attribute__((visibility("default")))
ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return shim_sendmsg(fd, msg, flags);
}
