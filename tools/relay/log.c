#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int verbose;

void log_init(int v)
{
	verbose = v;
}

int log_verbose(void)
{
	return verbose;
}

void log_info(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	if (!verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "smtpshim[%d]: %s\n", (int)getpid(), msg);
}

static void log_line(const char *who, const char *line, size_t len)
{
	char out[600];
	size_t o = 0;
	if (!verbose)
		return;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len && o + 5 < sizeof out; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
	}
	out[o] = '\0';
	log_info("%s %s", who, out);
}

void log_lines(const char *who, const char *text, size_t len)
{
	while (verbose && len) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) + 1 : len;
		log_line(who, text, n);
		text += n;
		len -= n;
	}
}
