/* The relay server's TLS contexts built ahead, one per CA file trusted
 * ("" the system store), each rebuilt when its file changes (a CA bundle
 * updated while the server runs). */
#ifndef SMTPSHIM_CONTEXTS_H
#define SMTPSHIM_CONTEXTS_H

#include <openssl/ssl.h>

/* The context for ca_file: the one built before if the file is unchanged,
 * else built now; NULL if the store does not load (the session then
 * builds its own and reports the failure as a relay started for it
 * would). */
SSL_CTX *contexts_get(const char *ca_file);

/* 1 if contexts_get(ca_file) would return a context without building. */
int contexts_have(const char *ca_file);

/* The context built last, whichever its CA file; NULL if none. */
SSL_CTX *contexts_latest(void);

#endif
