/* smtpshim probe HOST: for 25, 465, 587 and 2525, whether the port is
 * reachable, refused or filtered, what TLS it offers (version, cipher,
 * certificate validity and name), the EHLO capabilities, and at the end
 * the config line to use.  The ports are probed at once (one process
 * each), so a filtered port costs one timeout, not four. */
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/common/addr.h"
#include "shim/common/config.h"
#include "sasl.h"
#include "smtp_reply.h"
#include "shim/common/text.h"
#include "hostname.h"
#include "net.h"
#include "tls.h"
#include "tools.h"

static const uint16_t ports[] = {25, 465, 587, 2525};
#define NPORTS (sizeof ports / sizeof ports[0])

/* What one port's probe found, sent to the parent after its text. */
struct finding {
	int usable;        /* verified TLS works here */
	int starttls;
	char auth[200];    /* AUTH mechanisms offered inside TLS */
};

struct probe {
	const char *host;
	const struct sockaddr *addr;
	socklen_t addr_len;
	uint16_t port;
	long long deadline;
	SSL_CTX *ctx;
	FILE *out;
	struct finding f;
};

static struct reply_parser parser;

__attribute__((format(printf, 2, 3)))
static void say(struct probe *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(p->out, "           ");
	vfprintf(p->out, fmt, ap);
	fputc('\n', p->out);
	va_end(ap);
}

/* One reply on the plain socket (ssl NULL) or through TLS. */
static int reply(struct probe *p, int fd, SSL *ssl, const char *step)
{
	char err[200];
	if (ssl) {
		if (tls_read_reply(ssl, fd, &parser, p->deadline, err, sizeof err) == 0)
			return 0;
		say(p, "%s: %s", step, err);
		return -1;
	}
	char buf[SMTP_LINE_MAX];
	reply_parser_init(&parser);
	for (;;) {
		ssize_t n = net_read(fd, buf, sizeof buf, p->deadline);
		if (n <= 0) {
			say(p, "%s: %s", step, n == 0 ? "the server closed the connection"
					  : errno == ETIMEDOUT ? "no reply in time" : strerror(errno));
			return -1;
		}
		size_t used;
		enum reply_status st = reply_parser_feed(&parser, buf, (size_t)n, &used);
		if (st == REPLY_ERROR) {
			say(p, "%s: not SMTP (%s)", step, parser.error);
			return -1;
		}
		if (st == REPLY_DONE)
			return 0;
	}
}

static int command(struct probe *p, int fd, SSL *ssl, const char *line, const char *step)
{
	char err[200];
	int rc = ssl ? tls_write_all(ssl, fd, line, strlen(line), p->deadline, err, sizeof err)
		     : net_write_all(fd, line, strlen(line), p->deadline);
	if (rc < 0) {
		say(p, "cannot send %s", step);
		return -1;
	}
	return reply(p, fd, ssl, step);
}

static void show_reply(struct probe *p, const char *label)
{
	char s[300];
	reply_summary(&parser.reply, s, sizeof s);
	say(p, "%s: %s", label, s);
}

/* The capabilities that matter here, in one line. */
static void show_ehlo(struct probe *p, const char *label, int in_tls)
{
	char list[200], line[600];
	const struct smtp_reply *r = &parser.reply;
	size_t n = 0;
	unsigned offered = sasl_offered(r, list, sizeof list);
	(void)offered;
	n += (size_t)snprintf(line + n, sizeof line - n, "%s",
			      reply_has_keyword(r, "STARTTLS") ? "STARTTLS" : "no STARTTLS");
	n += (size_t)snprintf(line + n, sizeof line - n, ", %s%s", list[0] ? "AUTH " : "no AUTH",
			      list);
	for (size_t i = 1; i < r->nlines; i++) {
		const char *t;
		size_t len;
		reply_line_text(r, i, &t, &len);
		if (len >= 4 && !strncasecmp(t, "SIZE", 4) && (len == 4 || t[4] == ' '))
			n += (size_t)snprintf(line + n, sizeof line - n, ", %.*s", (int)len, t);
	}
	say(p, "%s: %s", label, line);
	if (in_tls)
		snprintf(p->f.auth, sizeof p->f.auth, "%s", list);
}

static void show_certificate(struct probe *p, SSL *ssl)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (!cert) {
		say(p, "certificate: none");
		return;
	}
	char subject[256], issuer[256], until[64] = "?";
	X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
	X509_NAME_oneline(X509_get_issuer_name(cert), issuer, sizeof issuer);
	BIO *b = BIO_new(BIO_s_mem());
	if (b && ASN1_TIME_print(b, X509_get0_notAfter(cert))) {
		int n = BIO_read(b, until, sizeof until - 1);
		until[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	long v = SSL_get_verify_result(ssl);
	int name_ok = addr_is_ip_text(p->host) ? X509_check_ip_asc(cert, p->host, 0) == 1
			    : X509_check_host(cert, p->host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
					      NULL) == 1;
	say(p, "certificate: %s, issued by %s, valid until %s", subject, issuer, until);
	say(p, "             %s; %s %s", v == X509_V_OK ? "chain trusted" : X509_verify_cert_error_string(v),
	    name_ok ? "name matches" : "name does NOT match", p->host);
	if (v != X509_V_OK && (v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
			       v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
			       v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN))
		say(p, "             (a private CA? give it with --ca-file)");
	p->f.usable = v == X509_V_OK && name_ok;
	X509_free(cert);
}

/* TLS without enforcing the verification: the probe reports it instead. */
static SSL *handshake(struct probe *p, int fd)
{
	SSL *ssl = SSL_new(p->ctx);
	if (!ssl)
		return NULL;
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	SSL_set_fd(ssl, fd);
	if (!addr_is_ip_text(p->host))
		SSL_set_tlsext_host_name(ssl, p->host);
	for (;;) {
		ERR_clear_error();
		int ret = SSL_connect(ssl);
		if (ret == 1)
			break;
		short ev = tls_wants(ssl, ret);
		int r = ev ? net_wait(fd, ev, p->deadline) : -1;
		if (r <= 0) {
			unsigned long e = ERR_peek_last_error();
			say(p, "TLS: failed: %s", r == 0 ? "handshake timed out (nothing answers)"
					     : e ? ERR_reason_error_string(e)
						 : "the server closed the connection");
			SSL_free(ssl);
			return NULL;
		}
	}
	say(p, "TLS: %s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	show_certificate(p, ssl);
	return ssl;
}

static void our_ehlo(char *line, size_t len)
{
	char host[256];
	hostname_ours(host, sizeof host);
	snprintf(line, len, "EHLO %s\r\n", host);
}

/* The port's TCP connection, and its line of the report: reachable, or
 * why not (a timeout means a firewall dropped it; a refusal, that the host
 * is there). */
static int open_port(struct probe *p)
{
	char err[200], head[32];
	struct sockaddr_storage ss;
	memcpy(&ss, p->addr, p->addr_len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(p->port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(p->port);

	snprintf(head, sizeof head, "port %-5u", p->port);
	long long t0 = net_now_ms();
	int fd = net_connect((struct sockaddr *)&ss, p->addr_len, p->deadline, err, sizeof err);
	long long ms = net_now_ms() - t0;
	if (fd < 0) {
		if (!strcmp(err, "timed out"))
			fprintf(p->out, "%s filtered (no answer in %lld ms: dropped on the way)\n", head, ms);
		else if (strstr(err, "refused"))
			fprintf(p->out, "%s refused (%lld ms: reachable host, nothing listening)\n", head,
				ms);
		else
			fprintf(p->out, "%s unreachable (%s, %lld ms)\n", head, err, ms);
		return -1;
	}
	fprintf(p->out, "%s reachable (connected in %lld ms)%s\n", head, ms,
		p->port == 465 ? ", implicit TLS" : "");
	return fd;
}

static int greeting(struct probe *p, int fd, SSL *ssl)
{
	if (reply(p, fd, ssl, "greeting") < 0)
		return -1;
	show_reply(p, "greeting");
	return 0;
}

/* The EHLO inside TLS: what a relay session will be offered. */
static void tls_ehlo(struct probe *p, int fd, SSL *ssl, const char *ehlo)
{
	if (command(p, fd, ssl, ehlo, "EHLO") == 0)
		show_ehlo(p, "EHLO (in TLS)", 1);
}

/* The plain EHLO: a 250 that offers STARTTLS, or the port is not usable. */
static int plain_ehlo(struct probe *p, int fd, const char *ehlo)
{
	if (command(p, fd, NULL, ehlo, "EHLO") < 0)
		return -1;
	if (parser.reply.code != 250) {
		show_reply(p, "EHLO");
		return -1;
	}
	show_ehlo(p, "EHLO (plain)", 0);
	if (!reply_has_keyword(&parser.reply, "STARTTLS")) {
		say(p, "no STARTTLS: plaintext only, not usable");
		return -1;
	}
	return 0;
}

/* STARTTLS, answered by a 220 (RFC 3207 section 4). */
static int starttls(struct probe *p, int fd)
{
	if (command(p, fd, NULL, "STARTTLS\r\n", "STARTTLS") < 0)
		return -1;
	if (parser.reply.code != 220) {
		show_reply(p, "STARTTLS refused");
		return -1;
	}
	return 0;
}

/* Port 465: TLS from the first byte (RFC 8314), the greeting inside it.
 * Returns the TLS session, if one came up. */
static SSL *probe_implicit_tls(struct probe *p, int fd, const char *ehlo)
{
	SSL *ssl = handshake(p, fd);
	if (ssl && greeting(p, fd, ssl) == 0)
		tls_ehlo(p, fd, ssl, ehlo);
	return ssl;
}

/* The other ports: greeting, EHLO and STARTTLS in the plain, then TLS.
 * Returns the TLS session, if one came up. */
static SSL *probe_starttls(struct probe *p, int fd, const char *ehlo)
{
	if (greeting(p, fd, NULL) < 0 || plain_ehlo(p, fd, ehlo) < 0 || starttls(p, fd) < 0)
		return NULL;
	SSL *ssl = handshake(p, fd);
	if (!ssl)
		return NULL;
	p->f.starttls = 1;
	tls_ehlo(p, fd, ssl, ehlo);
	return ssl;
}

static void probe_port(struct probe *p)
{
	char ehlo[300];
	our_ehlo(ehlo, sizeof ehlo);
	int fd = open_port(p);
	if (fd < 0)
		return;
	SSL *ssl = p->port == 465 ? probe_implicit_tls(p, fd, ehlo) : probe_starttls(p, fd, ehlo);
	if (ssl) {
		if (!p->f.usable)
			say(p, "=> not usable: the certificate does not verify");
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
}

static int resolve(const char *host, struct sockaddr_storage *ss, socklen_t *len, char *err,
		   size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* What every port's probe shares: the destination and the TLS context. */
struct target {
	const char *host;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	unsigned timeout;
	const char *ca_file;
	SSL_CTX *ctx;
};

/* The settings for HOST, its address and the TLS context; -1 with the
 * cause said on stderr. */
static int target_prepare(struct target *t, const char *host)
{
	extern char **environ;
	static struct config base, c;
	char err[600];

	config_load(&base, environ);
	if (base.error[0]) {
		fprintf(stderr, "smtpshim: %s\n", base.error);
		return -1;
	}
	if (resolve(host, &t->addr, &t->addr_len, err, sizeof err) < 0) {
		fprintf(stderr, "smtpshim: %s\n", err);
		return -1;
	}
	config_for_destination(&base, host, (struct sockaddr *)&t->addr, 25, &c);
	t->host = host;
	/* A probe waits less than a mail session: filtered ports are normal here. */
	t->timeout = getenv("SMTPSHIM_TIMEOUT") ? c.timeout : 5;
	t->ca_file = c.ca_file;
	t->ctx = tls_context(c.ca_file, err, sizeof err);
	if (!t->ctx) {
		fprintf(stderr, "smtpshim: %s\n", err);
		return -1;
	}
	return 0;
}

/* In the child: probe port number i, write the report's text, a NUL and
 * the finding to fd, and exit. */
static void port_child(const struct target *t, size_t i, int fd)
{
	struct probe p = {t->host, (const struct sockaddr *)&t->addr, t->addr_len, ports[i],
			  net_now_ms() + t->timeout * 1000LL, t->ctx, fdopen(fd, "w"), {0}};
	probe_port(&p);
	fputc('\0', p.out);
	fwrite(&p.f, sizeof p.f, 1, p.out);
	fclose(p.out);
	_exit(0);
}

/* One child per port, all at once; fds[i] reads what port i's child says. */
static int start_children(const struct target *t, int fds[NPORTS], pid_t pids[NPORTS])
{
	for (size_t i = 0; i < NPORTS; i++) {
		int pipefd[2];
		if (pipe(pipefd) < 0 || (pids[i] = fork()) < 0) {
			perror("smtpshim probe");
			return -1;
		}
		if (pids[i] == 0) {
			close(pipefd[0]);
			port_child(t, i, pipefd[1]);
		}
		close(pipefd[1]);
		fds[i] = pipefd[0];
	}
	return 0;
}

/* A child's report, printed in port order, and its finding. */
static void collect_child(int fd, pid_t pid, struct finding *found)
{
	static char text[65536];
	size_t used = 0;
	ssize_t n;
	while (used < sizeof text && (n = read(fd, text + used, sizeof text - used)) > 0)
		used += (size_t)n;
	close(fd);
	waitpid(pid, NULL, 0);
	size_t tlen = strnlen(text, used);
	fwrite(text, 1, tlen, stdout);
	memset(found, 0, sizeof *found);
	if (used >= tlen + 1 + sizeof *found)
		memcpy(found, text + tlen + 1, sizeof *found);
}

/* The config line to use: implicit TLS first (RFC 8314), then STARTTLS on
 * 587, then 2525.  Returns the exit status: 0 when a port serves. */
static int recommend(const char *host, const struct finding found[NPORTS])
{
	static const size_t order[] = {1, 2, 3};
	for (size_t k = 0; k < 3; k++) {
		const struct finding *f = &found[order[k]];
		if (!f->usable)
			continue;
		printf("\n");
		if (f->auth[0])
			printf("The server offers AUTH %s: add \"user NAME\" and \"password-file FILE\"\n"
			       "(or \"password-command CMD\") if it wants you to log in.\n", f->auth);
		char where[300];
		text_join_host_port(host, ports[order[k]], where, sizeof where);
		printf("recommended: relay %s\n", where);
		return 0;
	}
	printf("\nrecommended: none -- no port of %s but 25 offers verified TLS%s\n", host,
	       found[0].usable ? " (25 works from here: no shim needed)" : "");
	return 1;
}

int probe_main(const char *host)
{
	static struct target t;
	char ip[ADDR_TEXT_MAX];
	if (target_prepare(&t, host) < 0)
		return 2;
	addr_ip_text((struct sockaddr *)&t.addr, ip, sizeof ip);
	printf("smtpshim probe %s (%s), trusting %s, %u s per step\n\n", host, ip,
	       t.ca_file[0] ? t.ca_file : "the system CAs", t.timeout);
	fflush(stdout);

	int fds[NPORTS];
	pid_t pids[NPORTS];
	if (start_children(&t, fds, pids) < 0)
		return 2;
	struct finding found[NPORTS];
	for (size_t i = 0; i < NPORTS; i++)
		collect_child(fds[i], pids[i], &found[i]);
	SSL_CTX_free(t.ctx);
	return recommend(host, found);
}
