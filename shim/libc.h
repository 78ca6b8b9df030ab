/* The real libc functions behind our hooks, bound once with
 * dlsym(RTLD_NEXT).  libc_* is always the real call; calling it never
 * re-enters a hook. */
#ifndef SMTPSHIM_LIBC_H
#define SMTPSHIM_LIBC_H

#include <netdb.h>
#include <sys/socket.h>

int libc_connect(int fd, const struct sockaddr *addr, socklen_t len);
ssize_t libc_sendto(int fd, const void *buf, size_t len, int flags,
		    const struct sockaddr *addr, socklen_t alen);
ssize_t libc_sendmsg(int fd, const struct msghdr *msg, int flags);
int libc_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int libc_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		     struct addrinfo **res);
struct hostent *libc_gethostbyname(const char *name);
struct hostent *libc_gethostbyname2(const char *name, int af);
int libc_gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
			 struct hostent **result, int *h_errnop);
int libc_gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
			  size_t buflen, struct hostent **result, int *h_errnop);

#endif
