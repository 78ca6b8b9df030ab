/* Small string helpers without allocation, safe in the host process. */
#ifndef SMTPSHIM_TEXT_H
#define SMTPSHIM_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Formats a message into err as snprintf does; returns -1, for
 * `return text_error(err, errlen, ...)`. */
__attribute__((format(printf, 3, 4)))
int text_error(char *err, size_t errlen, const char *fmt, ...);

/* Decimal in [min, max], nothing else around it. */
int text_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* 1-65535. */
int text_parse_port(const char *s, uint16_t *out);

/* Strips leading and trailing blanks in place. */
char *text_trim(char *s);

/* "host", "host:port", "[v6]" or "[v6]:port"; port stays untouched when
 * absent.  A bare IPv6 address (two colons or more) is a host alone. */
int text_split_host_port(const char *s, char *host, size_t hostlen, uint16_t *port);

/* A DNS name (letters, digits, '-', '.', '_'), an IPv4 address or an IPv6
 * address: what may stand for a server, and nothing that would not
 * survive being written back as "host:port". */
int text_is_host(const char *s);

/* The inverse: brackets an IPv6 host; port 0 is left out. */
void text_join_host_port(const char *host, uint16_t port, char *buf, size_t len);

#endif
