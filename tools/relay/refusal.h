/* smtpshim's own 421, built in one place: "421 <status> smtpshim: <why>"
 * and CRLF, the reply every failure reaches the app as (design.md,
 * "Errors as 421 replies").  A cause too long for the buffer is cut, and
 * the reply still ends with its CRLF.  Header-only, so that `smtpshim
 * listen` (tools/wrapper/listen.c) builds its replies with it without linking the
 * relay. */
#ifndef SMTPSHIM_REFUSAL_H
#define SMTPSHIM_REFUSAL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Room for any 421 of ours: a cause of up to 1000 characters and more. */
#define REFUSAL_MAX 1200

/* Formats the reply into buf (size > 16) and returns its length. */
__attribute__((format(printf, 4, 5)))
static inline size_t refusal_format(char *buf, size_t size, const char *status,
				    const char *fmt, ...)
{
	int n = snprintf(buf, size - 2, "421 %s smtpshim: ", status);
	if (n >= 0 && (size_t)n < size - 3) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf + n, size - 2 - (size_t)n, fmt, ap);
		va_end(ap);
	}
	size_t len = strlen(buf);
	memcpy(buf + len, "\r\n", 3);
	return len + 2;
}

#endif
