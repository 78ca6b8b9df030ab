/* The shim's name table (names.c): which host name the app resolved to an
 * address.  A thread's own latest name for an address wins, else the newest
 * any thread recorded; each thread keeps one entry per address, so a busy
 * thread cannot push the others' names out; the table is bounded; what is
 * not a host name is never recorded; a reader never sees a name half
 * written.  (The table is one per process: each test uses addresses of its
 * own, and the test that fills the table runs last.) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "shim/names.h"
#include "check.h"
#include "race.h"

/* 198.51.100.<host>, a documentation address. */
static struct in_addr v4(int host)
{
	struct in_addr a;
	char text[32];
	snprintf(text, sizeof text, "198.51.100.%d", host);
	inet_pton(AF_INET, text, &a);
	return a;
}

static void record(int host, const char *name)
{
	struct in_addr a = v4(host);
	names_record(AF_INET, &a, name);
}

/* The name for 198.51.100.<host>:25 as connect() would ask, or "" if none. */
static const char *lookup(int host)
{
	static __thread char name[256];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(25)};
	sin.sin_addr = v4(host);
	if (names_lookup((struct sockaddr *)&sin, name, sizeof name) < 0)
		name[0] = '\0';
	return name;
}

/* A thread that records, waits while the main thread works, then looks
 * up: alive throughout, so its identity is not reused by another. */
struct peer {
	pthread_t thread;
	pthread_barrier_t step;
	int host;
	const char *name;
	char found[256];
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	record(p->host, p->name);
	pthread_barrier_wait(&p->step); /* recorded */
	pthread_barrier_wait(&p->step); /* the main thread has done its part */
	snprintf(p->found, sizeof p->found, "%s", lookup(p->host));
	return NULL;
}

static void peer_start(struct peer *p, int host, const char *name)
{
	p->host = host;
	p->name = name;
	pthread_barrier_init(&p->step, NULL, 2);
	pthread_create(&p->thread, NULL, peer_main, p);
	pthread_barrier_wait(&p->step);
}

static void peer_finish(struct peer *p)
{
	pthread_barrier_wait(&p->step);
	pthread_join(p->thread, NULL);
	pthread_barrier_destroy(&p->step);
}

static void test_an_address_nobody_resolved_has_no_name(void)
{
	CHECK_STR(lookup(1), "");
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/tmp/x"};
	char name[256];
	CHECK(names_lookup((struct sockaddr *)&un, name, sizeof name) < 0);
}

static void test_the_latest_name_of_this_thread_wins(void)
{
	record(2, "first.test");
	CHECK_STR(lookup(2), "first.test");
	record(2, "second.test");
	CHECK_STR(lookup(2), "second.test");
}

static void test_ipv4_and_its_v4_mapped_spelling_match(void)
{
	record(3, "mapped.test");
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(25)};
	inet_pton(AF_INET6, "::ffff:198.51.100.3", &sin6.sin6_addr);
	char name[256] = "";
	CHECK(names_lookup((struct sockaddr *)&sin6, name, sizeof name) == 0);
	CHECK_STR(name, "mapped.test");
	/* and an IPv6 record is found under its own address */
	struct in6_addr a6;
	inet_pton(AF_INET6, "2001:db8::3", &a6);
	names_record(AF_INET6, &a6, "six.test");
	sin6.sin6_addr = a6;
	CHECK(names_lookup((struct sockaddr *)&sin6, name, sizeof name) == 0);
	CHECK_STR(name, "six.test");
}

static void test_own_name_before_the_newest_of_another_thread(void)
{
	/* two names share one address; another thread resolves the other
	 * name between this thread's look-up and its connect() */
	record(4, "mine.test");
	struct peer other;
	peer_start(&other, 4, "theirs.test");
	CHECK_STR(lookup(4), "mine.test");
	peer_finish(&other);
	CHECK_STR(other.found, "theirs.test");
}

static void test_without_an_own_name_the_newest_of_any_thread(void)
{
	struct peer older, newer;
	peer_start(&older, 5, "older.test");
	peer_start(&newer, 5, "newer.test");
	CHECK_STR(lookup(5), "newer.test"); /* this thread recorded none */
	peer_finish(&older);
	peer_finish(&newer);
	CHECK_STR(older.found, "older.test");
	CHECK_STR(newer.found, "newer.test");
}

static void test_a_busy_thread_keeps_one_entry_per_address(void)
{
	/* far more records than the table holds, all for one address: they
	 * reuse this thread's entry, so the other thread's name stays */
	struct peer other;
	char name[64];
	peer_start(&other, 6, "kept.test");
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof name, "busy%d.test", i);
		record(6, name);
	}
	CHECK_STR(lookup(6), "busy1999.test");
	peer_finish(&other);
	CHECK_STR(other.found, "kept.test");
}

static void test_what_is_not_a_host_name_is_not_recorded(void)
{
	char long_name[300];
	memset(long_name, 'a', sizeof long_name - 6);
	memcpy(long_name + sizeof long_name - 6, ".test", 6);
	record(7, "mail.test\nrelay attacker.test");
	record(7, "");
	record(7, "192.0.2.1");
	record(7, "has space.test");
	record(7, long_name);
	CHECK_STR(lookup(7), "");
	/* nor does a refused name replace a good one */
	record(8, "good.test");
	record(8, "bad\r\nname");
	CHECK_STR(lookup(8), "good.test");
	/* and a name longer than the caller's buffer is not cut */
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(25)};
	sin.sin_addr = v4(8);
	char small[5];
	CHECK(names_lookup((struct sockaddr *)&sin, small, sizeof small) < 0);
}

/* Writers rewrite one address's names while readers look it up: a
 * reader sees one of the names whole, never a mix or a cut one.  Each
 * write changes its entry's every byte: a writer alternates between two
 * letters of its own and changes the length, and a name is one letter
 * throughout, "L{60}.L{60}.L{n}.test", so a copy of half of one name and
 * half of another shows.  Time-bounded, not count-bounded, so that a
 * broken sequence lock is caught on a slow machine too. */
#define RACE_WRITERS 3
#define RACE_READERS 2
#define RACE_MS 400
static atomic_int racing_done, torn, reads;

static void racing_name(char *out, char letter, int last_len)
{
	memset(out, letter, 60);
	out[60] = '.';
	memset(out + 61, letter, 60);
	out[121] = '.';
	memset(out + 122, letter, (size_t)last_len);
	strcpy(out + 122 + last_len, ".test");
}

static int is_racing_name(const char *name)
{
	size_t len = strlen(name);
	if (len < 122 + 1 + 5 || strcmp(name + len - 5, ".test"))
		return 0;
	char whole[256];
	racing_name(whole, name[0], (int)(len - 122 - 5));
	return !strcmp(name, whole);
}

static void *racing_writer(void *arg)
{
	char name[256];
	long w = (long)arg;
	for (int i = 0; !atomic_load_explicit(&racing_done, memory_order_relaxed); i++) {
		racing_name(name, (char)('a' + 2 * w + i % 2), 10 + i % 40);
		record(9, name);
	}
	return NULL;
}

static void *racing_reader(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&racing_done, memory_order_relaxed)) {
		const char *got = lookup(9);
		if (!got[0])
			continue;
		atomic_fetch_add(&reads, 1);
		if (!is_racing_name(got))
			atomic_fetch_add(&torn, 1);
	}
	return NULL;
}

static void test_a_name_is_never_read_half_written(void)
{
	char probe[256];
	racing_name(probe, 'q', 17);
	CHECK(is_racing_name(probe)); /* the check itself tells a mix apart */
	probe[100] = 'r';
	CHECK(!is_racing_name(probe));

	race_run(racing_writer, RACE_WRITERS, racing_reader, RACE_READERS, RACE_MS, &racing_done);
	CHECK(atomic_load(&reads) > 1000);
	CHECK(atomic_load(&torn) == 0);
	if (atomic_load(&torn))
		fprintf(stderr, "%d of %d names read were torn\n", atomic_load(&torn),
			atomic_load(&reads));
}

static void test_the_table_is_bounded(void)
{
	/* one thread, many addresses: the oldest give way to the newest */
	char name[64];
	for (int host = 10; host < 250; host++) {
		snprintf(name, sizeof name, "h%d.test", host);
		record(host, name);
	}
	struct in6_addr a6;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "2001:db8:1::%x", i);
		inet_pton(AF_INET6, name, &a6);
		names_record(AF_INET6, &a6, "filler.test");
	}
	CHECK_STR(lookup(10), "");
	CHECK_STR(lookup(249), "");
	record(250, "last.test");
	CHECK_STR(lookup(250), "last.test");
}

int main(void)
{
	test_an_address_nobody_resolved_has_no_name();
	test_the_latest_name_of_this_thread_wins();
	test_ipv4_and_its_v4_mapped_spelling_match();
	test_own_name_before_the_newest_of_another_thread();
	test_without_an_own_name_the_newest_of_any_thread();
	test_a_busy_thread_keeps_one_entry_per_address();
	test_what_is_not_a_host_name_is_not_recorded();
	test_a_name_is_never_read_half_written();
	test_the_table_is_bounded();
	return check_done("test_names");
}
