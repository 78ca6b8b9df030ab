/* The bench's SMTP client: one program that speaks plain SMTP, implicit TLS
 * or STARTTLS, so that "native TLS" and "plain under smtpshim / stunnel"
 * differ in nothing but who does the TLS.  Sessions run one after another;
 * bench/smtp.h says what each one does.
 *
 * usage: client plain|tls|starttls HOST PORT CA_FILE COUNT [options]
 *   --bulk MB    send a message of MB MiB (76-char lines) instead of ~1 KB
 *   --hold       after the message's 250, print "hold", wait for a line on
 *                stdin (at most 60 s), then QUIT (memory is measured then)
 *   --hold-data  also after the 354, before the message: print "data" and
 *                wait likewise (the CPU time of the relay or stunnel is
 *                read at both points: what the message alone cost it)
 *   --pause MS   sleep between sessions (not timed; lets the previous
 *                relay or stunnel thread finish first)
 * Prints one line per session, times in microseconds:
 *   session CONNECT GREETING TOTAL DATA_BYTES DATA_US DATA_CPU_US
 * CONNECT: connect() returned (under the shim: the relay has been started)
 * GREETING: the 220 is read (TLS context and handshake included)
 * TOTAL: QUIT's 221 is read and the socket closed
 * DATA_US: from the 354 to the message's 250
 * DATA_CPU_US: this process's own CPU time (user + system) meanwhile */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtp.h"

static long long clock_us(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static long long now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

__attribute__((noreturn)) static void die(const char *what)
{
	fprintf(stderr, "client: %s\n", what);
	exit(1);
}

static void wait_for_line(const char *say)
{
	char line[16];
	struct pollfd p = {0, POLLIN, 0};
	printf("%s\n", say);
	fflush(stdout);
	if (poll(&p, 1, 60000) == 1 && read(0, line, sizeof line) < 0)
		die("stdin");
}

static void session(struct smtp *s, const char *message, size_t len, int held, int held_data)
{
	long long t0 = now_us();
	if (smtp_connect(s) < 0)
		die(s->error);
	long long t_connect = now_us();
	if (smtp_greeting(s) < 0)
		die(s->error);
	long long t_greeting = now_us();
	if (smtp_hello(s) < 0 || smtp_envelope(s) < 0)
		die(s->error);
	if (held_data)
		wait_for_line("data");
	long long t_data = now_us(), cpu_data = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	if (smtp_message(s, message, len) < 0)
		die(s->error);
	long long t_sent = now_us(), cpu_sent = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	if (held)
		wait_for_line("hold");
	if (smtp_quit(s) < 0)
		die(s->error);
	long long t_end = now_us();
	printf("session %lld %lld %lld %zu %lld %lld\n", t_connect - t0, t_greeting - t0,
	       t_end - t0, len, t_sent - t_data, cpu_sent - cpu_data);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: client plain|tls|starttls HOST PORT CA_FILE COUNT "
				"[--bulk MB] [--hold] [--hold-data] [--pause MS]\n");
		return 2;
	}
	static struct smtp s;
	s.mode = argv[1], s.host = argv[2], s.port = argv[3], s.ca_file = argv[4];
	int count = atoi(argv[5]), held = 0, held_data = 0, pause_ms = 0;
	long mib = 0;
	for (int i = 6; i < argc; i++) {
		if (!strcmp(argv[i], "--hold"))
			held = 1;
		else if (!strcmp(argv[i], "--hold-data"))
			held_data = 1;
		else if (!strcmp(argv[i], "--bulk") && i + 1 < argc)
			mib = atol(argv[++i]);
		else if (!strcmp(argv[i], "--pause") && i + 1 < argc)
			pause_ms = atoi(argv[++i]);
		else
			die("unknown option");
	}
	if (!smtp_mode_known(s.mode))
		die("mode is plain, tls or starttls");
	size_t len;
	char *message = smtp_make_message(mib, &len);
	if (!message)
		die("out of memory");
	for (int i = 0; i < count && i < 100000; i++) {
		if (i && pause_ms)
			usleep((useconds_t)pause_ms * 1000);
		session(&s, message, len, held, held_data);
	}
	return 0;
}
