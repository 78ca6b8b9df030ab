/* Root's wrapper writes down the environment it means for the root
 * processes it starts (shim/common/root_settings.h says why). */
#ifndef SMTPSHIM_TOOLS_ROOT_SETTINGS_H
#define SMTPSHIM_TOOLS_ROOT_SETTINGS_H

#include <stddef.h>

/* Writes the SMTPSHIM_* variables of env, PATH, HOME and the XDG
 * directories to a file in ROOT_SETTINGS_DIR (made mode 0700 if missing)
 * and puts its name in SMTPSHIM_SETTINGS.  The name is the content's hash:
 * a run with the same settings finds its file already there, so the
 * directory holds one file per set of settings, not one per run.  Returns
 * 0, or -1 with the reason in err. */
int root_settings_write(char *const *env, char *err, size_t errlen);

#endif
