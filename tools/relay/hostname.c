#include "hostname.h"

#include <stdio.h>
#include <unistd.h>

#include "shim/common/text.h"

void hostname_ours(char *buf, size_t len)
{
	char host[256];
	if (gethostname(host, sizeof host) < 0)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	/* text_is_host: letters, digits, '-', '.', '_' (or an address):
	 * never a space or a line break inside "EHLO <name>\r\n". */
	snprintf(buf, len, "%s", host[0] && text_is_host(host) ? host : "localhost");
}
