/* The order of upstream attempts, and auto mode's memory of the port. */
#include "tools/relay/plan.h"
#include "check.h"

static struct config c;

static const char *order(const struct plan_entry *remembered)
{
	static char out[128];
	struct plan_entry p[PLAN_MAX];
	size_t n = plan_make(&c, remembered, p), used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, sizeof out - used, "%s%u%s", i ? " " : "",
					 p[i].port, p[i].starttls ? "s" : "t");
	return out;
}

static void test_auto_mode_tries_465_then_587_then_2525(void)
{
	char err[128];
	config_defaults(&c);
	CHECK_STR(order(NULL), "465t 587s 2525s");
	config_set(&c, "mode", "tls", err, sizeof err);
	CHECK_STR(order(NULL), "465t");
	config_set(&c, "mode", "starttls", err, sizeof err);
	CHECK_STR(order(NULL), "587s");
	config_set(&c, "port", "2525", err, sizeof err);
	CHECK_STR(order(NULL), "2525s");
}

static void test_auto_mode_with_a_fixed_port_tries_both_kinds_there(void)
{
	char err[128];
	config_defaults(&c);
	config_set(&c, "relay", "smtp.example.net:465", err, sizeof err);
	CHECK_STR(order(NULL), "465t 465s");
	config_set(&c, "relay", "smtp.example.net:587", err, sizeof err);
	CHECK_STR(order(NULL), "587s 587t");
	config_set(&c, "relay", "smtp.example.net", err, sizeof err);
	CHECK_STR(order(NULL), "465t 587s 2525s");
}

static void test_remembered_port_goes_first_in_auto_mode_only(void)
{
	struct plan_entry r = {1, 2525}, odd = {1, 26};
	char err[128];
	config_defaults(&c);
	CHECK_STR(order(&r), "2525s 465t 587s");
	CHECK_STR(order(&odd), "465t 587s 2525s"); /* not a candidate: ignored */
	config_set(&c, "mode", "starttls", err, sizeof err);
	CHECK_STR(order(&r), "587s");
	CHECK(!plan_uses_memory(&c));
}

static void test_memory_text_and_file_name(void)
{
	struct plan_entry e = {1, 587}, back;
	char buf[64];
	CHECK(plan_format(&e, buf, sizeof buf) > 0);
	CHECK_STR(buf, "587 starttls\n");
	CHECK(plan_parse(buf, &back) == 0 && back.port == 587 && back.starttls == 1);
	CHECK(plan_parse("465 tls", &back) == 0 && back.port == 465 && !back.starttls);
	CHECK(plan_parse("465 ssl\n", &back) < 0);
	CHECK(plan_parse("x tls\n", &back) < 0);
	CHECK(plan_parse("", &back) < 0);
	CHECK(plan_cache_path("/c", "Mail.Example.COM", buf, sizeof buf) == 0);
	CHECK_STR(buf, "/c/port-mail.example.com");
	CHECK(plan_cache_path("/c", "../../etc/passwd", buf, sizeof buf) == 0);
	CHECK_STR(buf, "/c/port-.._.._etc_passwd");
	CHECK(plan_cache_path("", "mail.test", buf, sizeof buf) < 0);
	CHECK(plan_cache_path("/c", "a-very-long-name.example.com", buf, 16) < 0);
}

int main(void)
{
	test_auto_mode_tries_465_then_587_then_2525();
	test_auto_mode_with_a_fixed_port_tries_both_kinds_there();
	test_remembered_port_goes_first_in_auto_mode_only();
	test_memory_text_and_file_name();
	return check_done("test_plan");
}
