/* The client side of SMTP AUTH (RFC 4954) for the mechanisms the relay
 * injects: which ones a server offers, which to use, and the encodings.
 * Pure functions: the relay does the I/O and wipes the buffers. */
#ifndef SMTPSHIM_SASL_H
#define SMTPSHIM_SASL_H

#include <stddef.h>

#include "shim/common/config.h"
#include "smtp_reply.h"

#define SASL_SECRET_MAX 4096  /* a password, or an OAuth2 access token */
#define SASL_B64_MAX (((SASL_SECRET_MAX + CONFIG_HOST_MAX + 64) / 3 + 1) * 4 + 1)

enum {
	SASL_PLAIN = 1 << AUTH_PLAIN,
	SASL_LOGIN = 1 << AUTH_LOGIN,
	SASL_XOAUTH2 = 1 << AUTH_XOAUTH2,
};

/* The mechanisms among PLAIN, LOGIN and XOAUTH2 that an EHLO reply
 * offers (SASL_* bits), from "AUTH ..." lines and the old "AUTH=..." form.
 * All offered names go to list ("PLAIN LOGIN CRAM-MD5"), for messages. */
unsigned sasl_offered(const struct smtp_reply *ehlo, char *list, size_t listlen);

/* The mechanism to use: the configured one if offered, or for auto the
 * first offered of PLAIN, LOGIN, XOAUTH2.  -1 if none fits. */
int sasl_choose(enum auth_mech wanted, unsigned offered);

/* Base64 (RFC 4648, with padding).  Returns the length, or -1 if out is
 * too small (out is NUL-terminated). */
int sasl_base64(const void *in, size_t n, char *out, size_t outlen);

/* Decodes base64; returns the length or -1.  For tests and challenges. */
int sasl_unbase64(const char *in, size_t n, unsigned char *out, size_t outlen);

/* RFC 4616: base64("" NUL user NUL password). */
int sasl_plain(const char *user, const char *secret, char *out, size_t outlen);

/* base64("user=" user ^A "auth=Bearer " token ^A ^A). */
int sasl_xoauth2(const char *user, const char *token, char *out, size_t outlen);

#endif
