/* Where a session's log line goes (the "log" setting): syslog (the mail
 * facility, ident smtpshim, where mail.log and the journal collect it),
 * stderr (the program's, handed to the relay with the session), a file
 * appended to, or nowhere. */
#ifndef SMTPSHIM_LOG_TARGET_H
#define SMTPSHIM_LOG_TARGET_H

/* Writes line (no newline) to target: "syslog", "stderr", "none" or an
 * absolute path.  failed: the session ended with a 421 (syslog's
 * warning level, else info).  Never blocks on a missing syslog daemon:
 * the line is then lost, as every program's is. */
void log_target_write(const char *target, const char *line, int failed);

#endif
