/* What the shim tells a relay about the one connection it is to serve. */
#ifndef SMTPSHIM_SESSION_H
#define SMTPSHIM_SESSION_H

#include <sys/socket.h>

#include "shim/common/config.h"
#include "shim/common/relay_handoff.h"

struct session {
	struct sockaddr_storage dest;   /* where the app dialled */
	socklen_t dest_len;
	int have_client;
	struct sockaddr_storage client; /* the app socket's own address */
	/* The process that connected, for the log line; 0 and "" unknown
	 * (`smtpshim listen`). */
	int program_pid;
	char program[RELAY_PROGRAM_NAME_MAX + 1];
	char name[256];                 /* the name the app resolved, or "" */
	struct config cfg;              /* last: its rules are mostly unused */
};

/* Reads the session text from fd, until deadline at the latest: setting
 * lines ("name value", later ones win), then exactly "@dest ADDR",
 * "@name NAME", "@client ADDR", "@program PID NAME" (or nothing) and "@end", in this order and nothing
 * after.  Anything else -- a setting after an '@' line, a text without
 * its @end -- is refused.  Returns 0; -1 when the text did not come
 * whole, with a message in err that quotes none of it ("no session" when
 * nothing at all came: the shim's connect failed); -2 when it is not what
 * the shim writes, with a message that may quote a line of it. */
int session_read(int fd, struct session *s, long long deadline, char *err, size_t errlen);

#endif
