#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "text.h"
#include "trusted_file.h"

const struct option_desc config_options[] = {
	{"mode", 0, OPT_VALUE, "auto|tls|starttls",
	 "auto (default): 465 implicit TLS, 587 and 2525 STARTTLS, staggered", 1},
	{"port", 0, OPT_VALUE, "PORT", "upstream port (overrides the mode's default)", 1},
	{"relay", 0, OPT_VALUE, "HOST[:PORT]",
	 "send every intercepted connection to HOST instead of the original host", 1},
	{"user", 0, OPT_VALUE, "USER", "authenticate to the server as USER (AUTH injection)", 1},
	{"password-file", 0, OPT_VALUE, "FILE",
	 "the password (or token) is the first line of FILE, which must be private (mode 600)", 1},
	{"password-command", 0, OPT_VALUE, "CMD",
	 "run CMD (with /bin/sh) when the server asks for AUTH; its output is the password or token",
	 1},
	{"auth", 0, OPT_VALUE, "auto|plain|login|xoauth2",
	 "SASL mechanism (auto: PLAIN, else LOGIN, else XOAUTH2, as offered)", 1},
	{"envelope-from", 0, OPT_VALUE, "ADDRESS",
	 "replace the app's MAIL FROM address with ADDRESS (for relays that want verified senders)",
	 1},
	{"ca-file", 0, OPT_VALUE, "FILE", "trust the CAs in FILE instead of the system store", 1},
	{"intercept", 0, OPT_VALUE, "PORTS",
	 "comma-separated destination ports to catch (default 25)", 0},
	{"allow-loopback", 0, OPT_FLAG, NULL,
	 "also catch connections to loopback addresses (off by default)", 0},
	{"config", 0, OPT_VALUE, "FILE",
	 "read options from FILE (default ~/.config/smtpshim/smtpshim.conf, /etc/smtpshim.conf)", 0},
	{"timeout", 0, OPT_VALUE, "SECONDS", "limit for each upstream setup step (default 30)", 1},
	{"cache-dir", 0, OPT_VALUE, "DIR",
	 "where auto mode remembers the port that worked (default ~/.cache/smtpshim)", 0},
	{"verbose", 'v', OPT_FLAG, NULL, "the SMTP dialogue and TLS details on stderr", 0},
	{"programs", 0, OPT_VALUE, "NAME[,NAME...]",
	 "act only in these programs (for a system-wide preload)", 0},
	{"relay-server", 0, OPT_VALUE, "yes|no",
	 "keep a relay ready for the user's connections (default yes); no: a relay per connection",
	 0},
	{"relay-idle", 0, OPT_VALUE, "SECONDS",
	 "how long the ready relay waits for the next connection before it exits (default 60)", 0},
	{"helper", 0, OPT_VALUE, "PATH", "the relay program (set by smtpshim itself)", 0},
	{"user-settings", 0, OPT_VALUE, "yes|no",
	 "in /etc/smtpshim.conf: 'no' makes it the only source of settings (no SMTPSHIM_*, "
	 "no per-user file)", 0},
};
const size_t config_n_options = sizeof config_options / sizeof config_options[0];

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->mode = MODE_AUTO;
	c->intercept[0] = 25;
	c->n_intercept = 1;
	c->timeout = 30;
	c->user_settings = 1;
	c->relay_server = 1;
	c->relay_idle = 60;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
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

static int copy_value(char *dst, size_t dstlen, const char *v)
{
	size_t n = strlen(v);
	if (n >= dstlen)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

static int set_ports(struct config *c, const char *v, char *err, size_t errlen)
{
	uint16_t ports[CONFIG_MAX_PORTS];
	size_t n = 0;
	const char *p = v;

	while (*p) {
		char item[8];
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof item || n == CONFIG_MAX_PORTS)
			return fail(err, errlen, "intercept: '%s' is not a list of up to 16 ports", v);
		memcpy(item, p, len);
		item[len] = '\0';
		if (text_parse_port(item, &ports[n++]) < 0)
			return fail(err, errlen, "intercept: '%s' is not a port number", item);
		p += len;
		if (*p == ',')
			p++;
	}
	if (n == 0)
		return fail(err, errlen, "intercept: needs at least one port");
	memcpy(c->intercept, ports, sizeof ports);
	c->n_intercept = n;
	return 0;
}

static int set_relay(struct config *c, const char *v, char *err, size_t errlen)
{
	char host[CONFIG_HOST_MAX];
	uint16_t port = 0;

	if (text_split_host_port(v, host, sizeof host, &port) < 0 || !text_is_host(host))
		return fail(err, errlen, "relay: '%s' is not HOST or HOST:PORT", v);
	memcpy(c->relay_host, host, sizeof host);
	c->relay_port = port;
	return 0;
}

int config_set(struct config *c, const char *name, const char *value, char *err,
	       size_t errlen)
{
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20)
			return fail(err, errlen, "%s: the value has a control character", name);

	if (!strcmp(name, "mode")) {
		if (!strcmp(value, "auto"))
			c->mode = MODE_AUTO;
		else if (!strcmp(value, "tls"))
			c->mode = MODE_TLS;
		else if (!strcmp(value, "starttls"))
			c->mode = MODE_STARTTLS;
		else
			return fail(err, errlen, "mode: '%s' is not auto, tls or starttls", value);
	} else if (!strcmp(name, "port")) {
		if (text_parse_port(value, &c->port) < 0)
			return fail(err, errlen, "port: '%s' is not a port number", value);
	} else if (!strcmp(name, "relay")) {
		if (!*value) {
			c->relay_host[0] = '\0';
			c->relay_port = 0;
			return 0;
		}
		return set_relay(c, value, err, errlen);
	} else if (!strcmp(name, "ca-file")) {
		if (copy_value(c->ca_file, sizeof c->ca_file, value) < 0)
			return fail(err, errlen, "ca-file: path too long");
	} else if (!strcmp(name, "intercept")) {
		return set_ports(c, value, err, errlen);
	} else if (!strcmp(name, "allow-loopback")) {
		if (parse_bool(value, &c->allow_loopback) < 0)
			return fail(err, errlen, "allow-loopback: '%s' is not yes or no", value);
	} else if (!strcmp(name, "config")) {
		if (copy_value(c->config_file, sizeof c->config_file, value) < 0)
			return fail(err, errlen, "config: path too long");
	} else if (!strcmp(name, "timeout")) {
		unsigned long t;
		if (text_parse_ulong(value, 1, 3600, &t) < 0)
			return fail(err, errlen, "timeout: '%s' is not a number of seconds (1-3600)",
				    value);
		c->timeout = (unsigned)t;
	} else if (!strcmp(name, "relay-server")) {
		if (parse_bool(value, &c->relay_server) < 0)
			return fail(err, errlen, "relay-server: '%s' is not yes or no", value);
	} else if (!strcmp(name, "relay-idle")) {
		unsigned long t;
		if (text_parse_ulong(value, 1, 86400, &t) < 0)
			return fail(err, errlen,
				    "relay-idle: '%s' is not a number of seconds (1-86400)", value);
		c->relay_idle = (unsigned)t;
	} else if (!strcmp(name, "verbose")) {
		unsigned long level;
		if (text_parse_ulong(value, 0, 9, &level) == 0)
			c->verbose = (int)level;
		else if (parse_bool(value, &c->verbose) < 0)
			return fail(err, errlen, "verbose: '%s' is not yes, no or a level", value);
	} else if (!strcmp(name, "helper")) {
		if (copy_value(c->helper, sizeof c->helper, value) < 0)
			return fail(err, errlen, "helper: path too long");
	} else if (!strcmp(name, "programs")) {
		for (const char *p = value; *p; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-,",
				    *p))
				return fail(err, errlen, "programs: '%s' is not a list of program names",
					    value);
		if (copy_value(c->programs, sizeof c->programs, value) < 0)
			return fail(err, errlen, "programs: list too long");
	} else if (!strcmp(name, "user")) {
		if (strchr(value, ' ') || copy_value(c->user, sizeof c->user, value) < 0)
			return fail(err, errlen, "user: '%.80s' is not a user name", value);
	} else if (!strcmp(name, "password-file")) {
		/* The source of the secret set last wins: a section's file
		 * replaces a global command, and the other way round. */
		if (copy_value(c->password_file, sizeof c->password_file, value) < 0)
			return fail(err, errlen, "password-file: path too long");
		if (*value)
			c->password_command[0] = '\0';
	} else if (!strcmp(name, "password-command")) {
		if (copy_value(c->password_command, sizeof c->password_command, value) < 0)
			return fail(err, errlen, "password-command: command too long");
		if (*value)
			c->password_file[0] = '\0';
	} else if (!strcmp(name, "auth")) {
		static const char *const names[] = {"auto", "plain", "login", "xoauth2"};
		size_t i;
		for (i = 0; i < 4 && strcasecmp(value, names[i]); i++)
			;
		if (i == 4)
			return fail(err, errlen, "auth: '%s' is not auto, plain, login or xoauth2", value);
		c->auth = (enum auth_mech)i;
	} else if (!strcmp(name, "envelope-from")) {
		/* An address, without the brackets: MAIL FROM:<this> */
		if (strpbrk(value, " <>") || copy_value(c->envelope_from, sizeof c->envelope_from,
							 value) < 0)
			return fail(err, errlen, "envelope-from: '%.80s' is not an address", value);
	} else if (!strcmp(name, "user-settings")) {
		if (parse_bool(value, &c->user_settings) < 0)
			return fail(err, errlen, "user-settings: '%s' is not yes or no", value);
	} else if (!strcmp(name, "cache-dir")) {
		if (copy_value(c->cache_dir, sizeof c->cache_dir, value) < 0)
			return fail(err, errlen, "cache-dir: path too long");
	} else {
		return fail(err, errlen, "unknown setting '%s'", name);
	}
	return 0;
}

int config_names_program(const struct config *c, const char *const *names, size_t n)
{
	if (!c->programs[0])
		return 1;
	for (const char *p = c->programs; *p;) {
		size_t len = strcspn(p, ",");
		for (size_t i = 0; i < n; i++)
			if (names[i] && strlen(names[i]) == len && !strncmp(names[i], p, len))
				return 1;
		p += len + (p[len] == ',');
	}
	return 0;
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

int config_load_env(struct config *c, char *const *env, char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; i < config_n_options; i++) {
		char var[64];
		if (config_env_name(config_options[i].name, var, sizeof var) < 0)
			continue;
		size_t vlen = strlen(var);
		for (char *const *e = env; e && *e; e++) {
			if (strncmp(*e, var, vlen) || (*e)[vlen] != '=')
				continue;
			char msg[CONFIG_ERROR_MAX - 64];
			/* Keep going: the other settings still decide which
			 * connections are ours to answer with the error. */
			if (config_set(c, config_options[i].name, *e + vlen + 1, msg, sizeof msg) < 0 &&
			    rc == 0) {
				snprintf(err, errlen, "%s: %s", var, msg);
				rc = -1;
			}
		}
	}
	return rc;
}

/* One "name value" / "name = value" line, already stripped of its newline. */
/* Splits one "name value" / "name = value" line, already stripped of its
 * newline.  Returns 0 for a blank or comment line. */
static int split_line(char *line, char **name_out, char **value_out)
{
	char *name = text_trim(line);
	if (!*name || *name == '#')
		return 0;
	size_t nlen = strcspn(name, " \t=");
	char *value = name + nlen;
	if (*value) {
		*value++ = '\0';
		value = text_trim(value);
		if (*value == '=')
			value = text_trim(value + 1);
		if (!strcmp(value, "\"\""))
			*value = '\0'; /* name "": explicitly empty */
	}
	*name_out = name;
	*value_out = value; /* a bare flag name means "yes" */
	return 1;
}

static int parse_line(struct config *c, char *line, char *err, size_t errlen)
{
	char *name, *value;
	if (!split_line(line, &name, &value))
		return 0;
	return config_set(c, name, value, err, errlen);
}

int config_parse_text(struct config *c, const char *text, char *err, size_t errlen)
{
	char line[CONFIG_PATH_MAX + 64];
	while (*text) {
		size_t len = strcspn(text, "\n");
		if (len >= sizeof line)
			return fail(err, errlen, "line too long");
		memcpy(line, text, len);
		line[len] = '\0';
		if (parse_line(c, line, err, errlen) < 0)
			return -1;
		text += len;
		if (*text)
			text++;
	}
	return 0;
}

static const struct option_desc *find_option(const char *name)
{
	for (size_t i = 0; i < config_n_options; i++)
		if (!strcmp(config_options[i].name, name))
			return &config_options[i];
	return NULL;
}

/* A "[destination ...]" header; *in_section tells the caller where the
 * following lines go. */
static int section_header(struct config *c, char *line, unsigned lineno, int *in_section,
			  char *err, size_t errlen)
{
	char *t = text_trim(line);
	size_t n = strlen(t);
	if (n < 2 || t[n - 1] != ']')
		return fail(err, errlen, "a section header must end with ']'");
	t[n - 1] = '\0';
	t = text_trim(t + 1);
	size_t wlen = strcspn(t, " \t");
	if (wlen != 11 || strncmp(t, "destination", 11))
		return fail(err, errlen, "unknown section '[%.*s]' (only [destination PATTERN...])",
			    (int)wlen, t);
	*in_section = 0;
	if (rules_begin(&c->rules, t, lineno, err, errlen) < 0)
		return -1;
	*in_section = 1;
	return 0;
}

/* A setting inside a section is checked now, so a mistake is reported
 * with its line, and kept as text to apply per destination. */
static int section_setting(struct config *c, char *line, char *err, size_t errlen)
{
	static struct config scratch; /* large: not on the host's stack */
	char *name, *value;
	if (!split_line(line, &name, &value))
		return 0;
	const struct option_desc *o = find_option(name);
	if (!o)
		return fail(err, errlen, "unknown setting '%s'", name);
	if (!o->in_section)
		return fail(err, errlen, "'%s' applies to all connections; put it before the first section",
			    name);
	config_defaults(&scratch);
	if (config_set(&scratch, name, value, err, errlen) < 0)
		return -1;
	return rules_add_setting(&c->rules, name, value, err, errlen);
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	/* Read with plain syscalls: stdio would allocate in the host.  Static:
	 * the host's thread may have a small stack, and settings are loaded
	 * once (under pthread_once in the shim, single-threaded elsewhere). */
	static char buf[16384];
	/* Only a file that whoever runs this process (or root) alone can
	 * change: a config names the relay and the commands that run. */
	int fd = trusted_file_open("config", path, err, errlen);
	if (fd < 0)
		return -1;
	size_t used = 0;
	ssize_t n;
	while (used < sizeof buf - 1 && (n = read(fd, buf + used, sizeof buf - 1 - used)) > 0)
		used += (size_t)n;
	close(fd);
	if (used == sizeof buf - 1) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, sizeof buf - 2);
		return -1;
	}
	buf[used] = '\0';

	/* Loading a file again (the wrapper checks one) starts its sections anew. */
	memset(&c->rules, 0, sizeof c->rules);
	unsigned lineno = 1;
	int rc = 0, in_section = 0, broken_section = 0;
	for (char *p = buf; *p; lineno++) {
		char *end = p + strcspn(p, "\n");
		int last = *end == '\0';
		*end = '\0';
		char msg[CONFIG_ERROR_MAX - 64];
		char *t = p + strspn(p, " \t");
		int bad;
		if (*t == '[') {
			bad = section_header(c, t, lineno, &in_section, msg, sizeof msg) < 0;
			broken_section = bad;
		} else if (broken_section) {
			bad = 0; /* the header was reported; its lines are not settings */
		} else {
			bad = in_section ? section_setting(c, p, msg, sizeof msg) < 0
					 : parse_line(c, p, msg, sizeof msg) < 0;
		}
		if (bad && rc == 0) {
			snprintf(err, errlen, "%s line %u: %s", path, lineno, msg);
			rc = -1; /* reported once; the other lines still count */
		}
		p = last ? end : end + 1;
	}
	if (rc == 0 && strlen(path) < sizeof c->config_file)
		strcpy(c->config_file, path);
	return rc;
}

static const char *env_value(char *const *env, const char *var)
{
	size_t vlen = strlen(var);
	for (char *const *e = env; e && *e; e++)
		if (!strncmp(*e, var, vlen) && (*e)[vlen] == '=')
			return *e + vlen + 1;
	return NULL;
}

/* $XDG_<KIND>_HOME/smtpshim, else $HOME/<fallback>/smtpshim; "" if neither. */
static void xdg_dir(char *const *env, const char *xdg_var, const char *fallback, char *out,
		    size_t len)
{
	const char *xdg = env_value(env, xdg_var), *home = env_value(env, "HOME");
	int n = -1;
	/* The XDG spec: a relative path in the variable is to be ignored. */
	if (xdg && *xdg == '/')
		n = snprintf(out, len, "%s/smtpshim", xdg);
	else if (home && *home == '/')
		n = snprintf(out, len, "%s/%s/smtpshim", home, fallback);
	if (n < 0 || (size_t)n >= len)
		out[0] = '\0';
}

int config_default_file(char *const *env, char *path, size_t len)
{
	const char *named = env_value(env, "SMTPSHIM_CONFIG");
	char dir[CONFIG_PATH_MAX];

	path[0] = '\0';
	if (named) {
		if (strlen(named) >= len)
			return -1;
		strcpy(path, named);
		return 0;
	}
	xdg_dir(env, "XDG_CONFIG_HOME", ".config", dir, sizeof dir);
	if (dir[0] && (size_t)snprintf(path, len, "%s/smtpshim.conf", dir) < len &&
	    access(path, F_OK) == 0)
		return 0;
	if (access(CONFIG_SYSTEM_FILE, F_OK) == 0 && len > strlen(CONFIG_SYSTEM_FILE)) {
		strcpy(path, CONFIG_SYSTEM_FILE);
		return 0;
	}
	path[0] = '\0';
	return 0;
}

/* /etc/smtpshim.conf alone, when it says "user-settings no": then neither
 * SMTPSHIM_* variables nor a per-user file count (a system-wide install
 * whose settings are the administrator's only).  Returns 1 if so. */
static int system_settings_only(struct config *c)
{
	char err[CONFIG_ERROR_MAX];
	if (access(CONFIG_SYSTEM_FILE, F_OK) < 0)
		return 0;
	config_defaults(c);
	if (config_load_file(c, CONFIG_SYSTEM_FILE, err, sizeof err) < 0) {
		memcpy(c->error, err, sizeof c->error);
		return !c->user_settings;
	}
	return !c->user_settings;
}

void config_load(struct config *c, char *const *env)
{
	char err[CONFIG_ERROR_MAX], file[CONFIG_PATH_MAX];

	if (system_settings_only(c)) {
		if (!c->error[0] && config_check_loop(c, err, sizeof err) < 0)
			memcpy(c->error, err, sizeof c->error);
		return;
	}
	config_defaults(c);
	if (config_default_file(env, file, sizeof file) < 0)
		snprintf(c->error, sizeof c->error, "SMTPSHIM_CONFIG: path too long");
	else if (file[0] && config_load_file(c, file, err, sizeof err) < 0)
		memcpy(c->error, err, sizeof c->error);
	if (config_load_env(c, env, err, sizeof err) < 0 && !c->error[0])
		memcpy(c->error, err, sizeof c->error);
	if (!c->cache_dir[0])
		xdg_dir(env, "XDG_CACHE_HOME", ".cache", c->cache_dir, sizeof c->cache_dir);
	if (!c->error[0] && config_check_loop(c, err, sizeof err) < 0)
		memcpy(c->error, err, sizeof c->error);
}

/* The ports the relay may dial upstream with these settings. */
static size_t upstream_ports(const struct config *c, uint16_t *out)
{
	if (c->relay_host[0] && c->relay_port) {
		out[0] = c->relay_port;
		return 1;
	}
	if (c->port) {
		out[0] = c->port;
		return 1;
	}
	if (c->mode == MODE_TLS) {
		out[0] = 465;
		return 1;
	}
	if (c->mode == MODE_STARTTLS) {
		out[0] = 587;
		return 1;
	}
	out[0] = 465, out[1] = 587, out[2] = 2525; /* auto: plan.c's order */
	return 3;
}

int config_check_one_loop(const struct config *c, char *err, size_t errlen)
{
	uint16_t ports[3];
	size_t n = upstream_ports(c, ports);
	for (size_t i = 0; i < n; i++)
		if (config_intercepts_port(c, ports[i]))
			return fail(err, errlen,
				    "the upstream port %u is also a port smtpshim intercepts "
				    "(intercept), so each relay would be caught again; use another "
				    "port or leave %u out of intercept",
				    ports[i], ports[i]);
	return 0;
}

int config_check_loop(const struct config *c, char *err, size_t errlen)
{
	static struct config scratch; /* large: not on the host's stack */
	char text[RULES_TEXT_MAX], msg[CONFIG_ERROR_MAX];

	if (config_check_one_loop(c, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < c->rules.n_rules; i++) {
		memcpy(&scratch, c, sizeof scratch);
		if (config_write_rule(c, (int)i, text, sizeof text) < 0 ||
		    config_parse_text(&scratch, text, msg, sizeof msg) < 0)
			continue; /* checked at load */
		if (config_check_one_loop(&scratch, msg, sizeof msg) < 0)
			return fail(err, errlen, "%s, section at line %u: %s", c->config_file,
				    c->rules.rule[i].line, msg);
	}
	return 0;
}

const char *config_mode_name(enum tls_mode m)
{
	switch (m) {
	case MODE_TLS:
		return "tls";
	case MODE_STARTTLS:
		return "starttls";
	default:
		return "auto";
	}
}

const char *config_auth_name(enum auth_mech m)
{
	switch (m) {
	case AUTH_PLAIN:
		return "plain";
	case AUTH_LOGIN:
		return "login";
	case AUTH_XOAUTH2:
		return "xoauth2";
	default:
		return "auto";
	}
}

uint16_t config_upstream_port(const struct config *c, enum tls_mode mode)
{
	if (c->relay_host[0] && c->relay_port)
		return c->relay_port;
	if (c->port)
		return c->port;
	return mode == MODE_TLS ? 465 : 587;
}

int config_intercepts_port(const struct config *c, uint16_t port)
{
	for (size_t i = 0; i < c->n_intercept; i++)
		if (c->intercept[i] == port)
			return 1;
	return 0;
}

int config_has_credentials(const struct config *c)
{
	return c->user[0] && (c->password_file[0] || c->password_command[0]);
}

int config_write(const struct config *c, char *buf, size_t len)
{
	char ports[CONFIG_MAX_PORTS * 6 + 1] = "";
	size_t plen = 0;
	for (size_t i = 0; i < c->n_intercept; i++)
		plen += (size_t)snprintf(ports + plen, sizeof ports - plen, "%s%u",
					 i ? "," : "", c->intercept[i]);
	char relay[CONFIG_HOST_MAX + 8] = "";
	if (c->relay_host[0])
		text_join_host_port(c->relay_host, c->relay_port, relay, sizeof relay);

	char port[16] = "";
	if (c->port)
		snprintf(port, sizeof port, "port %u\n", c->port);

	int n = snprintf(buf, len,
			 "mode %s\n%srelay %s\nca-file %s\nintercept %s\n"
			 "allow-loopback %d\ntimeout %u\nverbose %d\nhelper %s\n"
			 "user %s\npassword-file %s\npassword-command %s\nauth %s\n"
			 "envelope-from %s\ncache-dir %s\n",
			 config_mode_name(c->mode), port, relay, c->ca_file, ports,
			 c->allow_loopback, c->timeout, c->verbose, c->helper, c->user,
			 c->password_file, c->password_command, config_auth_name(c->auth),
			 c->envelope_from, c->cache_dir);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int config_match(const struct config *c, const char *name, const struct sockaddr *addr,
		 uint16_t port)
{
	unsigned char ip[16];
	int have_ip = addr_sockaddr_ip16(addr, ip) == 0;
	const struct config_rules *r = &c->rules;

	/* Patterns are stored in section order: the first hit is the first
	 * matching section. */
	for (size_t i = 0; i < r->n_patterns; i++) {
		const struct rule_pattern *p = &r->pattern[i];
		if (rules_pattern_matches(p, r->text + p->name_at, name, have_ip ? ip : NULL, port))
			return p->rule;
	}
	return -1;
}

/* Whether a section's "name value\n" lines set name. */
static int rule_sets(const char *text, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	for (size_t at = 0; at < len;) {
		const char *line = text + at;
		if (len - at > nlen && !strncmp(line, name, nlen) && line[nlen] == ' ')
			return 1;
		const char *nl = memchr(line, '\n', len - at);
		at = nl ? (size_t)(nl - text) + 1 : len;
	}
	return 0;
}

int config_write_rule(const struct config *c, int rule, char *buf, size_t len)
{
	static const char drop_credentials[] = "user \n";
	if (rule < 0 || (size_t)rule >= c->rules.n_rules) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	const struct rule *ru = &c->rules.rule[rule];
	const char *text = c->rules.text + ru->settings_at;
	/* Credentials belong to the relay they were set beside: a section
	 * that sends elsewhere does not inherit them (it may restate them). */
	int drop = rule_sets(text, ru->settings_len, "relay") &&
		   !rule_sets(text, ru->settings_len, "user");
	size_t n = ru->settings_len + (drop ? sizeof drop_credentials - 1 : 0);
	if (n + 1 > len)
		return -1;
	memcpy(buf, text, ru->settings_len);
	if (drop)
		memcpy(buf + ru->settings_len, drop_credentials, sizeof drop_credentials - 1);
	buf[n] = '\0';
	return (int)n;
}

int config_for_destination(const struct config *base, const char *name,
			   const struct sockaddr *addr, uint16_t port, struct config *out)
{
	char text[RULES_TEXT_MAX], err[CONFIG_ERROR_MAX];
	int rule = config_match(base, name, addr, port);

	if (out != base)
		memcpy(out, base, sizeof *out);
	if (rule >= 0 && config_write_rule(base, rule, text, sizeof text) >= 0 &&
	    config_parse_text(out, text, err, sizeof err) < 0 && !out->error[0])
		snprintf(out->error, sizeof out->error, "%s", err); /* checked at load: unlikely */
	return rule;
}
