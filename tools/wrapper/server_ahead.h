/* `smtpshim -- COMMAND` starts the user's relay server alongside the
 * command, so that the command's first intercepted connection finds it
 * ready, or nearly, instead of starting it then (bench: the first command
 * after idle 1.33-1.38x native instead of 1.56-1.66x; a command slower to
 * reach its connect() than the bench's C client gains more). */
#ifndef SMTPSHIM_SERVER_AHEAD_H
#define SMTPSHIM_SERVER_AHEAD_H

#include "shim/common/config.h"

/* With relay-server yes and no server of that name yet in this network
 * namespace: one is started, detached (never the command's child), named
 * as the shim will name it (relay_server_address, from this environment,
 * which the command inherits or, for root, finds in the settings file).
 * Where the command's shim would name it otherwise (it changed PATH, say)
 * the server idles out unused and the shim starts its own, as always. */
void server_ahead(const struct config *cfg, const char *helper);

#endif
