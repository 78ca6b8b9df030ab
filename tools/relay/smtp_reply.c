#include "smtp_reply.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void reply_parser_init(struct reply_parser *p)
{
	p->reply.code = 0;
	p->reply.nlines = 0;
	p->reply.len = 0;
	p->line_len = 0;
	p->done = 0;
	p->error[0] = '\0';
}

static enum reply_status parse_error(struct reply_parser *p, const char *why)
{
	snprintf(p->error, sizeof p->error, "%s", why);
	return REPLY_ERROR;
}

static int digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Checks the line that just ended; returns 1 when it was the last. */
static int end_line(struct reply_parser *p, enum reply_status *st)
{
	struct smtp_reply *r = &p->reply;
	const char *line = r->raw + r->len - p->line_len;
	size_t n = p->line_len - 1; /* without '\n' */
	if (n && line[n - 1] == '\r')
		n--;
	*st = REPLY_MORE;
	if (n < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) ||
	    (n > 3 && line[3] != ' ' && line[3] != '-')) {
		*st = parse_error(p, "reply line does not start with a 3-digit code");
		return 1;
	}
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines && code != r->code) {
		*st = parse_error(p, "reply lines disagree on the reply code");
		return 1;
	}
	if (r->nlines == SMTP_REPLY_LINES) {
		*st = parse_error(p, "reply has too many lines");
		return 1;
	}
	r->code = code;
	r->line_at[r->nlines++] = (size_t)(line - r->raw);
	p->line_len = 0;
	if (n == 3 || line[3] == ' ') {
		*st = REPLY_DONE;
		return 1;
	}
	return 0;
}

enum reply_status reply_parser_feed(struct reply_parser *p, const char *buf, size_t n,
				    size_t *used)
{
	struct smtp_reply *r = &p->reply;
	enum reply_status st = REPLY_MORE;
	size_t i = 0;

	if (p->error[0])
		return REPLY_ERROR;
	if (p->done) {
		r->nlines = 0;
		r->len = 0;
		p->done = 0;
	}
	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t take = nl ? (size_t)(nl - (buf + i)) + 1 : n - i;
		if (p->line_len + take > SMTP_LINE_MAX) {
			*used = i;
			return parse_error(p, "reply line too long");
		}
		if (r->len + take > SMTP_REPLY_MAX) {
			*used = i;
			return parse_error(p, "reply too long");
		}
		memcpy(r->raw + r->len, buf + i, take);
		r->len += take;
		p->line_len += take;
		i += take;
		if (nl && end_line(p, &st))
			break;
	}
	*used = i;
	p->done = st == REPLY_DONE;
	return st;
}

void reply_line_text(const struct smtp_reply *r, size_t i, const char **text, size_t *len)
{
	size_t start = r->line_at[i];
	size_t end = i + 1 < r->nlines ? r->line_at[i + 1] : r->len;
	while (end > start && (r->raw[end - 1] == '\n' || r->raw[end - 1] == '\r'))
		end--;
	start += end - start > 3 ? 4 : end - start;
	*text = r->raw + start;
	*len = end - start;
}

int reply_has_keyword(const struct smtp_reply *r, const char *keyword)
{
	size_t klen = strlen(keyword);
	for (size_t i = 0; i < r->nlines; i++) {
		const char *t;
		size_t n;
		reply_line_text(r, i, &t, &n);
		if (n >= klen && !strncasecmp(t, keyword, klen) && (n == klen || t[klen] == ' '))
			return 1;
	}
	return 0;
}

void reply_summary(const struct smtp_reply *r, char *buf, size_t len)
{
	size_t out = 0;
	if (!len)
		return;
	for (size_t i = 0; i < r->nlines && out + 1 < len; i++) {
		const char *t;
		size_t n;
		reply_line_text(r, i, &t, &n);
		int w = snprintf(buf + out, len - out, i ? " / " : "%03d ", r->code);
		if (w < 0 || (size_t)w >= len - out)
			break;
		out += (size_t)w;
		for (size_t k = 0; k < n && out + 1 < len; k++) {
			unsigned char ch = (unsigned char)t[k];
			buf[out++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		}
	}
	buf[out] = '\0';
}
