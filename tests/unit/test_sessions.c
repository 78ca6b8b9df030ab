/* The shim's session table (sessions.c): the sockets it handed to a relay,
 * keyed by the socket itself, not its number.  A dup()ed descriptor finds
 * the session, a new socket on a reused number does not, nor does one whose
 * own address differs (an inode number the kernel reused); what is not a
 * socket is never one; the table is bounded; a reader never sees an entry
 * half written. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "shim/sessions.h"
#include "check.h"
#include "race.h"

/* A TCP socket bound to a loopback port of its own, as an intercepted
 * socket is (its own address is what the table checks). */
static int bound_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof sin);
	return fd;
}

/* The session a connect() to 192.0.2.<host>:25 on fd would record. */
static struct intercepted_socket session_of(int fd, int host)
{
	struct intercepted_socket s;
	memset(&s, 0, sizeof s);
	struct sockaddr_in *dst = (struct sockaddr_in *)&s.dst;
	dst->sin_family = AF_INET;
	dst->sin_port = htons(25);
	dst->sin_addr.s_addr = htonl(0xc0000200u | (unsigned)host);
	s.dstlen = sizeof *dst;
	s.listenerlen = (socklen_t)host;
	socklen_t len = sizeof s.local;
	getsockname(fd, (struct sockaddr *)&s.local, &len);
	return s;
}

static int host_of(const struct intercepted_socket *s)
{
	return (int)(ntohl(((const struct sockaddr_in *)&s->dst)->sin_addr.s_addr) & 0xff);
}

static void test_nothing_is_found_before_a_first_session(void)
{
	struct intercepted_socket got;
	int fd = bound_socket();
	CHECK(sessions_lookup(fd, &got) < 0);
	close(fd);
}

static void test_a_recorded_socket_is_found_also_through_dup(void)
{
	struct intercepted_socket got;
	int fd = bound_socket();
	struct intercepted_socket s = session_of(fd, 1);
	sessions_record(fd, &s);
	memset(&got, 0, sizeof got);
	CHECK(sessions_lookup(fd, &got) == 0);
	CHECK(memcmp(&got, &s, sizeof s) == 0);
	int copy = dup(fd);
	memset(&got, 0, sizeof got);
	CHECK(sessions_lookup(copy, &got) == 0);
	CHECK(host_of(&got) == 1);
	close(copy);
	close(fd);
}

static void test_another_socket_on_the_same_number_is_not_found(void)
{
	struct intercepted_socket got;
	int fd = bound_socket();
	struct intercepted_socket s = session_of(fd, 2);
	sessions_record(fd, &s);
	close(fd);
	int again = bound_socket();
	CHECK(again == fd); /* the lowest number free: the one just closed */
	CHECK(sessions_lookup(again, &got) < 0);
	close(again);
}

static void test_a_socket_whose_own_address_differs_is_not_found(void)
{
	/* what a reused inode number looks like from here: the entry's inode
	 * matches, the socket is another (another local address) */
	struct intercepted_socket got;
	int fd = bound_socket();
	struct intercepted_socket s = session_of(fd, 3);
	((struct sockaddr_in *)&s.local)->sin_port ^= htons(1);
	sessions_record(fd, &s);
	CHECK(sessions_lookup(fd, &got) < 0);
	close(fd);
}

static void test_what_is_not_a_socket_is_never_a_session(void)
{
	struct intercepted_socket got;
	int p[2];
	CHECK(pipe(p) == 0);
	struct intercepted_socket s = session_of(p[0], 4);
	sessions_record(p[0], &s);
	CHECK(sessions_lookup(p[0], &got) < 0);
	CHECK(sessions_lookup(-1, &got) < 0);
	close(p[0]);
	close(p[1]);
}

/* Writers record one socket's session over and over while readers look
 * it up: every copy read is one whole session.  Each record differs from
 * the last in all its parts: the destination's host, the listener's
 * length and every byte of the listener's address are one number, so a
 * copy made while a writer was half done shows.  Time-bounded, so that a
 * broken sequence lock is caught on a slow machine too. */
#define RACE_WRITERS 2 /* no more threads than a small machine's cores: */
#define RACE_READERS 1 /* they race rather than take turns */
#define RACE_MS 1000   /* a write is short: a broken lock shows tens of times in this */
static int racing_fd;
static atomic_int racing_done, torn, seen;

static struct intercepted_socket racing_session(int host)
{
	struct intercepted_socket s = session_of(racing_fd, host);
	memset(&s.listener, host, sizeof s.listener);
	return s;
}

static int is_whole(const struct intercepted_socket *s)
{
	int host = host_of(s);
	const unsigned char *l = (const unsigned char *)&s->listener;
	if ((int)s->listenerlen != host || s->dstlen != sizeof(struct sockaddr_in))
		return 0;
	for (size_t i = 0; i < sizeof s->listener; i++)
		if (l[i] != host)
			return 0;
	return 1;
}

static struct intercepted_socket racing_sessions[250]; /* hosts 1 to 250, made once */

static void *racing_writer(void *arg)
{
	long w = (long)arg;
	for (int i = 0; !atomic_load_explicit(&racing_done, memory_order_relaxed); i++)
		sessions_record(racing_fd, &racing_sessions[(w * 83 + i) % 250]);
	return NULL;
}

static void *racing_reader(void *arg)
{
	(void)arg;
	struct intercepted_socket got;
	while (!atomic_load_explicit(&racing_done, memory_order_relaxed)) {
		if (sessions_lookup(racing_fd, &got) < 0)
			continue;
		atomic_fetch_add(&seen, 1);
		if (!is_whole(&got))
			atomic_fetch_add(&torn, 1);
	}
	return NULL;
}

static void test_an_entry_is_never_read_half_written(void)
{
	racing_fd = bound_socket();
	struct intercepted_socket probe = racing_session(7);
	CHECK(is_whole(&probe)); /* the check itself tells a mix apart */
	((unsigned char *)&probe.listener)[64] = 8;
	CHECK(!is_whole(&probe));
	for (int h = 1; h <= 250; h++)
		racing_sessions[h - 1] = racing_session(h);

	race_run(racing_writer, RACE_WRITERS, racing_reader, RACE_READERS, RACE_MS, &racing_done);
	CHECK(atomic_load(&seen) > 1000);
	CHECK(atomic_load(&torn) == 0);
	if (atomic_load(&torn))
		fprintf(stderr, "%d of %d sessions read were torn\n", atomic_load(&torn),
			atomic_load(&seen));
	close(racing_fd);
}

static void test_the_table_is_bounded(void)
{
	/* many more sockets open at once than the table holds: the oldest
	 * give way, the newest are found */
	enum { N = 400 };
	static int fds[N];
	struct intercepted_socket got;
	for (int i = 0; i < N; i++) {
		fds[i] = bound_socket();
		struct intercepted_socket s = session_of(fds[i], 100 + i % 100);
		sessions_record(fds[i], &s);
	}
	CHECK(sessions_lookup(fds[0], &got) < 0);
	CHECK(sessions_lookup(fds[N - 1], &got) == 0 && host_of(&got) == 100 + (N - 1) % 100);
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

int main(void)
{
	test_nothing_is_found_before_a_first_session();
	test_a_recorded_socket_is_found_also_through_dup();
	test_another_socket_on_the_same_number_is_not_found();
	test_a_socket_whose_own_address_differs_is_not_found();
	test_what_is_not_a_socket_is_never_a_session();
	test_an_entry_is_never_read_half_written();
	test_the_table_is_bounded();
	return check_done("test_sessions");
}
