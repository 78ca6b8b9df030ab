/* The filter's message-content scanner against the plain reading of its
 * rules: data_reference() reads content one byte at a time;
 * data_through_filter() feeds the same content to a real filter in reads
 * whose sizes a caller picks.  The unit test (random reads) and the fuzz
 * target (reads taken from its input) compare the two. */
#ifndef SMTPSHIM_DATA_SCAN_CHECK_H
#define SMTPSHIM_DATA_SCAN_CHECK_H

#include <stddef.h>

#include "tools/relay/filter.h"

/* The rules of filter.c's data(), one byte at a time: returns how many
 * bytes end the message (the end included), 0 if it does not end, or
 * -(index + 1) of the CR or LF that would end a smuggled "." line (one
 * with a bare CR or bare LF on either side). */
static inline long data_reference(const char *in, size_t n)
{
	enum { INSIDE, AFTER_CR, START_CRLF, DOT_CRLF, START_BARE, DOT_BARE } s = START_CRLF;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (s == DOT_CRLF && c == '\r' && i + 1 < n && in[i + 1] == '\n')
			return (long)i + 2;
		if (s == DOT_CRLF && c == '\r' && i + 1 == n)
			return 0; /* undecided yet */
		if ((s == DOT_CRLF || s == DOT_BARE) && (c == '\r' || c == '\n'))
			return -(long)i - 1;
		if (c == '\r')
			s = AFTER_CR;
		else if (c == '\n')
			s = s == AFTER_CR ? START_CRLF : START_BARE;
		else if (c == '.' && s == START_CRLF)
			s = DOT_CRLF;
		else if (c == '.' && (s == START_BARE || s == AFTER_CR))
			s = DOT_BARE;
		else
			s = INSIDE;
	}
	return 0;
}

static struct filter scan_f;
static struct buf scan_to_server, scan_to_app;

/* A filter that has sent DATA and read the 354. */
static inline void scan_start(void)
{
	filter_init(&scan_f, 0);
	scan_to_server.start = scan_to_server.len = scan_to_app.start = scan_to_app.len = 0;
	filter_from_app(&scan_f, "DATA\r\n", 6, &scan_to_server, &scan_to_app);
	filter_from_server(&scan_f, "354 go\r\n", 8, &scan_to_app);
	scan_to_server.start = scan_to_server.len = 0;
}

/* Feeds content after a 354 in reads of next_chunk(ctx) bytes (at least
 * 1), offering what the filter left unread again with the next read, as
 * the pump does; same result shape as data_reference.  The filter goes on
 * reading commands after the end within the same read, so the read that
 * holds the end is fed again a byte at a time to find it.  -999998: the
 * end was not found again (a disagreement in itself). */
static inline long data_through_filter(const char *in, size_t n, size_t (*next_chunk)(void *),
				       void *ctx)
{
	static size_t cuts[1 << 16]; /* reads of one byte over the longest input */
	size_t ncuts = 0, at = 0, unread = 0;
	scan_start();
	while (at < n) {
		/* a read adds to what the filter left unread, as in the pump */
		size_t chunk = unread + next_chunk(ctx);
		if (chunk > n - at)
			chunk = n - at;
		size_t used = filter_from_app(&scan_f, in + at, chunk, &scan_to_server, &scan_to_app);
		/* (a refusal after the end is of a command, BDAT: not ours;
		 * and a DATA after the end waits for its reply) */
		if (used == (size_t)-1 && scan_f.app == APP_DATA)
			return -(long)scan_to_server.len - 1; /* forwarded up to the bad byte */
		if (scan_f.app != APP_DATA) {
			scan_start();
			for (size_t k = 0, pos = 0; k < ncuts; pos += cuts[k++])
				filter_from_app(&scan_f, in + pos, cuts[k], &scan_to_server,
						&scan_to_app);
			for (size_t from = at, pos = at; pos < at + chunk; pos++) {
				from += filter_from_app(&scan_f, in + from, pos + 1 - from,
							&scan_to_server, &scan_to_app);
				if (scan_f.app != APP_DATA)
					return (long)from;
			}
			return -999998;
		}
		if (!used && at + chunk == n)
			return 0; /* the input ends in what the filter must see more of */
		unread = chunk - used;
		if (used && ncuts < sizeof cuts / sizeof cuts[0])
			cuts[ncuts++] = used;
		else if (used)
			return -999997; /* more reads than this driver keeps */
		at += used;
	}
	return 0;
}

/* The same content through filter_pass_content(), which the pump uses to
 * send content where it lies: the same shape of result, except that a
 * refusal is -1 whatever its place (nothing it passed is sent then). */
static inline long data_in_place(const char *in, size_t n, size_t (*next_chunk)(void *),
				 void *ctx)
{
	size_t at = 0, unread = 0;
	scan_start();
	while (at < n) {
		size_t chunk = unread + next_chunk(ctx);
		if (chunk > n - at)
			chunk = n - at;
		size_t used = filter_pass_content(&scan_f, in + at, chunk);
		if (used == (size_t)-1)
			return -1;
		if (scan_f.app != APP_DATA)
			return (long)(at + used);
		if (!used && at + chunk == n)
			return 0;
		unread = chunk - used;
		at += used;
	}
	return 0;
}

/* Whether data_in_place's result says what data_reference's does. */
static inline int in_place_agrees(long reference, long in_place)
{
	return reference < 0 ? in_place == -1 : in_place == reference;
}

#endif
