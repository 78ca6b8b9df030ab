/* Reading, in a process running as root, the environment root's own
 * wrapper left for it (common/root_settings.h says why). */
#include "root_settings.h"

#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/trusted_file.h"

#define MAX_ENTRIES 128

static int plain_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= ROOT_SETTINGS_NAME_MAX)
		return 0;
	for (const char *p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-", *p))
			return 0;
	return 1;
}

const char *root_settings_named(char *const *env)
{
	size_t vlen = sizeof ROOT_SETTINGS_VAR - 1;
	for (char *const *e = env; e && *e; e++)
		if (!strncmp(*e, ROOT_SETTINGS_VAR, vlen) && (*e)[vlen] == '=')
			return *e + vlen + 1;
	return NULL;
}

int root_settings_read(const char *name, char *const **out, char *err, size_t errlen)
{
	/* Static: read once, under the shim's pthread_once. */
	static char text[ROOT_SETTINGS_MAX];
	static char *entries[MAX_ENTRIES + 1];
	char path[sizeof ROOT_SETTINGS_DIR + ROOT_SETTINGS_NAME_MAX + 1];

	if (!plain_name(name)) {
		snprintf(err, errlen, "%s: '%.64s' is not a settings file name of smtpshim's",
			 ROOT_SETTINGS_VAR, name);
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", ROOT_SETTINGS_DIR, name);
	if (trusted_file_read("settings", path, text, sizeof text, err, errlen) < 0)
		return -1;
	size_t k = 0;
	for (char *p = text; *p && k < MAX_ENTRIES;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (strchr(p, '='))
			entries[k++] = p;
		p = nl ? nl + 1 : p + strlen(p);
	}
	entries[k] = NULL;
	*out = entries;
	return 0;
}
