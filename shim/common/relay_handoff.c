#include "relay_handoff.h"

#include <stdio.h>
#include <string.h>

#include "addr.h"

int relay_session_text(const struct config *cfg, const char *name, const struct sockaddr *dst,
		       const struct sockaddr *client, const char *program, char *buf, size_t len)
{
	char dst_text[ADDR_TEXT_MAX], client_text[ADDR_TEXT_MAX] = "";

	addr_text(dst, dst_text, sizeof dst_text);
	if (client)
		addr_text(client, client_text, sizeof client_text);
	int n = config_write(cfg, buf, len);
	if (n < 0)
		return -1;
	int rule = config_match(cfg, name, dst, addr_port(dst, sizeof(struct sockaddr_storage)));
	int r = config_write_rule(cfg, rule, buf + n, len - (size_t)n);
	if (r < 0)
		return -1;
	n += r;
	int m = snprintf(buf + n, len - (size_t)n,
			 "@dest %s\n@name %s\n@client %s\n@program %s\n@end\n", dst_text, name,
			 client_text, program);
	return m < 0 || (size_t)m >= len - (size_t)n ? -1 : n + m;
}

void relay_environment(char *const *env, char **out, size_t max)
{
	size_t n = 0;
	for (char *const *e = env; e && *e && n + 1 < max; e++)
		if (!strncmp(*e, "PATH=", 5) || !strncmp(*e, "HOME=", 5))
			out[n++] = *e;
	out[n] = NULL;
}
