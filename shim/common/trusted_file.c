/* Trusting a file by its owner and modes: the config files everywhere,
 * the password file in the relay, and the settings root's own wrapper
 * leaves for a root process (shim/root_settings.c).  No allocation: the
 * shim calls this in the host process. */
#include "trusted_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

int trusted_process_privileged(void)
{
	uid_t r, e, s;
	if (getauxval(AT_SECURE))
		return 1;
	if (getresuid(&r, &e, &s) < 0)
		return 1; /* cannot tell: assume the worst */
	return r == 0 || e == 0 || s == 0;
}

static int owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* A file of another user's is that user's to change: whoever owns it could
 * open its modes, or swap in contents of their own.  Root's files are
 * trusted as root is. */
int trusted_file_owner_check(const char *what, const char *path, const struct stat *st,
			     char *err, size_t errlen)
{
	if (owner_ok(st))
		return 0;
	snprintf(err, errlen,
		 "%s %s is not used: it belongs to uid %u, neither this process's user "
		 "(uid %u) nor root; use a file of your own",
		 what, path, (unsigned)st->st_uid, (unsigned)geteuid());
	return -1;
}

/* Each directory above the resolved file, from "/" down. */
static int check_directories(const char *what, const char *path, const char *resolved,
			     char *err, size_t errlen)
{
	char dir[PATH_MAX];
	size_t len = strlen(resolved);
	for (size_t i = 0; i < len; i++) {
		if (resolved[i] != '/')
			continue;
		size_t n = i ? i : 1; /* "/" itself, then "/a", "/a/b", ... */
		memcpy(dir, resolved, n);
		dir[n] = '\0';
		struct stat st;
		if (lstat(dir, &st) < 0) {
			snprintf(err, errlen, "%s %s: %s: %s", what, path, dir, strerror(errno));
			return -1;
		}
		if (!owner_ok(&st)) {
			snprintf(err, errlen,
				 "%s %s is not used: the directory %s belongs to uid %u, and this "
				 "process runs as root, so only root's own files count",
				 what, path, dir, (unsigned)st.st_uid);
			return -1;
		}
		int sticky_root = (st.st_mode & S_ISVTX) && st.st_uid == 0;
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_root) {
			snprintf(err, errlen,
				 "%s %s is not used: the directory %s is writable by group or others "
				 "(mode %04o), and this process runs as root",
				 what, path, dir, (unsigned)(st.st_mode & 07777));
			return -1;
		}
	}
	return 0;
}

int trusted_file_open(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st, at_path;
	int privileged = trusted_process_privileged();
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", what, path);
		goto refuse;
	}
	if (trusted_file_owner_check(what, path, &st, err, errlen) < 0)
		goto refuse;
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "%s %s is not used: it is writable by group or others (mode %04o); "
			 "run chmod go-w %s",
			 what, path, (unsigned)(st.st_mode & 07777), path);
		goto refuse;
	}
	if (privileged) {
		/* The file opened must be the one whose path was checked. */
		char resolved[PATH_MAX];
		if (!realpath(path, resolved) || stat(resolved, &at_path) < 0 ||
		    at_path.st_dev != st.st_dev || at_path.st_ino != st.st_ino) {
			snprintf(err, errlen, "%s %s changed while it was checked", what, path);
			goto refuse;
		}
		if (check_directories(what, path, resolved, err, errlen) < 0)
			goto refuse;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
refuse:
	close(fd);
	return -1;
}

ssize_t trusted_file_read(const char *what, const char *path, char *buf, size_t len, char *err,
			  size_t errlen)
{
	int fd = trusted_file_open(what, path, err, errlen);
	if (fd < 0)
		return -1;
	size_t used = 0;
	ssize_t n;
	while (used < len - 1 && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	close(fd);
	buf[used] = '\0';
	return (ssize_t)used;
}
