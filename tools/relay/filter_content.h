/* The filter's message-content scanner (filter_content.c): what passes
 * between DATA's 354 and the end of the message. */
#ifndef SMTPSHIM_FILTER_CONTENT_H
#define SMTPSHIM_FILTER_CONTENT_H

#include "filter.h"

/* Message content passes untouched; we only watch for CRLF "." CRLF.
 * A bare LF or a bare CR ends no line here, as RFC 5321 section 4.1.1.4
 * has it -- but some servers take a bare LF for a line end, and some
 * appliances ("clean CR/LF" settings) a bare CR: they would find the end
 * of the message in "\n.\n", "\r.\r", "\r\n.\rX" and the like, where we
 * (and the servers that follow the RFC) find none, and read the rest of
 * the content as commands (SMTP smuggling).  So a line "." with a bare CR
 * or bare LF on either side is never passed on; clients that end lines
 * with a bare LF dot-stuff such a line ("\n..").
 * data_state: 0 inside a line, 1 after a CR (bare or not: the next byte
 * tells), 2 at a line start after CRLF, 3 after "." there, 5 at a line
 * start after a bare LF, 6 after "." there, 7 after "." that follows a
 * bare CR.  A CR after state 3 is taken only with the byte after it, which
 * decides between the end of the message and a bare CR; until that byte
 * comes the CR stays unread (offered again with the next read).  Returns
 * (size_t)-1 (f->error set) having forwarded only what precedes the CR or
 * LF that would end such a "." line.  With to_server NULL nothing is
 * copied: the caller sends what passed from where it lies. */
size_t filter_content(struct filter *f, const char *in, size_t n, struct buf *to_server);

#endif
