/* Resolver hooks: they change nothing the app sees, they only remember
 * which name led to which address (see names.h). */
#include <netdb.h>
#include <netinet/in.h>

#include "libc.h"
#include "names.h"

static void record_addrinfo(const char *node, const struct addrinfo *res)
{
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			names_record(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, node);
		else if (ai->ai_family == AF_INET6)
			names_record(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
				     node);
	}
}

static void record_hostent(const char *name, const struct hostent *h)
{
	if (!h || !h->h_addr_list)
		return;
	for (char **a = h->h_addr_list; *a; a++)
		names_record(h->h_addrtype, *a, name);
}

__attribute__((visibility("default")))
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	int rc = libc_getaddrinfo(node, service, hints, res);
	if (rc == 0 && node)
		record_addrinfo(node, *res);
	return rc;
}

__attribute__((visibility("default")))
struct hostent *gethostbyname(const char *name)
{
	struct hostent *h = libc_gethostbyname(name);
	record_hostent(name, h);
	return h;
}

__attribute__((visibility("default")))
struct hostent *gethostbyname2(const char *name, int af)
{
	struct hostent *h = libc_gethostbyname2(name, af);
	record_hostent(name, h);
	return h;
}

__attribute__((visibility("default")))
int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
		    struct hostent **result, int *h_errnop)
{
	int rc = libc_gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
	if (rc == 0 && result)
		record_hostent(name, *result);
	return rc;
}

__attribute__((visibility("default")))
int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
		     struct hostent **result, int *h_errnop)
{
	int rc = libc_gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
	if (rc == 0 && result)
		record_hostent(name, *result);
	return rc;
}
