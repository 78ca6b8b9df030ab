/* smtpshim-relay --serve NAME IDLE: the user's relay kept ready before
 * the connection (issue 8).  OpenSSL is loaded and the trust stores built
 * once; each session is a child forked from this ready process, so a
 * crash, a hang or a hostile server in one session touches no other, and
 * each reads its own settings and secrets as a relay started for it would. */
#ifndef SMTPSHIM_SERVER_H
#define SMTPSHIM_SERVER_H

#include <openssl/ssl.h>

/* A TLS context built ahead, for the CA file it trusts ("" the system's),
 * and where the session tells the server that its set-up is over. */
struct ready_context {
	const char *ca_file;
	SSL_CTX *ctx;
	int report_fd;
};

/* Serves the abstract Unix socket NAME until IDLE seconds pass without a
 * connection; the shim's hello and what follows: relay_handoff.h. */
int server_main(const char *name, const char *idle);

/* main.c: what a relay does, started for one connection or forked by the
 * server for one. */
void relay_start_up(void);
void relay_tell_ready(void);
int relay_session(const struct ready_context *ready);

/* spare.c: the session is over, whatever its result: the server may
 * fork the next spare without taking the CPU from it. */
void spare_over(const struct ready_context *ready);

#endif
