#include "settings.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#ifndef SMTPSHIM_HELPER_DEFAULT
#define SMTPSHIM_HELPER_DEFAULT "/usr/local/libexec/smtpshim/smtpshim-relay"
#endif

extern char **environ;

static struct config settings;
static int active;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The names this program goes by for `programs`: its executable, its
 * argv[0] and, for a script, the script (argv[1] of its interpreter).  In
 * a set-user-ID program only the executable counts: the invoker chooses
 * argv. */
static int this_program_is_named(const struct config *c, int secure)
{
	static char exe[256], cmdline[1024];
	const char *names[3] = {NULL, NULL, NULL};

	if (!c->programs[0])
		return 1;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		names[0] = base_name(exe);
	}
	int fd = secure ? -1 : open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, cmdline, sizeof cmdline - 1);
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		cmdline[n] = '\0';
		names[1] = base_name(cmdline);
		size_t first = strlen(cmdline) + 1;
		if ((ssize_t)first < n && cmdline[first] != '-')
			names[2] = base_name(cmdline + first);
	}
	return config_names_program(c, names, 3);
}

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
	active = this_program_is_named(&settings, secure);
}

const struct config *shim_settings(void)
{
	pthread_once(&once, load);
	return &settings;
}

int shim_active(void)
{
	pthread_once(&once, load);
	return active;
}
