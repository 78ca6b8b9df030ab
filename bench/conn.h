/* One SMTP connection, plain or TLS, for the bench's sink and client: a
 * buffered reader with line access and a write-all, over blocking sockets
 * whose waits are bounded by SO_RCVTIMEO/SO_SNDTIMEO (conn_init). */
#ifndef BENCH_CONN_H
#define BENCH_CONN_H

#include <stddef.h>
#include <openssl/ssl.h>

#define CONN_BUF (64 * 1024)  /* big reads: DATA is consumed in 64 KiB gulps */
#define CONN_TIMEOUT_S 30

struct conn {
	int fd;
	SSL *ssl;              /* NULL while plaintext */
	size_t start, len;     /* unread bytes: buf[start .. start+len) */
	char buf[CONN_BUF];
};

/* TCP_NODELAY (replies must not wait for Nagle) and the I/O timeouts. */
void conn_init(struct conn *c, int fd);

/* Reads more into the buffer: >0 bytes added, 0 at EOF, -1 on error. */
long conn_fill(struct conn *c);

/* The next whole line (with its LF) or NULL if none is buffered yet. */
const char *conn_line(struct conn *c, size_t *len);

/* Drops n bytes from the front of the buffer. */
void conn_consume(struct conn *c, size_t n);

int conn_write(struct conn *c, const void *p, size_t n);
int conn_puts(struct conn *c, const char *s);

/* Sends close_notify (TLS) and closes the socket. */
void conn_close(struct conn *c);

#endif
