/* What a relay is given with a connection, by the shim for an intercepted
 * one and by `smtpshim listen` for an accepted one: the session text it
 * reads on fd 4 (tools/relay/session.c) and its environment. */
#ifndef SMTPSHIM_RELAY_HANDOFF_H
#define SMTPSHIM_RELAY_HANDOFF_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "config.h"

/* The descriptors a relay is started with: the loopback listener the
 * app's connection arrives on (or, from `smtpshim listen`, that connection
 * itself), the session text, and a pipe to say it runs. */
#define RELAY_LISTEN_FD 3
#define RELAY_SESSION_FD 4
#define RELAY_READY_FD 5

/* The most the session text may take: every setting at its longest and a
 * section (the writer's buffer, the reader's limit). */
#define SESSION_TEXT_MAX (32 * 1024)

/* The settings, the lines of the section that matches (name, dst and its
 * port) -- later lines win -- then "@dest", "@name", "@client",
 * "@program" and "@end".  name is what the app resolved, "" if nothing;
 * client may be NULL; program is "PID NAME" of the process that
 * connected (for the relay's log line), "" if unknown.  Returns the
 * length, or -1 when buf is too small. */
int relay_session_text(const struct config *cfg, const char *name, const struct sockaddr *dst,
		       const struct sockaddr *client, const char *program, char *buf, size_t len);

/* The longest program name "@program" carries (Linux's comm is 15). */
#define RELAY_PROGRAM_NAME_MAX 64

/* PATH and HOME from env, and nothing else: no LD_PRELOAD (the relay must
 * not intercept itself), no secrets of the host's.  out has max slots,
 * the last left for NULL. */
void relay_environment(char *const *env, char **out, size_t max);

/* The user's relay server (shim/relay_server.c, tools/relay/server.c):
 * an abstract Unix socket named PREFIX "UID/HASH".  The shim sends one
 * hello line -- HELLO " STDERR\tCA-FILE\tCWD\n" -- with the listener
 * (and, STDERR 1 for -v or "log stderr", its stderr) as SCM_RIGHTS; the session's child answers
 * 'R', reads the session text on that connection and takes the app's
 * connection on the listener, as a relay started for it would. */
#define RELAY_SERVER_PREFIX "smtpshim-relay/"
#define RELAY_SERVER_HELLO "smtpshim-session/1"
#define RELAY_SERVER_HELLO_MAX (CONFIG_PATH_MAX + 4096 + 64)

/* The server's address for this user, relay program (a rebuilt or
 * upgraded relay has another inode or time, so an old server is never
 * asked to serve a new build's sessions: it idles out) and relay
 * environment (PATH and HOME of env, which the password command and "~/"
 * see; env NULL: the fixed one a relay gets where the environment is not
 * trusted).  -1 if the relay program is not there. */
int relay_server_address(const char *helper, char *const *env, struct sockaddr_un *sa,
			 socklen_t *len);

#endif
