/* The user's relay server, kept ready before the connection. */
#ifndef SMTPSHIM_RELAY_SERVER_H
#define SMTPSHIM_RELAY_SERVER_H

#include "common/config.h"

/* Hands listen_fd to a child of this user's relay server (started now if
 * none runs), which will accept the app's connection on it.  Returns the
 * descriptor the child will answer on, or -1 when there is no server to
 * use: then start a relay of your own.  Never with relay-server no. */
int relay_server_offer(const struct config *cfg, int listen_fd);

/* Waits for the child's answer on what relay_server_offer returned: 0
 * when it took the session (write the session text there, as to a fresh
 * relay's fd 4), -1 when not (close it and start a relay of your own).
 * Meanwhile the app's socket may connect: the child accepts it later. */
int relay_server_taken(int fd, const struct config *cfg);

#endif
