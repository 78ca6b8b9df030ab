/* Starting a relay from inside the host process without the host ever
 * seeing a child of its own: no SIGCHLD, nothing for waitpid(-1) to reap. */
#ifndef SMTPSHIM_SPAWN_H
#define SMTPSHIM_SPAWN_H

#include <sys/types.h>

/* Runs helper with listen_fd as fd 3 and session_fd as fd 4, stdin and
 * stdout on /dev/null, stderr kept only when keep_stderr.  Returns 0 with
 * the pid to give spawn_reap(), or an errno value (exec failure included). */
int spawn_relay(const char *helper, int listen_fd, int session_fd, int keep_stderr, pid_t *pid);

/* Waits for the short-lived first process; the relay itself has forked
 * away from it and belongs to init from then on. */
void spawn_reap(pid_t pid);

#endif
