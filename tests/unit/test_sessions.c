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
#include <sys/socket.h>
#include <unistd.h>

#include "shim/sessions.h"
#include "check.h"

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
static struct session session_of(int fd, int host)
{
	struct session s;
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

static int host_of(const struct session *s)
{
	return (int)(ntohl(((const struct sockaddr_in *)&s->dst)->sin_addr.s_addr) & 0xff);
}

static void test_nothing_is_found_before_a_first_session(void)
{
	struct session got;
	int fd = bound_socket();
	CHECK(sessions_lookup(fd, &got) < 0);
	close(fd);
}

static void test_a_recorded_socket_is_found_also_through_dup(void)
{
	struct session got;
	int fd = bound_socket();
	struct session s = session_of(fd, 1);
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
	struct session got;
	int fd = bound_socket();
	struct session s = session_of(fd, 2);
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
	struct session got;
	int fd = bound_socket();
	struct session s = session_of(fd, 3);
	((struct sockaddr_in *)&s.local)->sin_port ^= htons(1);
	sessions_record(fd, &s);
	CHECK(sessions_lookup(fd, &got) < 0);
	close(fd);
}

static void test_what_is_not_a_socket_is_never_a_session(void)
{
	struct session got;
	int p[2];
	CHECK(pipe(p) == 0);
	struct session s = session_of(p[0], 4);
	sessions_record(p[0], &s);
	CHECK(sessions_lookup(p[0], &got) < 0);
	CHECK(sessions_lookup(-1, &got) < 0);
	close(p[0]);
	close(p[1]);
}

/* Writers record one socket's session over and over, each with its own
 * destination, while a reader looks it up: every copy read is one whole
 * session, its destination and listener length from the same record. */
static int racing_fd;
static atomic_int racing_done, torn, seen;

static void *racing_writer(void *arg)
{
	struct session s = session_of(racing_fd, 10 + (int)(long)arg);
	for (int i = 0; i < 20000; i++)
		sessions_record(racing_fd, &s);
	return NULL;
}

static void *racing_reader(void *arg)
{
	(void)arg;
	struct session got;
	while (!atomic_load(&racing_done)) {
		if (sessions_lookup(racing_fd, &got) < 0)
			continue;
		atomic_fetch_add(&seen, 1);
		if (host_of(&got) != (int)got.listenerlen || got.dstlen != sizeof(struct sockaddr_in))
			atomic_fetch_add(&torn, 1);
	}
	return NULL;
}

static void test_an_entry_is_never_read_half_written(void)
{
	pthread_t w[4], r[2];
	racing_fd = bound_socket();
	for (long i = 0; i < 2; i++)
		pthread_create(&r[i], NULL, racing_reader, NULL);
	for (long i = 0; i < 4; i++)
		pthread_create(&w[i], NULL, racing_writer, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(w[i], NULL);
	atomic_store(&racing_done, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	CHECK(atomic_load(&seen) > 0);
	CHECK(atomic_load(&torn) == 0);
	close(racing_fd);
}

static void test_the_table_is_bounded(void)
{
	/* many more sockets open at once than the table holds: the oldest
	 * give way, the newest are found */
	enum { N = 400 };
	static int fds[N];
	struct session got;
	for (int i = 0; i < N; i++) {
		fds[i] = bound_socket();
		struct session s = session_of(fds[i], 100 + i % 100);
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
