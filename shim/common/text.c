#include "text.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int text_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int text_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

int text_parse_port(const char *s, uint16_t *out)
{
	unsigned long v;
	if (text_parse_ulong(s, 1, 65535, &v) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

char *text_trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int copy_host(const char *s, size_t n, char *host, size_t hostlen)
{
	if (n >= hostlen)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

int text_split_host_port(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon;

	if (*s == '[') {
		const char *end = strchr(s, ']');
		if (!end || copy_host(s + 1, (size_t)(end - s - 1), host, hostlen) < 0)
			return -1;
		if (!end[1])
			return 0;
		return end[1] == ':' ? text_parse_port(end + 2, port) : -1;
	}
	colon = strchr(s, ':');
	if (!colon || strchr(colon + 1, ':'))
		return copy_host(s, strlen(s), host, hostlen);
	if (copy_host(s, (size_t)(colon - s), host, hostlen) < 0)
		return -1;
	return text_parse_port(colon + 1, port);
}

void text_join_host_port(const char *host, uint16_t port, char *buf, size_t len)
{
	int v6 = strchr(host, ':') != NULL;
	if (port)
		snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", host, port);
	else
		snprintf(buf, len, v6 ? "[%s]" : "%s", host);
}

int text_is_host(const char *s)
{
	unsigned char buf[16];
	if (strchr(s, ':'))
		return inet_pton(AF_INET6, s, buf) == 1;
	if (!*s || *s == '-' || *s == '.')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_'))
			return 0;
	return 1;
}
