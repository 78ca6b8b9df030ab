/* The SMTP reply parser that reads what servers (possibly hostile) send. */
#include "tools/relay/smtp_reply.h"
#include "check.h"

static struct reply_parser p;

static enum reply_status feed_all(const char *s, size_t *used)
{
	reply_parser_init(&p);
	return reply_parser_feed(&p, s, strlen(s), used);
}

static void test_single_line_reply(void)
{
	size_t used;
	CHECK(feed_all("220 mail.example.com ESMTP\r\n", &used) == REPLY_DONE);
	CHECK(p.reply.code == 220 && p.reply.nlines == 1 && used == 28);
}

static void test_multiline_reply_stops_at_its_last_line(void)
{
	const char *s = "250-mail\r\n250-STARTTLS\r\n250 SIZE 100\r\n220 next";
	size_t used;
	CHECK(feed_all(s, &used) == REPLY_DONE);
	CHECK(p.reply.nlines == 3 && used == strlen(s) - 8);
	CHECK(reply_has_keyword(&p.reply, "STARTTLS"));
	CHECK(reply_has_keyword(&p.reply, "size"));
}

static void test_keyword_must_be_whole(void)
{
	size_t used;
	CHECK(feed_all("250-mail\r\n250-XSTARTTLS\r\n250 STARTTLSX\r\n", &used) == REPLY_DONE);
	CHECK(!reply_has_keyword(&p.reply, "STARTTLS"));
	CHECK(feed_all("250-mail STARTTLS\r\n250 HELP\r\n", &used) == REPLY_DONE);
	CHECK(!reply_has_keyword(&p.reply, "STARTTLS")); /* the first word only */
}

static void test_reply_arriving_byte_by_byte(void)
{
	const char *s = "250-a\r\n250 b\r\n";
	enum reply_status st = REPLY_MORE;
	reply_parser_init(&p);
	for (size_t i = 0; s[i]; i++) {
		size_t used;
		st = reply_parser_feed(&p, s + i, 1, &used);
		CHECK(used == 1);
	}
	CHECK(st == REPLY_DONE && p.reply.nlines == 2);
}

static void test_next_reply_starts_fresh(void)
{
	size_t used;
	CHECK(feed_all("250 one\r\n", &used) == REPLY_DONE);
	CHECK(reply_parser_feed(&p, "354 go\r\n", 8, &used) == REPLY_DONE);
	CHECK(p.reply.code == 354 && p.reply.nlines == 1 && p.reply.len == 8);
}

static void test_bare_code_and_bare_lf(void)
{
	size_t used;
	CHECK(feed_all("221\n", &used) == REPLY_DONE && p.reply.code == 221);
}

static void test_garbage_is_an_error(void)
{
	size_t used;
	CHECK(feed_all("HTTP/1.1 400 Bad Request\r\n", &used) == REPLY_ERROR);
	CHECK(feed_all("250-a\r\n550 b\r\n", &used) == REPLY_ERROR);
	CHECK(strstr(p.error, "disagree") != NULL);
	CHECK(feed_all("25\r\n", &used) == REPLY_ERROR);
	CHECK(feed_all("250x\r\n", &used) == REPLY_ERROR);
}

static void test_sizes_are_bounded(void)
{
	static char big[SMTP_LINE_MAX + 10];
	size_t used;
	memset(big, 'a', sizeof big - 1);
	memcpy(big, "250 ", 4);
	CHECK(feed_all(big, &used) == REPLY_ERROR);
	CHECK(strstr(p.error, "too long") != NULL);

	reply_parser_init(&p);
	enum reply_status st = REPLY_MORE;
	for (int i = 0; i < SMTP_REPLY_LINES + 5 && st == REPLY_MORE; i++)
		st = reply_parser_feed(&p, "250-x\r\n", 7, &used);
	CHECK(st == REPLY_ERROR);
}

static void test_summary_is_one_printable_line(void)
{
	size_t used;
	char out[128];
	CHECK(feed_all("554-go away\r\n554 really\x01\r\n", &used) == REPLY_DONE);
	reply_summary(&p.reply, out, sizeof out);
	CHECK_STR(out, "554 go away / really?");
	reply_summary(&p.reply, out, 8);
	CHECK(strlen(out) < 8);
}

int main(void)
{
	test_single_line_reply();
	test_multiline_reply_stops_at_its_last_line();
	test_keyword_must_be_whole();
	test_reply_arriving_byte_by_byte();
	test_next_reply_starts_fresh();
	test_bare_code_and_bare_lf();
	test_garbage_is_an_error();
	test_sizes_are_bounded();
	test_summary_is_one_printable_line();
	return check_done("test_smtp_reply");
}
