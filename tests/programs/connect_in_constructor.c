/* A library whose constructor sends mail before the program's main() runs
 * -- and possibly before the shim's own constructors (libfaketime tests
 * its hooks this way).  It reads CTOR_HOST, CTOR_PORT and CTOR_MESSAGE
 * from the environment (argv is not a library's to rely on) and records
 * the outcome in ctor_result for main() to check.  It acts only in the
 * program named by CTOR_PROGRAM: when preloaded, it is loaded into the
 * smtpshim wrapper as well, which must not send anything. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtp_client.h"

__attribute__((visibility("default"))) int ctor_result = -1;

__attribute__((constructor)) static void send_before_main(void)
{
	const char *host = getenv("CTOR_HOST"), *port = getenv("CTOR_PORT"),
		   *path = getenv("CTOR_MESSAGE");
	const char *only = getenv("CTOR_PROGRAM");
	if (!host || !port || !path || !only || strcmp(only, program_invocation_short_name))
		return;
	char *argv[] = {(char *)"constructor", (char *)host, (char *)port, (char *)path, NULL};
	struct client_args a;
	struct sockaddr_storage dst;

	client_args(4, argv, &a);
	int fd = connect_to(&a, AF_UNSPEC, 0, &dst, NULL);
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	char want[ADDR_STR_MAX], got[ADDR_STR_MAX];
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		fail("getpeername in a constructor: %s", strerror(errno));
	if (strcmp(addr_str((struct sockaddr *)&peer, got), addr_str((struct sockaddr *)&dst, want)))
		fail("getpeername in a constructor says %s, dialled %s", got, want);
	ok("getpeername in a constructor: %s", got);
	deliver_or_fail(fd, &a);
	close(fd);
	ok("constructor delivered before main");
	ctor_result = 0;
}
