#include "setup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "net.h"
#include "tls.h"
#include "zero.h"

static const char *const state_names[] = {
	[SETUP_CONTEXT] = "context", [SETUP_UPSTREAM] = "upstream", [SETUP_GREETING] = "greeting",
	[SETUP_EHLO] = "EHLO",       [SETUP_AUTH] = "AUTH",         [SETUP_READY] = "ready",
	[SETUP_FAILED] = "failed",
};

__attribute__((format(printf, 4, 5)))
static enum setup_state failed(struct setup *st, enum outcome kind, const char *status,
			       const char *fmt, ...)
{
	va_list ap;
	st->outcome = kind;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof st->err, fmt, ap);
	va_end(ap);
	st->status = status;
	return SETUP_FAILED;
}

/* READY with our own greeting: after STARTTLS the server said its own in
 * plaintext, and after our EHLO and AUTH the app must not see it twice;
 * ", authenticated" only when the relay did authenticate. */
static enum setup_state greet_app_ourselves(struct setup *st)
{
	snprintf(st->greeting, sizeof st->greeting, "220 %s ESMTP via smtpshim (%s to %s%s)\r\n",
		 st->u.identity, st->u.starttls ? "STARTTLS" : "TLS", st->u.where,
		 st->authenticated ? ", authenticated" : "");
	return SETUP_READY;
}

static enum setup_state on_context(struct setup *st, const struct session *s,
				   const struct ready_context *ready)
{
	if (ready && ready->ctx && !strcmp(ready->ca_file, s->cfg.ca_file)) {
		st->ctx = ready->ctx;
		return SETUP_UPSTREAM;
	}
	st->ctx = tls_context(s->cfg.ca_file, st->err, sizeof st->err);
	return st->ctx ? SETUP_UPSTREAM : failed(st, OUTCOME_CONFIG, "4.3.0", "%s", st->err);
}

static enum setup_state on_upstream(struct setup *st, const struct session *s)
{
	if (upstream_open(s, st->ctx, &st->u, st->err, sizeof st->err, &st->status,
			  &st->outcome) < 0)
		return SETUP_FAILED;
	if (log_verbose()) {
		char desc[600];
		tls_describe(st->u.ssl, st->u.identity, desc, sizeof desc);
		log_info("%s: %s", st->u.where, desc);
	}
	st->deadline = net_now_ms() + s->cfg.timeout * 1000LL;
	return SETUP_GREETING;
}

/* Without credentials the app reads the server's own greeting (implicit
 * TLS), whatever its code, as it would without us; with them the relay
 * speaks first and needs a 220.  A server that never greets is a set-up
 * failure, bounded like the others. */
static enum setup_state read_greeting(struct setup *st, struct reply_parser *p)
{
	char why[200];

	if (tls_read_reply(st->u.ssl, st->u.fd, p, st->deadline, why, sizeof why) < 0)
		return failed(st, outcome_of_errno(errno), st->local ? "4.7.0" : "4.4.2",
			      "%s greeting: %s", st->u.where, why);
	log_lines(st->local ? "S(relay):" : "S:", p->reply.raw, p->reply.len);
	if (!st->local) {
		memcpy(st->greeting, p->reply.raw, p->reply.len);
		st->greeting[p->reply.len] = '\0';
		return SETUP_READY;
	}
	if (p->reply.code != 220) {
		char summary[400];
		reply_summary(&p->reply, summary, sizeof summary);
		return failed(st, OUTCOME_REFUSED, "4.7.0", "%s refused the session: %s",
			      st->u.where, summary);
	}
	return SETUP_EHLO;
}

static enum setup_state on_greeting(struct setup *st)
{
	static struct reply_parser p ZERO_PAGE_ALIGNED;

	if (st->u.starttls) /* consumed in plaintext, before TLS (attempt.c) */
		return st->local ? SETUP_EHLO : greet_app_ourselves(st);
	enum setup_state next = read_greeting(st, &p);
	zero_give_back(&p, sizeof p);
	return next;
}

static enum setup_state on_ehlo(struct setup *st)
{
	if (auth_ehlo(&st->u, st->deadline, &st->ehlo, st->err, sizeof st->err, &st->outcome) < 0) {
		st->status = "4.7.0";
		return SETUP_FAILED;
	}
	return SETUP_AUTH;
}

static enum setup_state on_auth(struct setup *st, const struct session *s)
{
	int rc = auth_inject(&st->u, &s->cfg, &st->ehlo, st->deadline, st->err, sizeof st->err,
			     &st->status, &st->outcome, &st->auth_mech);
	if (rc < 0)
		return SETUP_FAILED;
	st->authenticated = rc;
	return greet_app_ourselves(st);
}

void setup_run(struct setup *st, const struct session *s, const struct ready_context *ready)
{
	st->state = SETUP_CONTEXT;
	st->u.fd = -1;
	st->u.ssl = NULL;
	st->local = config_has_credentials(&s->cfg);
	st->authenticated = 0;
	st->auth_mech = NULL;
	st->status = "4.3.0";
	st->outcome = OUTCOME_NONE;
	st->greeting[0] = '\0';
	while (st->state != SETUP_READY && st->state != SETUP_FAILED) {
		enum setup_state next = SETUP_FAILED;
		switch (st->state) {
		case SETUP_CONTEXT:
			next = on_context(st, s, ready);
			break;
		case SETUP_UPSTREAM:
			next = on_upstream(st, s);
			break;
		case SETUP_GREETING:
			next = on_greeting(st);
			break;
		case SETUP_EHLO:
			next = on_ehlo(st);
			break;
		case SETUP_AUTH:
			next = on_auth(st, s);
			break;
		default:
			break;
		}
		log_info("set-up: %s -> %s", state_names[st->state], state_names[next]);
		st->state = next;
	}
}

void setup_close(struct setup *st)
{
	if (st->u.ssl)
		SSL_free(st->u.ssl);
	if (st->u.fd >= 0)
		close(st->u.fd);
	st->u.ssl = NULL;
	st->u.fd = -1;
}
