/* Settings shared by the wrapper, the preloaded shim and the relay.
 *
 * One table (config.c) names every option once; it drives the wrapper's
 * command line, the SMTPSHIM_* environment variables, the config file and
 * the text the shim hands to each relay.  No allocation: the shim parses
 * this in the host process, possibly before main(). */
#ifndef SMTPSHIM_CONFIG_H
#define SMTPSHIM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_PORTS 16
#define CONFIG_HOST_MAX 256
#define CONFIG_PATH_MAX 1024
#define CONFIG_ERROR_MAX 512

enum tls_mode {
	MODE_AUTO,     /* 465 implicit TLS, then 587 STARTTLS */
	MODE_TLS,      /* implicit TLS only (RFC 8314) */
	MODE_STARTTLS, /* STARTTLS only (RFC 3207) */
};

struct config {
	enum tls_mode mode;
	uint16_t port;                      /* 0: the mode's default */
	char relay_host[CONFIG_HOST_MAX];   /* "": the app's own destination */
	uint16_t relay_port;                /* 0: as for port */
	char ca_file[CONFIG_PATH_MAX];      /* "": system trust store */
	uint16_t intercept[CONFIG_MAX_PORTS];
	size_t n_intercept;
	int allow_loopback;
	char config_file[CONFIG_PATH_MAX];
	int verbose;
	unsigned timeout;                   /* seconds for each setup step */
	char helper[CONFIG_PATH_MAX];       /* path of smtpshim-relay */
	/* First problem found while loading; intercepted connections are
	 * answered with it as a 421 instead of being relayed. */
	char error[CONFIG_ERROR_MAX];
};

enum option_kind { OPT_VALUE, OPT_FLAG };

struct option_desc {
	const char *name;   /* as in the config file; --name on the command line */
	char short_name;    /* 0 if none */
	enum option_kind kind;
	const char *arg;    /* placeholder for --help */
	const char *help;
};

extern const struct option_desc config_options[];
extern const size_t config_n_options;

void config_defaults(struct config *c);

/* Sets one option by name.  Returns 0, or -1 with a message in err. */
int config_set(struct config *c, const char *name, const char *value,
	       char *err, size_t errlen);

/* Reads every SMTPSHIM_<NAME> variable in env (NULL-terminated). */
int config_load_env(struct config *c, char *const *env, char *err, size_t errlen);

/* Reads a config file: "name value" or "name = value" lines, '#' comments.
 * Errors name the file and line. */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);

/* Defaults, then the file named by SMTPSHIM_CONFIG, then SMTPSHIM_*
 * variables (the environment wins).  A problem lands in c->error. */
void config_load(struct config *c, char *const *env);

/* Feeds "name value\n" lines as produced by config_write.  Used by the
 * relay to read the settings the shim resolved for one session. */
int config_parse_text(struct config *c, const char *text, char *err, size_t errlen);

/* Writes the settings as "name value\n" lines; returns bytes written or
 * -1 when buf is too small. */
int config_write(const struct config *c, char *buf, size_t len);

/* Upstream port to use for a mode when no port was configured. */
uint16_t config_upstream_port(const struct config *c, enum tls_mode mode);

int config_intercepts_port(const struct config *c, uint16_t port);

const char *config_mode_name(enum tls_mode m);

/* "SMTPSHIM_CA_FILE" for "ca-file"; returns -1 if it does not fit. */
int config_env_name(const char *name, char *buf, size_t len);

#endif
