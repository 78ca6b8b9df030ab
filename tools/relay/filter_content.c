/* Message content between DATA's 354 and its end (filter_content.h): the
 * end found, smuggled ends refused, and content passed at memchr's pace,
 * copied to the server's queue or sent where it lies. */
#include "filter_content.h"

#include <stdio.h>
#include <string.h>

/* The state after in[from, to), entered in state `s`, when no '.' lies
 * there: only the last two bytes can leave state 0 (a CR; an LF after a
 * CR or not). */
static int state_after_plain(const char *in, size_t from, size_t to, int s)
{
	if (to == from)
		return s;
	char last = in[to - 1];
	int before_cr = to - from >= 2 ? in[to - 2] == '\r' : s == 1;
	return last == '\r' ? 1 : last == '\n' ? (before_cr ? 2 : 5) : 0;
}

size_t filter_content(struct filter *f, const char *in, size_t n, struct buf *to_server)
{
	size_t i;
	if (to_server && n > buf_room(to_server))
		n = buf_room(to_server);
	for (i = 0; i < n; i++) {
		/* Only a "." at a line start can end the message or smuggle one:
		 * skip from dot to dot at memchr's pace, and take the state the
		 * line breaks before it leave. */
		if (f->data_state == 0 || f->data_state == 1 || f->data_state == 2 ||
		    f->data_state == 5) {
			const char *dot = memchr(in + i, '.', n - i);
			size_t j = dot ? (size_t)(dot - in) : n;
			f->data_state = state_after_plain(in, i, j, f->data_state);
			i = j;
			if (i == n)
				break;
			if (f->data_state == 0)
				continue; /* a "." inside a line */
		}
		char c = in[i];
		int s = f->data_state;
		const char *ended = NULL, *after = NULL; /* why a "." line is refused */
		if (s == 3 && c == '\r') {
			if (i + 1 == n)
				break; /* the CR waits for the byte after it */
			if (in[i + 1] == '\n') {
				i += 2;
				f->app = APP_COMMAND;
				f->data_state = 0;
				break;
			}
			ended = "CR";
		} else if ((s == 3 || s == 6 || s == 7) && c == '\n') {
			ended = "LF";
		} else if ((s == 6 || s == 7) && c == '\r') {
			after = s == 6 ? "LF" : "CR";
		}
		if (ended || after) {
			if (to_server)
				buf_append(to_server, in, i);
			snprintf(f->error, sizeof f->error,
				 "the message has a line \".\" %s a bare %s, which some servers take "
				 "as its end (SMTP smuggling); refused",
				 ended ? "ended by" : "after", ended ? ended : after);
			f->app_failure = OUTCOME_SMUGGLING;
			return (size_t)-1;
		}
		if (c == '\r')
			s = 1;
		else if (c == '\n')
			s = s == 1 ? 2 : 5;
		else if (c == '.')
			s = s == 2 ? 3 : s == 5 ? 6 : s == 1 ? 7 : 0;
		else
			s = 0;
		f->data_state = s;
	}
	if (to_server)
		buf_append(to_server, in, i);
	if (f->app == APP_COMMAND)
		f->queue[(f->q_head + f->q_len++) % FILTER_PENDING_MAX].kind = PEND_DOT;
	return i;
}

/* Bytes of a command line, up to its LF or all there are; at the LF the
 * line is a command.  Returns the bytes taken, (size_t)-1 when the session
 * must end (f->error). */
size_t filter_pass_content(struct filter *f, const char *in, size_t n)
{
	if (f->app_failed)
		return (size_t)-1;
	if (f->app != APP_DATA || f->q_len == FILTER_PENDING_MAX)
		return 0;
	size_t k = filter_content(f, in, n, NULL);
	f->app_failed = k == (size_t)-1;
	return k;
}

