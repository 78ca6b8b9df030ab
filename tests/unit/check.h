/* A minimal test harness: each test_*.c is one program; CHECK records a
 * failure with its line and goes on, check_done() prints the tally that
 * tests/run-unit adds up. */
#ifndef SMTPSHIM_CHECK_H
#define SMTPSHIM_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (cond) {                                                      \
			check_passed++;                                          \
		} else {                                                         \
			check_failed++;                                          \
			fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__, __LINE__, \
				__func__, #cond);                                \
		}                                                                \
	} while (0)

#define CHECK_STR(a, b)                                                          \
	do {                                                                     \
		const char *a_ = (a), *b_ = (b);                                 \
		if (strcmp(a_, b_) == 0) {                                       \
			check_passed++;                                          \
		} else {                                                         \
			check_failed++;                                          \
			fprintf(stderr, "%s:%d: %s: \"%s\" != \"%s\"\n", __FILE__, \
				__LINE__, __func__, a_, b_);                     \
		}                                                                \
	} while (0)

static inline int check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
	return check_failed != 0;
}

#endif
