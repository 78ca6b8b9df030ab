/* The shim's settings, decided once per process: whether it acts at all
 * (not in smtpshim's own programs, only in those `programs` names), and
 * from which sources -- in a process running as root only from files root
 * alone can change (common/root_settings.h). */
#include "settings.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/trusted_file.h"
#include "root_settings.h"

#ifndef SMTPSHIM_HELPER_DEFAULT
#define SMTPSHIM_HELPER_DEFAULT "/usr/local/libexec/smtpshim/smtpshim-relay"
#endif

extern char **environ;

static struct config settings;
static int active;
static char *const *relay_env; /* whose PATH and HOME a relay gets; NULL: none */

/* Loaded once, without pthread_once: a signal handler calling connect()
 * while this thread is inside load() would wait on the once-lock for
 * itself forever.  state: 0 before, LOADED after, and while loading the
 * thread id of the loader -- one atomic value, so that no moment exists
 * where the loader is loading but not yet known to be the loader. */
#define LOADED (-1L)
static atomic_long state;
static const struct config nothing; /* intercepts no port */

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

/* smtpshim's own programs (relay, wrapper, probe, listen) export this
 * symbol (tools/common/own_program.c).  With the shim in /etc/ld.so.preload it is
 * loaded into them too, and a relay whose upstream port is intercepted
 * would start another relay, and that one another. */
static int in_own_program(void)
{
	return dlsym(RTLD_DEFAULT, "smtpshim_own_program") != NULL;
}

/* Lazy rather than a constructor: the first call may come from another
 * library's constructor, before ours would have run. */
static void load(void)
{
	static char *const no_environment[] = {NULL};
	/* In a set-user-ID program argv belongs to whoever started it. */
	int secure = getauxval(AT_SECURE) != 0;
	char *const *env = environ;
	char why[CONFIG_ERROR_MAX] = "";

	if (in_own_program()) {
		config_defaults(&settings);
		active = 0;
		return;
	}
	/* Running as root, the environment may be a user's (a set-user-ID
	 * program that became root and kept its caller's environment): it
	 * would choose the helper and the password command that run as root.
	 * Only what root's own wrapper wrote down counts, else nothing. */
	if (trusted_process_privileged()) {
		const char *name = root_settings_named(environ);
		env = no_environment;
		if (name && root_settings_read(name, &env, why, sizeof why) < 0)
			env = no_environment;
	}
	relay_env = env == no_environment ? NULL : env;
	config_load(&settings, env);
	if (why[0] && !settings.error[0])
		memcpy(settings.error, why, sizeof settings.error);
	if (!settings.helper[0])
		strcpy(settings.helper, SMTPSHIM_HELPER_DEFAULT);
	active = this_program_is_named(&settings, secure);
}

/* 1 when the settings can be used; 0 on the one path that must not wait:
 * the loading thread itself, re-entered from a signal handler, which then
 * passes its connection to libc untouched. */
static int ensure_loaded(void)
{
	long s = atomic_load_explicit(&state, memory_order_acquire);
	if (s == LOADED)
		return 1;
	long self = syscall(SYS_gettid); /* async-signal-safe, unlike pthread_self */
	if (s == 0) {
		if (atomic_compare_exchange_strong(&state, &s, self)) {
			load();
			atomic_store_explicit(&state, LOADED, memory_order_release);
			return 1;
		}
	}
	if (s == self)
		return 0;
	while (atomic_load_explicit(&state, memory_order_acquire) != LOADED)
		sched_yield(); /* another thread is loading: a short wait */
	return 1;
}

/* A fork while another thread was loading leaves no loader in the child:
 * it starts over rather than wait for a thread that is not there. */
static void restart_in_child(void)
{
	if (atomic_load(&state) != LOADED)
		atomic_store(&state, 0);
}

/* Eagerly, so that a handler's connect() normally finds everything ready;
 * the lazy path stays for a first call from another library's
 * constructor, before ours has run. */
__attribute__((constructor)) static void load_at_start(void)
{
	pthread_atfork(NULL, NULL, restart_in_child);
	ensure_loaded();
}

const struct config *shim_settings(void)
{
	return ensure_loaded() ? &settings : &nothing;
}

int shim_active(void)
{
	return ensure_loaded() && active;
}

char *const *shim_relay_environment(void)
{
	return ensure_loaded() ? relay_env : NULL;
}
