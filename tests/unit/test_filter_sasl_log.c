/* The filter and the verbose log: SASL responses pipelined after AUTH are
 * kept out of it (and the lines that wait for AUTH replies with them), and
 * an AUTH line is logged from that line alone. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tools/relay/log.h"
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

/* -- SASL responses are secret from the AUTH line on ---------------------- */

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

/* -- the mechanism in the log comes from the line itself ------------------ */

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

int main(void)
{
	test_pipelined_plain_response_is_never_logged();
	test_response_before_the_334_is_secret_too();
	test_refused_auth_returns_to_commands();
	test_initial_response_waits_for_the_verdict();
	test_password_pipelined_after_a_refused_auth_is_never_logged();
	test_exchange_ends_with_the_reply_to_the_auth_itself();
	test_auth_log_stays_within_the_line();
	return check_done("test_filter_sasl_log");
}
