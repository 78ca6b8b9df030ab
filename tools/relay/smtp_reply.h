/* Incremental parser for SMTP replies (RFC 5321 section 4.2): one or more
 * "DDD-text" lines ending with a "DDD text" line.  Sizes are capped so a
 * hostile server cannot make the relay grow without bound. */
#ifndef SMTPSHIM_SMTP_REPLY_H
#define SMTPSHIM_SMTP_REPLY_H

#include <stddef.h>

#define SMTP_LINE_MAX 2048   /* RFC 5321 allows 512; be lenient, not unbounded */
#define SMTP_REPLY_MAX 16384 /* a long EHLO answer fits many times over */
#define SMTP_REPLY_LINES 128

struct smtp_reply {
	int code;
	size_t nlines;
	size_t len;
	size_t line_at[SMTP_REPLY_LINES]; /* offset of each line in raw */
	char raw[SMTP_REPLY_MAX];         /* the exact bytes received */
};

enum reply_status { REPLY_MORE, REPLY_DONE, REPLY_ERROR };

struct reply_parser {
	size_t line_len;    /* bytes of the line being read */
	int done;           /* reply is complete; the next feed starts anew */
	char error[128];    /* set on REPLY_ERROR */
	struct smtp_reply reply; /* last: a short reply writes its first page only */
};

void reply_parser_init(struct reply_parser *p);

/* Consumes bytes up to the end of one complete reply.  *used tells how
 * many; on REPLY_DONE p->reply holds it until the next call, which starts
 * a fresh one.  REPLY_ERROR is final: the stream is not SMTP. */
enum reply_status reply_parser_feed(struct reply_parser *p, const char *buf, size_t n,
				    size_t *used);

/* Line i without code, separator and line ending. */
void reply_line_text(const struct smtp_reply *r, size_t i, const char **text, size_t *len);

/* True when some line of an EHLO reply announces the extension keyword
 * (the line's first word, compared whole and without case). */
int reply_has_keyword(const struct smtp_reply *r, const char *keyword);

/* The reply on one line for messages: "554 5.7.1 go away / second line",
 * non-printable bytes replaced. */
void reply_summary(const struct smtp_reply *r, char *buf, size_t len);

#endif
