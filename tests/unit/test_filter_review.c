/* The filter against what an app could slip past it: SASL responses
 * pipelined after AUTH (kept out of the verbose log), an AUTH line the log
 * must not read past, SMTP smuggling in message content (a "." line next
 * to a bare LF or a bare CR), and BDAT. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../tools/relay/log.h"
#include "check.h"
#include "filter_harness.h"

static void start(void)
{
	start_filter(0);
}

/* The verbose log (stderr) of what runs between log_start and log_end. */
static int saved_stderr = -1;

static void log_start(void)
{
	fflush(stderr);
	saved_stderr = dup(2);
	int fd = memfd_create("log", 0);
	dup2(fd, 2);
	close(fd);
	log_init(1);
}

static const char *log_end(void)
{
	static char text[65536];
	fflush(stderr);
	off_t n = lseek(2, 0, SEEK_CUR);
	ssize_t got = n > 0 ? pread(2, text, sizeof text - 1, 0) : 0;
	text[got > 0 ? got : 0] = '\0';
	dup2(saved_stderr, 2);
	close(saved_stderr);
	log_init(0);
	return text;
}

/* -- (a) SASL responses are secret from the AUTH line on ------------------ */

static void test_pipelined_plain_response_is_never_logged(void)
{
	const char *b64 = "AGFsaWNlAGNvcnJlY3QgaG9yc2U="; /* \0alice\0correct horse */
	char lines[200];
	snprintf(lines, sizeof lines, "AUTH PLAIN\r\n%s\r\nMAIL FROM:<a@b>\r\n", b64);
	start();
	log_start();
	size_t used = app(lines);
	const char *log = log_end();
	CHECK(strstr(log, b64) == NULL);
	CHECK(strstr(log, "C: *** (SASL response)") != NULL);
	/* AUTH and the response went out; MAIL waits for the server's word
	 * on the response (a 334 would make it another response). */
	char want[200];
	snprintf(want, sizeof want, "AUTH PLAIN\r\n%s\r\n", b64);
	CHECK_STR(drain(&to_server), want);
	CHECK(used == strlen(want));
	server("334 \r\n235 2.7.0 ok\r\n");
	CHECK_STR(drain(&to_app), "334 \r\n235 2.7.0 ok\r\n");
	log_start();
	CHECK(app(lines + used) == strlen(lines + used));
	log = log_end();
	/* a command again for the server -- but it waited while the AUTH
	 * replies were outstanding, so the log does not show it */
	CHECK_STR(drain(&to_server), "MAIL FROM:<a@b>\r\n");
	CHECK(strstr(log, "MAIL FROM") == NULL);
	CHECK(strstr(log, "C: *** (a line sent while AUTH replies were outstanding)") != NULL);
	server("250 ok\r\n");
	log_start();
	app("RCPT TO:<c@d>\r\n");
	log = log_end();
	CHECK(strstr(log, "C: RCPT TO:<c@d>") != NULL); /* sent after them: logged */
}

static void test_response_before_the_334_is_secret_too(void)
{
	start();
	app("AUTH LOGIN\r\n");
	log_start();
	app("YWxpY2U=\r\n"); /* "alice", sent before the server's 334 arrived */
	const char *log = log_end();
	CHECK(strstr(log, "YWxpY2U") == NULL);
	server("334 VXNlcm5hbWU6\r\n");
	CHECK(app("c2VjcmV0\r\n") == 0); /* waits for the reply to the user name */
	server("334 UGFzc3dvcmQ6\r\n");
	log_start();
	CHECK(app("c2VjcmV0\r\n") == 10);
	log = log_end();
	CHECK(strstr(log, "c2VjcmV0") == NULL);
	CHECK_STR(drain(&to_server), "AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n");
	server("235 ok\r\n");
	app("STARTTLS\r\n"); /* a command again: answered locally */
	CHECK(strstr(drain(&to_app), "502 5.5.1") != NULL);
}

static void test_refused_auth_returns_to_commands(void)
{
	start();
	app("AUTH FOO\r\n");
	server("504 5.5.4 unrecognized mechanism\r\n");
	log_start();
	app("NOOP\r\n");
	const char *log = log_end();
	CHECK(strstr(log, "C: NOOP") != NULL);
	CHECK_STR(drain(&to_server), "AUTH FOO\r\nNOOP\r\n");
}

static void test_initial_response_waits_for_the_verdict(void)
{
	start();
	app("AUTH XOAUTH2 dXNlcj1hbGljZQ==\r\n");
	CHECK(app("\r\n") == 0); /* the server has not said yet whether it wants more */
	server("334 eyJzdGF0dXMiOiI0MDEifQ==\r\n");
	log_start();
	CHECK(app("\r\n") == 2); /* the empty response to the error: not a command */
	const char *log = log_end();
	CHECK(strstr(log, "*** (SASL response)") != NULL);
	server("535 5.7.8 no\r\n");
	log_start();
	CHECK(app("NOOP\r\n") == 6);
	log = log_end();
	CHECK(strstr(log, "C: NOOP") != NULL);
}

/* The app pipelines AUTH LOGIN, user name and password; the server
 * refuses the mechanism.  Its reply to the user-name line (read there as
 * a command) must not decide that the password is a command to log. */
static void test_password_pipelined_after_a_refused_auth_is_never_logged(void)
{
	const char *all = "AUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0LXBhc3N3b3Jk\r\nNOOP\r\n";
	size_t at = 0;
	start();
	log_start();
	at += app(all + at); /* AUTH and the user name go; the password waits */
	server("504 5.5.4 unrecognized authentication type\r\n");
	at += app(all + at); /* still waiting: a reply is outstanding */
	server("500 5.5.2 unrecognized command\r\n");
	at += app(all + at);
	const char *log = log_end();
	CHECK(at == strlen(all));
	CHECK(strstr(log, "c2VjcmV0LXBhc3N3b3Jk") == NULL);
	CHECK(strstr(log, "dXNlcg==") == NULL);
	CHECK(strstr(log, "C: AUTH LOGIN") != NULL);
	/* the server reads the password as a command, as the app sent it */
	CHECK_STR(drain(&to_server), "AUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0LXBhc3N3b3Jk\r\nNOOP\r\n");
	/* a line that came after the replies is a command, logged again */
	server("500 5.5.2 unrecognized command\r\n250 ok\r\n");
	log_start();
	app("RSET\r\n");
	log = log_end();
	CHECK(strstr(log, "C: RSET") != NULL);
}

/* Only the reply to the AUTH (or to a response the server took as one)
 * can keep the exchange going: after the AUTH is refused, a 334 to a line
 * the server read as a command does not make the app's next line a SASL
 * response -- which would pass it on unread, a STARTTLS included. */
static void test_exchange_ends_with_the_reply_to_the_auth_itself(void)
{
	const char *all = "AUTH LOGIN\r\ndXNlcg==\r\nSTARTTLS\r\n";
	size_t at = 0;
	start();
	at += app(all + at);
	server("504 5.5.4 no\r\n334 UGFzc3dvcmQ6\r\n");
	at += app(all + at);
	CHECK(at == strlen(all));
	CHECK_STR(drain(&to_server), "AUTH LOGIN\r\ndXNlcg==\r\n");
	CHECK(strstr(drain(&to_app), "502 5.5.1") != NULL);
}

/* -- (b) the mechanism in the log comes from the line itself -------------- */

static void test_auth_log_stays_within_the_line(void)
{
	start();
	app("NOOP leftover-bytes-of-an-older-line\r\n");
	server("250 ok\r\n");
	log_start();
	app("AUTH\n"); /* bare LF: nothing after the verb in this line */
	const char *log = log_end();
	CHECK(strstr(log, "leftover") == NULL);
	CHECK(strstr(log, "C: AUTH") != NULL);
	start();
	log_start();
	app("AUTH PLAIN dGVzdA==\n");
	log = log_end();
	CHECK(strstr(log, "C: AUTH PLAIN ***") != NULL);
	CHECK(strstr(log, "dGVzdA") == NULL);
}

/* -- (c) SMTP smuggling ---------------------------------------------------- */

static void in_data(void)
{
	start();
	app("DATA\r\n");
	server("354 go\r\n");
	drain(&to_app);
	drain(&to_server);
}

static void test_dot_line_with_bare_lf_is_refused(void)
{
	static const struct {
		const char *content, *forwarded, *why;
	} cases[] = {
		{"a\n.\nMAIL FROM:<x@y>\r\n", "a\n.", "ended by a bare LF"},
		{"a\n.\r\nMAIL FROM:<x@y>\r\n", "a\n.", "after a bare LF"},
		{"a\r\n.\nMAIL FROM:<x@y>\r\n", "a\r\n.", "ended by a bare LF"},
		{".\nRSET\r\n", ".", "ended by a bare LF"}, /* first line of the message */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		in_data();
		CHECK(app(cases[i].content) == (size_t)-1);
		CHECK_STR(drain(&to_server), cases[i].forwarded);
		CHECK(strstr(f.error, cases[i].why) != NULL);
		CHECK(strstr(f.error, "(SMTP smuggling); refused") != NULL);
		CHECK(app("QUIT\r\n") == (size_t)-1); /* nothing more from this app */
		CHECK(to_server.len == 0);
	}
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
	static const struct {
		const char *content, *forwarded, *why;
	} cases[] = {
		{"a\r.\rMAIL FROM:<x@y>\r\n", "a\r.", "after a bare CR"},
		{"a\r.\nMAIL FROM:<x@y>\r\n", "a\r.", "ended by a bare LF"},
		{"a\r\n.\rMAIL FROM:<x@y>\r\n", "a\r\n.", "ended by a bare CR"},
		{"a\r.\r\nMAIL FROM:<x@y>\r\n", "a\r.", "after a bare CR"},
		{"a\n.\rMAIL FROM:<x@y>\r\n", "a\n.", "after a bare LF"},
		{".\rRSET\r\n", ".", "ended by a bare CR"}, /* first line of the message */
		{"a\r\r.\r\n", "a\r\r.", "after a bare CR"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		in_data();
		CHECK(app(cases[i].content) == (size_t)-1);
		CHECK_STR(drain(&to_server), cases[i].forwarded);
		CHECK(strstr(f.error, cases[i].why) != NULL);
		CHECK(strstr(f.error, "(SMTP smuggling); refused") != NULL);
		CHECK(app("QUIT\r\n") == (size_t)-1); /* nothing more from this app */
		CHECK(to_server.len == 0);
	}
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

static void test_bare_cr_content_without_a_dot_line_passes(void)
{
	/* bare CRs inside lines and before lines that only start with "." */
	const char *body = "a\rb\r.x\r..\r\n\r\n.\r\n";
	in_data();
	CHECK(app(body) == strlen(body));
	CHECK_STR(drain(&to_server), body);
	CHECK(f.app == APP_COMMAND);
	CHECK(f.error[0] == '\0');
}

static void test_bare_lf_content_that_is_dot_stuffed_passes(void)
{
	/* curl without --crlf: bare-LF lines, a leading dot doubled, and
	 * CRLF "." CRLF at the end */
	const char *body = "Subject: x\n\n..\n..leading dot\nlast line\n\r\n.\r\n";
	in_data();
	CHECK(app(body) == strlen(body));
	CHECK_STR(drain(&to_server), body);
	CHECK(f.app == APP_COMMAND);
	app("QUIT\r\n");
	CHECK_STR(drain(&to_server), "QUIT\r\n");
	CHECK(f.error[0] == '\0');
}

/* -- (d) BDAT ----------------------------------------------------------- */

static void test_bdat_ends_the_session(void)
{
	start();
	CHECK(app("MAIL FROM:<a@b>\r\nBDAT 12 LAST\r\nQUIT\r\nRSET\r\n") == (size_t)-1);
	CHECK_STR(drain(&to_server), "MAIL FROM:<a@b>\r\n"); /* the chunk is not a command */
	CHECK(strstr(f.error, "BDAT") != NULL);
	CHECK(app("NOOP\r\n") == (size_t)-1);
}

int main(void)
{
	test_pipelined_plain_response_is_never_logged();
	test_response_before_the_334_is_secret_too();
	test_refused_auth_returns_to_commands();
	test_initial_response_waits_for_the_verdict();
	test_password_pipelined_after_a_refused_auth_is_never_logged();
	test_exchange_ends_with_the_reply_to_the_auth_itself();
	test_auth_log_stays_within_the_line();
	test_dot_line_with_bare_lf_is_refused();
	test_smuggling_split_across_reads_is_refused();
	test_dot_line_with_bare_cr_is_refused();
	test_cr_after_dot_waits_for_the_next_byte();
	test_bare_cr_content_without_a_dot_line_passes();
	test_bare_lf_content_that_is_dot_stuffed_passes();
	test_bdat_ends_the_session();
	return check_done("test_filter_review");
}
