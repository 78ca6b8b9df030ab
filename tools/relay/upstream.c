#include "upstream.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../shim/common/addr.h"
#include "../../shim/common/text.h"
#include "log.h"
#include "net.h"
#include "starttls.h"
#include "tls.h"

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

static int connect_any(struct targets *t, uint16_t port, unsigned timeout, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < t->n; i++) {
		char a[ADDR_TEXT_MAX];
		set_port(&t->addr[i], port);
		addr_text((struct sockaddr *)&t->addr[i], a, sizeof a);
		log_info("connecting to %s", a);
		int fd = net_connect((struct sockaddr *)&t->addr[i], t->len[i],
				     net_now_ms() + timeout * 1000LL, err, errlen);
		if (fd >= 0)
			return fd;
		log_info("%s: %s", a, err);
	}
	return -1;
}

enum outcome { OPENED, NO_CONNECTION, REFUSED, BAD_CERTIFICATE };

/* One port, one mode: TCP, the STARTTLS dialogue if asked, TLS. */
static enum outcome attempt(const struct session *s, SSL_CTX *ctx, struct targets *t,
			    int starttls, uint16_t port, struct upstream *u, char *err,
			    size_t errlen)
{
	char why[256];
	unsigned timeout = s->cfg.timeout;

	text_join_host_port(u->identity, port, u->where, sizeof u->where);
	u->fd = connect_any(t, port, timeout, why, sizeof why);
	if (u->fd < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", u->where, why);
		return NO_CONNECTION;
	}
	if (starttls && starttls_negotiate(u->fd, u->where, net_now_ms() + timeout * 1000LL, err,
					   errlen) < 0) {
		close(u->fd);
		return REFUSED;
	}
	u->ssl = tls_handshake(ctx, u->fd, u->identity, net_now_ms() + timeout * 1000LL, why,
			       sizeof why);
	if (!u->ssl) {
		snprintf(err, errlen, "TLS with %s failed: %s", u->where, why);
		close(u->fd);
		return tls_failed_on_certificate(why) ? BAD_CERTIFICATE : REFUSED;
	}
	u->starttls = starttls;
	return OPENED;
}

int upstream_open(const struct session *s, SSL_CTX *ctx, struct upstream *u, char *err,
		  size_t errlen, const char **status)
{
	struct targets t;
	const struct config *c = &s->cfg;
	struct {
		int starttls;
		uint16_t port;
	} plan[2];
	size_t nplan = 0;

	if (c->relay_host[0])
		snprintf(u->identity, sizeof u->identity, "%s", c->relay_host);
	else if (s->name[0])
		snprintf(u->identity, sizeof u->identity, "%s", s->name);
	else
		addr_ip_text((struct sockaddr *)&s->dest, u->identity, sizeof u->identity);

	*status = "4.4.1";
	if (find_targets(s, &t, err, errlen) < 0)
		return -1;
	if (c->mode != MODE_STARTTLS)
		plan[nplan++] = (typeof(plan[0])){0, config_upstream_port(c, MODE_TLS)};
	if (c->mode != MODE_TLS)
		plan[nplan++] = (typeof(plan[0])){1, config_upstream_port(c, MODE_STARTTLS)};

	size_t used = 0;
	err[0] = '\0';
	for (size_t i = 0; i < nplan; i++) {
		char why[900];
		enum outcome o = attempt(s, ctx, &t, plan[i].starttls, plan[i].port, u, why,
					 sizeof why);
		if (o == OPENED)
			return 0;
		log_info("%s", why);
		if (o != NO_CONNECTION)
			*status = "4.7.0";
		used += (size_t)snprintf(err + used, used < errlen ? errlen - used : 0, "%s%s",
					 used ? "; " : "", why);
		/* A certificate that fails will not pass on another port of the
		 * same host; saying so at once is clearer than a second error. */
		if (o == BAD_CERTIFICATE || used >= errlen)
			break;
	}
	return -1;
}
