/* smtpshim: runs a command with the shim preloaded and the settings given
 * on the command line passed to it as SMTPSHIM_* variables. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/common/config.h"
#include "tools/common/private_file.h"
#include "shim/common/trusted_file.h"
#include "executable.h"
#include "listen.h"
#include "shell_env.h"
#include "root_settings.h"
#include "server_ahead.h"

#ifndef SMTPSHIM_VERSION
#define SMTPSHIM_VERSION "0.1"
#endif
#ifndef SMTPSHIM_PREFIX
#define SMTPSHIM_PREFIX "/usr/local"
#endif
#ifndef SMTPSHIM_HELPER_DEFAULT
#define SMTPSHIM_HELPER_DEFAULT SMTPSHIM_PREFIX "/libexec/smtpshim/smtpshim-relay"
#endif

static void usage(FILE *out)
{
	fprintf(out, "usage: smtpshim [OPTIONS] [--] COMMAND [ARGS...]\n"
		     "       smtpshim probe [OPTIONS] HOST   what HOST offers on 25, 465, 587, 2525\n"
		     "       smtpshim check [OPTIONS] HOST[:PORT]   the settings for that destination\n"
		     "       smtpshim listen [OPTIONS] [ADDRESS:]PORT   a local SMTP port, relayed the same\n"
		     "                                          way, for programs LD_PRELOAD cannot reach\n"
		     "       smtpshim listen [OPTIONS] unix:PATH   the same on a Unix socket of mode 600\n"
		     "       eval \"$(smtpshim env [OPTIONS] [on|off])\"   every later command of the\n"
		     "                                          shell under smtpshim, or no more\n\n"
		     "Runs COMMAND so that its plain SMTP connections to port 25 reach the\n"
		     "server over verified TLS on 465 (implicit TLS) or 587 (STARTTLS).\n\n");
	for (size_t i = 0; i < config_n_options; i++) {
		const struct option_desc *o = &config_options[i];
		char left[64];
		if (!(o->flags & OPT_CLI))
			continue;
		char flag[8] = "    ";
		if (o->short_name)
			snprintf(flag, sizeof flag, "-%c, ", o->short_name);
		snprintf(left, sizeof left, "%s--%s%s%s", flag, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(out, "  %-36s %s\n", left, o->help);
	}
	fprintf(out, "\nEach option can also be set as SMTPSHIM_<NAME> in the environment.\n");
}

/* The command line's row for "--name" (len bytes) or "-c" (name NULL). */
static const struct option_desc *find_cli(const char *name, size_t len, char c)
{
	for (size_t i = 0; i < config_n_options; i++) {
		const struct option_desc *o = &config_options[i];
		if ((o->flags & OPT_CLI) &&
		    (name ? strlen(o->name) == len && !strncmp(o->name, name, len)
			  : o->short_name == c))
			return o;
	}
	return NULL;
}

static int options_given; /* on the command line */

/* Checks the value as the shim will, then hands it on in the environment. */
static void set_option(struct config *check, const struct option_desc *o, const char *value)
{
	char err[CONFIG_ERROR_MAX], var[64];
	int ok = o->type == OT_CONFIG ? config_load_file(check, value, err, sizeof err)
				      : config_set(check, o->name, value, err, sizeof err);
	/* A password file others can read is refused before anything runs
	 * (the relay checks again when it reads it). */
	if (ok == 0 && o->type == OT_SECRET_FILE && *value)
		ok = private_file_check(value, NULL, err, sizeof err);
	if (ok < 0) {
		fprintf(stderr, "smtpshim: %s\n", err);
		exit(2);
	}
	config_env_name(o->name, var, sizeof var);
	setenv(var, value, 1);
	options_given++;
}

/* Build tree first (tools/ beside shim/), then the installed location.
 * lib_root is where "$LIB/libsmtpshim.so" lives: glibc expands $LIB to
 * lib/<multiarch triplet> (or lib32), picking the 64- or 32-bit build by
 * itself; musl's loader reads "$LIB" literally, a directory that leads to
 * the musl build.  So one value serves every program of an exec chain. */
static void find_parts(char *lib_root, char *helper, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *dir = dirname(self);
		char probe[PATH_MAX + 32];
		snprintf(lib_root, len, "%s/../shim", dir);
		snprintf(helper, len, "%s/smtpshim-relay", dir);
		snprintf(probe, sizeof probe, "%s/lib", lib_root);
		if (access(probe, R_OK) == 0 && access(helper, X_OK) == 0)
			return;
	}
	snprintf(lib_root, len, "%s", SMTPSHIM_PREFIX);
	snprintf(helper, len, "%s", SMTPSHIM_HELPER_DEFAULT);
}

/* Says before exec what the shim cannot do for this program. */
static void check_reachable(const char *command, const struct exe_info *exe)
{
	const char *why = NULL;
	if (exe->kind == EXE_STATIC)
		why = "is statically linked, so no library can be preloaded into it";
	else if (exe->kind == EXE_GO)
		why = "is a Go program: Go makes its own system calls and never calls "
		      "the C library's connect()";
	if (why) {
		fprintf(stderr,
			"smtpshim: %s %s; its port-25 connections cannot be caught.\n"
			"smtpshim: instead, point the program at a local port and run\n"
			"smtpshim:   smtpshim listen 127.0.0.1:2525 --relay YOUR.MAIL.SERVER\n",
			exe->path[0] ? exe->path : command, why);
		exit(126);
	}
	if (exe->setuid && getuid() != 0)
		fprintf(stderr,
			"smtpshim: warning: %s is set-user-ID; the C library ignores LD_PRELOAD "
			"paths for it (see \"system-wide mode\" in docs/compatibility.md)\n",
			exe->path);
}

static void preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *val = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
	if (!val) {
		perror("smtpshim");
		exit(1);
	}
	sprintf(val, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
	setenv("LD_PRELOAD", val, 1);
	free(val);
}

/* The option at argv[i] (and its value); returns the index of the last
 * word it took, or exits for --help, --version and mistakes. */
static int take_option(int argc, char **argv, int i, struct config *check, int *verbose)
{
	const char *a = argv[i];
	const struct option_desc *o = NULL;
	const char *value = NULL;
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		usage(stdout);
		exit(0);
	}
	if (!strcmp(a, "--version")) {
		printf("smtpshim %s\n", SMTPSHIM_VERSION);
		exit(0);
	}
	if (a[1] == '-') {
		size_t len = strcspn(a + 2, "=");
		o = find_cli(a + 2, len, 0);
		if (a[2 + len] == '=')
			value = a + 3 + len;
	} else if (a[1] && !a[2]) {
		o = find_cli(NULL, 0, a[1]);
	}
	if (!o) {
		fprintf(stderr, "smtpshim: unknown option %s\n\n", a);
		usage(stderr);
		exit(2);
	}
	if (o->type == OT_LEVEL) { /* -v -v: level 2 */
		char level[12];
		snprintf(level, sizeof level, "%d", ++*verbose);
		set_option(check, o, value ? value : level);
		return i;
	}
	if (o->flags & OPT_NOARG) {
		set_option(check, o, value ? value : "1");
		return i;
	}
	if (!value) {
		if (i + 1 >= argc) {
			fprintf(stderr, "smtpshim: %s needs a value (%s)\n", a, o->arg);
			exit(2);
		}
		value = argv[++i];
	}
	set_option(check, o, value);
	return i;
}

/* Options up to the first word that is not one (the command, whose own
 * options follow it); returns its index ("--" included). */
static int parse_options(int argc, char **argv, int i, struct config *check, int *verbose)
{
	for (; i < argc && argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--"); i++)
		i = take_option(argc, argv, i, check, verbose);
	return i;
}

/* A subcommand's options anywhere before "--", as GNU tools take them, and
 * exactly one operand (what, e.g. "HOST"); a mistake says which and
 * exits 2. */
static const char *one_operand(int argc, char **argv, int i, const char *tool, const char *what,
			       struct config *check, int *verbose)
{
	const char *operand = NULL;
	int options_end = 0;
	for (; i < argc; i++) {
		if (!options_end && !strcmp(argv[i], "--")) {
			options_end = 1;
		} else if (!options_end && argv[i][0] == '-' && argv[i][1]) {
			i = take_option(argc, argv, i, check, verbose);
		} else if (operand) {
			fprintf(stderr, "smtpshim %s: one %s only, but both '%s' and '%s' were given\n"
					"usage: smtpshim %s [OPTIONS] %s\n",
				tool, what, operand, argv[i], tool, what);
			exit(2);
		} else {
			operand = argv[i];
		}
	}
	if (!operand) {
		fprintf(stderr, "smtpshim %s: %s is missing\nusage: smtpshim %s [OPTIONS] %s\n", tool,
			what, tool, what);
		exit(2);
	}
	return operand;
}

/* A config file found in its default place is not the user's explicit
 * wish: a mistake in it is reported, and the program still runs (its
 * intercepted connections will get the same message as a 421). */
static void check_default_config(void)
{
	extern char **environ;
	static struct config scratch;
	char file[CONFIG_PATH_MAX], err[CONFIG_ERROR_MAX];
	if (getenv("SMTPSHIM_CONFIG") || config_default_file(environ, file, sizeof file) < 0 ||
	    !file[0])
		return;
	config_defaults(&scratch);
	if (config_load_file(&scratch, file, err, sizeof err) < 0)
		fprintf(stderr, "smtpshim: warning: %s (intercepted connections will be answered "
				"with this as a 421)\n", err);
}

static struct config eff; /* the settings as the command's processes will see them */

/* Those settings: refused here when they cannot work, and written down
 * for root's processes, which believe no environment
 * (shim/common/root_settings.h). */
static void hand_over_settings(void)
{
	extern char **environ;
	char err[CONFIG_ERROR_MAX];

	config_load(&eff, environ);
	if (!eff.user_settings && options_given) {
		fprintf(stderr, "smtpshim: %s says 'user-settings no': only its settings count, "
				"and the options given here would be ignored\n",
			CONFIG_SYSTEM_FILE);
		exit(2);
	}
	if (config_check_loop(&eff, err, sizeof err) < 0) {
		fprintf(stderr, "smtpshim: %s\n", err);
		exit(2);
	}
	if (trusted_process_privileged() && root_settings_write(environ, err, sizeof err) < 0) {
		fprintf(stderr, "smtpshim: %s\n", err);
		exit(2);
	}
}

/* "probe" and "check" are done by the relay program, which has TLS: the
 * wrapper stays free of OpenSSL and the probe uses the very code that
 * carries the mail. */
static int run_tool(const char *tool, int argc, char **argv, int i, struct config *check,
		    int *verbose)
{
	char root[PATH_MAX], helper[PATH_MAX];
	const char *target = one_operand(argc, argv, i, tool,
					 !strcmp(tool, "check") ? "HOST[:PORT]" : "HOST", check,
					 verbose);
	find_parts(root, helper, sizeof root);
	if (getenv("SMTPSHIM_HELPER"))
		snprintf(helper, sizeof helper, "%s", getenv("SMTPSHIM_HELPER"));
	char opt[16];
	snprintf(opt, sizeof opt, "--%s", tool);
	execl(helper, "smtpshim-relay", opt, target, (char *)NULL);
	fprintf(stderr, "smtpshim: cannot run %s: %s\n", helper, strerror(errno));
	return 127;
}

/* The settings from the command line (now in the environment), the
 * environment and the config file, as the shim would see them. */
static int run_listen(int argc, char **argv, int i, struct config *check, int *verbose)
{
	extern char **environ;
	static struct config cfg;
	char root[PATH_MAX];

	const char *where = one_operand(argc, argv, i, "listen", "[ADDRESS:]PORT|unix:PATH",
					check, verbose);
	config_load(&cfg, environ);
	if (cfg.error[0]) {
		fprintf(stderr, "smtpshim listen: %s\n", cfg.error);
		return 2;
	}
	find_parts(root, cfg.helper, sizeof cfg.helper);
	if (getenv("SMTPSHIM_HELPER"))
		snprintf(cfg.helper, sizeof cfg.helper, "%s", getenv("SMTPSHIM_HELPER"));
	return listen_serve(&cfg, where);
}

/* What `smtpshim -- CMD` and `smtpshim env` both do before the shim may
 * load: the default config checked, the relay named, the settings handed
 * over (refused when they cannot work); lib is the LD_PRELOAD entry. */
static void prepare_preload(char *lib, size_t len)
{
	char root[PATH_MAX], helper[PATH_MAX];
	check_default_config();
	find_parts(root, helper, sizeof root);
	snprintf(lib, len, "%s/$LIB/libsmtpshim.so", root);
	if (!getenv("SMTPSHIM_HELPER"))
		setenv("SMTPSHIM_HELPER", helper, 1);
	hand_over_settings();
}

/* smtpshim env [OPTIONS] [on|off] (see shell_env.h). */
static int run_env(int argc, char **argv, int i, struct config *check, int *verbose)
{
	const char *what = NULL;
	char lib[PATH_MAX + 64];

	for (; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1])
			i = take_option(argc, argv, i, check, verbose);
		else if (!what && (!strcmp(argv[i], "on") || !strcmp(argv[i], "off")))
			what = argv[i];
		else {
			fprintf(stderr, "smtpshim env: '%s' is neither on nor off\n"
					"usage: smtpshim env [OPTIONS] [on|off]   "
					"(eval \"$(smtpshim env ...)\")\n", argv[i]);
			return 2;
		}
	}
	if (what && !strcmp(what, "off")) {
		shell_env_off();
		return 0;
	}
	prepare_preload(lib, sizeof lib);
	shell_env_on(lib);
	return 0;
}

int main(int argc, char **argv)
{
	static struct config check;
	int verbose = 0, i;

	config_defaults(&check);
	i = parse_options(argc, argv, 1, &check, &verbose);
	if (i < argc && (!strcmp(argv[i], "probe") || !strcmp(argv[i], "check")))
		return run_tool(argv[i], argc, argv, i + 1, &check, &verbose);
	if (i < argc && !strcmp(argv[i], "listen"))
		return run_listen(argc, argv, i + 1, &check, &verbose);
	if (i < argc && !strcmp(argv[i], "env"))
		return run_env(argc, argv, i + 1, &check, &verbose);
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		fprintf(stderr, "smtpshim: no COMMAND to run\n\n");
		usage(stderr);
		return 2;
	}
	static struct exe_info exe;
	char lib[PATH_MAX + 64];
	executable_inspect(argv[i], &exe);
	check_reachable(argv[i], &exe);
	prepare_preload(lib, sizeof lib);
	server_ahead(&eff, getenv("SMTPSHIM_HELPER"));
	preload(lib);
	execvp(argv[i], argv + i);
	fprintf(stderr, "smtpshim: cannot run %s: %s\n", argv[i], strerror(errno));
	return 127;
}
