/* Who is at the other end of a loopback TCP connection: the user owning
 * the client socket, from the kernel's /proc/net/tcp tables. */
#ifndef SMTPSHIM_PEER_UID_H
#define SMTPSHIM_PEER_UID_H

#include <sys/socket.h>
#include <sys/types.h>

/* The uid owning the socket at peer that is connected to local, or -1. */
long peer_uid(const struct sockaddr *peer, const struct sockaddr *local);

#endif
