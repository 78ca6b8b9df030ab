/* Where settings come from -- the config file and its [destination]
 * sections, the SMTPSHIM_* environment, the relay's session text -- and
 * what they mean together (the section for a destination, the loop
 * check).  What each option is and how its value is parsed and written:
 * options.c. */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "text.h"
#include "trusted_file.h"

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
			return text_error(err, errlen, "line too long");
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

/* A "[destination ...]" header; *in_section tells the caller where the
 * following lines go. */
static int section_header(struct config *c, char *line, unsigned lineno, int *in_section,
			  char *err, size_t errlen)
{
	char *t = text_trim(line);
	size_t n = strlen(t);
	if (n < 2 || t[n - 1] != ']')
		return text_error(err, errlen, "a section header must end with ']'");
	t[n - 1] = '\0';
	t = text_trim(t + 1);
	size_t wlen = strcspn(t, " \t");
	if (wlen != 11 || strncmp(t, "destination", 11))
		return text_error(err, errlen, "unknown section '[%.*s]' (only [destination PATTERN...])",
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
	const struct option_desc *o = config_find_option(name);
	if (!o)
		return text_error(err, errlen, "unknown setting '%s'", name);
	if (!(o->flags & OPT_SECTION))
		return text_error(err, errlen, "'%s' applies to all connections; put it before the first section",
			    name);
	/* Which ports are caught is decided before any section is matched. */
	if (!strcmp(name, "intercept") && strcasecmp(value, "no"))
		return text_error(err, errlen, "in a section, intercept takes only 'no' (leave "
					       "these destinations alone); the ports to catch are "
					       "set before the first section");
	config_defaults(&scratch);
	if (config_set(&scratch, name, value, err, errlen) < 0)
		return -1;
	return rules_add_setting(&c->rules, name, value, err, errlen);
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	/* Static: the host's thread may have a small stack, and settings are
	 * loaded once (by one thread in the shim, single-threaded elsewhere). */
	static char buf[16384];
	/* Only a file that whoever runs this process (or root) alone can
	 * change: a config names the relay and the commands that run. */
	ssize_t used = trusted_file_read("config", path, buf, sizeof buf, err, errlen);
	if (used < 0)
		return -1;
	if ((size_t)used == sizeof buf - 1) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, sizeof buf - 2);
		return -1;
	}

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
			return text_error(err, errlen,
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
			return text_error(err, errlen, "%s, section at line %u: %s", c->config_file,
				    c->rules.rule[i].line, msg);
	}
	return 0;
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

int config_relay_stderr(const struct config *c)
{
	return c->verbose > 0 || !strcmp(c->log, "stderr");
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

int config_rule_leaves_alone(const struct config *c, int rule)
{
	if (rule < 0 || (size_t)rule >= c->rules.n_rules)
		return 0;
	const struct rule *ru = &c->rules.rule[rule];
	const char *text = c->rules.text + ru->settings_at;
	/* the section's last intercept line decides: later lines win */
	int alone = 0;
	for (size_t at = 0; at < ru->settings_len;) {
		const char *line = text + at;
		const char *nl = memchr(line, '\n', ru->settings_len - at);
		size_t n = nl ? (size_t)(nl - line) : ru->settings_len - at;
		if (n > 10 && !strncmp(line, "intercept ", 10))
			alone = n == 12 && !strncasecmp(line + 10, "no", 2);
		at += n + 1;
	}
	return alone;
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
