/* The relay program's two user commands, run through the wrapper as
 * `smtpshim probe HOST` and `smtpshim check HOST[:PORT]`: they need TLS,
 * which the wrapper does not link, and they should use exactly the code
 * and settings that carry the mail.  Settings come from the environment
 * (SMTPSHIM_*, set by the wrapper from its options) and the config file. */
#ifndef SMTPSHIM_TOOLS_H
#define SMTPSHIM_TOOLS_H

int probe_main(const char *host);
int check_main(const char *destination);

#endif
