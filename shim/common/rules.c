#include "rules.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

#include "text.h"

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

/* "192.0.2.0/24", "2001:db8::1": the address v4-mapped and its prefix. */
static int parse_net(const char *s, struct rule_pattern *p)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned char a[16];
	int v4;

	if (n >= sizeof ip)
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, a) == 1) {
		v4 = 1;
		addr_ip16(AF_INET, a, p->ip);
	} else if (inet_pton(AF_INET6, ip, p->ip) == 1) {
		v4 = 0;
	} else {
		return -1;
	}
	unsigned long bits = v4 ? 32 : 128;
	if (slash && text_parse_ulong(slash + 1, 0, bits, &bits) < 0)
		return -1;
	p->prefix = (uint8_t)(v4 ? 96 + bits : bits);
	p->kind = PAT_NET;
	return 0;
}

int rules_parse_pattern(const char *text, struct rule_pattern *p, char *name, size_t namelen,
			char *err, size_t errlen)
{
	char host[300];
	const char *colon = strchr(text, ':');

	memset(p, 0, sizeof *p);
	name[0] = '\0';
	/* [v6]:port, host:port, or a bare IPv6 address (two colons or more). */
	if (*text == '[') {
		const char *end = strchr(text, ']');
		size_t n = end ? (size_t)(end - text - 1) : 0;
		if (!end || n >= sizeof host || (end[1] && (end[1] != ':' ||
				text_parse_port(end + 2, &p->port) < 0)))
			goto bad;
		memcpy(host, text + 1, n);
		host[n] = '\0';
		if (parse_net(host, p) < 0)
			goto bad;
		return 0;
	}
	if (colon && !strchr(colon + 1, ':')) {
		size_t n = (size_t)(colon - text);
		if (n >= sizeof host || text_parse_port(colon + 1, &p->port) < 0)
			goto bad;
		memcpy(host, text, n);
		host[n] = '\0';
	} else if (strlen(text) < sizeof host) {
		strcpy(host, text);
	} else {
		goto bad;
	}
	if (!strcmp(host, "*")) {
		p->kind = PAT_ANY;
		return 0;
	}
	if (parse_net(host, p) == 0)
		return 0;
	const char *n = host;
	if (!strncmp(host, "*.", 2)) {
		p->kind = PAT_SUBDOMAIN;
		n = host + 1; /* keep the dot: ".example.com" */
	} else if (host[0] == '.') {
		p->kind = PAT_DOMAIN;
	} else {
		p->kind = PAT_NAME;
	}
	size_t len = strlen(n);
	while (len > 1 && n[len - 1] == '.') /* "example.com." is example.com */
		len--;
	if (!valid_name(n) || strchr(n + (n[0] == '.'), '*') || len >= namelen ||
	    (p->kind != PAT_NAME && len < 2))
		goto bad;
	memcpy(name, n, len);
	name[len] = '\0';
	return 0;
bad:
	snprintf(err, errlen,
		 "'%s' is not a destination pattern (a host name, .domain, *.domain, an "
		 "address, address/bits or *, each optionally :port)", text);
	return -1;
}

static int ends_with(const char *name, size_t nlen, const char *suffix)
{
	size_t slen = strlen(suffix);
	return nlen >= slen && !strncasecmp(name + nlen - slen, suffix, slen);
}

int rules_pattern_matches(const struct rule_pattern *p, const char *pattern_name,
			  const char *name, const unsigned char *ip16, uint16_t port)
{
	if (p->port && p->port != port)
		return 0;
	size_t nlen = name ? strlen(name) : 0;
	while (nlen && name[nlen - 1] == '.')
		nlen--;
	switch (p->kind) {
	case PAT_ANY:
		return 1;
	case PAT_NAME:
		return nlen && nlen == strlen(pattern_name) &&
		       !strncasecmp(name, pattern_name, nlen);
	case PAT_SUBDOMAIN:
		return nlen && ends_with(name, nlen, pattern_name) && nlen > strlen(pattern_name);
	case PAT_DOMAIN:
		/* ".example.com" covers example.com itself too */
		return nlen && (ends_with(name, nlen, pattern_name) ||
				(nlen == strlen(pattern_name) - 1 &&
				 !strncasecmp(name, pattern_name + 1, nlen)));
	case PAT_NET: {
		if (!ip16)
			return 0;
		unsigned bits = p->prefix, i = 0;
		for (; bits >= 8; i++, bits -= 8)
			if (ip16[i] != p->ip[i])
				return 0;
		if (bits) {
			unsigned char mask = (unsigned char)(0xff << (8 - bits));
			if ((ip16[i] & mask) != (p->ip[i] & mask))
				return 0;
		}
		return 1;
	}
	}
	return 0;
}

static int add_text(struct config_rules *r, const char *s, size_t n, uint16_t *at)
{
	if (r->text_len + n + 1 > RULES_TEXT_MAX)
		return -1;
	*at = (uint16_t)r->text_len;
	memcpy(r->text + r->text_len, s, n);
	r->text[r->text_len + n] = '\0';
	r->text_len += n + 1;
	return 0;
}

int rules_begin(struct config_rules *r, const char *header, unsigned line, char *err,
		size_t errlen)
{
	char copy[1024];
	const char *patterns = header + strcspn(header, " \t");
	size_t before = r->n_patterns;

	if (r->n_rules == RULES_MAX) {
		snprintf(err, errlen, "more than %d sections", RULES_MAX);
		return -1;
	}
	struct rule *ru = &r->rule[r->n_rules];
	ru->line = line;
	ru->settings_len = 0;
	ru->settings_at = 0;
	if (strlen(patterns) >= sizeof copy || add_text(r, header, strlen(header), &ru->header_at) < 0)
		goto full;
	strcpy(copy, patterns);
	char *save = NULL;
	for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char name[300];
		struct rule_pattern p;
		if (rules_parse_pattern(tok, &p, name, sizeof name, err, errlen) < 0)
			goto undo;
		if (r->n_patterns == RULES_PATTERNS_MAX)
			goto full;
		p.rule = (uint16_t)r->n_rules;
		if (name[0] && add_text(r, name, strlen(name), &p.name_at) < 0)
			goto full;
		r->pattern[r->n_patterns++] = p;
	}
	if (r->n_patterns == before) {
		snprintf(err, errlen, "a [destination] section needs at least one pattern");
		goto undo;
	}
	r->n_rules++;
	return 0;
full:
	snprintf(err, errlen, "too many sections or patterns (at most %d, %d patterns, %d bytes)",
		 RULES_MAX, RULES_PATTERNS_MAX, RULES_TEXT_MAX);
undo:
	r->n_patterns = before;
	return -1;
}

int rules_add_setting(struct config_rules *r, const char *name, const char *value, char *err,
		      size_t errlen)
{
	struct rule *ru = &r->rule[r->n_rules - 1];
	size_t need = strlen(name) + 1 + strlen(value) + 1;
	/* Each section's lines are kept together: a section's settings are
	 * appended while it is the last one, so they are contiguous. */
	if (!ru->settings_len)
		ru->settings_at = (uint16_t)r->text_len;
	if (r->text_len + need > RULES_TEXT_MAX) {
		snprintf(err, errlen, "sections too long (more than %d bytes)", RULES_TEXT_MAX);
		return -1;
	}
	int n = snprintf(r->text + r->text_len, RULES_TEXT_MAX - r->text_len, "%s %s\n", name,
			 value);
	r->text_len += (size_t)n;
	ru->settings_len = (uint16_t)(ru->settings_len + n);
	return 0;
}
