#include "zero.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The smallest page size in use: on a larger one a page is merely tested
 * in several steps. */
#define PAGE 4096u

void zero_lazily(void *p, size_t n)
{
	unsigned char *c = p, *end = c + n;

	while (c < end) {
		size_t to_page_end = PAGE - (uintptr_t)c % PAGE;
		size_t len = (size_t)(end - c) < to_page_end ? (size_t)(end - c) : to_page_end;

		/* All zero when the first byte is and each equals the next. */
		if (c[0] != 0 || memcmp(c, c + 1, len - 1) != 0)
			memset(c, 0, len);
		c += len;
	}
}

void zero_give_back(void *p, size_t n)
{
	/* The real page size: a range rounded to less would have the kernel
	 * clear the rest of a larger page, with whatever else lives there. */
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t to = ((uintptr_t)p + n) & ~(page - 1);
	if (to > from)
		madvise((void *)from, to - from, MADV_DONTNEED);
}
