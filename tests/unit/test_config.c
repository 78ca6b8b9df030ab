/* Option parsing shared by the wrapper, the shim and the relay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim/common/config.h"
#include "check.h"

static void test_defaults_catch_port_25_in_auto_mode(void)
{
	struct config c;
	config_defaults(&c);
	CHECK(c.mode == MODE_AUTO);
	CHECK(config_intercepts_port(&c, 25));
	CHECK(!config_intercepts_port(&c, 587));
	CHECK(!c.allow_loopback);
	CHECK(config_upstream_port(&c, MODE_TLS) == 465);
	CHECK(config_upstream_port(&c, MODE_STARTTLS) == 587);
}

static void test_values_are_checked_with_a_reason(void)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	CHECK(config_set(&c, "mode", "starttls", err, sizeof err) == 0 && c.mode == MODE_STARTTLS);
	CHECK(config_set(&c, "mode", "ssl", err, sizeof err) < 0);
	CHECK(strstr(err, "'ssl'") != NULL);
	CHECK(config_set(&c, "port", "0", err, sizeof err) < 0);
	CHECK(config_set(&c, "port", "65536", err, sizeof err) < 0);
	CHECK(config_set(&c, "port", "2525", err, sizeof err) == 0 && c.port == 2525);
	CHECK(config_set(&c, "timeout", "abc", err, sizeof err) < 0);
	CHECK(config_set(&c, "bogus", "1", err, sizeof err) < 0);
	CHECK(strstr(err, "unknown setting 'bogus'") != NULL);
	CHECK(config_set(&c, "ca-file", "a\nb", err, sizeof err) < 0);
}

static void test_intercept_takes_a_port_list(void)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	CHECK(config_set(&c, "intercept", "25,2525,26", err, sizeof err) == 0);
	CHECK(c.n_intercept == 3 && config_intercepts_port(&c, 2525) && config_intercepts_port(&c, 26));
	CHECK(config_set(&c, "intercept", "25,,26", err, sizeof err) < 0);
	CHECK(config_set(&c, "intercept", "25,x", err, sizeof err) < 0);
	CHECK(c.n_intercept == 3); /* a bad value leaves the old one */
}

static void test_relay_host_and_port(void)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	CHECK(config_set(&c, "relay", "smtp.example.com:2525", err, sizeof err) == 0);
	CHECK_STR(c.relay_host, "smtp.example.com");
	CHECK(c.relay_port == 2525 && config_upstream_port(&c, MODE_TLS) == 2525);
	CHECK(config_set(&c, "relay", "[2001:db8::1]:465", err, sizeof err) == 0);
	CHECK_STR(c.relay_host, "2001:db8::1");
	CHECK(config_set(&c, "relay", "host:notaport", err, sizeof err) < 0);
}

static void test_environment_uses_upper_case_names(void)
{
	struct config c;
	char err[256];
	char *env[] = {"HOME=/x", "SMTPSHIM_ALLOW_LOOPBACK=yes", "SMTPSHIM_CA_FILE=/tmp/ca.pem",
		       "SMTPSHIM_MODE=tls", NULL};
	config_defaults(&c);
	CHECK(config_load_env(&c, env, err, sizeof err) == 0);
	CHECK(c.allow_loopback == 1 && c.mode == MODE_TLS);
	CHECK_STR(c.ca_file, "/tmp/ca.pem");
	char *bad[] = {"SMTPSHIM_MODE=nope", NULL};
	CHECK(config_load_env(&c, bad, err, sizeof err) < 0);
	CHECK(strstr(err, "SMTPSHIM_MODE") != NULL);
}

static void test_file_errors_name_file_and_line(void)
{
	char path[] = "/tmp/smtpshim-unit-XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "# comment\nmode = starttls\n\nallow-loopback\nport seventy\n";
	CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
	close(fd);

	struct config c;
	char err[512];
	config_defaults(&c);
	CHECK(config_load_file(&c, path, err, sizeof err) < 0);
	CHECK(strstr(err, path) != NULL && strstr(err, "line 5") != NULL);
	CHECK(c.mode == MODE_STARTTLS && c.allow_loopback == 1);
	unlink(path);
	CHECK(config_load_file(&c, path, err, sizeof err) < 0);
	CHECK(strstr(err, "cannot read config") != NULL);
}

static void test_written_settings_read_back_the_same(void)
{
	struct config a, b;
	char err[256], text[8192];
	config_defaults(&a);
	config_set(&a, "mode", "tls", err, sizeof err);
	config_set(&a, "relay", "relay.example.net:587", err, sizeof err);
	config_set(&a, "intercept", "25,26", err, sizeof err);
	config_set(&a, "verbose", "2", err, sizeof err);
	config_set(&a, "ca-file", "/etc/ca.pem", err, sizeof err);
	CHECK(config_write(&a, text, sizeof text) > 0);
	config_defaults(&b);
	CHECK(config_parse_text(&b, text, err, sizeof err) == 0);
	CHECK(b.mode == MODE_TLS && b.relay_port == 587 && b.verbose == 2 && b.n_intercept == 2);
	CHECK_STR(b.relay_host, "relay.example.net");
	CHECK_STR(b.ca_file, "/etc/ca.pem");
	CHECK(config_write(&a, text, 10) < 0);
}

static void test_load_reports_problems_instead_of_failing(void)
{
	struct config c;
	char *env[] = {"SMTPSHIM_CONFIG=/nonexistent/smtpshim.conf", NULL};
	config_load(&c, env);
	CHECK(strstr(c.error, "/nonexistent/smtpshim.conf") != NULL);
	char *ok[] = {"SMTPSHIM_CONFIG=", "SMTPSHIM_PORT=2525", NULL};
	config_load(&c, ok);
	CHECK(c.error[0] == '\0' && c.port == 2525);
}

/* A relay's settings start as zero pages shared with its relay server:
 * the defaults over zero are the defaults, and a text value the field
 * holds already is not written again (the pages stay shared). */
static void test_defaults_on_zero_and_unchanged_values_unwritten(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = (sizeof(struct config) + page - 1) / page * page;
	struct config *c = mmap(NULL, size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct config *d = malloc(sizeof *d);
	char err[256];
	CHECK(c != MAP_FAILED && d);
	config_defaults_on_zero(c);
	memset(d, 0xA5, sizeof *d); /* config_defaults clears what it is given */
	config_defaults(d);
	CHECK(memcmp(c, d, sizeof *d) == 0);
	CHECK(c->timeout == 30 && c->relay_idle == 60 && c->relay_server && c->user_settings);
	CHECK(config_intercepts_port(c, 25) && !strcmp(c->log, "syslog"));
	CHECK(mprotect(c, size, PROT_READ) == 0);
	/* A write would end the test. */
	CHECK(config_set(c, "log", "syslog", err, sizeof err) == 0);
	CHECK(config_set(c, "user", "", err, sizeof err) == 0);
	CHECK(config_set(c, "ca-file", "", err, sizeof err) == 0);
	CHECK(config_set(c, "password-file", "", err, sizeof err) == 0);
	munmap(c, size);
	free(d);
}

int main(void)
{
	test_defaults_on_zero_and_unchanged_values_unwritten();
	test_defaults_catch_port_25_in_auto_mode();
	test_values_are_checked_with_a_reason();
	test_intercept_takes_a_port_list();
	test_relay_host_and_port();
	test_environment_uses_upper_case_names();
	test_file_errors_name_file_and_line();
	test_written_settings_read_back_the_same();
	test_load_reports_problems_instead_of_failing();
	return check_done("test_config");
}
