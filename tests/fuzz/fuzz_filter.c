/* libFuzzer target: the relay's SMTP filter between a hostile server and
 * an app.  Input: a script of (side, length, bytes) records; each output
 * queue is drained between steps as the pump would. */
#include <stdint.h>
#include <string.h>

#include "../../tools/relay/filter.h"

static struct filter f;
static struct buf to_server, to_app;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	filter_init(&f, size && (data[0] & 1));
	to_server.start = to_server.len = to_app.start = to_app.len = 0;
	size_t i = size ? 1 : 0;
	while (i + 2 <= size) {
		int from_server = data[i] & 1;
		size_t len = data[i + 1];
		i += 2;
		if (len > size - i)
			len = size - i;
		const char *in = (const char *)data + i;
		size_t used;
		if (from_server) {
			used = filter_from_server(&f, in, len, &to_app);
			if (used == (size_t)-1)
				return 0; /* the relay ends such a session */
		} else {
			used = filter_from_app(&f, in, len, &to_server, &to_app);
			if (used == (size_t)-1)
				return 0; /* smuggling, BDAT: the relay ends the session */
		}
		if (used > len || to_server.len > BUF_CAP || to_app.len > BUF_CAP)
			__builtin_trap();
		i += len;
		/* the pump empties the queues as the peers read */
		to_server.start = to_server.len = 0;
		to_app.start = to_app.len = 0;
	}
	return 0;
}
