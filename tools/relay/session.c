#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim/common/addr.h"
#include "shim/common/text.h"
#include "net.h"
#include "zero.h"

/* The '@' lines, in the order the shim writes them, each exactly once. */
static const char *const at_lines[] = {"@dest", "@name", "@client", "@program", "@end"};
#define AT_LINES (sizeof at_lines / sizeof at_lines[0])

static int bad(const char *line, char *err, size_t errlen)
{
	snprintf(err, errlen, "bad session line '%.80s'", line);
	return -2;
}

/* "PID NAME": a pid and one printable word, as the shim writes it. */
static int program_line(struct session *s, const char *v)
{
	unsigned long pid;
	char digits[16];
	size_t d = strspn(v, "0123456789");
	if (!*v)
		return 0;
	if (!d || d >= sizeof digits || v[d] != ' ')
		return -1;
	const char *name = v + d + 1;
	size_t len = strlen(name);
	if (!len || len > RELAY_PROGRAM_NAME_MAX)
		return -1;
	for (const char *p = name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return -1;
	memcpy(digits, v, d);
	digits[d] = '\0';
	if (text_parse_ulong(digits, 1, 0x7fffffff, &pid) < 0)
		return -1;
	s->program_pid = (int)pid;
	memcpy(s->program, name, len + 1);
	return 0;
}

/* The '@' line number k (its place in at_lines) with value v. */
static int session_line(struct session *s, size_t k, const char *line, const char *v, char *err,
			size_t errlen)
{
	socklen_t len;
	switch (k) {
	case 0:
		if (addr_parse(v, &s->dest, &s->dest_len) < 0)
			return bad(line, err, errlen);
		break;
	case 1:
		/* What the shim recorded from a resolver answer: a host name
		 * (or nothing), never anything else. */
		if (*v && (strlen(v) >= sizeof s->name || !text_is_host(v)))
			return bad(line, err, errlen);
		snprintf(s->name, sizeof s->name, "%s", v);
		break;
	case 2:
		if (*v && addr_parse(v, &s->client, &len) < 0)
			return bad(line, err, errlen);
		s->have_client = *v != '\0';
		break;
	case 3:
		if (program_line(s, v) < 0)
			return bad(line, err, errlen);
		break;
	default:
		if (*v || line[4])
			return bad(line, err, errlen);
	}
	return 0;
}

/* Where the text ends: just after its "@end\n" line, or NULL while that
 * has not come. */
static const char *end_of_text(const char *text, size_t used)
{
	for (const char *p = text; p < text + used;) {
		const char *nl = memchr(p, '\n', (size_t)(text + used - p));
		if (!nl)
			return NULL;
		if (nl - p == 4 && !memcmp(p, "@end", 4))
			return nl + 1;
		p = nl + 1;
	}
	return NULL;
}

/* Reads up to the "@end" line, not to the end of the stream: a copy of
 * the shim's end kept by a child the host forked meanwhile must not hold
 * us.  Whatever is there beyond it is refused. */
static int read_text(int fd, char *text, size_t cap, long long deadline, char *err,
		     size_t errlen)
{
	size_t used = 0;
	const char *end = NULL;

	net_set_nonblocking(fd);
	while (!end) {
		if (used == cap - 1) {
			snprintf(err, errlen, "session text longer than %zu bytes", cap - 1);
			return -1;
		}
		ssize_t n = net_read(fd, text + used, cap - 1 - used, deadline);
		if (n < 0) {
			snprintf(err, errlen, "%s", errno == ETIMEDOUT ? "no complete session text in time"
								       : strerror(errno));
			return -1;
		}
		if (n == 0) {
			snprintf(err, errlen, used ? "incomplete session text (no @end line)"
						   : "no session");
			return -1;
		}
		used += (size_t)n;
		end = end_of_text(text, used);
	}
	char more;
	if (end != text + used || read(fd, &more, 1) > 0) {
		snprintf(err, errlen, "session text goes on after its @end line");
		return -1;
	}
	text[used] = '\0';
	return 0;
}

/* The settings, then the '@' lines, of a text read whole. */
static int parse_text(char *text, struct session *s, char *err, size_t errlen)
{
	size_t next_at = 0; /* the '@' line expected next */

	for (char *line = text; next_at < AT_LINES;) {
		char *end = line + strcspn(line, "\n");
		*end = '\0';
		if (*line != '@') {
			/* Settings come first: after an '@' line, a setting could
			 * only have come from inside a value the shim wrote (a name
			 * from a resolver, say), never from the shim itself. */
			if (next_at)
				return bad(line, err, errlen);
			if (config_parse_text(&s->cfg, line, err, errlen) < 0)
				return -2;
		} else {
			size_t k = strlen(at_lines[next_at]);
			if (strncmp(line, at_lines[next_at], k) || (line[k] && line[k] != ' '))
				return bad(line, err, errlen);
			if (session_line(s, next_at, line, line[k] ? line + k + 1 : "", err, errlen) < 0)
				return -2;
			next_at++;
		}
		line = end + 1;
	}
	if (!s->dest_len) {
		snprintf(err, errlen, "session without destination");
		return -2;
	}
	return 0;
}

int session_read(int fd, struct session *s, long long deadline, char *err, size_t errlen)
{
	static char text[SESSION_TEXT_MAX + 1] ZERO_PAGE_ALIGNED;

	zero_lazily(s, sizeof *s);
	config_defaults_on_zero(&s->cfg);
	int rc = read_text(fd, text, sizeof text, deadline, err, errlen) < 0 ? -1
			: parse_text(text, s, err, errlen);
	zero_give_back(text, sizeof text);
	return rc;
}
