/* What the shim's connect() hook costs a connection it does not intercept.
 * Run once plainly and once under smtpshim; the difference is the hook.
 *   refused: socket(), connect() to a loopback port where nothing listens
 *            (refused at once: no server or accept queue to measure),
 *            close() -- a real connection attempt, kernel work included;
 *   ebadf:   connect() on fd -1 to the same address -- the hook's checks
 *            and one system call that fails at once, so the hook's own
 *            cost is not lost in the kernel's.
 *
 * usage: connloop refused|ebadf N PORT    prints "connloop MODE N NS_PER_CALL" */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void ebadf(const struct sockaddr_in *a)
{
	if (connect(-1, (const struct sockaddr *)a, sizeof *a) == 0 || errno != EBADF) {
		fprintf(stderr, "connloop: expected EBADF\n");
		exit(1);
	}
}

static void refused(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof *a) == 0 ||
	    errno != ECONNREFUSED) {
		fprintf(stderr, "connloop: expected ECONNREFUSED\n");
		exit(1);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "refused") && strcmp(argv[1], "ebadf"))) {
		fprintf(stderr, "usage: connloop refused|ebadf N PORT\n");
		return 2;
	}
	void (*one)(const struct sockaddr_in *) = argv[1][0] == 'r' ? refused : ebadf;
	long n = atol(argv[2]);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3])),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (n < 1 || n > 100000000)
		return 2;
	one(&a); /* the shim reads its settings on the first call: not timed */
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		one(&a);
	printf("connloop %s %ld %.1f\n", argv[1], n, (double)(now_ns() - t0) / (double)n);
	return 0;
}
