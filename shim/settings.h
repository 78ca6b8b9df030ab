/* The shim's settings, loaded once on the first hook call. */
#ifndef SMTPSHIM_SETTINGS_H
#define SMTPSHIM_SETTINGS_H

#include "common/config.h"

const struct config *shim_settings(void);

/* False in a program that `programs` does not name: then the shim leaves
 * every connection alone, as if it were not loaded. */
int shim_active(void);

/* The environment the settings came from, whose PATH and HOME a relay
 * gets: the process's own, or in a root process the one root's wrapper
 * wrote down.  NULL when neither may be trusted: then a relay gets a
 * fixed PATH and starts in "/". */
char *const *shim_relay_environment(void);

#endif
