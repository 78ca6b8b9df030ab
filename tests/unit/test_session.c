/* The session text the shim hands the relay on fd 4: settings, then the
 * '@' lines in order, ending with "@end"; read with a deadline, never to
 * an end of stream that a forked host child could hold off. */
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/relay/net.h"
#include "tools/relay/session.h"
#include "check.h"

static struct session s;
static char err[300];

#define TAIL \
	"@dest 192.0.2.1:25\n@name mail.test\n@client 127.0.0.1:4000\n@program 42 swaks\n@end\n"

/* session_read over a socket pair carrying text; the writing end stays
 * open (like a copy in a forked child) unless close_after. */
static int read_text_of(const char *text, size_t len, int close_after, long long wait_ms,
			long long *took_ms)
{
	int sp[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(sp[1], text + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (close_after)
		close(sp[1]);
	long long t0 = net_now_ms();
	memset(err, 0, sizeof err);
	int rc = session_read(sp[0], &s, t0 + wait_ms, err, sizeof err);
	if (took_ms)
		*took_ms = net_now_ms() - t0;
	close(sp[0]);
	if (!close_after)
		close(sp[1]);
	return rc;
}

static int read_str(const char *text, int close_after)
{
	return read_text_of(text, strlen(text), close_after, 2000, NULL);
}

static void test_a_complete_text_is_read(void)
{
	CHECK(read_str("mode tls\nuser alice\n" TAIL, 1) == 0);
	CHECK(s.cfg.mode == MODE_TLS);
	CHECK_STR(s.cfg.user, "alice");
	CHECK_STR(s.name, "mail.test");
	CHECK(s.have_client);
	CHECK(s.dest_len > 0);
	CHECK(s.program_pid == 42);
	CHECK_STR(s.program, "swaks");
	/* an empty name, client and program are allowed (an address dialled
	 * directly; `smtpshim listen`) */
	CHECK(read_str("@dest 192.0.2.1:25\n@name \n@client \n@program \n@end\n", 1) == 0);
	CHECK(s.name[0] == '\0' && !s.have_client && !s.program_pid && !s.program[0]);
}

static void test_program_is_a_pid_and_one_word(void)
{
	const char *bad[] = {"swaks", "42", "42 ", "x42 swaks", "42 two words", "0 swaks",
			     "42 \x01x",
			     /* one more than RELAY_PROGRAM_NAME_MAX */
			     "42 nameofsixtyfivecharactersnameofsixtyfive"
			     "charactersnameofsixtyfive"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[300];
		snprintf(text, sizeof text,
			 "@dest 192.0.2.1:25\n@name \n@client \n@program %s\n@end\n", bad[i]);
		CHECK(read_str(text, 1) < 0);
	}
}

static void test_setting_after_an_at_line_is_refused(void)
{
	/* what a resolver's answer "mail.test\nrelay attacker.test" would
	 * make of the text, if the shim let it through */
	CHECK(read_str("@dest 192.0.2.1:25\n@name mail.test\nrelay attacker.test\n"
		       "@client 127.0.0.1:4000\n@program 42 swaks\n@end\n", 1) < 0);
	CHECK(strstr(err, "relay attacker.test") != NULL);
	CHECK(read_str("@dest 192.0.2.1:25\nrelay attacker.test\n@name \n@client \n@program \n"
		       "@end\n", 1) < 0);
}

static void test_at_lines_are_in_order_and_once(void)
{
	CHECK(read_str("@dest 192.0.2.1:25\n@name mail.test\n@client 127.0.0.9:1\n"
		       "@client 127.0.0.1:4000\n@end\n", 1) < 0);
	CHECK(read_str("@name mail.test\n@dest 192.0.2.1:25\n@client 127.0.0.1:4000\n@end\n", 1) < 0);
	CHECK(read_str("@dest 192.0.2.1:25\n@name mail.test\n@end\n", 1) < 0);
	CHECK(read_str("@dest 192.0.2.1:25\n@name mail test\n@client \n@end\n", 1) < 0);
	CHECK(read_str("@dest 192.0.2.1:25\n@name mail.test\n@client \n@endx\n", 1) < 0);
	CHECK(read_str("@dest 192.0.2.1:25\n@name mail.test\n@client \n@bogus\n@end\n", 1) < 0);
	CHECK(read_str("@dest 192.0.2.1:25\n@name mail.test\n@client \n@end\n", 1) < 0);
}

static void test_a_text_without_end_is_incomplete(void)
{
	CHECK(read_str("mode tls\n@dest 192.0.2.1:25\n@name mail.test\n@client 127.0.0.1:4000\n",
		       1) < 0);
	CHECK(strstr(err, "@end") != NULL);
	CHECK(read_str("", 1) < 0);
	CHECK_STR(err, "no session");
}

static void test_nothing_may_follow_the_end(void)
{
	CHECK(read_str(TAIL "relay attacker.test\n", 1) < 0);
	CHECK(strstr(err, "after its @end") != NULL);
	CHECK(read_str(TAIL "relay attacker.test\n", 0) < 0);
}

static void test_end_is_enough_without_eof(void)
{
	long long took;
	const char *text = "mode starttls\n" TAIL;
	CHECK(read_text_of(text, strlen(text), 0, 5000, &took) == 0);
	CHECK(took < 1000);
	CHECK(s.cfg.mode == MODE_STARTTLS);
}

static void test_an_unfinished_text_is_given_up_at_the_deadline(void)
{
	long long took;
	const char *text = "mode tls\n@dest 192.0.2.1:25\n";
	CHECK(read_text_of(text, strlen(text), 0, 300, &took) < 0);
	CHECK(took >= 250 && took < 3000);
	CHECK(strstr(err, "in time") != NULL);
}

static void test_the_shims_largest_text_fits(void)
{
	static char text[SESSION_TEXT_MAX + 200];
	size_t n = 0;
	while (n + 20 + sizeof TAIL < SESSION_TEXT_MAX)
		n += (size_t)snprintf(text + n, sizeof text - n, "timeout 30\n");
	n += (size_t)snprintf(text + n, sizeof text - n, "%s", TAIL);
	CHECK(n > 16384 && n <= SESSION_TEXT_MAX);
	CHECK(read_text_of(text, n, 1, 2000, NULL) == 0);
	for (n = 0; n < SESSION_TEXT_MAX;)
		n += (size_t)snprintf(text + n, sizeof text - n, "timeout 30\n");
	n += (size_t)snprintf(text + n, sizeof text - n, "%s", TAIL);
	CHECK(read_text_of(text, n, 1, 2000, NULL) < 0);
	CHECK(strstr(err, "longer than") != NULL);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_a_complete_text_is_read();
	test_program_is_a_pid_and_one_word();
	test_setting_after_an_at_line_is_refused();
	test_at_lines_are_in_order_and_once();
	test_a_text_without_end_is_incomplete();
	test_nothing_may_follow_the_end();
	test_end_is_enough_without_eof();
	test_an_unfinished_text_is_given_up_at_the_deadline();
	test_the_shims_largest_text_fits();
	return check_done("test_session");
}
