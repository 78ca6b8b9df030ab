/* The relay's queues: a read's room at the tail, and when the queued
 * bytes move back to the front to make it. */
#include "tools/relay/buf.h"
#include "check.h"

static struct buf b;

/* A queue read full, then `sent` bytes of it consumed. */
static void full_then_sent(size_t sent)
{
	size_t room;
	memset(&b, 0, sizeof b);
	char *p = buf_tail(&b, &room);
	for (size_t i = 0; i < room; i++)
		p[i] = (char)(i % 251);
	buf_added(&b, room);
	buf_consume(&b, sent);
}

static void test_a_full_queue_being_sent_is_not_moved_for_a_read(void)
{
	/* One TLS record out of a full queue: moving the 48 KiB behind it
	 * for 16 KiB of room is what copied a large message three times. */
	full_then_sent(16384);
	size_t room;
	buf_tail(&b, &room);
	CHECK(room == 0 && buf_tail_room(&b) == 0);
	CHECK(b.start == 16384 && b.len == BUF_CAP - 16384);
}

static void test_a_small_rest_moves_to_the_front_whole(void)
{
	size_t rest = 100, room;
	full_then_sent(BUF_CAP - rest);
	CHECK(buf_tail_room(&b) == BUF_CAP - rest);
	char *p = buf_tail(&b, &room);
	CHECK(room == BUF_CAP - rest && p == b.d + rest && b.start == 0);
	int same = 1;
	for (size_t i = 0; i < rest; i++)
		same &= b.d[i] == (char)((BUF_CAP - rest + i) % 251);
	CHECK(same);
}

static void test_an_emptied_queue_starts_over_at_its_front(void)
{
	full_then_sent(BUF_CAP);
	CHECK(b.start == 0 && b.len == 0 && buf_tail_room(&b) == BUF_CAP);
}

static void test_room_at_the_tail_is_used_where_it_is(void)
{
	size_t room;
	memset(&b, 0, sizeof b);
	buf_tail(&b, &room);
	buf_added(&b, 1000);
	buf_consume(&b, 10);
	char *p = buf_tail(&b, &room);
	CHECK(p == b.d + 1000 && room == BUF_CAP - 1000 && buf_tail_room(&b) == room);
}

static void test_an_append_always_finds_the_room_buf_room_promised(void)
{
	full_then_sent(40000);
	CHECK(buf_room(&b) == 40000);
	char x[40000];
	memset(x, 'x', sizeof x);
	buf_append(&b, x, sizeof x);
	CHECK(b.len == BUF_CAP && b.start == 0 && b.d[BUF_CAP - 1] == 'x');
}

int main(void)
{
	test_a_full_queue_being_sent_is_not_moved_for_a_read();
	test_a_small_rest_moves_to_the_front_whole();
	test_an_emptied_queue_starts_over_at_its_front();
	test_room_at_the_tail_is_used_where_it_is();
	test_an_append_always_finds_the_room_buf_room_promised();
	return check_done("buf");
}
