/* The shim's settings, loaded once on the first hook call. */
#ifndef SMTPSHIM_SETTINGS_H
#define SMTPSHIM_SETTINGS_H

#include "common/config.h"

const struct config *shim_settings(void);

/* False in a program that `programs` does not name: then the shim leaves
 * every connection alone, as if it were not loaded. */
int shim_active(void);

#endif
