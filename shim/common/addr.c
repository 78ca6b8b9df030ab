#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

uint16_t addr_port(const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

/* Reduces a v4-mapped IPv6 address to its IPv4 form, so one comparison
 * serves both spellings of the same peer. */
static int as_ipv4(const struct sockaddr *sa, struct in_addr *out)
{
	if (sa->sa_family == AF_INET) {
		*out = ((const struct sockaddr_in *)sa)->sin_addr;
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(out, &a6->s6_addr[12], 4);
			return 1;
		}
	}
	return 0;
}

int addr_is_unspecified(const struct sockaddr *sa)
{
	struct in_addr v4;
	if (as_ipv4(sa, &v4))
		return v4.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

int addr_is_loopback(const struct sockaddr *sa)
{
	struct in_addr v4;
	/* Linux routes a connect() to 0.0.0.0 to 127.0.0.1 and one to :: to
	 * ::1 (ip_route_connect, ip6_datagram_dst_update): a program dialling
	 * them reaches this host's own port 25 just as with 127.0.0.1. */
	if (addr_is_unspecified(sa))
		return 1;
	if (as_ipv4(sa, &v4))
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

int addr_ip_text(const struct sockaddr *sa, char *buf, size_t len)
{
	struct in_addr v4;
	if (as_ipv4(sa, &v4))
		return inet_ntop(AF_INET, &v4, buf, (socklen_t)len) ? 0 : -1;
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
				 (socklen_t)len) ? 0 : -1;
	return -1;
}

int addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	if (addr_ip_text(sa, ip, sizeof ip) < 0)
		return -1;
	text_join_host_port(ip, addr_port(sa, sizeof(struct sockaddr_storage)), buf, len);
	return 0;
}

int addr_parse(const char *text, struct sockaddr_storage *out, socklen_t *outlen)
{
	char host[INET6_ADDRSTRLEN];
	uint16_t port = 0;

	memset(out, 0, sizeof *out);
	if (text_split_host_port(text, host, sizeof host, &port) < 0)
		return -1;
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*outlen = sizeof *sin;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*outlen = sizeof *sin6;
		return 0;
	}
	return -1;
}

int addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	struct in_addr a4 = {0}, b4 = {0};
	int av4 = as_ipv4(a, &a4), bv4 = as_ipv4(b, &b4);
	socklen_t big = sizeof(struct sockaddr_storage);

	if (addr_port(a, big) != addr_port(b, big) || av4 != bv4)
		return 0;
	if (av4)
		return a4.s_addr == b4.s_addr;
	return a->sa_family == AF_INET6 && b->sa_family == AF_INET6 &&
	       !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

int addr_ip16(int family, const void *ip, unsigned char out[16])
{
	if (family == AF_INET6) {
		memcpy(out, ip, 16);
		return 0;
	}
	if (family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, ip, 4);
		return 0;
	}
	return -1;
}

int addr_sockaddr_ip16(const struct sockaddr *sa, unsigned char out[16])
{
	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET)
		return addr_ip16(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out);
	if (sa->sa_family == AF_INET6)
		return addr_ip16(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out);
	return -1;
}

int addr_is_ip_text(const char *text)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1;
}
