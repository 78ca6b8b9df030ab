/* Writers and readers of a lock-free table at once, for a while: the race
 * tests of the shim's name and session records (test_names.c,
 * test_sessions.c).  A writer gets its index as its argument. */
#ifndef SMTPSHIM_RACE_H
#define SMTPSHIM_RACE_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define RACE_THREADS_MAX 16

/* Starts the readers, then the writers; after ms milliseconds sets *done,
 * which every thread watches, and waits for them all. */
static inline void race_run(void *(*writer)(void *), int writers, void *(*reader)(void *),
			    int readers, int ms, atomic_int *done)
{
	pthread_t t[RACE_THREADS_MAX];
	int n = 0;
	for (long i = 0; i < readers && n < RACE_THREADS_MAX; i++)
		pthread_create(&t[n++], NULL, reader, NULL);
	for (long i = 0; i < writers && n < RACE_THREADS_MAX; i++)
		pthread_create(&t[n++], NULL, writer, (void *)i);
	struct timespec wait = {ms / 1000, ms % 1000 * 1000000L};
	nanosleep(&wait, NULL);
	atomic_store(done, 1);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

#endif
