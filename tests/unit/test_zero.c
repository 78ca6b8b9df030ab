/* zero_lazily clears what is not zero and leaves zero pages unwritten:
 * a session forked from the relay server must not copy them. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tools/relay/zero.h"
#include "check.h"

#define PAGES 4

static int all_zero(const unsigned char *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static void test_bytes_anywhere_are_cleared_and_nothing_beyond(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = PAGES * page;
	unsigned char *m = malloc(n + 2);
	/* Lone bytes at the edges of the range and of its pages, and a page
	 * whose only non-zero byte is its last. */
	size_t at[] = {1, 2, page - 1, page, 2 * page + 7, 3 * page - 1, n};
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		memset(m, 0, n + 2);
		m[0] = m[n + 1] = 0xAA;
		m[at[i]] = 0x55;
		zero_lazily(m + 1, n);
		CHECK(all_zero(m + 1, n));
		CHECK(m[0] == 0xAA && m[n + 1] == 0xAA);
	}
	free(m);
}

static void test_zero_pages_are_not_written(void)
{
	/* Read-only: a write to any of these pages would end the test. */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *m = mmap(NULL, PAGES * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	zero_lazily(m + 3, PAGES * page - 5);
	zero_lazily(m, PAGES * page);
	CHECK(all_zero(m, PAGES * page));
	munmap(m, PAGES * page);
}

static void test_give_back_clears_whole_pages_only(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *m = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	memset(m, 0x55, PAGES * page);
	/* From inside the first page to inside the last: the two between. */
	zero_give_back(m + 1, PAGES * page - 2);
	CHECK(all_zero(m + page, (PAGES - 2) * page));
	CHECK(m[0] == 0x55 && m[page - 1] == 0x55);
	CHECK(m[(PAGES - 1) * page] == 0x55 && m[PAGES * page - 1] == 0x55);
	/* Less than a page: nothing. */
	memset(m, 0x55, PAGES * page);
	zero_give_back(m + 1, page);
	CHECK(m[1] == 0x55 && m[page] == 0x55);
	munmap(m, PAGES * page);
}

int main(void)
{
	test_bytes_anywhere_are_cleared_and_nothing_beyond();
	test_zero_pages_are_not_written();
	test_give_back_clears_whole_pages_only();
	return check_done("zero");
}
