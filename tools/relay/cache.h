/* Auto mode's memory of the port that worked, one small file per host in
 * the cache directory (cache-dir/port-HOST, "587 starttls").  Only a
 * directory of our own that nobody else may write to is used: anything
 * else is skipped (with a line in the verbose log), never an error. */
#ifndef SMTPSHIM_CACHE_H
#define SMTPSHIM_CACHE_H

#include "shim/common/config.h"
#include "plan.h"

/* The port that worked last time for host: 1 with *e set, or 0. */
int cache_recall(const struct config *c, const char *host, struct plan_entry *e);

/* Remembers e for host: written to a new temporary file beside it and
 * renamed into place, so a reader never sees half. */
void cache_remember(const struct config *c, const char *host, const struct plan_entry *e);

#endif
