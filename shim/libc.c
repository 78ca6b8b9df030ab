#include "libc.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>

/* Resolves a symbol on first use.  Racing threads store the same pointer,
 * so a relaxed atomic is enough and no lock is taken on the hot path. */
#define REAL(ret, name, params)                                              \
	typedef ret(*name##_fn) params;                                      \
	static name##_fn real_##name(void)                                   \
	{                                                                    \
		static _Atomic(name##_fn) fn;                                \
		name##_fn f = atomic_load_explicit(&fn, memory_order_relaxed); \
		if (!f) {                                                    \
			f = (name##_fn)dlsym(RTLD_NEXT, #name);              \
			atomic_store_explicit(&fn, f, memory_order_relaxed); \
		}                                                            \
		return f;                                                    \
	}

REAL(int, connect, (int, const struct sockaddr *, socklen_t))
REAL(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t))
REAL(ssize_t, sendmsg, (int, const struct msghdr *, int))
REAL(int, getpeername, (int, struct sockaddr *, socklen_t *))
REAL(int, getaddrinfo,
     (const char *, const char *, const struct addrinfo *, struct addrinfo **))
REAL(struct hostent *, gethostbyname, (const char *))
REAL(struct hostent *, gethostbyname2, (const char *, int))
REAL(int, gethostbyname_r,
     (const char *, struct hostent *, char *, size_t, struct hostent **, int *))
REAL(int, gethostbyname2_r,
     (const char *, int, struct hostent *, char *, size_t, struct hostent **, int *))

int libc_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	connect_fn f = real_connect();
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, addr, len);
}

ssize_t libc_sendto(int fd, const void *buf, size_t len, int flags,
		    const struct sockaddr *addr, socklen_t alen)
{
	sendto_fn f = real_sendto();
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, buf, len, flags, addr, alen);
}

ssize_t libc_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	sendmsg_fn f = real_sendmsg();
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, msg, flags);
}

int libc_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	getpeername_fn f = real_getpeername();
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, addr, len);
}

int libc_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		     struct addrinfo **res)
{
	getaddrinfo_fn f = real_getaddrinfo();
	return f ? f(node, service, hints, res) : EAI_SYSTEM;
}

struct hostent *libc_gethostbyname(const char *name)
{
	gethostbyname_fn f = real_gethostbyname();
	return f ? f(name) : NULL;
}

struct hostent *libc_gethostbyname2(const char *name, int af)
{
	gethostbyname2_fn f = real_gethostbyname2();
	return f ? f(name, af) : NULL;
}

int libc_gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
			 struct hostent **result, int *h_errnop)
{
	gethostbyname_r_fn f = real_gethostbyname_r();
	return f ? f(name, ret, buf, buflen, result, h_errnop) : ENOSYS;
}

int libc_gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
			  size_t buflen, struct hostent **result, int *h_errnop)
{
	gethostbyname2_r_fn f = real_gethostbyname2_r();
	return f ? f(name, af, ret, buf, buflen, result, h_errnop) : ENOSYS;
}
