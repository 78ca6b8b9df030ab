/* The user's relay server, kept ready before the connection. */
#ifndef SMTPSHIM_RELAY_SERVER_H
#define SMTPSHIM_RELAY_SERVER_H

#include "common/config.h"

/* Hands listen_fd to a child of this user's relay server (started now if
 * none runs), which will accept the app's connection on it.  Returns the
 * descriptor to write the session text to, as a fresh relay's fd 4 would
 * be, or -1 when there is no server to use: then start a relay of your
 * own.  Never with relay-server no. */
int relay_server_handoff(const struct config *cfg, int listen_fd);

#endif
