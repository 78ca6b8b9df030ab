/* libFuzzer target: the reply parser reads whatever a server sends. The
 * first byte picks how the input is cut into reads. */
#include <stdint.h>
#include <string.h>

#include "../../shim/common/smtp_reply.h"

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
			if (p.reply.len > SMTP_REPLY_MAX || p.reply.nlines > SMTP_REPLY_LINES)
				__builtin_trap();
		}
		in += used;
		n -= used;
	}
	return 0;
}
