/* The relay's SMTP filter: what the app sees and what reaches the server. */
#include "check.h"
#include "filter_harness.h"

static void test_greeting_and_plain_replies_pass_unchanged(void)
{
	start_filter(1);
	server("220 mx ESMTP\r\n");
	CHECK_STR(drain(&to_app), "220 mx ESMTP\r\n");
	app("HELO me\r\n");
	CHECK_STR(drain(&to_server), "HELO me\r\n");
	server("250 mx\r\n");
	CHECK_STR(drain(&to_app), "250 mx\r\n");
	CHECK(!filter_busy(&f));
}

static void test_ehlo_reply_hides_starttls_and_chunking(void)
{
	start_filter(0);
	app("EHLO me\r\n");
	server("250-mx\r\n250-PIPELINING\r\n250-STARTTLS\r\n250-CHUNKING\r\n250 8BITMIME\r\n");
	CHECK_STR(drain(&to_app), "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	app("ehlo me\r\n");
	server("250-mx\r\n250-SIZE 10\r\n250 starttls\r\n");
	CHECK_STR(drain(&to_app), "250-mx\r\n250 SIZE 10\r\n");
	app("EHLO me\r\n");
	server("250 mx\r\n");
	CHECK_STR(drain(&to_app), "250 mx\r\n");
}

static void test_app_starttls_is_refused_locally_in_order(void)
{
	start_filter(0);
	app("MAIL FROM:<a@b>\r\nSTARTTLS\r\nRSET\r\n");
	CHECK_STR(drain(&to_server), "MAIL FROM:<a@b>\r\nRSET\r\n");
	CHECK(to_app.len == 0); /* the local reply waits for MAIL's */
	server("250 ok\r\n");
	const char *r = drain(&to_app);
	CHECK(strncmp(r, "250 ok\r\n502 5.5.1 smtpshim: STARTTLS", 36) == 0);
	server("250 reset\r\n");
	CHECK_STR(drain(&to_app), "250 reset\r\n");
	CHECK(!filter_busy(&f));
}

static void test_message_content_passes_untouched(void)
{
	const char *body = "Subject: x\r\n\r\nSTARTTLS\r\nEHLO x\r\n..leading dot\r\n.\r\n";
	start_filter(0);
	app("DATA\r\n");
	CHECK_STR(drain(&to_server), "DATA\r\n");
	CHECK(app("too early") == 0); /* nothing is taken before the 354 */
	server("354 go\r\n");
	drain(&to_app);
	CHECK(app(body) == strlen(body));
	CHECK_STR(drain(&to_server), body);
	app("QUIT\r\n");
	CHECK_STR(drain(&to_server), "QUIT\r\n");
	server("250 queued\r\n221 bye\r\n");
	CHECK_STR(drain(&to_app), "250 queued\r\n221 bye\r\n");
}

static void test_end_of_data_split_across_reads(void)
{
	start_filter(0);
	app("DATA\r\n");
	server("354 go\r\n");
	/* what the filter leaves unread is offered again with the next read,
	 * as the pump does (the CR after "." waits for the byte after it) */
	const char *parts[] = {"line\r", "\n.", "\r", "\n", "STARTTLS\r\n"};
	char pending[64] = "";
	for (size_t i = 0; i < 5; i++) {
		strcat(pending, parts[i]);
		size_t used = app(pending);
		memmove(pending, pending + used, strlen(pending + used) + 1);
	}
	CHECK(pending[0] == '\0');
	CHECK_STR(drain(&to_server), "DATA\r\nline\r\n.\r\n");
	server("250 ok\r\n");
	CHECK(strstr(drain(&to_app), "502 5.5.1") != NULL);
}

static void test_empty_message_and_bare_lf(void)
{
	start_filter(0);
	app("DATA\r\n");
	server("354 go\r\n");
	app(".\r\n");
	CHECK(f.app == APP_COMMAND);
	app("DATA\r\n");
	server("250 ok\r\n354 go\r\n");
	/* bare LF ends no line: all content (a "." line next to a bare LF
	 * is refused, test_filter_smuggling.c; bare-LF clients dot-stuff it) */
	app("a\n..\nSTARTTLS\r\n");
	CHECK(f.app == APP_DATA);
	CHECK(strstr(drain(&to_server), "a\n..\nSTARTTLS\r\n") != NULL);
}

static void test_refused_data_returns_to_commands(void)
{
	start_filter(0);
	app("DATA\r\n");
	server("554 no valid recipients\r\n");
	CHECK(f.app == APP_COMMAND);
	app("STARTTLS\r\n");
	CHECK(strstr(drain(&to_app), "502 5.5.1") != NULL);
}

static void test_sasl_response_is_not_a_command(void)
{
	start_filter(0);
	app("AUTH LOGIN\r\n");
	server("334 VXNlcm5hbWU6\r\n");
	app("STARTTLS\r\n"); /* a (strange) user name, not a command */
	CHECK_STR(drain(&to_server), "AUTH LOGIN\r\nSTARTTLS\r\n");
	server("334 UGFzc3dvcmQ6\r\n");
	drain(&to_app);
	CHECK(to_app.len == 0);
}

static void test_overlong_command_gets_500(void)
{
	static char line[FILTER_LINE_MAX + 100];
	start_filter(0);
	memset(line, 'A', sizeof line - 3);
	memcpy(line + sizeof line - 3, "\r\n", 3);
	CHECK(app(line) == strlen(line));
	CHECK(to_server.len == 0);
	CHECK(strstr(drain(&to_app), "500 5.5.2") != NULL);
	app("NOOP\r\n");
	CHECK_STR(drain(&to_server), "NOOP\r\n");
}

static void test_server_garbage_is_an_error(void)
{
	start_filter(1);
	CHECK(server("hello\r\n") == (size_t)-1);
	CHECK(f.error[0] != '\0');
}

static void test_server_closing_midway_leaves_filter_busy(void)
{
	start_filter(0);
	app("MAIL FROM:<a@b>\r\n");
	CHECK(filter_busy(&f));
}

int main(void)
{
	test_greeting_and_plain_replies_pass_unchanged();
	test_ehlo_reply_hides_starttls_and_chunking();
	test_app_starttls_is_refused_locally_in_order();
	test_message_content_passes_untouched();
	test_end_of_data_split_across_reads();
	test_empty_message_and_bare_lf();
	test_refused_data_returns_to_commands();
	test_sasl_response_is_not_a_command();
	test_overlong_command_gets_500();
	test_server_garbage_is_an_error();
	test_server_closing_midway_leaves_filter_busy();
	return check_done("test_filter");
}
