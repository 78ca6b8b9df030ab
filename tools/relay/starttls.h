/* The plaintext part of an RFC 3207 session, done strictly: nothing of
 * the app's is sent, and nothing the server says here is believed later. */
#ifndef SMTPSHIM_STARTTLS_H
#define SMTPSHIM_STARTTLS_H

#include <stddef.h>

/* Greeting, EHLO, STARTTLS, 220 on the connected non-blocking fd, after
 * which the TLS handshake may start.  where ("mail.example.com:587") names
 * the server in messages. */
int starttls_negotiate(int fd, const char *where, long long deadline, char *err, size_t errlen);

#endif
