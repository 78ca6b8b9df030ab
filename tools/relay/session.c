#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../shim/common/addr.h"

/* '@' lines carry the session itself; all others are settings. */
static int session_line(struct session *s, const char *line, char *err, size_t errlen)
{
	const char *v = strchr(line, ' ');
	v = v ? v + 1 : "";
	socklen_t len;
	if (!strncmp(line, "@dest ", 6)) {
		if (addr_parse(v, &s->dest, &s->dest_len) < 0)
			goto bad;
	} else if (!strncmp(line, "@name ", 6)) {
		snprintf(s->name, sizeof s->name, "%s", v);
	} else if (!strcmp(line, "@end")) {
		/* the end of the text */
	} else if (!strncmp(line, "@client ", 8)) {
		if (*v && addr_parse(v, &s->client, &len) < 0)
			goto bad;
		s->have_client = *v != '\0';
	} else {
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad session line '%.80s'", line);
	return -1;
}

int session_read(int fd, struct session *s, char *err, size_t errlen)
{
	char text[16384];
	size_t used = 0;
	ssize_t n;

	memset(s, 0, sizeof *s);
	config_defaults(&s->cfg);
	while (used < sizeof text - 1 &&
	       ((n = read(fd, text + used, sizeof text - 1 - used)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			used += (size_t)n;
	text[used] = '\0';
	if (!used) {
		snprintf(err, errlen, "no session");
		return -1;
	}
	for (char *line = text; *line;) {
		char *end = line + strcspn(line, "\n");
		int last = !*end;
		*end = '\0';
		if (*line == '@' ? session_line(s, line, err, errlen) < 0
				 : config_parse_text(&s->cfg, line, err, errlen) < 0)
			return -1;
		line = last ? end : end + 1;
	}
	if (!s->dest_len) {
		snprintf(err, errlen, "session without destination");
		return -1;
	}
	return 0;
}
