/* SASL encodings and the choice of mechanism from an EHLO reply. */
#include <stdio.h>

#include "tools/relay/sasl.h"
#include "check.h"

static struct reply_parser parser;

static const struct smtp_reply *parse(const char *text)
{
	size_t used;
	reply_parser_init(&parser);
	reply_parser_feed(&parser, text, strlen(text), &used);
	return &parser.reply;
}

static void test_base64_follows_rfc_4648(void)
{
	char out[64];
	unsigned char back[64];
	const char *vec[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
				{"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
				{"foobar", "Zm9vYmFy"}};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		CHECK(sasl_base64(vec[i][0], strlen(vec[i][0]), out, sizeof out) ==
		      (int)strlen(vec[i][1]));
		CHECK_STR(out, vec[i][1]);
		int n = sasl_unbase64(vec[i][1], strlen(vec[i][1]), back, sizeof back);
		CHECK(n == (int)strlen(vec[i][0]) && !memcmp(back, vec[i][0], (size_t)n));
	}
	CHECK(sasl_base64("foobar", 6, out, 8) < 0); /* no room for the NUL */
	CHECK(sasl_unbase64("Zm9v!", 5, back, sizeof back) < 0);
}

static void test_plain_is_nul_user_nul_password(void)
{
	char out[128];
	unsigned char raw[128];
	CHECK(sasl_plain("alice", "s3cret", out, sizeof out) > 0);
	CHECK_STR(out, "AGFsaWNlAHMzY3JldA==");
	int n = sasl_unbase64(out, strlen(out), raw, sizeof raw);
	CHECK(n == 13 && !memcmp(raw, "\0alice\0s3cret", 13));
}

static void test_xoauth2_carries_user_and_bearer_token(void)
{
	char out[256];
	unsigned char raw[256];
	CHECK(sasl_xoauth2("bob@example.com", "ya29.tok", out, sizeof out) > 0);
	int n = sasl_unbase64(out, strlen(out), raw, sizeof raw);
	const char want[] = "user=bob@example.com\x01" "auth=Bearer ya29.tok\x01\x01";
	CHECK(n == (int)sizeof want - 1 && !memcmp(raw, want, sizeof want - 1));
}

static void test_offered_mechanisms_come_from_auth_lines(void)
{
	char list[128];
	const struct smtp_reply *r = parse("250-mail.example.com\r\n250-SIZE 1000\r\n"
					   "250-AUTH LOGIN PLAIN XOAUTH2 CRAM-MD5\r\n"
					   "250-AUTH=LOGIN PLAIN\r\n250 HELP\r\n");
	unsigned m = sasl_offered(r, list, sizeof list);
	CHECK(m == (SASL_PLAIN | SASL_LOGIN | SASL_XOAUTH2));
	CHECK_STR(list, "LOGIN PLAIN XOAUTH2 CRAM-MD5");
	r = parse("250-mail.example.com\r\n250-AUTHX PLAIN\r\n250 SIZE\r\n");
	CHECK(sasl_offered(r, list, sizeof list) == 0);
	CHECK_STR(list, "");
	/* the first line is the server's name, never an extension */
	r = parse("250-AUTH PLAIN\r\n250 8BITMIME\r\n");
	CHECK(sasl_offered(r, list, sizeof list) == 0);
	r = parse("250-x\r\n250 auth login\r\n");
	CHECK(sasl_offered(r, list, sizeof list) == SASL_LOGIN);
}

static void test_choice_prefers_plain_then_login_then_xoauth2(void)
{
	CHECK(sasl_choose(AUTH_AUTO, SASL_PLAIN | SASL_LOGIN | SASL_XOAUTH2) == AUTH_PLAIN);
	CHECK(sasl_choose(AUTH_AUTO, SASL_LOGIN | SASL_XOAUTH2) == AUTH_LOGIN);
	CHECK(sasl_choose(AUTH_AUTO, SASL_XOAUTH2) == AUTH_XOAUTH2);
	CHECK(sasl_choose(AUTH_AUTO, 0) == -1);
	CHECK(sasl_choose(AUTH_XOAUTH2, SASL_PLAIN | SASL_XOAUTH2) == AUTH_XOAUTH2);
	CHECK(sasl_choose(AUTH_LOGIN, SASL_PLAIN) == -1);
}

int main(void)
{
	test_base64_follows_rfc_4648();
	test_plain_is_nul_user_nul_password();
	test_xoauth2_carries_user_and_bearer_token();
	test_offered_mechanisms_come_from_auth_lines();
	test_choice_prefers_plain_then_login_then_xoauth2();
	return check_done("test_sasl");
}
