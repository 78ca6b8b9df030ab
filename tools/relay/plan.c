#include "plan.h"

#include <stdio.h>
#include <string.h>

#include "shim/common/text.h"

int plan_uses_memory(const struct config *c)
{
	return c->mode == MODE_AUTO && !c->port && !(c->relay_host[0] && c->relay_port);
}

static int same(const struct plan_entry *a, const struct plan_entry *b)
{
	return a->starttls == b->starttls && a->port == b->port;
}

size_t plan_make(const struct config *c, const struct plan_entry *remembered,
		 struct plan_entry out[PLAN_MAX])
{
	struct plan_entry all[3];
	size_t n = 0, k = 0;

	if (c->mode == MODE_TLS) {
		all[n++] = (struct plan_entry){0, config_upstream_port(c, MODE_TLS)};
	} else if (c->mode == MODE_STARTTLS) {
		all[n++] = (struct plan_entry){1, config_upstream_port(c, MODE_STARTTLS)};
	} else if (!plan_uses_memory(c)) {
		/* A fixed port in auto mode: both kinds of TLS on it, the one
		 * the port is known for first (RFC 8314 for 465). */
		uint16_t p = config_upstream_port(c, MODE_TLS);
		all[n++] = (struct plan_entry){p != 465, p};
		all[n++] = (struct plan_entry){p == 465, p};
	} else {
		/* RFC 8314 prefers implicit TLS; 2525 is the providers' usual
		 * way around a blocked 587. */
		all[n++] = (struct plan_entry){0, 465};
		all[n++] = (struct plan_entry){1, 587};
		all[n++] = (struct plan_entry){1, 2525};
	}
	if (remembered && plan_uses_memory(c))
		for (size_t i = 0; i < n; i++)
			if (same(&all[i], remembered))
				out[k++] = all[i];
	for (size_t i = 0; i < n; i++)
		if (!(k && same(&all[i], &out[0])))
			out[k++] = all[i];
	return k;
}

int plan_format(const struct plan_entry *e, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%u %s\n", e->port, e->starttls ? "starttls" : "tls");
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int plan_parse(const char *text, struct plan_entry *e)
{
	char port[8], kind[16];
	size_t pl = strcspn(text, " ");
	if (pl == 0 || pl >= sizeof port)
		return -1;
	memcpy(port, text, pl);
	port[pl] = '\0';
	const char *k = text + pl + (text[pl] == ' ');
	size_t kl = strcspn(k, " \r\n");
	if (kl >= sizeof kind)
		return -1;
	memcpy(kind, k, kl);
	kind[kl] = '\0';
	if (text_parse_port(port, &e->port) < 0)
		return -1;
	if (!strcmp(kind, "tls"))
		e->starttls = 0;
	else if (!strcmp(kind, "starttls"))
		e->starttls = 1;
	else
		return -1;
	return 0;
}

int plan_cache_path(const char *dir, const char *host, char *buf, size_t len)
{
	if (!dir[0] || !host[0])
		return -1;
	int n = snprintf(buf, len, "%s/port-", dir);
	if (n < 0 || (size_t)n + strlen(host) >= len)
		return -1;
	for (const char *h = host; *h; h++) {
		char c = *h;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
			 c == '_' || c == ':';
		buf[n++] = ok ? c : '_';
	}
	buf[n] = '\0';
	return 0;
}
