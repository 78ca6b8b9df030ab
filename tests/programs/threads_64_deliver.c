/* 64 threads, released together by a barrier, each resolve, connect and
 * deliver a message of their own ("X-Thread: NN NAME" put before the
 * message) at the same moment.  The shim's first use, its name and session
 * tables and its spawning of relays all happen concurrently; every message
 * must arrive.
 *
 * With HOST2 (a second name for the same address), odd threads resolve
 * that one, and every thread has resolved before any connects: each
 * connect() comes after another thread's look-up of the other name, and
 * each session must still be verified against its own thread's name.
 *
 * usage: threads_64_deliver HOST PORT MESSAGE [THREADS [HOST2]] */
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
	const char *host;
	const struct client_args *a;
	char err[1600];
};

static pthread_barrier_t start, resolved;

static void *run(void *arg)
{
	struct job *j = arg;
	struct sockaddr_storage dst, peer;
	socklen_t len, plen = sizeof peer;
	char head[300];
	char w[ADDR_STR_MAX], g[ADDR_STR_MAX];

	int hn = snprintf(head, sizeof head, "X-Thread: %02d %s\r\n", j->n, j->host);
	char *msg = malloc((size_t)hn + j->a->len);
	if (!msg) {
		snprintf(j->err, sizeof j->err, "out of memory");
		return NULL;
	}
	memcpy(msg, head, (size_t)hn);
	memcpy(msg + hn, j->a->data, j->a->len);

	pthread_barrier_wait(&start);
	resolve(j->host, j->a->port, AF_UNSPEC, 0, &dst, &len);
	pthread_barrier_wait(&resolved);
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
	const char *host2 = a.nextra > 1 ? a.extra[1] : a.host;
	struct job *jobs = calloc((size_t)n, sizeof *jobs);
	if (!jobs || pthread_barrier_init(&start, NULL, (unsigned)n) ||
	    pthread_barrier_init(&resolved, NULL, (unsigned)n))
		fail("setting up %d threads", n);
	for (int i = 0; i < n; i++) {
		jobs[i].n = i;
		jobs[i].host = i % 2 ? host2 : a.host;
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
