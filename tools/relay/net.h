/* Socket helpers with deadlines: every wait of the relay is bounded. */
#ifndef SMTPSHIM_NET_H
#define SMTPSHIM_NET_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Milliseconds on the monotonic clock. */
long long net_now_ms(void);

/* Waits for events on fd until deadline; 1 ready, 0 timed out, -1 error. */
int net_wait(int fd, short events, long long deadline);

/* Non-blocking TCP connect bounded by deadline.  Returns the fd (left
 * non-blocking, TCP_NODELAY set) or -1 with the cause in err. */
int net_connect(const struct sockaddr *sa, socklen_t len, long long deadline, char *err,
		size_t errlen);

/* Reads what is there (at least one byte) before deadline: >0, 0 at EOF,
 * -1 with errno (ETIMEDOUT when the deadline passed). */
ssize_t net_read(int fd, void *buf, size_t len, long long deadline);

int net_write_all(int fd, const void *buf, size_t len, long long deadline);

/* Ends a connection without losing what was written: FIN after the data,
 * then reads (and drops) until the peer closes or the time is up, so the
 * peer never gets a reset in place of our last reply. */
void net_close_gently(int fd, unsigned seconds);

void net_set_nonblocking(int fd);
void net_set_nodelay(int fd);

/* TCP keepalive on the upstream socket: a server that vanished without a
 * FIN or a reset (a NAT that forgot us, a dead machine) is noticed after
 * IDLE + CNT * INTVL seconds (2 minutes) instead of never -- the pump
 * waits on the server without a deadline while the app is idle. */
#define NET_KEEPALIVE_IDLE 60
#define NET_KEEPALIVE_INTVL 15
#define NET_KEEPALIVE_CNT 4
void net_set_keepalive(int fd);

#endif
