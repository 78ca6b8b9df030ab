/* Many SMTP sessions at once from one process, as a busy MTA or a mailing
 * script with threads makes them: N threads (small stacks), released
 * together at a barrier, each resolving, connecting, reading the greeting,
 * sending one ~1 KB message and quitting (bench/smtp.h).  The descriptor
 * limit is raised to the hard limit first, so that N sockets fit.
 *
 * usage: many plain|tls|starttls HOST PORT CA_FILE N
 * Prints, times in microseconds from the barrier's release:
 *   session SETUP_US TOTAL_US      for each session delivered (its 250
 *                                  came); SETUP: from before connect() to
 *                                  the 220 read (handshake included)
 *   failed WHAT WENT WRONG         for each other session
 *   wall US                        the barrier to the last session's end
 * Exits 0 when every session ran (delivered or not): the bench counts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "smtp.h"

/* OpenSSL's handshake wants some tens of KiB of stack; the session's
 * buffers are on the heap (struct smtp). */
#define STACK_SIZE (256 * 1024)

struct one {
	pthread_t thread;
	const struct smtp *like;
	long long setup_us, total_us;
	int ok;
	char error[256];
};

static pthread_barrier_t start;
static long long t_start;
static const char *message;
static size_t message_len;

static long long now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static void *run(void *arg)
{
	struct one *o = arg;
	struct smtp *s = malloc(sizeof *s);
	pthread_barrier_wait(&start);
	if (!s) {
		snprintf(o->error, sizeof o->error, "out of memory");
		return NULL;
	}
	*s = (struct smtp){.mode = o->like->mode, .host = o->like->host,
			   .port = o->like->port, .ca_file = o->like->ca_file};
	long long t0 = now_us();
	if (smtp_connect(s) == 0 && smtp_greeting(s) == 0) {
		o->setup_us = now_us() - t0;
		if (smtp_hello(s) == 0 && smtp_envelope(s) == 0 &&
		    smtp_message(s, message, message_len) == 0) {
			o->ok = 1; /* delivered; a failed QUIT is said but counts not */
			if (smtp_quit(s) < 0)
				fprintf(stderr, "many: after delivery: %s\n", s->error);
		}
	}
	if (!o->ok)
		memcpy(o->error, s->error, sizeof o->error);
	smtp_close(s);
	o->total_us = now_us() - t_start;
	free(s);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 6 || !smtp_mode_known(argv[1]) || atoi(argv[5]) < 1) {
		fprintf(stderr, "usage: many plain|tls|starttls HOST PORT CA_FILE N\n");
		return 2;
	}
	struct smtp like = {.mode = argv[1], .host = argv[2], .port = argv[3], .ca_file = argv[4]};
	int n = atoi(argv[5]);
	struct rlimit fds;
	if (getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
		fds.rlim_cur = fds.rlim_max;
		setrlimit(RLIMIT_NOFILE, &fds);
	}
	message = smtp_make_message(0, &message_len);
	struct one *all = calloc((size_t)n, sizeof *all);
	if (!message || !all) {
		fprintf(stderr, "many: out of memory\n");
		return 1;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	pthread_barrier_init(&start, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		all[i].like = &like;
		int rc = pthread_create(&all[i].thread, &attr, run, &all[i]);
		if (rc != 0) {
			fprintf(stderr, "many: thread %d of %d: %s\n", i + 1, n, strerror(rc));
			return 1; /* the others wait at the barrier: exit ends them */
		}
	}
	t_start = now_us();
	pthread_barrier_wait(&start);
	long long wall = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(all[i].thread, NULL);
		if (all[i].total_us > wall)
			wall = all[i].total_us;
	}
	for (int i = 0; i < n; i++) {
		if (all[i].ok)
			printf("session %lld %lld\n", all[i].setup_us, all[i].total_us);
		else
			printf("failed %s\n", all[i].error[0] ? all[i].error : "?");
	}
	printf("wall %lld\n", wall);
	return 0;
}
