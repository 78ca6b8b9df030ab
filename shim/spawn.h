/* Starting a relay from inside the host process without the host ever
 * seeing a child of its own: no SIGCHLD, nothing for waitpid(-1) to reap. */
#ifndef SMTPSHIM_SPAWN_H
#define SMTPSHIM_SPAWN_H

#include <stddef.h>

/* Runs helper with listen_fd as fd 3, session_fd as fd 4 and a "ready"
 * pipe as fd 5, stdin and stdout on /dev/null, stderr kept only when
 * keep_stderr, and waits (up to timeout_ms) until the relay says it is
 * running.  Returns 0, or -1 with the reason in why: the program could
 * not be executed, died at start (a library missing), or did not answer. */
int spawn_relay(const char *helper, int listen_fd, int session_fd, int keep_stderr,
		int timeout_ms, char *why, size_t whylen);

/* The same for the user's relay server (`smtpshim-relay --serve NAME
 * IDLE`, tools/relay/server.c), which says it is ready once it serves
 * NAME (or found another server serving it). */
int spawn_relay_server(const char *helper, const char *name, unsigned idle_seconds,
		       int timeout_ms, char *why, size_t whylen);

#endif
