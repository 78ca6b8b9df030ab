/* The relay's own name, for the EHLO it says itself (STARTTLS set-up,
 * AUTH injection, probe). */
#ifndef SMTPSHIM_HOSTNAME_H
#define SMTPSHIM_HOSTNAME_H

#include <stddef.h>

/* This machine's name as gethostname() has it, or "localhost" when that
 * is empty or not a plain host name (nothing that could break an EHLO
 * line).  buf gets at most len - 1 characters. */
void hostname_ours(char *buf, size_t len);

#endif
