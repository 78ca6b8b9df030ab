#include "conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

void conn_init(struct conn *c, int fd)
{
	int one = 1;
	struct timeval tv = {CONN_TIMEOUT_S, 0};
	c->fd = fd;
	c->ssl = NULL;
	c->start = c->len = 0;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

long conn_fill(struct conn *c)
{
	if (c->start + c->len == CONN_BUF) {
		memmove(c->buf, c->buf + c->start, c->len);
		c->start = 0;
	}
	size_t room = CONN_BUF - c->start - c->len;
	if (!room)
		return -1; /* a line longer than the buffer: not SMTP */
	char *p = c->buf + c->start + c->len;
	long n = c->ssl ? SSL_read(c->ssl, p, (int)room) : read(c->fd, p, room);
	if (n <= 0)
		return n < 0 ? -1 : 0; /* EOF, clean or not, ends the session alike */
	c->len += (size_t)n;
	return n;
}

const char *conn_line(struct conn *c, size_t *len)
{
	const char *p = c->buf + c->start;
	const char *lf = memchr(p, '\n', c->len);
	if (!lf)
		return NULL;
	*len = (size_t)(lf - p) + 1;
	return p;
}

void conn_consume(struct conn *c, size_t n)
{
	c->start += n;
	c->len -= n;
	if (!c->len)
		c->start = 0;
}

int conn_write(struct conn *c, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		long w = c->ssl ? SSL_write(c->ssl, s, n > 1 << 30 ? 1 << 30 : (int)n)
				: write(c->fd, s, n);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int conn_puts(struct conn *c, const char *s)
{
	return conn_write(c, s, strlen(s));
}

void conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
}
