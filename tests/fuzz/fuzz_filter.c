/* libFuzzer target: the relay's SMTP filter between a hostile server and
 * an app, in each configuration the relay runs it in.  The first byte
 * picks one: bit 0 whether the server's greeting is still to come, the
 * rest (mod 5) the session -- 0 plain; 1 authenticated relay (the local
 * session, set up from an EHLO reply the input gives); 2 envelope-from
 * rewriting (the address from the input); 3 both; 4 the message-content
 * scanner alone, checked against the byte-by-byte reading of its rules.
 * Modes 0-3 then read a script of (side, length, bytes) records; what the
 * filter leaves unread is offered again with the next record of its side,
 * and the output queues are drained between steps, as the pump does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/relay/filter.h"
#include "tests/unit/data_scan_check.h"

static struct filter f;
static struct buf to_server, to_app;
static struct reply_parser ehlo;
static char envelope[512];
static char pending[2][BUF_CAP]; /* unread bytes: [0] the app's, [1] the server's */
static size_t pending_len[2];

static const char default_ehlo[] = "250-relay.example Hello\r\n250-AUTH PLAIN LOGIN\r\n"
				   "250-STARTTLS\r\n250-CHUNKING\r\n250 PIPELINING\r\n";

/* One length-prefixed field of the input: *at moves past it. */
static size_t field(const uint8_t *data, size_t size, size_t *at, const uint8_t **out)
{
	size_t len = *at < size ? data[(*at)++] : 0;
	if (len > size - *at)
		len = size - *at;
	*out = data + *at;
	*at += len;
	return len;
}

static void set_up_local_session(const uint8_t *data, size_t size, size_t *at)
{
	const uint8_t *text;
	size_t len = field(data, size, at, &text), used;
	reply_parser_init(&ehlo);
	if (reply_parser_feed(&ehlo, (const char *)text, len, &used) != REPLY_DONE) {
		reply_parser_init(&ehlo);
		reply_parser_feed(&ehlo, default_ehlo, sizeof default_ehlo - 1, &used);
	}
	filter_local_session(&f, &ehlo.reply);
}

static void set_envelope_from(const uint8_t *data, size_t size, size_t *at)
{
	const uint8_t *text;
	size_t len = field(data, size, at, &text);
	memcpy(envelope, text, len);
	envelope[len] = '\0'; /* a NUL inside cuts it, as a C string would */
	filter_set_envelope_from(&f, envelope);
}

struct reads {
	const uint8_t *sizes;
	size_t n, next;
};

static size_t next_read(void *ctx)
{
	struct reads *r = ctx;
	size_t len = r->n ? r->sizes[r->next++ % r->n] % 64 + 1 : 1 << 20;
	return len;
}

/* Mode 4: content after a 354, cut into reads by a few sizes the input
 * gives; the filter must decide as data_reference does. */
static void scanner(const uint8_t *data, size_t size, size_t at)
{
	struct reads r = {0};
	r.n = field(data, size, &at, &r.sizes);
	const char *in = (const char *)data + at;
	size_t n = size - at;
	long want = data_reference(in, n);
	if (want != data_through_filter(in, n, next_read, &r))
		__builtin_trap();
	r.next = 0;
	if (!in_place_agrees(want, data_in_place(in, n, next_read, &r)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	int mode = (data[0] >> 1) % 5;
	size_t i = 1;
	if (mode == 4) {
		scanner(data, size, i);
		return 0;
	}
	filter_init(&f, data[0] & 1);
	to_server.start = to_server.len = to_app.start = to_app.len = 0;
	pending_len[0] = pending_len[1] = 0;
	if (mode & 1)
		set_up_local_session(data, size, &i);
	if (mode & 2)
		set_envelope_from(data, size, &i);
	while (i + 2 <= size) {
		int side = data[i] & 1;
		size_t len = data[i + 1];
		i += 2;
		if (len > size - i)
			len = size - i;
		if (len > BUF_CAP - pending_len[side])
			len = BUF_CAP - pending_len[side];
		memcpy(pending[side] + pending_len[side], data + i, len);
		pending_len[side] += len;
		i += len;
		size_t used = side ? filter_from_server(&f, pending[1], pending_len[1], &to_app)
				   : filter_from_app(&f, pending[0], pending_len[0], &to_server,
						     &to_app);
		if (used == (size_t)-1)
			return 0; /* smuggling, BDAT, a broken server: the relay ends the session */
		if (used > pending_len[side] || to_server.len > BUF_CAP || to_app.len > BUF_CAP)
			__builtin_trap();
		memmove(pending[side], pending[side] + used, pending_len[side] - used);
		pending_len[side] -= used;
		/* the pump empties the queues as the peers read */
		filter_flush(&f, &to_app);
		to_server.start = to_server.len = 0;
		to_app.start = to_app.len = 0;
	}
	return 0;
}
