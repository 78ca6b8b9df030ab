#include "sasl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sasl_base64(const void *in, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t need = (n + 2) / 3 * 4;
	if (need + 1 > outlen)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

int sasl_unbase64(const char *in, size_t n, unsigned char *out, size_t outlen)
{
	unsigned v = 0, bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n && in[i] != '='; i++) {
		const char *k = memchr(b64, in[i], 64);
		if (!k || !in[i])
			return -1;
		v = v << 6 | (unsigned)(k - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outlen)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	return (int)o;
}

/* Each mechanism name on an "AUTH" or "AUTH=" line. */
unsigned sasl_offered(const struct smtp_reply *ehlo, char *list, size_t listlen)
{
	static const char *const names[] = {[AUTH_PLAIN] = "PLAIN", [AUTH_LOGIN] = "LOGIN",
					    [AUTH_XOAUTH2] = "XOAUTH2"};
	unsigned offered = 0;
	size_t used = 0;
	if (listlen)
		list[0] = '\0';
	for (size_t i = 1; i < ehlo->nlines; i++) {
		const char *t;
		size_t n;
		reply_line_text(ehlo, i, &t, &n);
		if (n < 5 || strncasecmp(t, "AUTH", 4) || (t[4] != ' ' && t[4] != '='))
			continue;
		for (size_t k = 5; k < n;) {
			size_t w = 0;
			while (k + w < n && t[k + w] != ' ')
				w++;
			for (int m = AUTH_PLAIN; m <= AUTH_XOAUTH2; m++)
				if (w == strlen(names[m]) && !strncasecmp(t + k, names[m], w))
					offered |= 1u << m;
			if (w && used + w + 2 < listlen) {
				int dup = 0;
				for (const char *s = list; *s;) {
					size_t sl = strcspn(s, " ");
					dup |= sl == w && !strncasecmp(s, t + k, w);
					s += sl + (s[sl] == ' ');
				}
				if (!dup) {
					used += (size_t)snprintf(list + used, listlen - used, "%s%.*s",
								 used ? " " : "", (int)w, t + k);
				}
			}
			k += w + 1;
		}
	}
	return offered;
}

int sasl_choose(enum auth_mech wanted, unsigned offered)
{
	if (wanted != AUTH_AUTO)
		return offered & (1u << wanted) ? (int)wanted : -1;
	/* All three hand the server a bearer secret inside the verified TLS
	 * session; none is stronger on the wire.  PLAIN is the standard one
	 * (RFC 4616) and takes one round trip; LOGIN is the same secret in two;
	 * XOAUTH2 needs a token rather than a password, so it comes last. */
	if (offered & SASL_PLAIN)
		return AUTH_PLAIN;
	if (offered & SASL_LOGIN)
		return AUTH_LOGIN;
	if (offered & SASL_XOAUTH2)
		return AUTH_XOAUTH2;
	return -1;
}

/* Joins the parts into a scratch buffer, encodes it, wipes the scratch. */
static int encode_parts(const char *const *parts, size_t nparts, char *out, size_t outlen)
{
	char raw[SASL_SECRET_MAX + 2 * CONFIG_HOST_MAX];
	size_t n = 0;
	int rc = -1;
	for (size_t i = 0; i < nparts; i++) {
		size_t l = strlen(parts[i]);
		if (n + l + 1 > sizeof raw)
			goto out;
		memcpy(raw + n, parts[i], l);
		n += l;
	}
	rc = sasl_base64(raw, n, out, outlen);
out:
	explicit_bzero(raw, sizeof raw);
	return rc;
}

int sasl_plain(const char *user, const char *secret, char *out, size_t outlen)
{
	char raw[SASL_SECRET_MAX + CONFIG_HOST_MAX + 2];
	size_t ul = strlen(user), sl = strlen(secret);
	int rc = -1;
	if (ul + sl + 2 <= sizeof raw) {
		raw[0] = '\0';
		memcpy(raw + 1, user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, secret, sl);
		rc = sasl_base64(raw, ul + sl + 2, out, outlen);
	}
	explicit_bzero(raw, sizeof raw);
	return rc;
}

int sasl_xoauth2(const char *user, const char *token, char *out, size_t outlen)
{
	const char *parts[] = {"user=", user, "\x01", "auth=Bearer ", token, "\x01\x01"};
	return encode_parts(parts, sizeof parts / sizeof parts[0], out, outlen);
}
