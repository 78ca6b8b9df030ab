/* The password command: its first output line, only when it succeeds,
 * and never more time than the deadline gives it -- its output and its
 * exit both bounded, and what it started killed with it. */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/relay/net.h"
#include "tools/relay/secret.h"
#include "check.h"

static struct config c;
static char out[256], err[300];
static char pidfile[64];

static int run(const char *cmd, long long wait_ms, long long *took)
{
	config_defaults(&c);
	snprintf(c.user, sizeof c.user, "alice");
	snprintf(c.password_command, sizeof c.password_command, "%s", cmd);
	memset(out, 0, sizeof out);
	memset(err, 0, sizeof err);
	long long t0 = net_now_ms();
	int rc = secret_get(&c, out, sizeof out, t0 + wait_ms, err, sizeof err);
	if (took)
		*took = net_now_ms() - t0;
	return rc;
}

/* The pid the command wrote to pidfile. */
static pid_t written_pid(void)
{
	char text[32] = "";
	FILE *fp = fopen(pidfile, "r");
	if (fp) {
		if (!fgets(text, sizeof text, fp))
			text[0] = '\0';
		fclose(fp);
	}
	return (pid_t)atoi(text);
}

/* Gone, or a zombie about to be reaped by whoever adopted it. */
static int gone(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		char path[64], stat[256] = "";
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		FILE *fp = fopen(path, "r");
		if (!fp)
			return 1;
		if (!fgets(stat, sizeof stat, fp))
			stat[0] = '\0';
		fclose(fp);
		const char *st = strrchr(stat, ')');
		if (st && st[1] == ' ' && st[2] == 'Z')
			return 1;
		poll(NULL, 0, 10);
	}
	return 0;
}

static void test_first_line_of_a_successful_command(void)
{
	CHECK(run("printf 'hunter2\\nsecond line\\n'", 5000, NULL) == 0);
	CHECK_STR(out, "hunter2");
	CHECK(run("echo garbage; exit 3", 5000, NULL) < 0);
	CHECK_STR(err, "password-command failed (exit status 3)");
}

static void test_a_command_that_closes_its_output_and_stays_is_killed(void)
{
	long long took;
	char cmd[200];
	snprintf(cmd, sizeof cmd, "echo $$ > %s; echo pw; exec >&-; sleep 30", pidfile);
	CHECK(run(cmd, 400, &took) < 0);
	CHECK(took < 3000);
	CHECK(strstr(err, "did not finish in time") != NULL);
	CHECK(strstr(err, "killed") != NULL);
	pid_t pid = written_pid();
	CHECK(pid > 0 && gone(pid));
}

static void test_what_the_command_started_goes_with_it(void)
{
	long long took;
	char cmd[200];
	/* a background child keeps the output open: no end of it in time */
	snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; echo pw", pidfile);
	CHECK(run(cmd, 400, &took) < 0);
	CHECK(took < 3000);
	CHECK(strstr(err, "did not finish in time") != NULL);
	pid_t pid = written_pid();
	CHECK(pid > 0 && gone(pid));
}

static void test_a_lost_exit_status_is_a_failure(void)
{
	/* A relay that ignores SIGCHLD (as its host may have) cannot learn
	 * the status: the output of a failing command must not be used. */
	signal(SIGCHLD, SIG_IGN);
	CHECK(run("echo garbage; exit 1", 5000, NULL) < 0);
	CHECK(strcmp(out, "garbage") != 0 || err[0] != '\0');
	CHECK(strstr(err, "password-command") != NULL);
	signal(SIGCHLD, SIG_DFL);
}

int main(void)
{
	snprintf(pidfile, sizeof pidfile, "/tmp/smtpshim-test-secret.%d", (int)getpid());
	test_first_line_of_a_successful_command();
	test_a_command_that_closes_its_output_and_stays_is_killed();
	test_what_the_command_started_goes_with_it();
	test_a_lost_exit_status_is_a_failure();
	unlink(pidfile);
	return check_done("test_secret");
}
