/* Who is at the other end of a loopback TCP connection: the user owning
 * the client socket, asked of the kernel (tools/wrapper/peer_uid.c says why only
 * a live, established socket counts). */
#ifndef SMTPSHIM_PEER_UID_H
#define SMTPSHIM_PEER_UID_H

#include <sys/socket.h>
#include <sys/types.h>

/* The uid owning the established socket at peer that is connected to
 * local, or -1: no such socket, or one no process holds any more (the
 * client has closed). */
long peer_uid(const struct sockaddr *peer, const struct sockaddr *local);

#endif
