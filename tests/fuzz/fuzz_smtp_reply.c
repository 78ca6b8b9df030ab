/* libFuzzer target: the reply parser reads whatever a server sends, and
 * so does what reads a parsed reply further: the AUTH mechanisms of an
 * EHLO reply (sasl_offered) and the base64 of a 334 challenge.  The first
 * byte picks how the input is cut into reads. */
#include <stdint.h>
#include <string.h>

#include "tools/relay/sasl.h"
#include "tools/relay/smtp_reply.h"

static struct reply_parser p;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	size_t chunk = data[0] % 17 + 1;
	const char *in = (const char *)data + 1;
	size_t n = size - 1;

	reply_parser_init(&p);
	while (n) {
		size_t take = n < chunk ? n : chunk, used;
		enum reply_status st = reply_parser_feed(&p, in, take, &used);
		if (used > take)
			__builtin_trap();
		if (st == REPLY_ERROR)
			break;
		if (st == REPLY_DONE) {
			char summary[200];
			reply_summary(&p.reply, summary, sizeof summary);
			reply_has_keyword(&p.reply, "STARTTLS");
			char list[256];
			unsigned offered = sasl_offered(&p.reply, list, sizeof list);
			if (strlen(list) >= sizeof list ||
			    offered & ~(unsigned)(SASL_PLAIN | SASL_LOGIN | SASL_XOAUTH2))
				__builtin_trap();
			const char *t;
			size_t len;
			unsigned char plain[SMTP_REPLY_MAX];
			reply_line_text(&p.reply, 0, &t, &len);
			int n = sasl_unbase64(t, len, plain, sizeof plain);
			if (n > (int)sizeof plain)
				__builtin_trap();
			if (p.reply.len > SMTP_REPLY_MAX || p.reply.nlines > SMTP_REPLY_LINES)
				__builtin_trap();
		}
		in += used;
		n -= used;
	}
	return 0;
}
