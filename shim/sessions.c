#include "sessions.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "common/addr.h"

/* Fixed size: older entries are overwritten by newer sessions; a program
 * with more than this many intercepted sockets open at once is not one we
 * have met.
 *
 * No lock, as in names.c: connect() and getpeername() may be called from a
 * signal handler that interrupted this code on the same thread (POSIX
 * allows it), and a lock held across fork() would stay held in the child.
 * Each entry is a sequence lock: odd while written; a reader that sees it
 * odd or changed ignores the entry. */
#define SESSIONS_MAX 256

struct entry {
	atomic_uint seq;
	dev_t dev;
	ino_t ino;
	struct intercepted_socket s;
};

static struct entry table[SESSIONS_MAX];
static atomic_uint next_slot;
static atomic_uint count; /* lets lookups skip everything until a first session */

void sessions_record(int fd, const struct intercepted_socket *s)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return;
	/* A slot being written (by another thread, or by the code this
	 * handler interrupted, or half written before a fork) is passed over. */
	for (int tries = 0; tries < SESSIONS_MAX; tries++) {
		struct entry *e = &table[atomic_fetch_add(&next_slot, 1) % SESSIONS_MAX];
		unsigned q = atomic_load_explicit(&e->seq, memory_order_relaxed);
		if ((q & 1) || !atomic_compare_exchange_strong(&e->seq, &q, q + 1))
			continue;
		atomic_thread_fence(memory_order_release);
		e->dev = st.st_dev;
		e->ino = st.st_ino;
		e->s = *s;
		atomic_store_explicit(&e->seq, q + 2, memory_order_release);
		atomic_fetch_add(&count, 1);
		return;
	}
}

int sessions_lookup(int fd, struct intercepted_socket *out)
{
	struct stat st;
	int found = -1;

	if (atomic_load(&count) == 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return -1;
	for (unsigned i = 0; i < SESSIONS_MAX && found < 0; i++) {
		const struct entry *e = &table[i];
		unsigned q = atomic_load_explicit(&e->seq, memory_order_acquire);
		if (q == 0 || (q & 1) || e->ino != st.st_ino || e->dev != st.st_dev)
			continue;
		*out = e->s;
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&e->seq, memory_order_relaxed) == q)
			found = 0;
	}
	if (found == 0) {
		struct sockaddr_storage local;
		socklen_t len = sizeof local;
		if (getsockname(fd, (struct sockaddr *)&local, &len) < 0 ||
		    !addr_equal((struct sockaddr *)&local, (struct sockaddr *)&out->local))
			found = -1;
	}
	return found;
}
