/* What the shim tells a relay about the one connection it is to serve. */
#ifndef SMTPSHIM_SESSION_H
#define SMTPSHIM_SESSION_H

#include <sys/socket.h>

#include "../../shim/common/config.h"

struct session {
	struct config cfg;
	struct sockaddr_storage dest;   /* where the app dialled */
	socklen_t dest_len;
	char name[256];                 /* the name the app resolved, or "" */
	struct sockaddr_storage client; /* the app socket's own address */
	int have_client;
};

/* Reads fd to its end.  Returns 0, or -1 with a message in err. */
int session_read(int fd, struct session *s, char *err, size_t errlen);

#endif
