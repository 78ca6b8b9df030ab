#include "settings.h"

#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#ifndef SMTPSHIM_HELPER_DEFAULT
#define SMTPSHIM_HELPER_DEFAULT "/usr/local/libexec/smtpshim/smtpshim-relay"
#endif

extern char **environ;

static struct config settings;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Lazy rather than a constructor: the first call may come from another
 * library's constructor, before ours would have run. */
static void load(void)
{
	/* In a set-user-ID program the environment belongs to whoever started
	 * it: SMTPSHIM_HELPER would run their program with our privileges.
	 * Only the system's own settings count there. */
	static char *const no_environment[] = {NULL};
	int secure = getauxval(AT_SECURE) != 0;

	config_load(&settings, secure ? no_environment : environ);
	if (secure || !settings.helper[0])
		strcpy(settings.helper, SMTPSHIM_HELPER_DEFAULT);
}

const struct config *shim_settings(void)
{
	pthread_once(&once, load);
	return &settings;
}
