/* 64 threads, released together by a barrier, each resolve, connect and
 * deliver a message of their own ("X-Thread: NN" put before the message)
 * at the same moment.  The shim's first use, its name and session tables
 * and its spawning of relays all happen concurrently; every message must
 * arrive.
 *
 * usage: threads_64_deliver HOST PORT MESSAGE [THREADS] */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

struct job {
	pthread_t t;
	int n;
	const struct client_args *a;
	char err[1600];
};

static pthread_barrier_t start;

static void *run(void *arg)
{
	struct job *j = arg;
	struct sockaddr_storage dst, peer;
	socklen_t len, plen = sizeof peer;
	char head[32];
	char w[ADDR_STR_MAX], g[ADDR_STR_MAX];

	int hn = snprintf(head, sizeof head, "X-Thread: %02d\r\n", j->n);
	char *msg = malloc((size_t)hn + j->a->len);
	if (!msg) {
		snprintf(j->err, sizeof j->err, "out of memory");
		return NULL;
	}
	memcpy(msg, head, (size_t)hn);
	memcpy(msg + hn, j->a->data, j->a->len);

	pthread_barrier_wait(&start);
	resolve(j->a->host, j->a->port, AF_UNSPEC, 0, &dst, &len);
	int fd = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, len) < 0) {
		snprintf(j->err, sizeof j->err, "connect: %s", strerror(errno));
	} else if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0 ||
		   strcmp(addr_str((struct sockaddr *)&peer, g), addr_str((struct sockaddr *)&dst, w))) {
		snprintf(j->err, sizeof j->err, "getpeername: %s, dialled %s", g, w);
	} else {
		char why[1500];
		if (smtp_deliver(fd, msg, (size_t)hn + j->a->len, why, sizeof why) < 0)
			snprintf(j->err, sizeof j->err, "SMTP: %s", why);
	}
	if (fd >= 0)
		close(fd);
	free(msg);
	return NULL;
}

int main(int argc, char **argv)
{
	struct client_args a;
	client_args(argc, argv, &a);
	int n = a.nextra ? atoi(a.extra[0]) : 64;
	struct job *jobs = calloc((size_t)n, sizeof *jobs);
	if (!jobs || pthread_barrier_init(&start, NULL, (unsigned)n))
		fail("setting up %d threads", n);
	for (int i = 0; i < n; i++) {
		jobs[i].n = i;
		jobs[i].a = &a;
		if (pthread_create(&jobs[i].t, NULL, run, &jobs[i]))
			fail("pthread_create #%d failed", i);
	}
	int failed = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(jobs[i].t, NULL);
		if (jobs[i].err[0]) {
			dprintf(2, "thread %02d: %s\n", i, jobs[i].err);
			failed++;
		}
	}
	if (failed)
		fail("%d of %d threads did not deliver", failed, n);
	ok("%d threads delivered", n);
	return 0;
}
