/* Which ports, with which kind of TLS, the relay tries for a session and
 * in which order; and the one-line memory of what worked last time (auto
 * mode), kept per host in the cache directory.  Pure functions, so the
 * order can be tested without a network. */
#ifndef SMTPSHIM_PLAN_H
#define SMTPSHIM_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "shim/common/config.h"

#define PLAN_MAX 4

struct plan_entry {
	int starttls;   /* 0: implicit TLS */
	uint16_t port;
};

/* The attempts for c, the remembered one (if any, and only in auto mode
 * without a fixed port) first.  Returns how many. */
size_t plan_make(const struct config *c, const struct plan_entry *remembered,
		 struct plan_entry out[PLAN_MAX]);

/* Auto mode with nothing fixed: the only case worth remembering. */
int plan_uses_memory(const struct config *c);

/* "465 tls\n" / "587 starttls\n" and back. */
int plan_format(const struct plan_entry *e, char *buf, size_t len);
int plan_parse(const char *text, struct plan_entry *e);

/* The cache file for a host: DIR/port-HOST with anything but letters,
 * digits, '.', '-', '_' and ':' in HOST replaced by '_'.  -1 if it does
 * not fit or there is no directory. */
int plan_cache_path(const char *dir, const char *host, char *buf, size_t len);

#endif
