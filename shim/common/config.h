/* Settings shared by the wrapper, the preloaded shim and the relay.
 *
 * One table (options.c, options.h) names every option once; it drives the
 * wrapper's command line, the SMTPSHIM_* environment variables, the config
 * file and the text the shim hands to each relay.  No allocation: the shim parses
 * this in the host process, possibly before main(). */
#ifndef SMTPSHIM_CONFIG_H
#define SMTPSHIM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "options.h"
#include "rules.h"

#define CONFIG_MAX_PORTS 16
#define CONFIG_HOST_MAX 256
#define CONFIG_PATH_MAX 1024
#define CONFIG_ERROR_MAX 512
#define CONFIG_SYSTEM_FILE "/etc/smtpshim.conf"

enum tls_mode {
	MODE_AUTO,     /* 465 implicit TLS, 587 and 2525 STARTTLS, staggered */
	MODE_TLS,      /* implicit TLS only (RFC 8314) */
	MODE_STARTTLS, /* STARTTLS only (RFC 3207) */
};

enum auth_mech {
	AUTH_AUTO,    /* PLAIN, else LOGIN, else XOAUTH2, as the server offers */
	AUTH_PLAIN,   /* RFC 4616 */
	AUTH_LOGIN,   /* draft-murchison-sasl-login */
	AUTH_XOAUTH2, /* Google/Microsoft: the "password" is an access token */
};

struct config {
	/* The numbers first, then the texts from the shortest: a relay writes
	 * only the fields a session sets, and together they touch few pages. */
	enum tls_mode mode;
	uint16_t port;                      /* 0: the mode's default */
	uint16_t relay_port;                /* 0: as for port */
	uint16_t intercept[CONFIG_MAX_PORTS];
	size_t n_intercept;
	int allow_loopback;
	int verbose;
	unsigned timeout;                   /* seconds for each setup step */
	/* A relay kept ready for this user's connections (shim/relay_server.c),
	 * which exits after relay_idle seconds without one. */
	int relay_server;
	unsigned relay_idle;
	enum auth_mech auth;
	/* 0 when /etc/smtpshim.conf says "user-settings no": it is then the
	 * only source of settings. */
	int user_settings;
	char relay_host[CONFIG_HOST_MAX];   /* "": the app's own destination */
	/* AUTH injection.  The shim never reads the secret: only the relay
	 * does, and only when the server asks for AUTH. */
	char user[CONFIG_HOST_MAX];
	char envelope_from[CONFIG_HOST_MAX]; /* "": the app's own MAIL FROM */
	char ca_file[CONFIG_PATH_MAX];      /* "": system trust store */
	/* The relay's line per session: "syslog", "stderr", "none" or a file. */
	char log[CONFIG_PATH_MAX];
	char password_file[CONFIG_PATH_MAX];
	char password_command[CONFIG_PATH_MAX];
	char helper[CONFIG_PATH_MAX];       /* path of smtpshim-relay */
	char cache_dir[CONFIG_PATH_MAX];    /* where auto mode remembers ports */
	char config_file[CONFIG_PATH_MAX];
	/* "exim4,msmtp": the only programs the shim acts in ("" = any).  For a
	 * system-wide preload, which reaches every program on the machine. */
	char programs[CONFIG_PATH_MAX];
	/* First problem found while loading; intercepted connections are
	 * answered with it as a 421 instead of being relayed. */
	char error[CONFIG_ERROR_MAX];
	/* Per-destination sections of the config file (rules.h). */
	struct config_rules rules;
};

/* Zero, then each row's default (options.c). */
void config_defaults(struct config *c);

/* Each row's default, on a config that is all zero already: a relay
 * clears its static one without writing the pages that are zero. */
void config_defaults_on_zero(struct config *c);

/* Sets one option by name.  Returns 0, or -1 with a message in err. */
int config_set(struct config *c, const char *name, const char *value,
	       char *err, size_t errlen);

/* Reads every SMTPSHIM_<NAME> variable in env (NULL-terminated). */
int config_load_env(struct config *c, char *const *env, char *err, size_t errlen);

/* Reads a config file: "name value" or "name = value" lines, '#' comments,
 * and "[destination PATTERN...]" sections.  Errors name the file and line.
 * Not reentrant (one static scratch area checks section values). */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);

/* The config file to read when none is named: $XDG_CONFIG_HOME (or
 * ~/.config)/smtpshim/smtpshim.conf if it exists, else /etc/smtpshim.conf
 * if it exists.  SMTPSHIM_CONFIG, set even to "", overrides.  Returns 0
 * with the path (possibly "" for none). */
int config_default_file(char *const *env, char *path, size_t len);

/* Defaults, then the config file (config_default_file), then SMTPSHIM_*
 * variables (the environment wins); the port cache directory from
 * $XDG_CACHE_HOME or $HOME.  /etc/smtpshim.conf alone when it says
 * "user-settings no".  A problem (config_check_loop's too) lands in
 * c->error. */
void config_load(struct config *c, char *const *env);

/* Refuses settings whose upstream port is one the shim intercepts: with
 * the shim preloaded system-wide each relay would be intercepted again.
 * config_check_loop also checks each section applied to the settings. */
int config_check_one_loop(const struct config *c, char *err, size_t errlen);
int config_check_loop(const struct config *c, char *err, size_t errlen);

/* Feeds "name value\n" lines as produced by config_write.  Used by the
 * relay to read the settings the shim resolved for one session. */
int config_parse_text(struct config *c, const char *text, char *err, size_t errlen);

/* Writes the settings as "name value\n" lines; returns bytes written or
 * -1 when buf is too small.  Sections are not written: see
 * config_write_rule. */
int config_write(const struct config *c, char *buf, size_t len);

/* The section that applies to a destination: name is what the app
 * resolved ("" if nothing), addr the address it dialled (or NULL), port
 * the port it dialled.  Returns the rule's index or -1.  No allocation. */
int config_match(const struct config *c, const char *name, const struct sockaddr *addr,
		 uint16_t port);

/* True when the section says "intercept no": its destinations are left
 * alone.  No allocation (the shim asks this in connect()). */
int config_rule_leaves_alone(const struct config *c, int rule);

/* Appends rule's settings as "name value\n" lines (nothing for -1), to
 * follow config_write's text: later lines win.  Bytes written or -1. */
int config_write_rule(const struct config *c, int rule, char *buf, size_t len);

/* base with the settings of the section for the destination applied;
 * returns the rule index or -1 (then out is a copy of base). */
int config_for_destination(const struct config *base, const char *name,
			   const struct sockaddr *addr, uint16_t port, struct config *out);

/* Upstream port to use for a mode when no port was configured. */
uint16_t config_upstream_port(const struct config *c, enum tls_mode mode);

int config_intercepts_port(const struct config *c, uint16_t port);

/* Credentials are configured: the relay injects AUTH. */
int config_has_credentials(const struct config *c);

/* The relay writes to the program's stderr (it is handed the program's
 * fd 2): the -v dialogue, or the log line with "log stderr". */
int config_relay_stderr(const struct config *c);

const char *config_mode_name(enum tls_mode m);
const char *config_auth_name(enum auth_mech m);

/* True when `programs` is empty or names one of the given names. */
int config_names_program(const struct config *c, const char *const *names, size_t n);

/* "SMTPSHIM_CA_FILE" for "ca-file"; returns -1 if it does not fit. */
int config_env_name(const char *name, char *buf, size_t len);

#endif
