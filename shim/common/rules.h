/* Per-destination sections of the config file:
 *
 *   [destination smtp.example.com .example.org 192.0.2.0/24 *:2525]
 *   relay smtp.sendgrid.net:587
 *
 * A section applies when any of its patterns matches the connection the
 * app made: the name it resolved, the address it dialled and the port.
 * The first matching section wins.  Fixed arrays only: the shim matches in
 * the host process, on every intercepted connect(). */
#ifndef SMTPSHIM_RULES_H
#define SMTPSHIM_RULES_H

#include <stddef.h>
#include <stdint.h>

#define RULES_MAX 32
#define RULES_PATTERNS_MAX 128
#define RULES_TEXT_MAX 8192

enum pattern_kind {
	PAT_ANY,       /* "*" */
	PAT_NAME,      /* "mail.example.com": that name only */
	PAT_DOMAIN,    /* ".example.com": the domain and every name under it */
	PAT_SUBDOMAIN, /* "*.example.com": names under the domain only */
	PAT_NET,       /* "192.0.2.1", "192.0.2.0/24", "2001:db8::/32" */
};

struct rule_pattern {
	uint8_t kind;
	uint8_t prefix;          /* PAT_NET: bits of ip that must match */
	uint16_t port;           /* 0: any port */
	uint16_t rule;           /* the section it belongs to */
	uint16_t name_at;        /* PAT_NAME etc.: offset of the name in text */
	unsigned char ip[16];    /* PAT_NET: IPv4 stored v4-mapped */
};

struct rule {
	unsigned line;           /* of the section header, for messages */
	uint16_t header_at;      /* "destination ..." in text */
	uint16_t settings_at;    /* "name value\n" lines in text */
	uint16_t settings_len;
};

struct config_rules {
	size_t n_rules, n_patterns, text_len;
	struct rule rule[RULES_MAX];
	struct rule_pattern pattern[RULES_PATTERNS_MAX];
	char text[RULES_TEXT_MAX];
};

/* Parses one pattern ("*.example.com", "[2001:db8::/32]:25", "*:2525").
 * Returns 0, or -1 with the reason in err. */
int rules_parse_pattern(const char *text, struct rule_pattern *p, char *name,
			size_t namelen, char *err, size_t errlen);

/* Whether p matches.  name: what the app resolved, lower or upper case,
 * "" if nothing; ip16: the dialled address v4-mapped, or NULL. */
int rules_pattern_matches(const struct rule_pattern *p, const char *pattern_name,
			  const char *name, const unsigned char *ip16, uint16_t port);

/* Starts a section from its header text ("destination a b c"); then
 * rules_add_setting for each of its lines.  -1 with err when full or bad. */
int rules_begin(struct config_rules *r, const char *header, unsigned line, char *err,
		size_t errlen);
int rules_add_setting(struct config_rules *r, const char *name, const char *value, char *err,
		      size_t errlen);

#endif
