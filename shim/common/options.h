/* The option table: one row per setting, saying its name, its type, where
 * in struct config it lives, who may give it and its help text.  Parsing
 * (config_set), the text handed to the relay (config_write), the
 * SMTPSHIM_<NAME> variables, the wrapper's command line and --help, and
 * `smtpshim check` are loops over it; tests/unit/test_option_docs.c checks
 * that the man pages and README name every row.  To add an option, add a
 * field to struct config and a row to options.c. */
#ifndef SMTPSHIM_OPTIONS_H
#define SMTPSHIM_OPTIONS_H

#include <stddef.h>

struct config;

enum option_type {
	OT_TEXT,        /* char[size]; refuse: characters that make it "not <noun>" */
	OT_PORT,        /* uint16_t, 1-65535; 0 (unset) is not written */
	OT_BOOL,        /* int, yes/no/1/0/true/false/on/off; bare name = yes */
	OT_SECONDS,     /* unsigned, min-max */
	OT_ENUM,        /* an int-sized enum, the index of its name in names[] */
	OT_LEVEL,       /* int: a number 0-9, or a bool (verbose); -v counts */
	OT_PORTS,       /* intercept[] and n_intercept: "25,2525" */
	OT_RELAY,       /* relay_host and relay_port: HOST[:PORT], "" for none */
	OT_PROGRAMS,    /* char[size]: "exim4,msmtp", program names only */
	OT_SECRET_FILE, /* password_file: the first line is the secret */
	OT_SECRET_CMD,  /* password_command: its output is the secret */
	OT_CONFIG,      /* config_file: the wrapper loads it to check it */
	OT_LOG,         /* char[size]: syslog, stderr, none or an absolute path */
};

enum option_flag {
	OPT_CLI = 1,     /* on the wrapper's command line and in --help */
	OPT_NOARG = 2,   /* --name alone means yes (or one more level) */
	OPT_SECTION = 4, /* may appear in a [destination ...] section */
	OPT_SESSION = 8, /* written to the relay's session text */
	OPT_ANYCASE = 16, /* enum names compare without case */
};

struct option_desc {
	const char *name;      /* config file; --name; SMTPSHIM_NAME */
	char short_name;       /* 0 if none */
	enum option_type type;
	unsigned flags;        /* enum option_flag */
	size_t at, size;       /* offsetof and sizeof the field in struct config */
	unsigned long min, max;         /* OT_SECONDS */
	const char *const *names;       /* OT_ENUM, NULL-terminated */
	const char *noun;      /* OT_TEXT and secrets: "path" ("path too long"), or
				* with refuse "a user name" ("is not a user name") */
	const char *refuse;    /* OT_TEXT: characters the value may not hold */
	const char *def;       /* default, as text; NULL: zero */
	const char *unset;     /* what `smtpshim check` says for an empty value */
	const char *arg;       /* placeholder for --help */
	const char *help;
};

extern const struct option_desc config_options[];
extern const size_t config_n_options;

/* The row for a name, or NULL. */
const struct option_desc *config_find_option(const char *name);

/* Sets one row from text; config_set looks the row up by name. */
int config_set_option(struct config *c, const struct option_desc *o, const char *value,
		      char *err, size_t errlen);

/* The row's value as config_write writes it ("" for an unset port).
 * Returns its length, or -1 if it does not fit. */
int config_option_text(const struct config *c, const struct option_desc *o, char *buf,
		       size_t len);

#endif
