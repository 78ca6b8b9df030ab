/* Clearing a session's static state without copying zero pages. */
#ifndef SMTPSHIM_ZERO_H
#define SMTPSHIM_ZERO_H

#include <stddef.h>

/* Sets n bytes at p to zero, writing only the pages that are not zero
 * already.  A relay forked from the relay server starts with its large
 * static structures (filter, session, attempts) still untouched: they map
 * the kernel's shared zero page, and reading them costs nothing.  memset
 * would write every page and give each held session its own copy of all of
 * them, about 100 KiB of private memory that holds only zeros. */
void zero_lazily(void *p, size_t n);

#endif
