/* The wrapper's half of the hand-over to root processes: the file.  The
 * shim's half, which checks it before believing it, is
 * shim/root_settings.c. */
#include "root_settings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/common/root_settings.h"

static int wanted(const char *entry)
{
	static const char *const names[] = {"PATH=", "HOME=", "XDG_CONFIG_HOME=",
					    "XDG_CACHE_HOME=", NULL};
	if (!strncmp(entry, "SMTPSHIM_", 9))
		return strncmp(entry, ROOT_SETTINGS_VAR "=", sizeof ROOT_SETTINGS_VAR);
	for (size_t i = 0; names[i]; i++)
		if (!strncmp(entry, names[i], strlen(names[i])))
			return 1;
	return 0;
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

/* The directory must be root's and closed to everyone else: the shim
 * checks the same before reading from it. */
static int make_dir(char *err, size_t errlen)
{
	struct stat st;
	if (mkdir(ROOT_SETTINGS_DIR, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s: %s", ROOT_SETTINGS_DIR, strerror(errno));
		return -1;
	}
	if (lstat(ROOT_SETTINGS_DIR, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 077)) {
		snprintf(err, errlen, "%s is not a directory of root's that only root may enter",
			 ROOT_SETTINGS_DIR);
		return -1;
	}
	return 0;
}

/* An existing file of that name with the same content will do. */
static int same_content(const char *path, const char *text, size_t len)
{
	static char old[ROOT_SETTINGS_MAX];
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
				!(st.st_mode & 077)
			? read(fd, old, sizeof old)
			: -1;
	close(fd);
	return n == (ssize_t)len && !memcmp(old, text, len);
}

int root_settings_write(char *const *env, char *err, size_t errlen)
{
	static char text[ROOT_SETTINGS_MAX];
	size_t len = 0;
	for (char *const *e = env; e && *e; e++) {
		if (!wanted(*e))
			continue;
		size_t n = strlen(*e);
		if (strchr(*e, '\n') || len + n + 1 >= sizeof text) {
			snprintf(err, errlen, "%.*s: the settings do not fit in a file for root's "
					      "programs (a line break, or too long)",
				 (int)strcspn(*e, "="), *e);
			return -1;
		}
		memcpy(text + len, *e, n);
		text[len + n] = '\n';
		len += n + 1;
	}
	if (make_dir(err, errlen) < 0)
		return -1;
	uint64_t h = fnv1a(text, len);
	for (unsigned attempt = 0; attempt < 16; attempt++, h++) {
		char name[ROOT_SETTINGS_NAME_MAX], path[sizeof ROOT_SETTINGS_DIR + sizeof name];
		snprintf(name, sizeof name, "env-%016llx", (unsigned long long)h);
		snprintf(path, sizeof path, "%s/%s", ROOT_SETTINGS_DIR, name);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST) {
			if (!same_content(path, text, len))
				continue;
		} else if (fd < 0) {
			snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
			return -1;
		} else {
			ssize_t w = write(fd, text, len);
			if (close(fd) < 0 || w != (ssize_t)len) {
				unlink(path);
				snprintf(err, errlen, "cannot write %s", path);
				return -1;
			}
		}
		setenv(ROOT_SETTINGS_VAR, name, 1);
		return 0;
	}
	snprintf(err, errlen, "no free file name in %s", ROOT_SETTINGS_DIR);
	return -1;
}
