#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "sasl.h"
#include "hostname.h"
#include "log.h"
#include "net.h"
#include "secret.h"
#include "tls.h"

/* The secret and its encodings live here only, locked in memory where the
 * system allows, and are wiped as soon as the exchange is over. */
static struct {
	char secret[SASL_SECRET_MAX];
	char b64[SASL_B64_MAX];
	char line[SASL_B64_MAX + 32];
} s;

static struct reply_parser parser;

struct exchange {
	const struct upstream *u;
	long long deadline;
	char *err;
	size_t errlen;
	enum outcome *kind;
};

/* Sends line (shown in the log as shown) and reads the one reply. */
static int step(struct exchange *x, const char *line, const char *shown, const char *what)
{
	char why[200];
	log_lines("C(relay):", shown, strlen(shown));
	if ((tls_write_all(x->u->ssl, x->u->fd, line, strlen(line), x->deadline, why,
				   sizeof why) < 0) ||
	    tls_read_reply(x->u->ssl, x->u->fd, &parser, x->deadline, why, sizeof why) < 0) {
		*x->kind = outcome_of_errno(errno);
		snprintf(x->err, x->errlen, "%s %s: %s", x->u->where, what, why);
		return -1;
	}
	log_lines("S(relay):", parser.reply.raw, parser.reply.len);
	return 0;
}

static int refused(struct exchange *x, enum outcome kind, const char *what)
{
	char summary[400];
	*x->kind = kind;
	reply_summary(&parser.reply, summary, sizeof summary);
	snprintf(x->err, x->errlen, "%s %s: %s", x->u->where, what, summary);
	return -1;
}

/* Builds "PREFIX<base64>\r\n" in s.line; -1 if it does not fit. */
static int sasl_line(const char *prefix, int b64len)
{
	if (b64len < 0)
		return -1;
	int n = snprintf(s.line, sizeof s.line, "%s%s\r\n", prefix, s.b64);
	return n < 0 || (size_t)n >= sizeof s.line ? -1 : 0;
}

static const char *const mech_names[] = {[AUTH_PLAIN] = "PLAIN", [AUTH_LOGIN] = "LOGIN",
					 [AUTH_XOAUTH2] = "XOAUTH2"};

static int run_mechanism(struct exchange *x, const struct config *c, int mech)
{
	char what[CONFIG_HOST_MAX + 40];
	snprintf(what, sizeof what, "rejected AUTH %s as %s", mech_names[mech], c->user);

	if (mech == AUTH_PLAIN) {
		if (sasl_line("AUTH PLAIN ", sasl_plain(c->user, s.secret, s.b64, sizeof s.b64)) < 0)
			goto too_long;
		if (step(x, s.line, "AUTH PLAIN ***", "AUTH") < 0)
			return -1;
	} else if (mech == AUTH_LOGIN) {
		if (step(x, "AUTH LOGIN\r\n", "AUTH LOGIN", "AUTH") < 0)
			return -1;
		if (parser.reply.code != 334)
			return refused(x, OUTCOME_AUTH, what);
		if (sasl_line("", sasl_base64(c->user, strlen(c->user), s.b64, sizeof s.b64)) < 0 ||
		    step(x, s.line, "*** (user name)", "AUTH") < 0)
			return -1;
		if (parser.reply.code != 334)
			return refused(x, OUTCOME_AUTH, what);
		if (sasl_line("", sasl_base64(s.secret, strlen(s.secret), s.b64, sizeof s.b64)) < 0)
			goto too_long;
		if (step(x, s.line, "*** (password)", "AUTH") < 0)
			return -1;
	} else {
		if (sasl_line("AUTH XOAUTH2 ", sasl_xoauth2(c->user, s.secret, s.b64, sizeof s.b64)) < 0)
			goto too_long;
		if (step(x, s.line, "AUTH XOAUTH2 ***", "AUTH") < 0)
			return -1;
		/* A refused token comes back as a 334 with a JSON error; the
		 * client answers with an empty line to get the final 5xx. */
		if (parser.reply.code == 334 && step(x, "\r\n", "(empty response)", "AUTH") < 0)
			return -1;
	}
	if (parser.reply.code != 235)
		return refused(x, OUTCOME_AUTH, what);
	log_info("%s: authenticated as %s with %s", x->u->where, c->user, config_auth_name(mech));
	return 1;
too_long:
	*x->kind = OUTCOME_SECRET;
	snprintf(x->err, x->errlen, "the password or token for %s is too long", c->user);
	return -1;
}

int auth_ehlo(const struct upstream *u, long long deadline, struct smtp_reply *ehlo, char *err,
	      size_t errlen, enum outcome *kind)
{
	struct exchange x = {u, deadline, err, errlen, kind};
	char host[256], line[300];

	/* Credentials go over verified TLS only; upstream_open gives nothing
	 * else, and this says so where it matters. */
	if (!u->ssl) {
		snprintf(err, errlen, "refusing to send credentials without TLS to %s", u->where);
		*kind = OUTCOME_TLS;
		return -1;
	}
	hostname_ours(host, sizeof host);
	snprintf(line, sizeof line, "EHLO %s\r\n", host);
	if (step(&x, line, line, "EHLO") < 0)
		return -1;
	if (parser.reply.code != 250)
		return refused(&x, OUTCOME_REFUSED, "refused EHLO");
	memcpy(ehlo, &parser.reply, sizeof *ehlo);
	return 0;
}

int auth_inject(const struct upstream *u, const struct config *c, const struct smtp_reply *ehlo,
		long long deadline, char *err, size_t errlen, const char **status,
		enum outcome *kind, const char **mech_name)
{
	struct exchange x = {u, deadline, err, errlen, kind};
	char list[200];
	int rc = -1;

	*status = "4.7.0";
	unsigned offered = sasl_offered(ehlo, list, sizeof list);
	if (!list[0]) {
		/* Nothing to do: the server lets us send as we are (it may
		 * still refuse MAIL, and the app will read why). */
		log_info("%s offers no AUTH; sending without authenticating", u->where);
		return 0;
	}
	int mech = sasl_choose(c->auth, offered);
	if (mech < 0) {
		*kind = OUTCOME_AUTH;
		snprintf(err, errlen, "%s offers AUTH %s, not %s", u->where, list,
			 c->auth == AUTH_AUTO ? "PLAIN, LOGIN or XOAUTH2" : config_auth_name(c->auth));
		return -1;
	}

	mlock(&s, sizeof s);
	if (secret_get(c, s.secret, sizeof s.secret, x.deadline, err, errlen) < 0) {
		*status = "4.3.5";
		*kind = OUTCOME_SECRET;
		goto out;
	}
	rc = run_mechanism(&x, c, mech);
	*mech_name = mech_names[mech];
out:
	OPENSSL_cleanse(&s, sizeof s);
	munlock(&s, sizeof s);
	return rc;
}
