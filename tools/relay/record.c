#include "record.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "shim/common/addr.h"
#include "log_target.h"
#include "net.h"
#include "zero.h"

/* The most of one value that goes into the line (a server's reply, a
 * certificate subject): enough to read, never a line without end. */
#define VALUE_MAX 1000

void record_start(struct record *r, const struct session *s)
{
	zero_lazily(r, sizeof *r);
	r->start_ms = net_now_ms();
	r->s = s;
}

static void tls_of(struct record *r, SSL *ssl)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	snprintf(r->tls, sizeof r->tls, "%s/%s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	if (cert) {
		X509_NAME_oneline(X509_get_subject_name(cert), r->cert, sizeof r->cert);
		X509_free(cert);
	}
	r->verify = "ok"; /* the handshake succeeds only when it verified (tls.c) */
}

void record_setup(struct record *r, const struct setup *st)
{
	snprintf(r->upstream, sizeof r->upstream, "%s", st->u.where[0] ? st->u.where
							   : st->u.identity);
	if (st->u.ssl)
		tls_of(r, st->u.ssl);
	if (st->state == SETUP_FAILED && st->outcome == OUTCOME_CERTIFICATE)
		r->verify = "failed";
	if (st->authenticated)
		snprintf(r->auth, sizeof r->auth, "%s", st->auth_mech);
}

void record_session(struct record *r, const struct filter *f, const struct pump_result *p)
{
	r->end_ms = net_now_ms();
	r->messages = f->messages;
	r->bytes_out = p->from_app;
	r->bytes_in = p->to_app;
	if (!r->auth[0] && f->app_authenticated)
		snprintf(r->auth, sizeof r->auth, "program:%s", f->app_auth);
	if (p->outcome != OUTCOME_NONE)
		record_refusal(r, p->outcome, p->reply, strlen(p->reply));
}

void record_refusal(struct record *r, enum outcome kind, const char *reply, size_t n)
{
	if (r->outcome != OUTCOME_NONE)
		return;
	if (!r->end_ms)
		r->end_ms = net_now_ms();
	while (n && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
		n--;
	r->outcome = kind;
	snprintf(r->reply, sizeof r->reply, "%.*s", (int)n, reply);
}

/* Whether v goes into the line as it is: printable, one word, nothing a
 * reader of key=value could take for something else. */
static int plain(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' || *p == '=')
			return 0;
	return *v != '\0';
}

/* " key=value": "-" for nothing, else quoted with \" \\ and \xNN escapes
 * and cut at VALUE_MAX, when not plain. */
static void put(char *buf, size_t len, size_t *used, const char *key, const char *v)
{
	char q[VALUE_MAX * 4 + 8];
	size_t o = 0, i;
	if (!v || !*v)
		v = "-";
	if (!plain(v) && strcmp(v, "-")) {
		q[o++] = '"';
		for (i = 0; v[i] && i < VALUE_MAX; i++) {
			unsigned char c = (unsigned char)v[i];
			if (c == '"' || c == '\\')
				o += (size_t)sprintf(q + o, "\\%c", c);
			else if (c < ' ' || c >= 0x7f)
				o += (size_t)sprintf(q + o, "\\x%02x", c);
			else
				q[o++] = (char)c;
		}
		o += (size_t)sprintf(q + o, "%s\"", v[i] ? "..." : "");
		q[o] = '\0';
		v = q;
	}
	int n = snprintf(buf + *used, len - *used, " %s=%s", key, v);
	if (n > 0 && (size_t)n < len - *used)
		*used += (size_t)n;
}

static void put_number(char *buf, size_t len, size_t *used, const char *key,
		       unsigned long long v)
{
	char text[24];
	snprintf(text, sizeof text, "%llu", v);
	put(buf, len, used, key, text);
}

static const char *outcome_word(const struct record *r)
{
	if (r->outcome != OUTCOME_NONE)
		return outcome_name(r->outcome);
	return r->messages ? "delivered" : "no-mail";
}

size_t record_format(const struct record *r, char *buf, size_t len)
{
	const struct session *s = r->s;
	char to[ADDR_TEXT_MAX] = "", pid[16] = "";
	size_t used = (size_t)snprintf(buf, len, "session");

	if (s->dest_len)
		addr_text((const struct sockaddr *)&s->dest, to, sizeof to);
	if (s->program_pid)
		snprintf(pid, sizeof pid, "%d", s->program_pid);
	put(buf, len, &used, "prog", s->program);
	put(buf, len, &used, "pid", pid);
	put(buf, len, &used, "to", to);
	put(buf, len, &used, "name", s->name);
	put(buf, len, &used, "upstream", r->upstream);
	put(buf, len, &used, "tls", r->tls);
	put(buf, len, &used, "cert", r->cert);
	put(buf, len, &used, "verify", r->verify);
	put(buf, len, &used, "auth", r->auth[0] ? r->auth : "none");
	put(buf, len, &used, "user", r->auth[0] && strncmp(r->auth, "program:", 8) ? s->cfg.user : "");
	put_number(buf, len, &used, "messages", r->messages);
	put_number(buf, len, &used, "bytes_out", r->bytes_out);
	put_number(buf, len, &used, "bytes_in", r->bytes_in);
	put_number(buf, len, &used, "ms",
		   (unsigned long long)((r->end_ms ? r->end_ms : net_now_ms()) - r->start_ms));
	put(buf, len, &used, "outcome", outcome_word(r));
	if (r->outcome != OUTCOME_NONE)
		put(buf, len, &used, "reply", r->reply);
	return used;
}

void record_write(const struct record *r)
{
	char line[RECORD_LINE_MAX];
	record_format(r, line, sizeof line);
	log_target_write(r->s->cfg.log, line, r->outcome != OUTCOME_NONE);
}
