#include "server_ahead.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/common/relay_handoff.h"

/* Whether the name is taken in this network namespace: a bind, not a
 * connection (which would cost the server a spare) nor a read of
 * /proc/net/unix (ten times slower here).  Any error: taken, start
 * nothing. */
static int name_taken(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	int taken = bind(fd, (const struct sockaddr *)sa, len) < 0;
	close(fd); /* an abstract name is free again once its socket closes */
	return taken;
}

/* The server's process: what a relay started by the shim gets (PATH and
 * HOME only, nothing open but /dev/null on 0-2), in a session of its own. */
_Noreturn static void exec_server(const char *helper, const char *name, unsigned idle)
{
	extern char **environ;
	char *env[3], seconds[16];
	relay_environment(environ, env, 3);
	snprintf(seconds, sizeof seconds, "%u", idle);
	int nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
		_exit(127);
	syscall(SYS_close_range, 3U, ~0U, 0);
	execve(helper, (char *[]){(char *)"smtpshim-relay", (char *)"--serve", (char *)name,
				  seconds, NULL}, env);
	_exit(127);
}

void server_ahead(const struct config *cfg, const char *helper)
{
	extern char **environ;
	struct sockaddr_un sa;
	socklen_t len;

	if (!cfg->relay_server || cfg->error[0] || !helper ||
	    relay_server_address(helper, environ, &sa, &len) < 0 || name_taken(&sa, len))
		return;
	/* Orphaned at once: the command (which replaces us) never sees it
	 * exit, and it lives on after the command as it would have. */
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		if (fork() == 0)
			exec_server(helper, sa.sun_path + 1, cfg->relay_idle);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}
