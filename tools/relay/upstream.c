#include "upstream.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim/common/addr.h"
#include "shim/common/text.h"
#include "log.h"
#include "net.h"
#include "plan.h"
#include "attempt.h"
#include "cache.h"
#include "tls.h"
#include "zero.h"

#define MAX_ADDRS 8

struct targets {
	struct sockaddr_storage addr[MAX_ADDRS];
	socklen_t len[MAX_ADDRS];
	size_t n;
};

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* A relay host is resolved here; otherwise the app's own choice of address
 * stands, and only the port changes. */
static int find_targets(const struct session *s, struct targets *t, char *err, size_t errlen)
{
	t->n = 0;
	if (!s->cfg.relay_host[0]) {
		memcpy(&t->addr[0], &s->dest, sizeof s->dest);
		t->len[0] = s->dest_len;
		t->n = 1;
		return 0;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	int rc = getaddrinfo(s->cfg.relay_host, NULL, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve %s: %s", s->cfg.relay_host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai && t->n < MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		memcpy(&t->addr[t->n], ai->ai_addr, ai->ai_addrlen);
		t->len[t->n++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	return 0;
}

/* RFC 8305's "Connection Attempt Delay": long enough for a healthy port
 * to win alone, short enough that a silent one costs little. */
#define STAGGER_MS 250
#define MAX_ATTEMPTS (PLAN_MAX * MAX_ADDRS)

/* The certificate identity: the relay host, else the name the program
 * resolved, else the address it dialled (its IP entries are checked). */
static void choose_identity(const struct session *s, struct upstream *u)
{
	const struct config *c = &s->cfg;
	if (c->relay_host[0])
		snprintf(u->identity, sizeof u->identity, "%s", c->relay_host);
	else if (s->name[0])
		snprintf(u->identity, sizeof u->identity, "%s", s->name);
	else
		addr_ip_text((struct sockaddr *)&s->dest, u->identity, sizeof u->identity);
}

/* One attempt per port and mode of the plan and per address, in the
 * plan's order; returns how many. */
static size_t make_attempts(const struct plan_entry *plan, size_t nplan, const struct targets *t,
			    const char *identity, struct attempt *at)
{
	size_t n = 0;
	for (size_t i = 0; i < nplan; i++)
		for (size_t k = 0; k < t->n && n < MAX_ATTEMPTS; k++) {
			struct attempt *a = &at[n++];
			zero_lazily(a, sizeof *a);
			a->fd = -1;
			a->starttls = plan[i].starttls;
			a->port = plan[i].port;
			a->addr = t->addr[k];
			a->addr_len = t->len[k];
			set_port(&a->addr, a->port);
			a->identity = identity;
			text_join_host_port(identity, a->port, a->where, sizeof a->where);
		}
	return n;
}

struct race {
	struct attempt *at;
	size_t n, started;
	struct attempt *winner, *fatal;
};

/* One poll over the attempts under way, and a step of each that is ready
 * (or past its deadline); -1 if poll itself fails. */
static int race_round(struct race *r, SSL_CTX *ctx, unsigned timeout, long long now,
		      long long next_start)
{
	struct pollfd p[MAX_ATTEMPTS];
	size_t idx[MAX_ATTEMPTS], np = 0;
	long long wake = r->started < r->n ? next_start : now + 60000;
	for (size_t i = 0; i < r->started; i++) {
		if (r->at[i].state == AT_FAILED)
			continue;
		p[np] = (struct pollfd){r->at[i].fd, r->at[i].events, 0};
		idx[np++] = i;
		if (r->at[i].deadline < wake)
			wake = r->at[i].deadline;
	}
	long long wait = wake - now;
	if (poll(p, np, wait < 0 ? 0 : wait > 60000 ? 60000 : (int)wait) < 0 && errno != EINTR)
		return -1;
	for (size_t j = 0; j < np && !r->winner && !r->fatal; j++) {
		struct attempt *a = &r->at[idx[j]];
		attempt_step(a, ctx, p[j].revents, timeout);
		if (a->state == AT_OPEN)
			r->winner = a;
		else if (a->state == AT_FAILED && a->tls == TLS_FAIL_CERTIFICATE)
			/* A certificate that fails will not pass on another
			 * port of the same host; one clear error beats many. */
			r->fatal = a;
	}
	return 0;
}

/* Happy Eyeballs over the whole setup, not just TCP: a black-holed port
 * accepts the connection and then never speaks.  Ends with a winner, a
 * fatal failure, or every attempt failed; the losers are closed. */
static void race_run(struct race *r, SSL_CTX *ctx, unsigned timeout)
{
	long long next_start = 0;
	while (!r->winner && !r->fatal) {
		size_t active = 0;
		for (size_t i = 0; i < r->started; i++)
			active += r->at[i].state != AT_FAILED;
		long long now = net_now_ms();
		if (r->started < r->n && (now >= next_start || !active)) {
			attempt_start(&r->at[r->started++], ctx, timeout);
			next_start = now + STAGGER_MS;
			continue;
		}
		if (!active || race_round(r, ctx, timeout, now, next_start) < 0)
			break;
	}
	for (size_t i = 0; i < r->started; i++)
		if (&r->at[i] != r->winner)
			attempt_close(&r->at[i]);
}

/* The winner's session becomes ours; the port and mode that won are
 * remembered for the next session to try first. */
static void take_winner(const struct config *c, struct upstream *u, const struct attempt *w,
			const struct plan_entry *last, int known)
{
	u->fd = w->fd;
	u->ssl = w->ssl;
	u->starttls = w->starttls;
	snprintf(u->where, sizeof u->where, "%s", w->where);
	log_info("%s won after %lld ms", w->where, net_now_ms() - w->started_ms);
	struct plan_entry won = {w->starttls, w->port};
	if (!known || last->port != won.port || last->starttls != won.starttls)
		cache_remember(c, u->identity, &won);
}

/* Every cause, in the order of the plan (only the fatal one if there is
 * one); 4.7.0 once an attempt got past TCP, and the kind of the first
 * that did (it got furthest), else of the first. */
static void tell_causes(const struct race *r, const char *identity, char *err, size_t errlen,
			const char **status, enum outcome *kind)
{
	size_t used = 0;
	int got_past_tcp = 0;
	err[0] = '\0';
	*kind = OUTCOME_CONNECT;
	for (size_t i = 0; i < r->started; i++) {
		const struct attempt *a = r->fatal ? r->fatal : &r->at[i];
		if (a->state == AT_FAILED && (!i || (a->connected && !got_past_tcp)))
			*kind = a->outcome;
		got_past_tcp |= a->connected;
		if (a->connected)
			*status = "4.7.0";
		if (a->state == AT_FAILED && used < errlen)
			used += (size_t)snprintf(err + used, errlen - used, "%s%s", used ? "; " : "",
						 a->err);
		if (r->fatal)
			break;
	}
	if (!err[0])
		snprintf(err, errlen, "no way to reach %s", identity);
}

int upstream_open(const struct session *s, SSL_CTX *ctx, struct upstream *u, char *err,
		  size_t errlen, const char **status, enum outcome *kind)
{
	struct targets t;
	const struct config *c = &s->cfg;
	struct plan_entry plan[PLAN_MAX], last;
	/* 20 KiB each: not on the stack */
	static struct attempt at[MAX_ATTEMPTS] ZERO_PAGE_ALIGNED;

	choose_identity(s, u);
	*status = "4.4.1";
	*kind = OUTCOME_CONNECT;
	if (find_targets(s, &t, err, errlen) < 0)
		return -1;
	int known = cache_recall(c, u->identity, &last);
	size_t nplan = plan_make(c, known ? &last : NULL, plan);
	struct race r = {at, make_attempts(plan, nplan, &t, u->identity, at), 0, NULL, NULL};
	race_run(&r, ctx, c->timeout);
	if (r.winner)
		take_winner(c, u, r.winner, &last, known);
	else
		tell_causes(&r, u->identity, err, errlen, status, kind);
	zero_give_back(at, sizeof at);
	return r.winner ? 0 : -1;
}
