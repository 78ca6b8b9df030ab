/* The shared core of the test programs: a plain SMTP client that speaks to
 * an already connected socket, and the few helpers every program needs.
 *
 * Each program in this directory proves one behaviour of a host program
 * under the shim (socket_wrapper style): it connects the way that
 * behaviour demands, checks what it can see itself, prints one "ok: ..."
 * line per fact it proved, then delivers the test message with
 * smtp_deliver().  Any failure prints "FAIL: <what>" on stderr and exits 1,
 * so the pytest side can show the cause in words.
 *
 * Every wait is bounded (SMTP_TIMEOUT_MS): a hang under the shim becomes a
 * failure with a message, never a stuck test.  Nothing here keeps global
 * state, so threads may deliver at once. */
#ifndef SMTPSHIM_TEST_SMTP_CLIENT_H
#define SMTPSHIM_TEST_SMTP_CLIENT_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>

#define SMTP_TIMEOUT_MS 15000

/* The envelope the harness expects (tests/integration/harness/programs.py). */
#define SMTP_HELO "client.test"
#define SMTP_FROM "alice@client.test"
#define SMTP_RCPT1 "bob@mail.test"
#define SMTP_RCPT2 "carol@other.test"

/* Command line shared by the programs: HOST PORT MESSAGE_FILE [EXTRA...] */
struct client_args {
	const char *host, *port;
	char *data;      /* the message: CRLF lines, not dot-stuffed */
	size_t len;
	int nextra;
	char **extra;
};

void client_args(int argc, char **argv, struct client_args *a);

__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void ok(const char *fmt, ...);

/* The first address getaddrinfo() gives for host:port with the given family
 * (AF_UNSPEC for any) and ai_flags. */
void resolve(const char *host, const char *port, int family, int flags,
	     struct sockaddr_storage *ss, socklen_t *len);

/* The set-up of every program whose point is not the connect itself:
 * resolves a->host:a->port (family and ai_flags as for resolve()), opens a
 * blocking TCP socket of the address's family and connects it; fails the
 * program on any error.  The destination goes to *dst and *len for what
 * the program checks against (either may be NULL). */
int connect_to(const struct client_args *a, int family, int ai_flags,
	       struct sockaddr_storage *dst, socklen_t *len);

/* "127.0.0.1:25", "[::1]:25"; buf of at least ADDR_STR_MAX bytes. */
#define ADDR_STR_MAX 64
const char *addr_str(const struct sockaddr *sa, char *buf);
int addr_is_loopback(const struct sockaddr *sa);
/* getpeername(fd) must give exactly dst (address, port and length), as it
 * would without the shim; prints "ok: getpeername: ..." or fails. */
void expect_peer(int fd, const struct sockaddr *dst, socklen_t len);

int tcp_socket(int family, int type_flags);
void set_nonblocking(int fd, int on);

enum wait_how { WAIT_POLL, WAIT_SELECT, WAIT_EPOLL };
/* Waits until fd is writable (a non-blocking connect finished) and returns
 * getsockopt(SO_ERROR). */
int wait_connected(int fd, enum wait_how how);

/* One SMTP conversation on a connected socket. */
struct smtp {
	int fd;
	int send_flags;      /* added to every send(), e.g. MSG_MORE tests */
	char reply[1024];    /* first line of the last reply, for messages */
	char err[1400];
	char buf[4096];      /* received bytes not yet consumed */
	size_t have;
};

void smtp_init(struct smtp *s, int fd);
/* Reads one (possibly multi-line) reply; returns its code or -1. */
int smtp_read_reply(struct smtp *s);
/* Reads a reply and checks its code; 0 or -1 with s->err set. */
int smtp_expect(struct smtp *s, int code, const char *step);
/* Sends a command line (CRLF added) and checks the reply code. */
__attribute__((format(printf, 4, 5))) int smtp_cmd(struct smtp *s, int code, const char *step,
						   const char *fmt, ...);
int smtp_send_all(struct smtp *s, const void *p, size_t n, int flags);
/* The message dot-stuffed, then the final ".", with s->send_flags. */
int smtp_send_data(struct smtp *s, const char *data, size_t len);
/* Greeting, EHLO, MAIL, RCPT, DATA, the dot-stuffed message, its 250. */
int smtp_transaction(struct smtp *s, const char *data, size_t len);

/* The whole session, QUIT included; 0, or -1 with the cause in err. */
int smtp_deliver(int fd, const char *data, size_t len, char *err, size_t errlen);
/* The same, failing the program on error. */
void deliver_or_fail(int fd, const struct client_args *a);

/* Number of open descriptors of this process (from /proc/self/fd). */
int count_open_fds(void);

/* The children of this process, as every thread's
 * /proc/self/task/TID/children lists them ("" for none); returns how many. */
int list_children(char *buf, size_t len);

/* Closes every descriptor but keep (-1 for none) the way daemons do:
 * how = "close_range" (the system call) or "loop" (close() on every
 * number below RLIMIT_NOFILE). */
void close_all_fds_except(int keep, const char *how);

/* Points fds 0, 1 and 2 at /dev/null, path, path (for ok() and fail()),
 * after a program has closed everything. */
void reopen_stdio(const char *path);

#endif
