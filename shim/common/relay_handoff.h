/* What a relay is given with a connection, by the shim for an intercepted
 * one and by `smtpshim listen` for an accepted one: the session text it
 * reads on fd 4 (tools/relay/session.c) and its environment. */
#ifndef SMTPSHIM_RELAY_HANDOFF_H
#define SMTPSHIM_RELAY_HANDOFF_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

/* The settings, the lines of the section that matches (name, dst and its
 * port) -- later lines win -- then "@dest", "@name", "@client" and "@end".
 * name is what the app resolved, "" if nothing; client may be NULL.
 * Returns the length, or -1 when buf is too small. */
int relay_session_text(const struct config *cfg, const char *name, const struct sockaddr *dst,
		       const struct sockaddr *client, char *buf, size_t len);

/* PATH and HOME from env, and nothing else: no LD_PRELOAD (the relay must
 * not intercept itself), no secrets of the host's.  out has max slots,
 * the last left for NULL. */
void relay_environment(char *const *env, char **out, size_t max);

#endif
