/* The filter's message-content scanner skips inside lines with memchr; it
 * must decide exactly as a plain byte-by-byte reading of the same rules
 * would, however the content is cut into reads. */
#include <stdlib.h>

#include "../../tools/relay/filter.h"
#include "check.h"

/* The rules of filter.c's data(), one byte at a time: returns how many
 * bytes end the message (the end included), 0 if it does not end, or
 * -(index + 1) of the CR or LF that would end a smuggled "." line (one
 * with a bare CR or bare LF on either side). */
static long reference(const char *in, size_t n)
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

static struct filter f;
static struct buf to_server, to_app;

static void start(void)
{
	filter_init(&f, 0);
	to_server.start = to_server.len = to_app.start = to_app.len = 0;
	filter_from_app(&f, "DATA\r\n", 6, &to_server, &to_app);
	filter_from_server(&f, "354 go\r\n", 8, &to_app);
	to_server.start = to_server.len = 0;
}

/* Feeds content after a 354 in random-sized reads, offering what the
 * filter left unread again with the next read, as the pump does; same
 * result shape.  The filter goes on reading commands after the end within
 * the same read, so the read that holds the end is fed again a byte at a
 * time to find it. */
static long through_filter(const char *in, size_t n, unsigned *seed)
{
	size_t cuts[64], ncuts = 0, at = 0;
	start();
	while (at < n) {
		size_t chunk = 1 + (size_t)rand_r(seed) % 40;
		if (chunk > n - at)
			chunk = n - at;
		size_t used = filter_from_app(&f, in + at, chunk, &to_server, &to_app);
		if (used == (size_t)-1)
			return -(long)to_server.len - 1; /* forwarded up to the bad byte */
		if (f.app == APP_COMMAND) {
			start();
			for (size_t k = 0, pos = 0; k < ncuts; pos += cuts[k++])
				filter_from_app(&f, in + pos, cuts[k], &to_server, &to_app);
			for (size_t from = at, pos = at; pos < at + chunk; pos++) {
				from += filter_from_app(&f, in + from, pos + 1 - from, &to_server,
							&to_app);
				if (f.app == APP_COMMAND)
					return (long)from;
			}
			return -999998;
		}
		if (!used && at + chunk == n)
			return 0; /* the input ends in what the filter must see more of */
		if (used)
			cuts[ncuts++] = used;
		at += used;
	}
	return 0;
}

static void test_scanner_agrees_with_the_byte_by_byte_rules(void)
{
	static const char alphabet[] = "\r\n.\r\n.ab";
	unsigned seed = 12345;
	int disagreements = 0, refused_at_cr = 0;
	for (int round = 0; round < 20000; round++) {
		char in[64];
		size_t n = 1 + (size_t)rand_r(&seed) % sizeof in;
		for (size_t i = 0; i < n; i++)
			in[i] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
		long want = reference(in, n), got = through_filter(in, n, &seed);
		if (want != got && disagreements++ < 3)
			fprintf(stderr, "round %d: reference %ld, filter %ld\n", round, want, got);
		refused_at_cr += want < 0 && in[-want - 1] == '\r';
	}
	CHECK(disagreements == 0);
	CHECK(refused_at_cr > 100); /* the rounds did cover bare-CR "." lines */
}

int main(void)
{
	test_scanner_agrees_with_the_byte_by_byte_rules();
	return check_done("test_filter_data");
}
