/* Clearing a session's static state without copying zero pages. */
#ifndef SMTPSHIM_ZERO_H
#define SMTPSHIM_ZERO_H

#include <stddef.h>

/* Sets n bytes at p to zero, writing only the pages that are not zero
 * already.  A relay forked from the relay server starts with its large
 * static structures (filter, session, attempts) still untouched: they map
 * the kernel's shared zero page, and reading them costs nothing.  memset
 * would write every page and give each held session its own copy of all of
 * them: 40 KiB of private memory per held session that held only zeros
 * (bench/run --only memory: 472 -> 432 KiB). */
void zero_lazily(void *p, size_t n);

/* A large static structure starting a page of its own: what a session
 * needs only while it is set up (the session text, the attempts, a reply
 * parser) is then given back whole by zero_give_back once the set-up is
 * over, and one whose busy fields come first writes as few pages as they
 * fill. */
#define ZERO_PAGE_ALIGNED __attribute__((aligned(4096)))

/* The pages that lie wholly inside [p, p + n) read as zero again and stop
 * counting in the process's memory (MADV_DONTNEED on private anonymous
 * memory, which .bss is). */
void zero_give_back(void *p, size_t n);

#endif
