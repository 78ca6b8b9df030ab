/* Driving the relay's filter in unit tests: one filter, its two output
 * queues, and helpers to feed text and take what was queued. */
#ifndef SMTPSHIM_FILTER_HARNESS_H
#define SMTPSHIM_FILTER_HARNESS_H

#include <string.h>

#include "tools/relay/filter.h"

static struct filter f;
static struct buf to_server, to_app;

/* A fresh filter; expect_greeting as for filter_init. */
static inline void start_filter(int expect_greeting)
{
	filter_init(&f, expect_greeting);
	to_server.start = to_server.len = 0;
	to_app.start = to_app.len = 0;
}

static inline size_t app(const char *s)
{
	return filter_from_app(&f, s, strlen(s), &to_server, &to_app);
}

static inline size_t server(const char *s)
{
	return filter_from_server(&f, s, strlen(s), &to_app);
}

/* What was queued for one side, as a string; the queue is emptied.  Two
 * results can be held at once. */
static inline const char *drain(struct buf *b)
{
	static char out[2][BUF_CAP + 1];
	static int which;
	char *o = out[which ^= 1];
	memcpy(o, buf_data(b), b->len);
	o[b->len] = '\0';
	b->start = b->len = 0;
	return o;
}

#endif
