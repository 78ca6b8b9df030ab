#include "filter.h"
#include "filter_content.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "zero.h"

/* Replies the relay gives itself; room for them is kept in to_app. */
#define LOCAL_REPLY_MAX 128
static const char reply_no_starttls[] =
	"502 5.5.1 smtpshim: STARTTLS is not available, the connection is already encrypted\r\n";
static const char reply_line_too_long[] = "500 5.5.2 smtpshim: command line too long\r\n";
static const char reply_auth_ok[] =
	"235 2.7.0 Authentication successful (smtpshim has authenticated this session)\r\n";
static const char reply_auth_empty[] = "334 \r\n";
static const char reply_auth_user[] = "334 VXNlcm5hbWU6\r\n"; /* "Username:" */
static const char reply_auth_pass[] = "334 UGFzc3dvcmQ6\r\n"; /* "Password:" */
/* CRAM-MD5 and the like need a challenge to answer: "<1896.697170952@smtpshim>" */
static const char reply_auth_challenge[] = "334 PDE4OTYuNjk3MTcwOTUyQHNtdHBzaGltPg==\r\n";
static const char reply_auth_cancelled[] = "501 5.7.0 Authentication cancelled\r\n";
static const char reply_auth_syntax[] = "501 5.5.4 Syntax: AUTH mechanism\r\n";
static const char reply_rewrite_failed[] =
	"501 5.5.4 smtpshim: cannot rewrite this MAIL FROM command\r\n";

/* Causes of an app failure, for its 421 (see filter_from_app). */
static const char bdat_refused[] =
	"BDAT is refused: CHUNKING is not offered through smtpshim, and the chunk would be "
	"read as commands";

/* Extensions the app must not see (see filter.h); in a local session,
 * "AUTH" too: the relay has authenticated. */
static const char *const hidden_keywords[] = {"STARTTLS", "CHUNKING", "BINARYMIME", "AUTH"};
#define HIDDEN_ALWAYS 3

void filter_init(struct filter *f, int expect_greeting)
{
	zero_lazily(f, sizeof *f);
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
		if (buf_room(to_app) < strlen(r))
			return; /* later, when the app has read some */
		log_lines("S(local):", r, strlen(r));
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

/* The mechanism of an AUTH line (line, len: the whole line, "AUTH" and
 * its ending included), without reading past len; *initial tells whether
 * an initial response follows it. */
static size_t auth_mechanism(const char *line, size_t len, const char **mech, int *initial)
{
	const char *p = line + 4, *end = line + len;
	while (p < end && *p == ' ')
		p++;
	const char *m = p;
	while (p < end && *p != ' ' && *p != '\r' && *p != '\n')
		p++;
	size_t mlen = (size_t)(p - m);
	while (p < end && *p == ' ')
		p++;
	*mech = m;
	*initial = p < end && *p != '\r' && *p != '\n';
	return mlen;
}

/* "MAIL FROM:<old> params" -> "MAIL FROM:<new> params" in f->line.
 * The old path may be quoted ("a>b"@x) or, from sloppy clients, bare. */
static int rewrite_mail_from(struct filter *f)
{
	char out[FILTER_LINE_MAX];
	const char *l = f->line, *end = f->line + f->line_len;
	const char *p = l + 4;
	while (p < end && *p == ' ')
		p++;
	if (end - p < 5 || strncasecmp(p, "FROM:", 5))
		return -1;
	p += 5;
	while (p < end && *p == ' ')
		p++;
	const char *q = p;
	if (q < end && *q == '<') {
		int quoted = 0;
		for (q++; q < end && (quoted || *q != '>') && *q != '\r' && *q != '\n'; q++)
			if (*q == '"')
				quoted = !quoted;
		if (q == end || *q != '>')
			return -1;
		q++;
	} else {
		while (q < end && *q != ' ' && *q != '\r' && *q != '\n')
			q++;
	}
	int n = snprintf(out, sizeof out, "MAIL FROM:<%s>%.*s", f->envelope_from, (int)(end - q), q);
	if (n < 0 || (size_t)n >= sizeof out)
		return -1;
	memcpy(f->line, out, (size_t)n);
	f->line_len = (size_t)n;
	return 0;
}

/* An app AUTH in a local session: play the mechanism's exchange so a
 * client that waits for its 334 does not hang, and accept. */
static void local_auth(struct filter *f, struct buf *to_app)
{
	char mech[32];
	const char *m;
	int initial;
	size_t mlen = auth_mechanism(f->line, f->line_len, &m, &initial);
	verb_of(m, mlen, mech, sizeof mech);

	f->auth_left = 0;
	f->auth_seq[0] = f->auth_seq[1] = NULL;
	if (!mech[0]) {
		enqueue(f, PEND_LOCAL, reply_auth_syntax, to_app);
		return;
	}
	if (!strcmp(mech, "LOGIN")) {
		/* user (unless given), then password */
		if (initial) {
			f->auth_seq[0] = reply_auth_ok;
			f->auth_left = 1;
			enqueue(f, PEND_LOCAL, reply_auth_pass, to_app);
		} else {
			f->auth_seq[0] = reply_auth_pass;
			f->auth_seq[1] = reply_auth_ok;
			f->auth_left = 2;
			enqueue(f, PEND_LOCAL, reply_auth_user, to_app);
		}
	} else if (initial) {
		enqueue(f, PEND_LOCAL, reply_auth_ok, to_app);
	} else {
		f->auth_seq[0] = reply_auth_ok;
		f->auth_left = 1;
		enqueue(f, PEND_LOCAL, !strcmp(mech, "PLAIN") || !strcmp(mech, "XOAUTH2")
					       ? reply_auth_empty : reply_auth_challenge,
			to_app);
	}
}

/* Logs an app line -- unless it waited while AUTH replies were
 * outstanding: a client that pipelines its SASL responses may have sent
 * its password there, and once the server refuses the AUTH it reads that
 * line as a command; the client cannot take it back, and meant it as a
 * secret. */
static void log_command(const struct filter *f, const char *text, size_t len)
{
	static const char note[] = "*** (a line sent while AUTH replies were outstanding)";
	if (f->line_quiet)
		log_lines("C:", note, sizeof note - 1);
	else
		log_lines("C:", text, len);
}

/* After a 334 of our own (local_auth) the app's line is a SASL response,
 * not a command: it holds a secret and must not be read as a verb. */
static void local_sasl_response(struct filter *f, struct buf *to_app)
{
	static const char note[] = "*** (SASL response, answered locally)";
	log_lines("C:", note, sizeof note - 1);
	int step = f->auth_seq[1] && f->auth_left == 1 ? 1 : 0;
	int cancel = f->line_len >= 1 && f->line[0] == '*' &&
		     (f->line_len == 1 || f->line[1] == '\r' || f->line[1] == '\n');
	f->auth_left = cancel ? 0 : f->auth_left - 1;
	enqueue(f, PEND_LOCAL, cancel ? reply_auth_cancelled : f->auth_seq[step], to_app);
	if (!f->auth_left)
		f->auth_seq[0] = f->auth_seq[1] = NULL;
}

/* After the server's 334 the line is a SASL response for the server. */
static void server_sasl_response(struct filter *f, struct buf *to_server, struct buf *to_app)
{
	log_lines("C:", "*** (SASL response)", 19);
	buf_append(to_server, f->line, f->line_len);
	enqueue(f, PEND_AUTH, NULL, to_app);
	f->auth_replies++;
	f->sasl_next = 0;
}

/* Logs an AUTH line with its mechanism only: an initial response is a
 * secret.  Returns whether one follows the mechanism. */
static int log_auth(const struct filter *f)
{
	char shown[64];
	const char *mech;
	int initial;
	size_t mlen = auth_mechanism(f->line, f->line_len, &mech, &initial);
	int n = snprintf(shown, sizeof shown, "AUTH %.*s%s", mlen > 32 ? 32 : (int)mlen, mech,
			 initial ? " ***" : "");
	log_command(f, shown, n > 0 ? (size_t)n : 0);
	return initial;
}

/* EHLO or HELO in a local session: the server has seen the relay's EHLO
 * already, so it gets an RSET (RFC 5321 4.1.4: EHLO resets the
 * transaction, as RSET does) and the app our EHLO reply for its 250. */
static void ehlo_as_rset(struct filter *f, const char *verb, struct buf *to_server,
			 struct buf *to_app)
{
	static const char rset[] = "RSET\r\n", note[] = "RSET (in place of the app's EHLO/HELO)";
	log_lines("C:", note, sizeof note - 1);
	buf_append(to_server, rset, sizeof rset - 1);
	enqueue(f, PEND_SUBST, verb[0] == 'E' ? f->ehlo_reply : f->helo_reply, to_app);
}

/* A command for the server, and what its reply will be read as. */
/* The mechanism of the app's own AUTH, for the log line: the word after
 * AUTH, never what follows it. */
static void note_app_auth(struct filter *f)
{
	const char *m;
	int initial;
	size_t mlen = auth_mechanism(f->line, f->line_len, &m, &initial);
	verb_of(m, mlen, f->app_auth, sizeof f->app_auth);
}

static void forward(struct filter *f, const char *verb, int auth, int initial,
		    struct buf *to_server, struct buf *to_app)
{
	buf_append(to_server, f->line, f->line_len);
	if (!strcmp(verb, "EHLO")) {
		enqueue(f, PEND_EHLO, NULL, to_app);
	} else if (!strcmp(verb, "DATA")) {
		enqueue(f, PEND_DATA, NULL, to_app);
		f->app = APP_WAIT_DATA_REPLY;
	} else if (auth) {
		/* Without an initial response the next line is one, pipelined
		 * or not: secret from now on, whatever it looks like. */
		enqueue(f, PEND_AUTH, NULL, to_app);
		f->auth_replies++;
		f->auth_exchange = 1;
		f->sasl_next = !initial;
		note_app_auth(f);
	} else {
		enqueue(f, PEND_REPLY, NULL, to_app);
	}
}

/* One app line in f->line; -1 when the session must end (f->error). */
static int command(struct filter *f, struct buf *to_server, struct buf *to_app)
{
	char verb[16];

	if (f->auth_left) {
		local_sasl_response(f, to_app);
		return 0;
	}
	if (f->sasl_next) {
		server_sasl_response(f, to_server, to_app);
		return 0;
	}
	verb_of(f->line, f->line_len, verb, sizeof verb);
	if (!strcmp(verb, "BDAT")) {
		log_command(f, f->line, f->line_len);
		snprintf(f->error, sizeof f->error, "%s", bdat_refused);
		f->app_failure = OUTCOME_BDAT;
		return -1;
	}
	if (!strcmp(verb, "MAIL") && f->envelope_from && rewrite_mail_from(f) < 0) {
		enqueue(f, PEND_LOCAL, reply_rewrite_failed, to_app);
		return 0;
	}
	int auth = !strcmp(verb, "AUTH"), initial = 0;
	if (auth)
		initial = log_auth(f);
	else
		log_command(f, f->line, f->line_len);

	if (!strcmp(verb, "STARTTLS"))
		enqueue(f, PEND_LOCAL, reply_no_starttls, to_app);
	else if (f->local_session && auth)
		local_auth(f, to_app);
	else if (f->local_session && (!strcmp(verb, "EHLO") || !strcmp(verb, "HELO")))
		ehlo_as_rset(f, verb, to_server, to_app);
	else
		forward(f, verb, auth, initial, to_server, to_app);
	return 0;
}

static size_t command_bytes(struct filter *f, const char *in, size_t n, struct buf *to_server,
			    struct buf *to_app)
{
	const char *nl = memchr(in, '\n', n);
	size_t take = nl ? (size_t)(nl - in) + 1 : n;
	if (!f->line_len)
		f->line_quiet = f->quiet_bytes > 0;
	f->quiet_bytes -= take < f->quiet_bytes ? take : f->quiet_bytes;
	if (f->line_too_long || f->line_len + take > FILTER_LINE_MAX) {
		f->line_too_long = 1;
		f->line_len = 0;
		if (nl) {
			f->line_too_long = 0;
			enqueue(f, PEND_LOCAL, reply_line_too_long, to_app);
		}
		return take;
	}
	memcpy(f->line + f->line_len, in, take);
	f->line_len += take;
	if (!nl)
		return take;
	int rc = command(f, to_server, to_app);
	f->line_len = 0;
	return rc < 0 ? (size_t)-1 : take;
}

size_t filter_from_app(struct filter *f, const char *in, size_t n, struct buf *to_server,
		       struct buf *to_app)
{
	size_t used = 0;

	if (f->app_failed)
		return (size_t)-1;
	while (used < n) {
		if (f->app == APP_WAIT_DATA_REPLY)
			break;
		if (f->app == APP_DATA) {
			if (f->q_len == FILTER_PENDING_MAX)
				break;
			size_t k = filter_content(f, in + used, n - used, to_server);
			if (k == (size_t)-1) {
				f->app_failed = 1;
				return k;
			}
			if (!k)
				break;
			used += k;
			continue;
		}
		/* After an AUTH with its initial response, or a SASL response,
		 * the server's reply tells what the app's next line is: a
		 * command, or (after a 334) another secret response. */
		if (!f->line_len && !f->line_too_long && f->auth_replies && !f->sasl_next) {
			/* What waits here came while AUTH replies were
			 * outstanding: whatever they make of it, never logged.
			 * (Checked before the room below: bytes held for room
			 * are counted too.) */
			if (n - used > f->quiet_bytes)
				f->quiet_bytes = n - used;
			break;
		}
		if (f->q_len == FILTER_PENDING_MAX || buf_room(to_server) < FILTER_LINE_MAX ||
		    buf_room(to_app) < LOCAL_REPLY_MAX * 2)
			break;
		size_t k = command_bytes(f, in + used, n - used, to_server, to_app);
		if (k == (size_t)-1) {
			f->app_failed = 1;
			return k;
		}
		used += k;
	}
	return used;
}

static int hidden(const char *text, size_t len, int local)
{
	size_t nk = local ? sizeof hidden_keywords / sizeof hidden_keywords[0] : HIDDEN_ALWAYS;
	for (size_t k = 0; k < nk; k++) {
		size_t kl = strlen(hidden_keywords[k]);
		if (len >= kl && !strncasecmp(text, hidden_keywords[k], kl) &&
		    (len == kl || text[kl] == ' ' || (local && text[kl] == '=')))
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
		if (i == 0 || !hidden(t, len, 0))
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
	const char *subst = NULL;

	/* Nothing pending: an unsolicited reply (a 421 before closing),
	 * passed on as it came. */
	if (f->q_len) {
		kind = f->queue[f->q_head].kind;
		subst = f->queue[f->q_head].local;
		f->q_head = (f->q_head + 1) % FILTER_PENDING_MAX;
		f->q_len--;
	}
	log_lines("S:", r->raw, r->len);
	if (kind == PEND_AUTH) {
		/* Only a 334 keeps the exchange going; a reply to a line the
		 * server read as a command after the exchange ended (a
		 * pipelined response to a refused AUTH) cannot restart it. */
		if (r->code != 334)
			f->auth_exchange = 0;
		/* With more AUTH replies to come, the app has sent its next
		 * line already (a pipelined response). */
		if (!--f->auth_replies)
			f->sasl_next = f->auth_exchange;
		f->app_authenticated |= r->code == 235;
	}
	if (kind == PEND_DOT && r->code / 100 == 2)
		f->messages++;
	if (kind == PEND_EHLO && r->code == 250)
		rewrite_ehlo(r, to_app);
	else if (kind == PEND_SUBST && r->code / 100 == 2)
		buf_append(to_app, subst, strlen(subst));
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

	/* A whole reply (or our local EHLO answer in its place) must fit
	 * before we take it, and local replies due before it must be out. */
	while (used < n) {
		size_t k;
		flush_local(f, to_app);
		if ((f->q_len && f->queue[f->q_head].kind == PEND_LOCAL) ||
		    buf_room(to_app) < SMTP_REPLY_MAX + FILTER_LOCAL_EHLO_MAX)
			break;
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

void filter_flush(struct filter *f, struct buf *to_app)
{
	flush_local(f, to_app);
}

void filter_set_envelope_from(struct filter *f, const char *address)
{
	f->envelope_from = address && *address ? address : NULL;
}

void filter_local_session(struct filter *f, const struct smtp_reply *ehlo)
{
	char domain[256] = "smtpshim";
	const char *t;
	size_t len, used = 0;

	if (ehlo->nlines) {
		reply_line_text(ehlo, 0, &t, &len);
		size_t w = 0;
		while (w < len && t[w] != ' ' && w + 1 < sizeof domain)
			w++;
		if (w) {
			memcpy(domain, t, w);
			domain[w] = '\0';
		}
	}
	snprintf(f->helo_reply, sizeof f->helo_reply, "250 %s via smtpshim\r\n", domain);
	used = (size_t)snprintf(f->ehlo_reply, sizeof f->ehlo_reply, "250-%s via smtpshim\r\n",
				domain);
	for (size_t i = 1; i < ehlo->nlines; i++) {
		reply_line_text(ehlo, i, &t, &len);
		/* Extensions that do not fit are left out: never a cut line. */
		if (!len || hidden(t, len, 1) || used + len + 7 > sizeof f->ehlo_reply)
			continue;
		used += (size_t)snprintf(f->ehlo_reply + used, sizeof f->ehlo_reply - used,
					 "250-%.*s\r\n", (int)len, t);
	}
	/* The last line ends the reply: "250 " instead of "250-". */
	char *last = f->ehlo_reply + used - 2;
	while (last > f->ehlo_reply && last[-1] != '\n')
		last--;
	last[3] = ' ';
	f->local_session = 1;
}
