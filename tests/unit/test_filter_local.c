/* The filter once the relay has authenticated itself: EHLO, HELO and AUTH
 * answered locally, MAIL FROM rewritten. */
#include "check.h"
#include "filter_harness.h"

static struct reply_parser parser;

static void start_local(const char *server_ehlo)
{
	size_t used;
	start_filter(0);
	reply_parser_init(&parser);
	reply_parser_feed(&parser, server_ehlo, strlen(server_ehlo), &used);
	filter_local_session(&f, &parser.reply);
}

static const char server_ehlo[] = "250-smtp.relay.example Hello client\r\n250-PIPELINING\r\n"
				  "250-SIZE 35882577\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n"
				  "250-AUTH=LOGIN PLAIN\r\n250-STARTTLS\r\n250-CHUNKING\r\n"
				  "250 8BITMIME\r\n";

static void test_app_ehlo_is_answered_from_learned_capabilities_without_auth(void)
{
	start_local(server_ehlo);
	app("EHLO client.test\r\n");
	/* the server gets a RSET for the reset semantics of EHLO */
	CHECK_STR(drain(&to_server), "RSET\r\n");
	CHECK_STR(drain(&to_app), "");
	server("250 2.0.0 Ok\r\n");
	CHECK_STR(drain(&to_app), "250-smtp.relay.example via smtpshim\r\n250-PIPELINING\r\n"
				  "250-SIZE 35882577\r\n250 8BITMIME\r\n");
	CHECK(!filter_busy(&f));
}

static void test_helo_only_client_gets_a_helo_form_answer(void)
{
	start_local(server_ehlo);
	app("HELO client.test\r\n");
	server("250 2.0.0 Ok\r\n");
	CHECK_STR(drain(&to_app), "250 smtp.relay.example via smtpshim\r\n");
	/* a failing RSET (server going away) is passed on as it is */
	app("HELO again\r\n");
	server("421 4.3.2 shutting down\r\n");
	CHECK_STR(drain(&to_app), "421 4.3.2 shutting down\r\n");
}

static void test_app_auth_plain_is_accepted_locally(void)
{
	start_local(server_ehlo);
	app("AUTH PLAIN AGFwcABzZWNyZXQ=\r\n");
	CHECK_STR(drain(&to_server), "");
	CHECK(strncmp(drain(&to_app), "235 ", 4) == 0);
	app("AUTH PLAIN\r\n");
	CHECK_STR(drain(&to_app), "334 \r\n");
	app("AGFwcABzZWNyZXQ=\r\n");
	CHECK(strncmp(drain(&to_app), "235 ", 4) == 0);
	CHECK_STR(drain(&to_server), "");
	CHECK(!filter_busy(&f));
}

static void test_app_auth_login_gets_both_prompts(void)
{
	start_local(server_ehlo);
	app("auth login\r\n");
	CHECK_STR(drain(&to_app), "334 VXNlcm5hbWU6\r\n");
	app("dXNlcg==\r\n");
	CHECK_STR(drain(&to_app), "334 UGFzc3dvcmQ6\r\n");
	app("cGFzcw==\r\n");
	CHECK(strncmp(drain(&to_app), "235 ", 4) == 0);
	app("AUTH LOGIN dXNlcg==\r\n");
	CHECK_STR(drain(&to_app), "334 UGFzc3dvcmQ6\r\n");
	app("*\r\n");
	CHECK(strncmp(drain(&to_app), "501 ", 4) == 0);
	/* the next line is a command again */
	app("NOOP\r\n");
	CHECK_STR(drain(&to_server), "NOOP\r\n");
}

static void test_auth_cram_md5_gets_a_challenge(void)
{
	start_local(server_ehlo);
	app("AUTH CRAM-MD5\r\n");
	const char *r = drain(&to_app);
	CHECK(strncmp(r, "334 ", 4) == 0 && strlen(r) > 8);
	app("YWxpY2UgYmFk\r\n");
	CHECK(strncmp(drain(&to_app), "235 ", 4) == 0);
	CHECK_STR(drain(&to_server), "");
}

static void test_local_replies_keep_their_place_among_pipelined_ones(void)
{
	start_local(server_ehlo);
	app("MAIL FROM:<a@b>\r\nAUTH PLAIN AGFwcABzZWNyZXQ=\r\nRCPT TO:<c@d>\r\n");
	CHECK_STR(drain(&to_server), "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
	CHECK_STR(drain(&to_app), "");
	server("250 ok mail\r\n");
	const char *r = drain(&to_app);
	CHECK(strncmp(r, "250 ok mail\r\n235 ", 17) == 0);
	server("250 ok rcpt\r\n");
	CHECK_STR(drain(&to_app), "250 ok rcpt\r\n");
}

static void test_envelope_from_is_rewritten_keeping_parameters(void)
{
	filter_init(&f, 0);
	to_server.start = to_server.len = 0;
	to_app.start = to_app.len = 0;
	filter_set_envelope_from(&f, "sender@verified.example");
	app("MAIL FROM:<root@host.local> SIZE=1234 BODY=8BITMIME\r\n");
	CHECK_STR(drain(&to_server),
		  "MAIL FROM:<sender@verified.example> SIZE=1234 BODY=8BITMIME\r\n");
	app("mail from: <\"odd>name\"@host> SMTPUTF8\r\n");
	CHECK_STR(drain(&to_server), "MAIL FROM:<sender@verified.example> SMTPUTF8\r\n");
	app("MAIL FROM:root\r\n");
	CHECK_STR(drain(&to_server), "MAIL FROM:<sender@verified.example>\r\n");
	app("MAIL FROM:<>\r\n"); /* even a bounce: the relay wants its sender */
	CHECK_STR(drain(&to_server), "MAIL FROM:<sender@verified.example>\r\n");
	server("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n");
	drain(&to_app);
	app("MAIL TO:<x>\r\n");
	CHECK_STR(drain(&to_server), "");
	CHECK(strncmp(drain(&to_app), "501 ", 4) == 0);
	/* message content is never rewritten */
	app("DATA\r\n");
	server("354 go\r\n");
	drain(&to_server);
	app("MAIL FROM:<root@host.local>\r\n.\r\n");
	CHECK_STR(drain(&to_server), "MAIL FROM:<root@host.local>\r\n.\r\n");
}

static void test_long_capability_lists_are_cut_at_whole_lines(void)
{
	char big[8192];
	size_t n = (size_t)snprintf(big, sizeof big, "250-mx\r\n");
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "250-X-EXTENSION-%03d\r\n", i);
	snprintf(big + n, sizeof big - n, "250 LAST\r\n");
	start_local(big);
	CHECK(strlen(f.ehlo_reply) < FILTER_LOCAL_EHLO_MAX);
	const char *last = f.ehlo_reply + strlen(f.ehlo_reply) - 2;
	while (last > f.ehlo_reply && last[-1] != '\n')
		last--;
	CHECK(strncmp(last, "250 ", 4) == 0);
}

int main(void)
{
	test_app_ehlo_is_answered_from_learned_capabilities_without_auth();
	test_helo_only_client_gets_a_helo_form_answer();
	test_app_auth_plain_is_accepted_locally();
	test_app_auth_login_gets_both_prompts();
	test_auth_cram_md5_gets_a_challenge();
	test_local_replies_keep_their_place_among_pipelined_ones();
	test_envelope_from_is_rewritten_keeping_parameters();
	test_long_capability_lists_are_cut_at_whole_lines();
	return check_done("test_filter_local");
}
