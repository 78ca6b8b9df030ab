/* smtpshim check HOST[:PORT]: the settings a connection to that
 * destination would get -- global ones, the section that matches, each
 * setting a section may change (a loop over the option table), the source
 * of the password (never the password: msmtp -P style) -- so a config
 * file can be tried without sending mail. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/common/addr.h"
#include "shim/common/config.h"
#include "plan.h"
#include "tools/common/private_file.h"
#include "shim/common/text.h"
#include "hostname.h"
#include "tools.h"

/* The secret's source, never the secret (msmtp -P style). */
static void print_password(const struct config *c)
{
	char err[CONFIG_ERROR_MAX + 64];
	if (c->password_command[0]) {
		printf("password         * (from password-command: %s)\n", c->password_command);
	} else if (c->password_file[0]) {
		int ok = private_file_check(c->password_file, NULL, err, sizeof err) == 0;
		printf("password         * (from password-file %s%s%s)\n", c->password_file,
		       ok ? "" : "; PROBLEM: ", ok ? "" : err);
	} else {
		printf("password         (none)\n");
	}
	if (c->user[0] && !config_has_credentials(c))
		printf("                 PROBLEM: user without password-file or password-command\n");
}

/* The settings a section may change, in the option table's order; its
 * two sources of the secret are one line. */
static void print_settings(const struct config *c)
{
	for (size_t i = 0; i < config_n_options; i++) {
		const struct option_desc *o = &config_options[i];
		char value[CONFIG_PATH_MAX + 16];
		if (!(o->flags & OPT_SECTION) || o->type == OT_SECRET_CMD ||
		    config_option_text(c, o, value, sizeof value) < 0)
			continue;
		if (o->type == OT_SECRET_FILE)
			print_password(c);
		else if (!value[0] && o->unset)
			printf("%-16s %s\n", o->name, o->unset);
		else
			printf("%-16s %s%s\n", o->name, value, o->type == OT_SECONDS ? " s" : "");
	}
}

int check_main(const char *destination)
{
	extern char **environ;
	static struct config base, c;
	char host[CONFIG_HOST_MAX], ip[ADDR_TEXT_MAX] = "";
	uint16_t port = 25;
	struct sockaddr_storage ss;
	struct sockaddr *sa = NULL;

	if (text_split_host_port(destination, host, sizeof host, &port) < 0 || !host[0]) {
		fprintf(stderr, "smtpshim: '%s' is not HOST or HOST:PORT\n", destination);
		return 2;
	}
	config_load(&base, environ);
	if (base.error[0])
		printf("problem: %s\n  (intercepted connections are answered with this as a 421)\n\n",
		       base.error);

	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	if (getaddrinfo(host, NULL, &hints, &res) == 0) {
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		sa = (struct sockaddr *)&ss;
		addr_ip_text(sa, ip, sizeof ip);
		freeaddrinfo(res);
	}
	/* The app's view: a name it resolved, or the address it dialled. */
	int rule = config_for_destination(&base, addr_is_ip_text(host) ? "" : host, sa, port, &c);

	printf("destination      %s port %u%s%s%s\n", host, port, ip[0] ? " (" : "", ip,
	       ip[0] ? ")" : " (does not resolve here)");
	printf("config file      %s\n", base.config_file[0] ? base.config_file : "(none)");
	if (rule >= 0)
		printf("section          [%s] (line %u)\n",
		       base.rules.text + base.rules.rule[rule].header_at, base.rules.rule[rule].line);
	else
		printf("section          (none matches: global settings)\n");
	int leave = config_rule_leaves_alone(&base, rule);
	int caught = !leave && config_intercepts_port(&base, port) &&
		     (c.allow_loopback || !sa || !addr_is_loopback(sa));
	printf("intercepted      %s\n",
	       caught ? "yes"
	       : leave ? "no (its section says intercept no: the program's own connection)"
	       : config_intercepts_port(&base, port) ? "no (a loopback address; allow-loopback is off)"
						      : "no (port not in intercept)");

	struct plan_entry plan[PLAN_MAX];
	size_t n = plan_make(&c, NULL, plan);
	const char *target = c.relay_host[0] ? c.relay_host : host;
	printf("upstream         %s%s, trying", target, c.relay_host[0] ? " (relay)" : "");
	for (size_t i = 0; i < n; i++)
		printf("%s %u (%s)", i ? "," : "", plan[i].port, plan[i].starttls ? "STARTTLS" : "TLS");
	printf("%s\n", c.mode == MODE_AUTO && n > 1 ? ", staggered" : "");
	print_settings(&c);
	char path[CONFIG_PATH_MAX + 300];
	if (plan_uses_memory(&c) && plan_cache_path(c.cache_dir, target, path, sizeof path) == 0)
		printf("port memory      %s\n", path);
	if (c.error[0])
		printf("problem          %s\n", c.error);
	return base.error[0] || c.error[0] ? 1 : 0;
}
