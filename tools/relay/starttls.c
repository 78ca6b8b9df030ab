#include "starttls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../shim/common/smtp_reply.h"
#include "log.h"
#include "net.h"

/* Reads exactly one reply.  Anything the server sends beyond it, before
 * we have spoken again, is refused: after STARTTLS's 220 such bytes would
 * be read as if they came through TLS (the CVE-2011-0411 family). */
static int read_reply(int fd, struct reply_parser *p, const char *where, const char *step,
		      long long deadline, char *err, size_t errlen)
{
	char buf[SMTP_LINE_MAX];
	reply_parser_init(p);
	for (;;) {
		ssize_t n = net_read(fd, buf, sizeof buf, deadline);
		if (n <= 0) {
			snprintf(err, errlen, "%s %s: %s", where, step,
				 n == 0 ? "the server closed the connection"
					: errno == ETIMEDOUT ? "no reply in time" : strerror(errno));
			return -1;
		}
		size_t used;
		enum reply_status st = reply_parser_feed(p, buf, (size_t)n, &used);
		if (st == REPLY_ERROR) {
			snprintf(err, errlen, "%s %s: not an SMTP server (%s)", where, step, p->error);
			return -1;
		}
		if (st == REPLY_DONE) {
			char more;
			if (used < (size_t)n || recv(fd, &more, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
				snprintf(err, errlen,
					 "%s sent data after its %s reply without being asked "
					 "(possible STARTTLS injection attack); refusing it",
					 where, step);
				return -1;
			}
			log_lines("S(plain):", p->reply.raw, p->reply.len);
			return 0;
		}
	}
}

static int say(int fd, const char *line, long long deadline, char *err, size_t errlen)
{
	log_lines("C(plain):", line, strlen(line));
	if (net_write_all(fd, line, strlen(line), deadline) < 0) {
		snprintf(err, errlen, "cannot send %.8s: %s", line, strerror(errno));
		return -1;
	}
	return 0;
}

static int refused(const struct reply_parser *p, const char *where, const char *what,
		   char *err, size_t errlen)
{
	char summary[300];
	reply_summary(&p->reply, summary, sizeof summary);
	snprintf(err, errlen, "%s %s: %s", where, what, summary);
	return -1;
}

int starttls_negotiate(int fd, const char *where, long long deadline, char *err, size_t errlen)
{
	static struct reply_parser p; /* 16 KiB: off the stack */
	char ehlo[300], host[256];

	if (read_reply(fd, &p, where, "greeting", deadline, err, errlen) < 0)
		return -1;
	if (p.reply.code != 220)
		return refused(&p, where, "refused the session", err, errlen);

	/* Our own name only; the app's EHLO goes later, inside TLS. */
	if (gethostname(host, sizeof host) < 0 || !host[0] || strchr(host, ' '))
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(ehlo, sizeof ehlo, "EHLO %s\r\n", host);
	if (say(fd, ehlo, deadline, err, errlen) < 0 ||
	    read_reply(fd, &p, where, "EHLO", deadline, err, errlen) < 0)
		return -1;
	if (p.reply.code != 250)
		return refused(&p, where, "refused EHLO", err, errlen);
	if (!reply_has_keyword(&p.reply, "STARTTLS")) {
		snprintf(err, errlen, "%s does not offer STARTTLS; refusing to send in plaintext", where);
		return -1;
	}
	if (say(fd, "STARTTLS\r\n", deadline, err, errlen) < 0 ||
	    read_reply(fd, &p, where, "STARTTLS", deadline, err, errlen) < 0)
		return -1;
	if (p.reply.code != 220)
		return refused(&p, where, "refused STARTTLS", err, errlen);
	return 0;
}
