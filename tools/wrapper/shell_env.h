/* `smtpshim env [OPTIONS] [on|off]`: the lines a shell evaluates to run
 * every later command as under `smtpshim --` (eval "$(smtpshim env ...)"),
 * or to stop doing so, as torsocks does with `. torsocks on`. */
#ifndef SMTPSHIM_SHELL_ENV_H
#define SMTPSHIM_SHELL_ENV_H

/* export lines: LD_PRELOAD with lib first (once), and every SMTPSHIM_*
 * variable of this process's environment (the options given became such
 * variables), quoted for any POSIX shell. */
void shell_env_on(const char *lib);

/* unset lines for every SMTPSHIM_* variable, and LD_PRELOAD without the
 * shim's entries (unset when nothing else is left). */
void shell_env_off(void);

#endif
