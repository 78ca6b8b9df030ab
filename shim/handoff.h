/* Turning an intercepted connect() into a connection to a fresh relay. */
#ifndef SMTPSHIM_HANDOFF_H
#define SMTPSHIM_HANDOFF_H

#include <sys/socket.h>

#include "common/config.h"

/* Connects fd to a relay that will carry the session to the server the
 * settings choose for dst (an AF_INET or AF_INET6 address, already checked
 * by the caller to be complete).  Returns what connect() on fd returned (with its
 * errno), so blocking, non-blocking and interrupted connects look native. */
int handoff_connect(int fd, const struct sockaddr *dst, const struct config *cfg);

#endif
