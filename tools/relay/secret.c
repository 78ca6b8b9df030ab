#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/common/private_file.h"
#include "shim/common/trusted_file.h"
#include "net.h"

/* Keeps the first line only, without its line ending. */
static int first_line(char *buf, size_t n, const char *what, char *err, size_t errlen)
{
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		snprintf(err, errlen, "%s gave an empty password", what);
		return -1;
	}
	return 0;
}

static int from_file(const char *path, char *out, size_t len, char *err, size_t errlen)
{
	struct stat st;
	char full[CONFIG_PATH_MAX + 256];
	if (private_file_path(path, full, sizeof full) < 0) {
		snprintf(err, errlen, "cannot read password-file %s: path too long", path);
		return -1;
	}
	/* Owned by this user or root, changeable by no one else; as root,
	 * along the whole path. */
	int fd = trusted_file_open("password-file", full, err, errlen);
	if (fd < 0)
		return -1;
	/* The mode of what was opened, not of what the name pointed to a
	 * moment ago. */
	if (fstat(fd, &st) < 0 || private_file_check(path, &st, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	size_t used = 0;
	ssize_t n;
	while (used < len - 1 && (n = read(fd, out + used, len - 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read password-file %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		used += (size_t)n;
	}
	close(fd);
	return first_line(out, used, path, err, errlen);
}

/* Waits for pid until deadline: 1 with *status, 0 when time is up, -1
 * when its status cannot be had (a relay that somehow ignores SIGCHLD:
 * the kernel reaps the child, and a failure would pass for success). */
static int wait_until(pid_t pid, int *status, long long deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0 && net_now_ms() >= deadline)
			return 0;
		if (r == 0)
			poll(NULL, 0, 10);
	}
}

/* /bin/sh -c CMD with stdout to us (*fd), stdin from /dev/null; the
 * relay's stderr (the terminal with --verbose, else /dev/null) for its
 * messages.  In a process group of its own, so that what it starts goes
 * too when it overruns the deadline.  Returns its pid, -1 with err. */
static pid_t start_command(const char *cmd, int *fd, char *err, size_t errlen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "password-command: cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "password-command: cannot fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* as the child does: whichever runs first */
	close(p[1]);
	*fd = p[0];
	return pid;
}

/* The command's output until it closes it, the first len - 1 bytes kept;
 * beyond them it is read and dropped, so the command is not stuck on a
 * full pipe.  Returns the bytes kept; *timed_out when the deadline came
 * first. */
static size_t read_output(int fd, char *out, size_t len, long long deadline, int *timed_out)
{
	size_t used = 0;
	net_set_nonblocking(fd);
	for (;;) {
		char sink[256];
		ssize_t n = used < len - 1 ? net_read(fd, out + used, len - 1 - used, deadline)
					   : net_read(fd, sink, sizeof sink, deadline);
		if (n > 0 && used < len - 1)
			used += (size_t)n;
		if (n > 0)
			continue;
		*timed_out = n < 0 && errno == ETIMEDOUT;
		close(fd);
		return used;
	}
}

/* The command's end: it must exit 0 by the deadline; one that overruns it
 * is killed with all it started.  0, or -1 with err. */
static int reap_command(pid_t pid, int timed_out, long long deadline, char *err, size_t errlen)
{
	int status = 0;
	int waited = timed_out ? 0 : wait_until(pid, &status, deadline);
	int wait_errno = errno;
	if (waited == 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		snprintf(err, errlen, "password-command did not finish in time (%s); killed it",
			 timed_out ? "its output did not end" : "it did not exit");
		return -1;
	}
	if (waited < 0) { /* gone already, reaped by the kernel: nothing to kill */
		snprintf(err, errlen, "password-command: cannot learn its exit status: %s",
			 strerror(wait_errno));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "password-command failed (%s %d)",
			 WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -1;
	}
	return 0;
}

/* The password from a command: its first output line, when it succeeds. */
static int from_command(const char *cmd, char *out, size_t len, long long deadline, char *err,
			size_t errlen)
{
	int fd, timed_out = 0;
	pid_t pid = start_command(cmd, &fd, err, errlen);
	if (pid < 0)
		return -1;
	size_t used = read_output(fd, out, len, deadline, &timed_out);
	if (reap_command(pid, timed_out, deadline, err, errlen) < 0)
		return -1;
	return first_line(out, used, "password-command", err, errlen);
}

int secret_get(const struct config *c, char *out, size_t len, long long deadline, char *err,
	       size_t errlen)
{
	if (c->password_command[0])
		return from_command(c->password_command, out, len, deadline, err, errlen);
	if (c->password_file[0])
		return from_file(c->password_file, out, len, err, errlen);
	snprintf(err, errlen, "no password-file or password-command for user %s", c->user);
	return -1;
}
