#include "peer_uid.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* An address as the kernel prints it there: each 32-bit word of the
 * address as a number in host order, then the port; an IPv4 address in
 * /proc/net/tcp6 appears v4-mapped. */
static void proc_form(const struct sockaddr *sa, int v6_table, char *out, size_t len)
{
	unsigned words[4];
	unsigned port;
	int n = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		if (v6_table) {
			words[0] = words[1] = 0;
			words[2] = htonl(0xffff);
			memcpy(&words[3], &in->sin_addr, 4);
			n = 4;
		} else {
			memcpy(&words[0], &in->sin_addr, 4);
			n = 1;
		}
		port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(words, &in6->sin6_addr, 16);
		n = 4;
		port = ntohs(in6->sin6_port);
	}
	size_t used = 0;
	for (int i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%08X", words[i]);
	snprintf(out + used, len - used, ":%04X", port);
}

static long search(const char *table, int v6_table, const struct sockaddr *peer,
		   const struct sockaddr *local)
{
	char want_local[64], want_remote[64], line[512];
	long uid = -1;
	FILE *f;

	if (!v6_table && peer->sa_family == AF_INET6)
		return -1;
	proc_form(peer, v6_table, want_local, sizeof want_local);
	proc_form(local, v6_table, want_remote, sizeof want_remote);
	if (!(f = fopen(table, "re")))
		return -1;
	while (uid < 0 && fgets(line, sizeof line, f)) {
		char loc[64], rem[64];
		unsigned long u;
		/* sl local rem st tx:rx tr:when retrnsmt uid */
		if (sscanf(line, "%*s %63s %63s %*s %*s %*s %*s %lu", loc, rem, &u) == 3 &&
		    !strcmp(loc, want_local) && !strcmp(rem, want_remote))
			uid = (long)u;
	}
	fclose(f);
	return uid;
}

long peer_uid(const struct sockaddr *peer, const struct sockaddr *local)
{
	long uid = search("/proc/net/tcp", 0, peer, local);
	return uid >= 0 ? uid : search("/proc/net/tcp6", 1, peer, local);
}
