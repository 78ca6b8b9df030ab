/* Who is at the other end of a loopback TCP connection, asked of the
 * kernel by sock_diag (the interface behind ss(8)), with /proc/net/tcp as
 * the fallback where the netlink family is missing.
 *
 * Only a client socket that is ESTABLISHED and still belongs to a file
 * (its inode is not 0) counts.  A client that has already closed leaves an
 * orphan or a time-wait entry: the kernel reports those with uid 0 and
 * inode 0, and taking that 0 for root let another user's
 * connect-send-close through as the listener's own user (issue 7,
 * finding 3).  Such a peer is nobody's, and is refused. */
#include "peer_uid.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { UNKNOWN = -2 }; /* the kernel could not be asked this way */

/* The 16 address bytes as the kernel keeps them for a socket of family
 * (v4-mapped for an IPv4 peer of an IPv6 socket), and the port. */
static int diag_form(const struct sockaddr *sa, int family, __be32 out[4], __be16 *port)
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		if (family == AF_INET6) {
			out[2] = htonl(0xffff);
			out[3] = in->sin_addr.s_addr;
		} else {
			out[0] = in->sin_addr.s_addr;
		}
		*port = in->sin_port;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(out, &in6->sin6_addr, 16);
		*port = in6->sin6_port;
		return 0;
	}
	return -1;
}

/* One exact look-up of the socket at peer connected to local. */
static long ask_kernel(int family, const struct sockaddr *peer, const struct sockaddr *local)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {.nlmsg_len = sizeof msg, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST},
		.req = {.sdiag_family = (__u8)family, .sdiag_protocol = IPPROTO_TCP,
			.idiag_states = 1u << TCP_ESTABLISHED},
	};
	struct inet_diag_sockid *id = &msg.req.id;
	if (diag_form(peer, family, id->idiag_src, &id->idiag_sport) < 0 ||
	    diag_form(local, family, id->idiag_dst, &id->idiag_dport) < 0)
		return -1;
	id->idiag_cookie[0] = id->idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return UNKNOWN;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	long uid = UNKNOWN;
	union {
		struct nlmsghdr nlh;
		char bytes[8192];
	} reply;
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		goto out;
	ssize_t n = recv(fd, &reply, sizeof reply, 0);
	if (n < (ssize_t)sizeof(struct nlmsghdr) || !NLMSG_OK(&reply.nlh, (size_t)n))
		goto out;
	if (reply.nlh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&reply.nlh);
		/* ENOENT: no such socket (already gone); anything else: this
		 * kernel cannot answer, try /proc. */
		uid = reply.nlh.nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error == -ENOENT ? -1
											    : UNKNOWN;
		goto out;
	}
	if (reply.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    reply.nlh.nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		goto out;
	const struct inet_diag_msg *r = NLMSG_DATA(&reply.nlh);
	uid = r->idiag_state == TCP_ESTABLISHED && r->idiag_inode != 0 ? (long)r->idiag_uid : -1;
out:
	close(fd);
	return uid;
}

/* The same in /proc/net/tcp{,6}: each 32-bit word of an address as a
 * number in host order, then the port. */
static void proc_form(const struct sockaddr *sa, int family, char *out, size_t len)
{
	__be32 words[4];
	__be16 port;
	diag_form(sa, family, words, &port);
	size_t used = 0;
	for (int i = 0; i < (family == AF_INET ? 1 : 4); i++)
		used += (size_t)snprintf(out + used, len - used, "%08X", words[i]);
	snprintf(out + used, len - used, ":%04X", ntohs(port));
}

static long read_proc(int family, const struct sockaddr *peer, const struct sockaddr *local)
{
	char want_local[64], want_remote[64], line[512];
	long uid = -1;
	FILE *f;

	if (family == AF_INET && peer->sa_family == AF_INET6)
		return -1;
	proc_form(peer, family, want_local, sizeof want_local);
	proc_form(local, family, want_remote, sizeof want_remote);
	if (!(f = fopen(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "re")))
		return -1;
	while (uid < 0 && fgets(line, sizeof line, f)) {
		char loc[64], rem[64];
		unsigned st;
		unsigned long u, inode;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, "%*s %63s %63s %x %*s %*s %*s %lu %*s %lu", loc, rem, &st, &u,
			   &inode) == 5 &&
		    !strcmp(loc, want_local) && !strcmp(rem, want_remote))
			uid = st == TCP_ESTABLISHED && inode != 0 ? (long)u : -2;
	}
	fclose(f);
	return uid < 0 ? -1 : uid;
}

long peer_uid(const struct sockaddr *peer, const struct sockaddr *local)
{
	static const int families[] = {AF_INET, AF_INET6};
	int unknown = 0;
	for (size_t i = 0; i < 2; i++) {
		if (families[i] == AF_INET && peer->sa_family == AF_INET6)
			continue;
		long uid = ask_kernel(families[i], peer, local);
		if (uid >= 0)
			return uid;
		unknown |= uid == UNKNOWN;
	}
	if (!unknown)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		long uid = read_proc(families[i], peer, local);
		if (uid >= 0)
			return uid;
	}
	return -1;
}
