#include "settings.h"

#include <pthread.h>
#include <string.h>
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
	config_load(&settings, environ);
	if (!settings.helper[0])
		strcpy(settings.helper, SMTPSHIM_HELPER_DEFAULT);
}

const struct config *shim_settings(void)
{
	pthread_once(&once, load);
	return &settings;
}
