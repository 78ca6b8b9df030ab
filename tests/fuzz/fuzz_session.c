/* libFuzzer target: the session text a relay reads on fd 4 (settings,
 * then the '@' lines), through session_read itself: the input goes into a
 * pipe whose writing end is then closed, as a shim that died would. */
#include <stdint.h>
#include <unistd.h>

#include "tools/relay/net.h"
#include "tools/relay/session.h"

static struct session s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int p[2];
	char err[300];
	if (size > 60000 || pipe(p) < 0)
		return 0; /* (a pipe holds 64 KiB: the write must not block) */
	if (write(p[1], data, size) != (ssize_t)size)
		__builtin_trap();
	close(p[1]);
	int rc = session_read(p[0], &s, net_now_ms() + 1000, err, sizeof err);
	close(p[0]);
	if (rc != 0 && rc != -1 && rc != -2)
		__builtin_trap();
	if (rc == 0 && !s.dest_len)
		__builtin_trap();
	return 0;
}
