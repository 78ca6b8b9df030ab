#include "zero.h"

#include <stdint.h>
#include <string.h>

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
