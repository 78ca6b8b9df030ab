/* `smtpshim listen`: an SMTP port on this machine for the programs that
 * LD_PRELOAD cannot reach (static, Go, set-user-ID).  The program is
 * configured to send to it; each connection is carried by a relay exactly
 * as an intercepted one would be. */
#ifndef SMTPSHIM_LISTEN_H
#define SMTPSHIM_LISTEN_H

#include "shim/common/config.h"

/* Serves [ADDRESS:]PORT or unix:PATH until killed; returns only on a setup error
 * (message on stderr), with an exit status. */
int listen_serve(const struct config *cfg, const char *where);

#endif
