#include "private_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/common/trusted_file.h"

int private_file_path(const char *path, char *out, size_t len)
{
	const char *home = getenv("HOME");
	int n = !strncmp(path, "~/", 2) && home && *home
			? snprintf(out, len, "%s%s", home, path + 1)
			: snprintf(out, len, "%s", path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int private_file_check(const char *path, const struct stat *st, char *err, size_t errlen)
{
	struct stat own;
	char full[4096];
	if (!st) {
		if (private_file_path(path, full, sizeof full) < 0 || stat(full, &own) < 0) {
			snprintf(err, errlen, "password-file %s: %s", path, strerror(errno));
			return -1;
		}
		st = &own;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "password-file %s is not a regular file", path);
		return -1;
	}
	if (trusted_file_owner_check("password-file", path, st, err, errlen) < 0)
		return -1;
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
			 "password-file %s is %s by group or others (mode %04o); refusing to use "
			 "it: run chmod 600 %s",
			 path, st->st_mode & (S_IRGRP | S_IROTH) ? "readable" : "accessible",
			 (unsigned)(st->st_mode & 07777), path);
		return -1;
	}
	return 0;
}
