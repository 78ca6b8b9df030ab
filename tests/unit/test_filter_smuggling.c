/* The filter against SMTP smuggling in message content: a "." line next to
 * a bare LF or a bare CR ends the session, however the content is cut into
 * reads; content that only looks near it passes unchanged; BDAT, whose
 * chunks the filter cannot read, ends the session too. */
#include "check.h"
#include "filter_harness.h"

static void in_data(void)
{
	start_filter(0);
	app("DATA\r\n");
	server("354 go\r\n");
	drain(&to_app);
	drain(&to_server);
}

/* Message content the filter must refuse: what it forwards before the
 * refused line end, and the words that say why. */
struct refused_content {
	const char *content, *forwarded, *why;
};

/* Each case after a 354: the session ends, with only what precedes the
 * refused line end passed on, the cause in f->error, and nothing more
 * taken from the app. */
static void check_refused(const struct refused_content *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		in_data();
		CHECK(app(cases[i].content) == (size_t)-1);
		CHECK_STR(drain(&to_server), cases[i].forwarded);
		CHECK(strstr(f.error, cases[i].why) != NULL);
		CHECK(strstr(f.error, "(SMTP smuggling); refused") != NULL);
		CHECK(app("QUIT\r\n") == (size_t)-1); /* nothing more from this app */
		CHECK(to_server.len == 0);
	}
}

static void test_dot_line_with_bare_lf_is_refused(void)
{
	static const struct refused_content cases[] = {
		{"a\n.\nMAIL FROM:<x@y>\r\n", "a\n.", "ended by a bare LF"},
		{"a\n.\r\nMAIL FROM:<x@y>\r\n", "a\n.", "after a bare LF"},
		{"a\r\n.\nMAIL FROM:<x@y>\r\n", "a\r\n.", "ended by a bare LF"},
		{".\nRSET\r\n", ".", "ended by a bare LF"}, /* first line of the message */
	};
	check_refused(cases, sizeof cases / sizeof cases[0]);
}

static void test_smuggling_split_across_reads_is_refused(void)
{
	in_data();
	CHECK(app("text\n") == 5);
	CHECK(app(".") == 1);
	CHECK(app("\rrest") == (size_t)-1);
	CHECK_STR(drain(&to_server), "text\n.");
}

/* Servers that take a bare CR for a line end (some appliances' "clean
 * CR/LF" settings) find the end of the message in each of these. */
static void test_dot_line_with_bare_cr_is_refused(void)
{
	static const struct refused_content cases[] = {
		{"a\r.\rMAIL FROM:<x@y>\r\n", "a\r.", "after a bare CR"},
		{"a\r.\nMAIL FROM:<x@y>\r\n", "a\r.", "ended by a bare LF"},
		{"a\r\n.\rMAIL FROM:<x@y>\r\n", "a\r\n.", "ended by a bare CR"},
		{"a\r.\r\nMAIL FROM:<x@y>\r\n", "a\r.", "after a bare CR"},
		{"a\n.\rMAIL FROM:<x@y>\r\n", "a\n.", "after a bare LF"},
		{".\rRSET\r\n", ".", "ended by a bare CR"}, /* first line of the message */
		{"a\r\r.\r\n", "a\r\r.", "after a bare CR"},
	};
	check_refused(cases, sizeof cases / sizeof cases[0]);
}

/* "\r\n.\r" is the end of the message or a smuggled one: the byte after
 * the CR decides, so the CR is not passed on before that byte is read. */
static void test_cr_after_dot_waits_for_the_next_byte(void)
{
	in_data();
	CHECK(app("text\r\n.") == 7);
	CHECK(app("\r") == 0); /* left unread: offered again with what follows */
	CHECK_STR(drain(&to_server), "text\r\n.");
	CHECK(app("\rX") == (size_t)-1);
	CHECK(to_server.len == 0);
	CHECK(strstr(f.error, "ended by a bare CR") != NULL);

	in_data();
	CHECK(app("text\r\n.") == 7);
	CHECK(app("\r") == 0);
	CHECK(app("\r\nNOOP\r\n") == 8);
	CHECK(f.app == APP_COMMAND);
	CHECK_STR(drain(&to_server), "text\r\n.\r\nNOOP\r\n");
}

/* Content after a 354 that must pass: taken whole, forwarded unchanged,
 * and its CRLF "." CRLF ends the message. */
static void check_passes(const char *body)
{
	in_data();
	CHECK(app(body) == strlen(body));
	CHECK_STR(drain(&to_server), body);
	CHECK(f.app == APP_COMMAND);
	CHECK(f.error[0] == '\0');
}

static void test_bare_cr_content_without_a_dot_line_passes(void)
{
	/* bare CRs inside lines and before lines that only start with "." */
	check_passes("a\rb\r.x\r..\r\n\r\n.\r\n");
}

static void test_bare_lf_content_that_is_dot_stuffed_passes(void)
{
	/* curl without --crlf: bare-LF lines, a leading dot doubled, and
	 * CRLF "." CRLF at the end */
	check_passes("Subject: x\n\n..\n..leading dot\nlast line\n\r\n.\r\n");
	app("QUIT\r\n");
	CHECK_STR(drain(&to_server), "QUIT\r\n");
	CHECK(f.error[0] == '\0');
}

/* -- BDAT: a chunk the filter cannot read as commands ----------------------- */

static void test_bdat_ends_the_session(void)
{
	start_filter(0);
	CHECK(app("MAIL FROM:<a@b>\r\nBDAT 12 LAST\r\nQUIT\r\nRSET\r\n") == (size_t)-1);
	CHECK_STR(drain(&to_server), "MAIL FROM:<a@b>\r\n"); /* the chunk is not a command */
	CHECK(strstr(f.error, "BDAT") != NULL);
	CHECK(app("NOOP\r\n") == (size_t)-1);
}

int main(void)
{
	test_dot_line_with_bare_lf_is_refused();
	test_smuggling_split_across_reads_is_refused();
	test_dot_line_with_bare_cr_is_refused();
	test_cr_after_dot_waits_for_the_next_byte();
	test_bare_cr_content_without_a_dot_line_passes();
	test_bare_lf_content_that_is_dot_stuffed_passes();
	test_bdat_ends_the_session();
	return check_done("test_filter_smuggling");
}
