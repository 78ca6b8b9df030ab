#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "text.h"

const struct option_desc config_options[] = {
	{"mode", 0, OPT_VALUE, "auto|tls|starttls",
	 "auto (default): 465 with implicit TLS, then 587 with STARTTLS"},
	{"port", 0, OPT_VALUE, "PORT", "upstream port (overrides the mode's default)"},
	{"relay", 0, OPT_VALUE, "HOST[:PORT]",
	 "send every intercepted connection to HOST instead of the original host"},
	{"ca-file", 0, OPT_VALUE, "FILE", "trust the CAs in FILE instead of the system store"},
	{"intercept", 0, OPT_VALUE, "PORTS",
	 "comma-separated destination ports to catch (default 25)"},
	{"allow-loopback", 0, OPT_FLAG, NULL,
	 "also catch connections to loopback addresses (off by default)"},
	{"config", 0, OPT_VALUE, "FILE", "read options from FILE (same names, without the dashes)"},
	{"timeout", 0, OPT_VALUE, "SECONDS", "limit for each upstream setup step (default 30)"},
	{"verbose", 'v', OPT_FLAG, NULL, "the SMTP dialogue and TLS details on stderr"},
	{"helper", 0, OPT_VALUE, "PATH", "the relay program (set by smtpshim itself)"},
};
const size_t config_n_options = sizeof config_options / sizeof config_options[0];

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->mode = MODE_AUTO;
	c->intercept[0] = 25;
	c->n_intercept = 1;
	c->timeout = 30;
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
	} else if (!strcmp(name, "verbose")) {
		unsigned long level;
		if (text_parse_ulong(value, 0, 9, &level) == 0)
			c->verbose = (int)level;
		else if (parse_bool(value, &c->verbose) < 0)
			return fail(err, errlen, "verbose: '%s' is not yes, no or a level", value);
	} else if (!strcmp(name, "helper")) {
		if (copy_value(c->helper, sizeof c->helper, value) < 0)
			return fail(err, errlen, "helper: path too long");
	} else {
		return fail(err, errlen, "unknown setting '%s'", name);
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
static int parse_line(struct config *c, char *line, char *err, size_t errlen)
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
	}
	/* A bare flag name means "yes". */
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

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	/* Read with plain syscalls: stdio would allocate in the host. */
	char buf[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot read config %s: %s", path, strerror(errno));
		return -1;
	}
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

	unsigned lineno = 1;
	int rc = 0;
	for (char *p = buf; *p; lineno++) {
		char *end = p + strcspn(p, "\n");
		int last = *end == '\0';
		*end = '\0';
		char msg[CONFIG_ERROR_MAX - 64];
		if (parse_line(c, p, msg, sizeof msg) < 0 && rc == 0) {
			snprintf(err, errlen, "%s line %u: %s", path, lineno, msg);
			rc = -1; /* reported once; the other lines still count */
		}
		p = last ? end : end + 1;
	}
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

void config_load(struct config *c, char *const *env)
{
	char err[CONFIG_ERROR_MAX];
	const char *file = env_value(env, "SMTPSHIM_CONFIG");

	config_defaults(c);
	if (file && *file && config_load_file(c, file, err, sizeof err) < 0)
		memcpy(c->error, err, sizeof c->error);
	if (config_load_env(c, env, err, sizeof err) < 0 && !c->error[0])
		memcpy(c->error, err, sizeof c->error);
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
			 "allow-loopback %d\ntimeout %u\nverbose %d\nhelper %s\n",
			 config_mode_name(c->mode), port, relay, c->ca_file, ports,
			 c->allow_loopback, c->timeout, c->verbose, c->helper);
	return n < 0 || (size_t)n >= len ? -1 : n;
}
