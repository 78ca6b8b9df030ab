#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static void make_dirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	mkdir(path, 0700);
}

/* The cache directory, opened, if it is ours and only ours to write:
 * another user who could write there could plant a link for us to
 * follow, or steer the next session's first attempt. */
static int open_dir(const struct config *c, int create)
{
	char dir[CONFIG_PATH_MAX];
	struct stat st;
	snprintf(dir, sizeof dir, "%s", c->cache_dir);
	if (create)
		make_dirs(dir);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (create || errno != ENOENT)
			log_info("port cache %s not used: %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		log_info("port cache %s not used: it is not a directory of user %u that only "
			 "its owner may write to", dir, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	return fd;
}

/* "port-HOST", the file's name inside the directory. */
static int file_name(const struct config *c, const char *host, char *name, size_t len)
{
	char path[CONFIG_PATH_MAX + 300];
	if (!plan_uses_memory(c) || plan_cache_path(c->cache_dir, host, path, sizeof path) < 0)
		return -1;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strlen(base) >= len)
		return -1;
	memcpy(name, base, strlen(base) + 1);
	return 0;
}

int cache_recall(const struct config *c, const char *host, struct plan_entry *e)
{
	char name[300], text[32];
	int dir;
	if (file_name(c, host, name, sizeof name) < 0 || (dir = open_dir(c, 0)) < 0)
		return 0;
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dir);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	return plan_parse(text, e) == 0;
}

void cache_remember(const struct config *c, const char *host, const struct plan_entry *e)
{
	char name[300], tmp[340], text[32];
	int dir, n = plan_format(e, text, sizeof text);
	if (n <= 0 || file_name(c, host, name, sizeof name) < 0 || (dir = open_dir(c, 1)) < 0)
		return;
	/* A new file, never one that is there already (nor what a link there
	 * points to). */
	snprintf(tmp, sizeof tmp, "%s.%d", name, (int)getpid());
	int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_info("port cache: cannot create %s/%s: %s", c->cache_dir, tmp, strerror(errno));
		close(dir);
		return;
	}
	int ok = write(fd, text, (size_t)n) == n;
	close(fd);
	if (!ok || renameat(dir, tmp, dir, name) < 0)
		unlinkat(dir, tmp, 0);
	close(dir);
}
