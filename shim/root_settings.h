/* The environment root's own wrapper chose for a root process
 * (common/root_settings.h). */
#ifndef SMTPSHIM_SHIM_ROOT_SETTINGS_H
#define SMTPSHIM_SHIM_ROOT_SETTINGS_H

#include <stddef.h>

#include "common/root_settings.h"

/* The file name env gives in SMTPSHIM_SETTINGS, or NULL. */
const char *root_settings_named(char *const *env);

/* Reads the named file after checking it and its directory are root's
 * alone; *out is its "NAME=value" entries (static storage).  Returns 0,
 * or -1 with the reason in err. */
int root_settings_read(const char *name, char *const **out, char *err, size_t errlen);

#endif
