/* Sockets handed to a relay, keyed by the socket's inode so that dup()ed
 * descriptors and reused descriptor numbers are told apart correctly. */
#ifndef SMTPSHIM_SESSIONS_H
#define SMTPSHIM_SESSIONS_H

#include <sys/socket.h>

/* The shim's record of one intercepted socket: what getpeername() and a
 * second connect() on it must know.  (The relay's struct session, in
 * tools/relay/session.h, is the other end: one relayed connection.) */
struct intercepted_socket {
	struct sockaddr_storage dst;      /* where the app meant to go */
	socklen_t dstlen;
	struct sockaddr_storage listener; /* the relay's loopback end */
	socklen_t listenerlen;
	struct sockaddr_storage local;    /* the app socket's own address */
};

void sessions_record(int fd, const struct intercepted_socket *s);

/* 0 and a copy in *out when fd is a socket we handed off: its inode and
 * its own address both match (an inode number reused by a new socket,
 * which the kernel's 32-bit counter allows, does not). */
int sessions_lookup(int fd, struct intercepted_socket *out);

#endif
