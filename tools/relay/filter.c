#include "filter.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* Replies the relay gives itself; room for them is kept in to_app. */
#define LOCAL_REPLY_MAX 128
static const char reply_no_starttls[] =
	"502 5.5.1 smtpshim: STARTTLS is not available, the connection is already encrypted\r\n";
static const char reply_line_too_long[] = "500 5.5.2 smtpshim: command line too long\r\n";

/* Extensions the app must not see (see filter.h). */
static const char *const hidden_keywords[] = {"STARTTLS", "CHUNKING", "BINARYMIME"};

void filter_init(struct filter *f, int expect_greeting)
{
	memset(f, 0, sizeof *f);
	reply_parser_init(&f->parser);
	if (expect_greeting)
		f->queue[f->q_len++].kind = PEND_REPLY;
}

int filter_busy(const struct filter *f)
{
	return f->q_len > 0 || f->app != APP_COMMAND;
}

static void flush_local(struct filter *f, struct buf *to_app)
{
	while (f->q_len && f->queue[f->q_head].kind == PEND_LOCAL) {
		const char *r = f->queue[f->q_head].local;
		buf_append(to_app, r, strlen(r));
		f->q_head = (f->q_head + 1) % FILTER_PENDING_MAX;
		f->q_len--;
	}
}

static void enqueue(struct filter *f, enum pending_kind kind, const char *local,
		    struct buf *to_app)
{
	struct pending *p = &f->queue[(f->q_head + f->q_len) % FILTER_PENDING_MAX];
	p->kind = kind;
	p->local = local;
	f->q_len++;
	flush_local(f, to_app);
}

/* The command word, upper-cased, for comparisons. */
static void verb_of(const char *line, size_t len, char *verb, size_t vlen)
{
	size_t i = 0;
	while (i < len && i + 1 < vlen && line[i] != ' ' && line[i] != '\r' && line[i] != '\n') {
		char c = line[i];
		verb[i++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	verb[i] = '\0';
}

static void command(struct filter *f, struct buf *to_server, struct buf *to_app)
{
	char verb[16];

	/* After a 334 the app's line is a SASL response, not a command: it
	 * holds a secret and must not be read as a verb. */
	if (f->sasl_response) {
		log_lines("C:", "*** (SASL response)", 19);
		buf_append(to_server, f->line, f->line_len);
		enqueue(f, PEND_REPLY, NULL, to_app);
		return;
	}
	verb_of(f->line, f->line_len, verb, sizeof verb);
	if (!strcmp(verb, "AUTH")) {
		char shown[64];
		const char *mech = f->line + 4 + (f->line_len > 4);
		int n = snprintf(shown, sizeof shown, "AUTH %.*s ***", (int)strcspn(mech, " \r\n"), mech);
		log_lines("C:", shown, n > 0 ? (size_t)n : 0);
	} else {
		log_lines("C:", f->line, f->line_len);
	}

	if (!strcmp(verb, "STARTTLS")) {
		enqueue(f, PEND_LOCAL, reply_no_starttls, to_app);
		return;
	}
	buf_append(to_server, f->line, f->line_len);
	if (!strcmp(verb, "EHLO")) {
		enqueue(f, PEND_EHLO, NULL, to_app);
	} else if (!strcmp(verb, "DATA")) {
		enqueue(f, PEND_DATA, NULL, to_app);
		f->app = APP_WAIT_DATA_REPLY;
	} else {
		enqueue(f, PEND_REPLY, NULL, to_app);
	}
}

/* Message content passes untouched; we only watch for CRLF "." CRLF.
 * data_state: 0 inside a line, 1 after CR, 2 at a line start, 3 after
 * "." at a line start, 4 after ".\r".  Bare LF does not end a line here,
 * as RFC 5321 section 4.1.1.4 has it. */
static size_t data(struct filter *f, const char *in, size_t n, struct buf *to_server)
{
	size_t room = buf_room(to_server), i;
	if (n > room)
		n = room;
	for (i = 0; i < n; i++) {
		char c = in[i];
		int s = f->data_state;
		if (c == '\r')
			s = s == 3 ? 4 : 1;
		else if (c == '\n' && s == 4) {
			i++;
			f->app = APP_COMMAND;
			f->data_state = 0;
			break;
		} else if (c == '\n')
			s = s == 1 ? 2 : 0;
		else if (c == '.' && s == 2)
			s = 3;
		else
			s = 0;
		f->data_state = s;
	}
	buf_append(to_server, in, i);
	if (f->app == APP_COMMAND)
		f->queue[(f->q_head + f->q_len++) % FILTER_PENDING_MAX].kind = PEND_REPLY;
	return i;
}

size_t filter_from_app(struct filter *f, const char *in, size_t n, struct buf *to_server,
		       struct buf *to_app)
{
	size_t used = 0;

	while (used < n) {
		if (f->app == APP_WAIT_DATA_REPLY)
			break;
		if (f->app == APP_DATA) {
			if (f->q_len == FILTER_PENDING_MAX)
				break;
			size_t k = data(f, in + used, n - used, to_server);
			if (!k)
				break;
			used += k;
			continue;
		}
		if (f->q_len == FILTER_PENDING_MAX || buf_room(to_server) < FILTER_LINE_MAX ||
		    buf_room(to_app) < LOCAL_REPLY_MAX * 2)
			break;
		const char *nl = memchr(in + used, '\n', n - used);
		size_t take = nl ? (size_t)(nl - (in + used)) + 1 : n - used;
		if (f->line_too_long || f->line_len + take > FILTER_LINE_MAX) {
			f->line_too_long = 1;
			f->line_len = 0;
			used += take;
			if (nl) {
				f->line_too_long = 0;
				enqueue(f, PEND_LOCAL, reply_line_too_long, to_app);
			}
			continue;
		}
		memcpy(f->line + f->line_len, in + used, take);
		f->line_len += take;
		used += take;
		if (nl) {
			command(f, to_server, to_app);
			f->line_len = 0;
		}
	}
	return used;
}

static int hidden(const char *text, size_t len)
{
	for (size_t k = 0; k < sizeof hidden_keywords / sizeof hidden_keywords[0]; k++) {
		size_t kl = strlen(hidden_keywords[k]);
		if (len >= kl && !strncasecmp(text, hidden_keywords[k], kl) &&
		    (len == kl || text[kl] == ' '))
			return 1;
	}
	return 0;
}

/* Re-emits an EHLO reply without the hidden extensions, fixing up the
 * "250-" / "250 " continuation marks.  The first line (the server's name)
 * always stays. */
static void rewrite_ehlo(const struct smtp_reply *r, struct buf *to_app)
{
	size_t keep[SMTP_REPLY_LINES], nkeep = 0;
	for (size_t i = 0; i < r->nlines; i++) {
		const char *t;
		size_t len;
		reply_line_text(r, i, &t, &len);
		if (i == 0 || !hidden(t, len))
			keep[nkeep++] = i;
	}
	for (size_t k = 0; k < nkeep; k++) {
		const char *t;
		size_t len;
		char head[5];
		reply_line_text(r, keep[k], &t, &len);
		snprintf(head, sizeof head, "%03d%c", r->code, k + 1 < nkeep ? '-' : ' ');
		buf_append(to_app, head, 4);
		buf_append(to_app, t, len);
		buf_append(to_app, "\r\n", 2);
	}
}

static void reply(struct filter *f, struct buf *to_app)
{
	const struct smtp_reply *r = &f->parser.reply;
	enum pending_kind kind = PEND_REPLY;

	/* Nothing pending: an unsolicited reply (a 421 before closing),
	 * passed on as it came. */
	if (f->q_len) {
		kind = f->queue[f->q_head].kind;
		f->q_head = (f->q_head + 1) % FILTER_PENDING_MAX;
		f->q_len--;
	}
	log_lines("S:", r->raw, r->len);
	f->sasl_response = r->code == 334;
	if (kind == PEND_EHLO && r->code == 250)
		rewrite_ehlo(r, to_app);
	else
		buf_append(to_app, r->raw, r->len);
	if (kind == PEND_DATA) {
		f->app = r->code == 354 ? APP_DATA : APP_COMMAND;
		f->data_state = 2; /* the DATA command's CRLF starts the first line */
	}
	flush_local(f, to_app);
}

size_t filter_from_server(struct filter *f, const char *in, size_t n, struct buf *to_app)
{
	size_t used = 0;

	/* A whole reply plus queued local replies must fit before we take it. */
	while (used < n && buf_room(to_app) >= SMTP_REPLY_MAX + LOCAL_REPLY_MAX * FILTER_PENDING_MAX) {
		size_t k;
		enum reply_status st = reply_parser_feed(&f->parser, in + used, n - used, &k);
		used += k;
		if (st == REPLY_ERROR) {
			snprintf(f->error, sizeof f->error, "%s", f->parser.error);
			return (size_t)-1;
		}
		if (st == REPLY_MORE)
			break;
		reply(f, to_app);
	}
	return used;
}
