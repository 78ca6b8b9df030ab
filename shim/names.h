/* Which host name the app resolved to which address.  connect() sees only
 * the address; the relay needs the name for SNI and certificate checks. */
#ifndef SMTPSHIM_NAMES_H
#define SMTPSHIM_NAMES_H

#include <stddef.h>
#include <sys/socket.h>

void names_record(int family, const void *ip, const char *name);

/* Copies the name for the address of sa that this thread resolved last,
 * else the one any thread resolved last; 0 if found.  Takes no lock and
 * allocates nothing (safe in connect() from a signal handler). */
int names_lookup(const struct sockaddr *sa, char *name, size_t len);

#endif
