/* The option table and the types of its values: how each is parsed, where
 * it is stored and how it is written back for the relay.  No allocation:
 * the shim sets options in the host process. */
#include "options.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "text.h"

#define AT(field) .at = offsetof(struct config, field), .size = sizeof(((struct config *)0)->field)
/* A per-connection setting: command line, sections, the relay's text. */
#define EVERYWHERE (OPT_CLI | OPT_SECTION | OPT_SESSION)

static const char *const mode_names[] = {"auto", "tls", "starttls", NULL};
static const char *const auth_names[] = {"auto", "plain", "login", "xoauth2", NULL};

/* In --help's order; config_write writes the OPT_SESSION rows in this order. */
const struct option_desc config_options[] = {
	{"mode", .type = OT_ENUM, AT(mode), .names = mode_names, .flags = EVERYWHERE,
	 .arg = "auto|tls|starttls",
	 .help = "auto (default): 465 implicit TLS, 587 and 2525 STARTTLS, staggered"},
	{"port", .type = OT_PORT, AT(port), .flags = EVERYWHERE, .unset = "(the mode's default)",
	 .arg = "PORT", .help = "upstream port (overrides the mode's default)"},
	{"relay", .type = OT_RELAY, AT(relay_host), .flags = EVERYWHERE,
	 .unset = "(none: the destination itself)", .arg = "HOST[:PORT]",
	 .help = "send every intercepted connection to HOST instead of the original host"},
	{"user", .type = OT_TEXT, AT(user), .refuse = " ", .noun = "a user name",
	 .flags = EVERYWHERE, .unset = "(none: the program's own AUTH, if any, passes through)",
	 .arg = "USER", .help = "authenticate to the server as USER (AUTH injection)"},
	{"password-file", .type = OT_SECRET_FILE, AT(password_file), .noun = "path",
	 .flags = EVERYWHERE, .arg = "FILE",
	 .help = "the password (or token) is the first line of FILE, which must be private (mode 600)"},
	{"password-command", .type = OT_SECRET_CMD, AT(password_command), .noun = "command",
	 .flags = EVERYWHERE, .arg = "CMD",
	 .help = "run CMD (with /bin/sh) when the server asks for AUTH; its output is the password or "
		 "token"},
	{"auth", .type = OT_ENUM, AT(auth), .names = auth_names, .flags = EVERYWHERE | OPT_ANYCASE,
	 .arg = "auto|plain|login|xoauth2",
	 .help = "SASL mechanism (auto: PLAIN, else LOGIN, else XOAUTH2, as offered)"},
	{"envelope-from", .type = OT_TEXT, AT(envelope_from), .refuse = " <>", .noun = "an address",
	 .flags = EVERYWHERE, .unset = "(the program's own)", .arg = "ADDRESS",
	 .help = "replace the app's MAIL FROM address with ADDRESS (for relays that want verified "
		 "senders)"},
	{"ca-file", .type = OT_TEXT, AT(ca_file), .noun = "path", .flags = EVERYWHERE,
	 .unset = "(system trust store)", .arg = "FILE",
	 .help = "trust the CAs in FILE instead of the system store"},
	{"intercept", .type = OT_PORTS, AT(intercept), .def = "25", .flags = EVERYWHERE,
	 .arg = "PORTS|no",
	 .help = "comma-separated destination ports to catch (default 25); in a section, no: leave "
		 "those destinations alone"},
	{"allow-loopback", .type = OT_BOOL, AT(allow_loopback),
	 .flags = OPT_CLI | OPT_NOARG | OPT_SESSION,
	 .help = "also catch connections to loopback addresses (off by default)"},
	{"config", .type = OT_CONFIG, AT(config_file), .noun = "path", .flags = OPT_CLI,
	 .arg = "FILE",
	 .help = "read options from FILE (default ~/.config/smtpshim/smtpshim.conf, "
		 "/etc/smtpshim.conf)"},
	{"timeout", .type = OT_SECONDS, AT(timeout), .min = 1, .max = 3600, .def = "30",
	 .flags = EVERYWHERE, .arg = "SECONDS",
	 .help = "limit for each upstream setup step (default 30)"},
	{"cache-dir", .type = OT_TEXT, AT(cache_dir), .noun = "path", .flags = OPT_CLI | OPT_SESSION,
	 .arg = "DIR",
	 .help = "where auto mode remembers the port that worked (default ~/.cache/smtpshim)"},
	{"log", .type = OT_LOG, AT(log), .noun = "path", .def = "syslog",
	 .flags = OPT_CLI | OPT_SESSION, .arg = "syslog|stderr|FILE|none",
	 .help = "where the relay writes one line per session (default syslog: mail facility, "
		 "ident smtpshim)"},
	{"verbose", 'v', .type = OT_LEVEL, AT(verbose), .flags = OPT_CLI | OPT_NOARG | OPT_SESSION,
	 .help = "the SMTP dialogue and TLS details on stderr"},
	{"programs", .type = OT_PROGRAMS, AT(programs), .noun = "list", .flags = OPT_CLI,
	 .arg = "NAME[,NAME...]", .help = "act only in these programs (for a system-wide preload)"},
	{"relay-server", .type = OT_BOOL, AT(relay_server), .def = "yes", .flags = OPT_CLI,
	 .arg = "yes|no",
	 .help = "keep a relay ready for the user's connections (default yes); no: a relay per "
		 "connection"},
	{"relay-idle", .type = OT_SECONDS, AT(relay_idle), .min = 1, .max = 86400, .def = "60",
	 .flags = OPT_CLI, .arg = "SECONDS",
	 .help = "how long the ready relay waits for the next connection before it exits (default "
		 "60)"},
	/* Neither is the command line's: smtpshim sets the helper itself, and
	 * user-settings counts only in /etc/smtpshim.conf. */
	{"helper", .type = OT_TEXT, AT(helper), .noun = "path", .flags = OPT_SESSION, .arg = "PATH",
	 .help = "the relay program (set by smtpshim itself)"},
	{"user-settings", .type = OT_BOOL, AT(user_settings), .def = "yes", .arg = "yes|no",
	 .help = "in /etc/smtpshim.conf: 'no' makes it the only source of settings (no SMTPSHIM_*, "
		 "no per-user file)"},
};
const size_t config_n_options = sizeof config_options / sizeof config_options[0];

_Static_assert(sizeof(enum tls_mode) == sizeof(int) && sizeof(enum auth_mech) == sizeof(int),
	       "OT_ENUM stores an int");

const struct option_desc *config_find_option(const char *name)
{
	for (size_t i = 0; i < config_n_options; i++)
		if (!strcmp(config_options[i].name, name))
			return &config_options[i];
	return NULL;
}

static const char *enum_name(const char *const *names, int i)
{
	for (int k = 0; names[k]; k++)
		if (k == i)
			return names[k];
	return names[0];
}

static int parse_bool(const char *v, int *out)
{
	if (!*v || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "on")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") ||
	    !strcasecmp(v, "off")) {
		*out = 0;
		return 0;
	}
	return -1;
}

static int set_text(const struct option_desc *o, char *field, const char *v, char *err,
		    size_t errlen)
{
	size_t n = strlen(v);
	if ((o->refuse && strpbrk(v, o->refuse)) || n >= o->size)
		return o->refuse ? text_error(err, errlen, "%s: '%.80s' is not %s", o->name, v, o->noun)
				 : text_error(err, errlen, "%s: %s too long", o->name, o->noun);
	/* A value the field holds already is not written again: a relay's
	 * settings start as zero pages, shared until written (zero.h). */
	if (strcmp(field, v))
		memcpy(field, v, n + 1);
	return 0;
}

static int set_enum(const struct option_desc *o, int *field, const char *v, char *err,
		    size_t errlen)
{
	char list[128] = "";
	size_t used = 0;
	for (int i = 0; o->names[i]; i++) {
		if (!((o->flags & OPT_ANYCASE) ? strcasecmp : strcmp)(v, o->names[i])) {
			*field = i;
			return 0;
		}
		const char *sep = !i ? "" : o->names[i + 1] ? ", " : " or ";
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", sep, o->names[i]);
	}
	return text_error(err, errlen, "%s: '%s' is not %s", o->name, v, list);
}

static int set_ports(const struct option_desc *o, struct config *c, const char *v, char *err,
		     size_t errlen)
{
	uint16_t ports[CONFIG_MAX_PORTS] = {0}; /* copied whole: no stack bytes after the list */
	size_t n = 0;
	const char *p = v;

	/* "no": catch nothing -- in a [destination] section, the connections
	 * to that destination are left alone (an internal smarthost). */
	if (!strcasecmp(v, "no")) {
		memset(c->intercept, 0, sizeof c->intercept);
		c->n_intercept = 0;
		return 0;
	}

	while (*p) {
		char item[8];
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof item || n == CONFIG_MAX_PORTS)
			return text_error(err, errlen, "%s: '%s' is not a list of up to %d ports",
					  o->name, v, CONFIG_MAX_PORTS);
		memcpy(item, p, len);
		item[len] = '\0';
		if (text_parse_port(item, &ports[n++]) < 0)
			return text_error(err, errlen, "%s: '%s' is not a port number", o->name, item);
		p += len;
		if (*p == ',')
			p++;
	}
	if (n == 0)
		return text_error(err, errlen, "%s: needs at least one port", o->name);
	memcpy(c->intercept, ports, sizeof ports);
	c->n_intercept = n;
	return 0;
}

static int set_relay(const struct option_desc *o, struct config *c, const char *v, char *err,
		     size_t errlen)
{
	char host[CONFIG_HOST_MAX] = "";
	uint16_t port = 0;

	if (*v && (text_split_host_port(v, host, sizeof host, &port) < 0 || !text_is_host(host)))
		return text_error(err, errlen, "%s: '%s' is not HOST or HOST:PORT", o->name, v);
	if (strcmp(c->relay_host, host))
		memcpy(c->relay_host, host, sizeof host);
	c->relay_port = port;
	return 0;
}

static int set_option(struct config *c, const struct option_desc *o, const char *v, char *err,
		      size_t errlen)
{
	void *field = (char *)c + o->at;
	unsigned long n;

	switch (o->type) {
	case OT_PORT:
		if (text_parse_port(v, field) < 0)
			return text_error(err, errlen, "%s: '%s' is not a port number", o->name, v);
		return 0;
	case OT_BOOL:
		if (parse_bool(v, field) < 0)
			return text_error(err, errlen, "%s: '%s' is not yes or no", o->name, v);
		return 0;
	case OT_SECONDS:
		if (text_parse_ulong(v, o->min, o->max, &n) < 0)
			return text_error(err, errlen, "%s: '%s' is not a number of seconds (%lu-%lu)",
					  o->name, v, o->min, o->max);
		*(unsigned *)field = (unsigned)n;
		return 0;
	case OT_ENUM:
		return set_enum(o, field, v, err, errlen);
	case OT_LEVEL:
		if (text_parse_ulong(v, 0, 9, &n) == 0)
			*(int *)field = (int)n;
		else if (parse_bool(v, field) < 0)
			return text_error(err, errlen, "%s: '%s' is not yes, no or a level", o->name, v);
		return 0;
	case OT_PORTS:
		return set_ports(o, c, v, err, errlen);
	case OT_RELAY:
		return set_relay(o, c, v, err, errlen);
	case OT_PROGRAMS:
		if (v[strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-,")])
			return text_error(err, errlen, "%s: '%s' is not a list of program names",
					  o->name, v);
		return set_text(o, field, v, err, errlen);
	case OT_SECRET_FILE:
	case OT_SECRET_CMD:
		if (set_text(o, field, v, err, errlen) < 0)
			return -1;
		/* The source of the secret set last wins: a section's file
		 * replaces a global command, and the other way round. */
		char *other = o->type == OT_SECRET_FILE ? c->password_command : c->password_file;
		if (*v && other[0])
			other[0] = '\0';
		return 0;
	case OT_LOG:
		/* A relative path would name a file in whatever directory each
		 * program runs in. */
		if (strcmp(v, "syslog") && strcmp(v, "stderr") && strcmp(v, "none") && v[0] != '/')
			return text_error(err, errlen,
					  "%s: '%.80s' is not syslog, stderr, none or an absolute path",
					  o->name, v);
		return set_text(o, field, v, err, errlen);
	case OT_TEXT:
	case OT_CONFIG:
		return set_text(o, field, v, err, errlen);
	}
	return -1;
}

int config_set(struct config *c, const char *name, const char *value, char *err,
	       size_t errlen)
{
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20)
			return text_error(err, errlen, "%s: the value has a control character", name);
	const struct option_desc *o = config_find_option(name);
	if (!o)
		return text_error(err, errlen, "unknown setting '%s'", name);
	return set_option(c, o, value, err, errlen);
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	config_defaults_on_zero(c);
}

void config_defaults_on_zero(struct config *c)
{
	char err[64];
	for (size_t i = 0; i < config_n_options; i++)
		if (config_options[i].def)
			set_option(c, &config_options[i], config_options[i].def, err, sizeof err);
}

int config_option_text(const struct config *c, const struct option_desc *o, char *buf,
		       size_t len)
{
	const void *field = (const char *)c + o->at;
	char relay[CONFIG_HOST_MAX + 8] = "";
	int n = 0;

	switch (o->type) {
	case OT_PORT:
		n = *(const uint16_t *)field ? snprintf(buf, len, "%u", *(const uint16_t *)field)
					      : snprintf(buf, len, "%s", "");
		break;
	case OT_BOOL:
	case OT_LEVEL:
		n = snprintf(buf, len, "%d", *(const int *)field);
		break;
	case OT_SECONDS:
		n = snprintf(buf, len, "%u", *(const unsigned *)field);
		break;
	case OT_ENUM:
		n = snprintf(buf, len, "%s", enum_name(o->names, *(const int *)field));
		break;
	case OT_PORTS:
		for (size_t i = 0; i < c->n_intercept && n >= 0 && (size_t)n < len; i++)
			n += snprintf(buf + n, len - (size_t)n, "%s%u", i ? "," : "", c->intercept[i]);
		if (!c->n_intercept)
			n = snprintf(buf, len, "no");
		break;
	case OT_RELAY:
		if (c->relay_host[0])
			text_join_host_port(c->relay_host, c->relay_port, relay, sizeof relay);
		n = snprintf(buf, len, "%s", relay);
		break;
	default: /* text */
		n = snprintf(buf, len, "%s", (const char *)field);
	}
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int config_write(const struct config *c, char *buf, size_t len)
{
	size_t used = 0;
	for (size_t i = 0; i < config_n_options; i++) {
		const struct option_desc *o = &config_options[i];
		if (!(o->flags & OPT_SESSION))
			continue;
		int n = snprintf(buf + used, len - used, "%s ", o->name);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		int v = config_option_text(c, o, buf + used + (size_t)n, len - used - (size_t)n);
		if (v < 0)
			return -1;
		if (o->type == OT_PORT && v == 0)
			continue; /* 0 is the mode's default, which the relay has */
		if (used + (size_t)n + (size_t)v + 2 > len)
			return -1; /* the newline and the NUL */
		used += (size_t)n + (size_t)v;
		buf[used++] = '\n';
	}
	if (used >= len)
		return -1;
	buf[used] = '\0';
	return (int)used;
}

const char *config_mode_name(enum tls_mode m)
{
	return enum_name(mode_names, (int)m);
}

const char *config_auth_name(enum auth_mech m)
{
	return enum_name(auth_names, (int)m);
}

int config_env_name(const char *name, char *buf, size_t len)
{
	static const char prefix[] = "SMTPSHIM_";
	size_t n = strlen(name);
	if (sizeof prefix + n > len)
		return -1;
	memcpy(buf, prefix, sizeof prefix - 1);
	for (size_t i = 0; i <= n; i++) {
		char ch = name[i];
		buf[sizeof prefix - 1 + i] = ch == '-' ? '_' : (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
	}
	return 0;
}
