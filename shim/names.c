#include "names.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "common/addr.h"
#include "common/text.h"

/* A fixed table: a program connects soon after it resolves, so recent
 * names are the ones that matter, and the memory stays bounded.  Each
 * thread keeps at most one entry per address (its latest name for it), so
 * a busy thread cannot push the others' names out.
 *
 * No lock: connect() may be called from a signal handler that interrupted
 * this very code on the same thread (POSIX allows it), and a lock held
 * across fork() would stay held in the child.  Each entry is a sequence
 * lock instead: odd while written, so a reader that sees it change simply
 * ignores that entry. */
#define NAMES_MAX 256
#define NAME_LEN 256

struct name_entry {
	atomic_uint seq;        /* 0: never written; odd: being written */
	unsigned stamp;         /* when written: newer wins */
	pthread_t owner;        /* the thread that resolved it */
	unsigned char ip[16];   /* IPv4 stored v4-mapped, so both spellings match */
	char name[NAME_LEN];
};

static struct name_entry table[NAMES_MAX];
static atomic_uint next_slot, clock_now;

/* A copy of e for the address key, taken while nobody wrote it; 0 if it
 * was stable and is for key.  The name is copied only with with_name. */
static int read_entry(const struct name_entry *e, const unsigned char key[16],
		      struct name_entry *copy, int with_name)
{
	unsigned s = atomic_load_explicit(&e->seq, memory_order_acquire);
	if (s == 0 || (s & 1) || memcmp(e->ip, key, 16))
		return -1;
	copy->stamp = e->stamp;
	copy->owner = e->owner;
	if (with_name)
		memcpy(copy->name, e->name, sizeof copy->name);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s)
		return -1;
	copy->name[NAME_LEN - 1] = '\0';
	return 0;
}

/* This thread's entry for the address, else a fresh slot. */
static struct name_entry *slot_for(const unsigned char key[16], pthread_t self)
{
	struct name_entry copy;
	for (unsigned i = 0; i < NAMES_MAX; i++)
		if (!read_entry(&table[i], key, &copy, 0) && pthread_equal(copy.owner, self))
			return &table[i];
	return &table[atomic_fetch_add(&next_slot, 1) % NAMES_MAX];
}

void names_record(int family, const void *ip, const char *name)
{
	unsigned char key[16];
	size_t n = strlen(name);
	pthread_t self = pthread_self();

	/* Only what can be a host name: a name with a newline in it (some
	 * resolver let it through) must never reach the relay's settings. */
	if (!n || n >= NAME_LEN || addr_is_ip_text(name) || !text_is_host(name) ||
	    addr_ip16(family, ip, key) < 0)
		return;
	/* A slot another writer holds (or one a fork left half written in
	 * this child) is passed over for the next. */
	for (int tries = 0; tries < 4; tries++) {
		struct name_entry *e = slot_for(key, self);
		unsigned s = atomic_load_explicit(&e->seq, memory_order_relaxed);
		if ((s & 1) || !atomic_compare_exchange_strong(&e->seq, &s, s + 1))
			continue;
		atomic_thread_fence(memory_order_release);
		e->stamp = atomic_fetch_add(&clock_now, 1);
		e->owner = self;
		memcpy(e->ip, key, 16);
		memcpy(e->name, name, n + 1);
		atomic_store_explicit(&e->seq, s + 2, memory_order_release);
		return;
	}
}

static int newer(const struct name_entry *a, const struct name_entry *than)
{
	return (int)(a->stamp - than->stamp) > 0;
}

int names_lookup(const struct sockaddr *sa, char *name, size_t len)
{
	unsigned char key[16];
	pthread_t self = pthread_self();
	struct name_entry copy, mine, any;
	int have_mine = 0, have_any = 0;

	if (addr_sockaddr_ip16(sa, key) < 0)
		return -1;
	/* What this thread resolved last for the address, else what any
	 * thread did: two names may share one address, and another thread's
	 * look-up may land between this thread's and its connect(). */
	for (unsigned i = 0; i < NAMES_MAX; i++) {
		if (read_entry(&table[i], key, &copy, 1))
			continue;
		if (pthread_equal(copy.owner, self)) {
			if (!have_mine || newer(&copy, &mine))
				mine = copy, have_mine = 1;
		} else if (!have_any || newer(&copy, &any)) {
			any = copy, have_any = 1;
		}
	}
	const struct name_entry *best = have_mine ? &mine : have_any ? &any : NULL;
	if (!best || strlen(best->name) >= len)
		return -1;
	strcpy(name, best->name);
	return 0;
}
