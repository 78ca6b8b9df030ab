#include "log_target.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Without LOG_CONS: with no daemon listening the line is dropped, never
 * written to the console or waited for. */
static void to_syslog(const char *line, int failed)
{
	openlog("smtpshim", LOG_PID, LOG_MAIL);
	syslog(failed ? LOG_WARNING : LOG_INFO, "%s", line);
	closelog();
}

/* One write() per line on an O_APPEND descriptor: concurrent sessions'
 * lines never interleave.  A file that cannot be written sends the line
 * to syslog, saying why, rather than losing it. */
static void to_file(const char *path, const char *line, int failed)
{
	char out[8192], stamp[40];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", localtime_r(&now, &tm));
	int n = snprintf(out, sizeof out, "%s smtpshim[%d]: %s\n", stamp, (int)getpid(), line);
	if (n < 0 || (size_t)n >= sizeof out)
		return; /* never: a line is RECORD_LINE_MAX at most */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd >= 0 && write(fd, out, (size_t)n) == n) {
		close(fd);
		return;
	}
	snprintf(out, sizeof out, "%s (cannot write the log file %s: %s)", line, path,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	to_syslog(out, failed);
}

void log_target_write(const char *target, const char *line, int failed)
{
	if (!strcmp(target, "none"))
		return;
	if (!strcmp(target, "stderr")) {
		char out[8192];
		int n = snprintf(out, sizeof out, "smtpshim[%d]: %s\n", (int)getpid(), line);
		if (n > 0 && (size_t)n < sizeof out) {
			ssize_t ignored = write(2, out, (size_t)n); /* nowhere to report a failure */
			(void)ignored;
		}
		return;
	}
	if (target[0] == '/')
		to_file(target, line, failed);
	else
		to_syslog(line, failed);
}
