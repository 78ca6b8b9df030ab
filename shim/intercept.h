/* The decision "is this connection ours", shared by every hook that can
 * start a TCP connection: connect(), and sendto()/sendmsg() with
 * MSG_FASTOPEN. */
#ifndef SMTPSHIM_INTERCEPT_H
#define SMTPSHIM_INTERCEPT_H

#include <sys/socket.h>

/* True when a connection from fd to addr must go through a relay.  Cheap
 * tests first: every connect() of the host passes here. */
int intercept_wanted(int fd, const struct sockaddr *addr, socklen_t len);

/* Connects fd through a relay; returns as connect() would. */
int intercept_connect(int fd, const struct sockaddr *addr);

#endif
