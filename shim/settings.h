/* The shim's settings, loaded once on the first hook call. */
#ifndef SMTPSHIM_SETTINGS_H
#define SMTPSHIM_SETTINGS_H

#include "common/config.h"

const struct config *shim_settings(void);

#endif
