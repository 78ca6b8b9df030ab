/* The filter's message-content scanner skips inside lines with memchr; it
 * must decide exactly as a plain byte-by-byte reading of the same rules
 * would, however the content is cut into reads. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data_scan_check.h"

static size_t random_read(void *seed)
{
	return 1 + (size_t)rand_r(seed) % 40;
}

static void test_scanner_agrees_with_the_byte_by_byte_rules(void)
{
	static const char alphabet[] = "\r\n.\r\n.ab";
	unsigned seed = 12345;
	int disagreements = 0, refused_at_cr = 0;
	for (int round = 0; round < 20000; round++) {
		char in[64];
		size_t n = 1 + (size_t)rand_r(&seed) % sizeof in;
		for (size_t i = 0; i < n; i++)
			in[i] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
		long want = data_reference(in, n);
		long got = data_through_filter(in, n, random_read, &seed);
		long in_place = data_in_place(in, n, random_read, &seed);
		if ((want != got || !in_place_agrees(want, in_place)) && disagreements++ < 3)
			fprintf(stderr, "round %d: reference %ld, filter %ld, in place %ld\n", round,
				want, got, in_place);
		refused_at_cr += want < 0 && in[-want - 1] == '\r';
	}
	CHECK(disagreements == 0);
	CHECK(refused_at_cr > 100); /* the rounds did cover bare-CR "." lines */
}

static size_t whole_read(void *unused)
{
	(void)unused;
	return 1 << 20;
}

/* What follows the end in the same read is commands: a BDAT there is
 * refused and a DATA waits for its reply, and neither moves the end the
 * driver finds (both came up in fuzz_filter's scanner mode). */
static void test_commands_after_the_end_leave_the_end_where_it_is(void)
{
	static const char *const contents[] = {
		"x\r\n.\r\nBDAT 5 LAST\r\n",
		"x\r\n.\r\nNOOP\r\nDATA\r\nmore\r\n",
	};
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(contents[i]);
		CHECK(data_reference(contents[i], n) == 6);
		CHECK(data_through_filter(contents[i], n, whole_read, NULL) == 6);
	}
}

int main(void)
{
	test_scanner_agrees_with_the_byte_by_byte_rules();
	test_commands_after_the_end_leave_the_end_where_it_is();
	return check_done("test_filter_data");
}
