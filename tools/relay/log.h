/* The relay's messages on stderr (which the shim leaves open only with
 * --verbose).  Secrets never reach these functions: callers redact. */
#ifndef SMTPSHIM_LOG_H
#define SMTPSHIM_LOG_H

#include <stddef.h>

void log_init(int verbose);
int log_verbose(void);

__attribute__((format(printf, 1, 2))) void log_info(const char *fmt, ...);

/* Protocol lines ("C:" app to server, "S:" server to app), one message
 * each, line endings stripped and unprintable bytes escaped. */
void log_lines(const char *who, const char *text, size_t len);

#endif
