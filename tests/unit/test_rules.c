/* Per-destination sections: patterns, matching, and what the relay gets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "shim/common/config.h"
#include "check.h"

static struct config c, eff; /* large: off the stack */

static int matches(const char *pattern, const char *name, const char *ip, uint16_t port)
{
	struct rule_pattern p;
	char pname[300], err[256];
	unsigned char ip16[16] = {0}, *ipp = NULL;
	if (rules_parse_pattern(pattern, &p, pname, sizeof pname, err, sizeof err) < 0)
		return -1;
	if (ip) {
		unsigned char v4[4];
		if (inet_pton(AF_INET, ip, v4) == 1) {
			ip16[10] = ip16[11] = 0xff;
			memcpy(ip16 + 12, v4, 4);
		} else {
			inet_pton(AF_INET6, ip, ip16);
		}
		ipp = ip16;
	}
	return rules_pattern_matches(&p, pname, name, ipp, port);
}

static void test_host_name_patterns_match_whole_names_without_case(void)
{
	CHECK(matches("mail.example.com", "mail.example.com", NULL, 25) == 1);
	CHECK(matches("mail.example.com", "MAIL.Example.COM.", NULL, 25) == 1);
	CHECK(matches("mail.example.com", "xmail.example.com", NULL, 25) == 0);
	CHECK(matches("mail.example.com", "", "192.0.2.1", 25) == 0);
}

static void test_domain_suffix_patterns(void)
{
	/* ".example.com": the domain and below; "*.example.com": below only */
	CHECK(matches(".example.com", "example.com", NULL, 25) == 1);
	CHECK(matches(".example.com", "a.b.example.com", NULL, 25) == 1);
	CHECK(matches(".example.com", "badexample.com", NULL, 25) == 0);
	CHECK(matches("*.example.com", "mx.example.com", NULL, 25) == 1);
	CHECK(matches("*.example.com", "example.com", NULL, 25) == 0);
	CHECK(matches("*.example.com", "mx.example.org", NULL, 25) == 0);
}

static void test_address_and_cidr_patterns(void)
{
	CHECK(matches("192.0.2.10", "", "192.0.2.10", 25) == 1);
	CHECK(matches("192.0.2.10", "", "192.0.2.11", 25) == 0);
	CHECK(matches("192.0.2.0/24", "any.name", "192.0.2.200", 25) == 1);
	CHECK(matches("192.0.2.0/24", "", "192.0.3.1", 25) == 0);
	CHECK(matches("10.0.0.0/9", "", "10.127.255.255", 25) == 1);
	CHECK(matches("10.0.0.0/9", "", "10.128.0.0", 25) == 0);
	CHECK(matches("0.0.0.0/0", "", "203.0.113.9", 25) == 1);
	CHECK(matches("0.0.0.0/0", "", "2001:db8::1", 25) == 0); /* v4 only */
	CHECK(matches("2001:db8::/32", "", "2001:db8:ffff::1", 25) == 1);
	CHECK(matches("2001:db8::/32", "", "2001:db9::1", 25) == 0);
	CHECK(matches("[2001:db8::/32]:2525", "", "2001:db8::1", 2525) == 1);
	CHECK(matches("[2001:db8::/32]:2525", "", "2001:db8::1", 25) == 0);
	/* an IPv4 peer seen v4-mapped on an IPv6 socket is the same address */
	CHECK(matches("192.0.2.0/24", "", "::ffff:192.0.2.7", 25) == 1);
	CHECK(matches("192.0.2.1", "mail.example.com", NULL, 25) == 0);
}

static void test_port_restricts_any_pattern(void)
{
	CHECK(matches("*", "x", "192.0.2.1", 25) == 1);
	CHECK(matches("*:2525", "x", "192.0.2.1", 2525) == 1);
	CHECK(matches("*:2525", "x", "192.0.2.1", 25) == 0);
	CHECK(matches("mail.example.com:26", "mail.example.com", NULL, 26) == 1);
	CHECK(matches("mail.example.com:26", "mail.example.com", NULL, 25) == 0);
}

static void test_bad_patterns_are_refused(void)
{
	CHECK(matches("mail..com*", "x", NULL, 25) < 0);
	CHECK(matches("192.0.2.0/33", "x", NULL, 25) < 0);
	CHECK(matches("host:99999", "x", NULL, 25) < 0);
	CHECK(matches("[2001:db8::1", "x", NULL, 25) < 0);
	CHECK(matches("exa mple", "x", NULL, 25) < 0);
	CHECK(matches("a*.example.com", "x", NULL, 25) < 0);
}

static char *write_file(const char *text)
{
	static char path[64];
	strcpy(path, "/tmp/smtpshim-unit-XXXXXX");
	int fd = mkstemp(path);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	return path;
}

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

static void test_sections_apply_to_their_destinations_only(void)
{
	char err[512];
	char *path = write_file("ca-file /etc/ca.pem\n"
				"mode starttls\n"
				"\n"
				"[destination .corp.example 10.0.0.0/8]\n"
				"relay smtp.sendgrid.net:587\n"
				"user apikey\n"
				"password-file /etc/smtpshim/sendgrid\n"
				"[ destination mx.other.example *:2525 ]\n"
				"mode = tls\n"
				"relay \"\"\n");
	config_defaults(&c);
	CHECK(config_load_file(&c, path, err, sizeof err) == 0);
	unlink(path);
	CHECK(c.rules.n_rules == 2);
	CHECK(c.mode == MODE_STARTTLS && !c.relay_host[0] && !c.user[0]);

	struct sockaddr_in a = v4("10.1.2.3", 25), b = v4("198.51.100.1", 25),
			   d = v4("198.51.100.1", 2525);
	CHECK(config_for_destination(&c, "", (struct sockaddr *)&a, 25, &eff) == 0);
	CHECK_STR(eff.relay_host, "smtp.sendgrid.net");
	CHECK(eff.relay_port == 587 && eff.mode == MODE_STARTTLS);
	CHECK_STR(eff.user, "apikey");
	CHECK_STR(eff.ca_file, "/etc/ca.pem"); /* global settings stay */
	CHECK(config_for_destination(&c, "smtp.corp.example", (struct sockaddr *)&b, 25, &eff) == 0);
	CHECK(config_for_destination(&c, "mx.other.example", (struct sockaddr *)&b, 25, &eff) == 1);
	CHECK(eff.mode == MODE_TLS && !eff.relay_host[0]);
	CHECK(config_for_destination(&c, "elsewhere.example", (struct sockaddr *)&b, 25, &eff) == -1);
	CHECK(eff.mode == MODE_STARTTLS && !eff.user[0]);
	CHECK(config_for_destination(&c, "elsewhere.example", (struct sockaddr *)&d, 2525, &eff) == 1);
}

static void test_relay_text_carries_the_section_after_the_globals(void)
{
	char err[512], text[16384];
	char *path = write_file("relay global.example\n[destination mail.test]\nrelay special.example:2525\n");
	config_defaults(&c);
	CHECK(config_load_file(&c, path, err, sizeof err) == 0);
	unlink(path);
	int n = config_write(&c, text, sizeof text);
	int rule = config_match(&c, "mail.test", NULL, 25);
	CHECK(rule == 0);
	CHECK(config_write_rule(&c, rule, text + n, sizeof text - (size_t)n) > 0);
	config_defaults(&eff);
	CHECK(config_parse_text(&eff, text, err, sizeof err) == 0);
	CHECK_STR(eff.relay_host, "special.example");
	CHECK(eff.relay_port == 2525);
	CHECK(config_write_rule(&c, -1, text, sizeof text) == 0);
}

static void test_section_mistakes_name_the_line(void)
{
	char err[512];
	struct {
		const char *text, *phrase;
	} cases[] = {
		{"mode tls\n[destination]\nmode tls\n", "line 2: a [destination] section needs"},
		{"[destination mail.test]\nintercept 26\n", "line 2: in a section, intercept takes only 'no'"},
		{"[destination mail.test]\nprograms exim4\n", "line 2: 'programs' applies to all"},
		{"[destination mail.test]\nmode ssl\n", "line 2: mode: 'ssl'"},
		{"[dest mail.test]\n", "line 1: unknown section"},
		{"\n[destination mail.test\n", "line 2: a section header must end"},
		{"[destination 10.0.0.0/40]\n", "line 1: '10.0.0.0/40' is not a destination pattern"},
		{"[destination a]\nbogus 1\n", "line 2: unknown setting 'bogus'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *path = write_file(cases[i].text);
		config_defaults(&c);
		CHECK(config_load_file(&c, path, err, sizeof err) < 0);
		CHECK(strstr(err, cases[i].phrase) != NULL);
		if (!strstr(err, cases[i].phrase))
			fprintf(stderr, "  got: %s\n", err);
		unlink(path);
	}
}

static void test_default_config_file_follows_xdg_then_etc(void)
{
	char path[1024], dir[] = "/tmp/smtpshim-xdg-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char sub[1100], file[1200], xdg[1100];
	snprintf(sub, sizeof sub, "%s/smtpshim", dir);
	snprintf(file, sizeof file, "%s/smtpshim.conf", sub);
	snprintf(xdg, sizeof xdg, "XDG_CONFIG_HOME=%s", dir);
	mkdir(sub, 0700);
	char *env[] = {xdg, NULL};
	config_default_file(env, path, sizeof path);
	CHECK(strcmp(path, file) != 0); /* not there yet */
	close(creat(file, 0600));
	config_default_file(env, path, sizeof path);
	CHECK_STR(path, file);
	/* SMTPSHIM_CONFIG wins, and set to "" means no file at all */
	char *none[] = {xdg, "SMTPSHIM_CONFIG=", NULL};
	config_default_file(none, path, sizeof path);
	CHECK_STR(path, "");
	unlink(file);
	rmdir(sub);
	rmdir(dir);
}

static void test_cache_dir_defaults_from_xdg_or_home(void)
{
	char *a[] = {"SMTPSHIM_CONFIG=", "HOME=/home/u", NULL};
	config_load(&c, a);
	CHECK_STR(c.cache_dir, "/home/u/.cache/smtpshim");
	char *b[] = {"SMTPSHIM_CONFIG=", "HOME=/home/u", "XDG_CACHE_HOME=/var/cache/u", NULL};
	config_load(&c, b);
	CHECK_STR(c.cache_dir, "/var/cache/u/smtpshim");
	char *d[] = {"SMTPSHIM_CONFIG=", NULL};
	config_load(&c, d);
	CHECK_STR(c.cache_dir, "");
}

int main(void)
{
	test_host_name_patterns_match_whole_names_without_case();
	test_domain_suffix_patterns();
	test_address_and_cidr_patterns();
	test_port_restricts_any_pattern();
	test_bad_patterns_are_refused();
	test_sections_apply_to_their_destinations_only();
	test_relay_text_carries_the_section_after_the_globals();
	test_section_mistakes_name_the_line();
	test_default_config_file_follows_xdg_then_etc();
	test_cache_dir_defaults_from_xdg_or_home();
	return check_done("test_rules");
}
