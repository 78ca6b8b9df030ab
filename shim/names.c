#include "names.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "common/text.h"

/* A small ring: a program connects soon after it resolves, so recent
 * names are the ones that matter, and the memory stays fixed. */
#define NAMES_MAX 128
#define NAME_LEN 256

struct name_entry {
	unsigned char ip[16]; /* IPv4 stored v4-mapped, so both spellings match */
	char name[NAME_LEN];
};

static struct name_entry ring[NAMES_MAX];
static unsigned next;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* A fork while another thread holds the lock would leave the child's copy
 * locked forever: hosts fork from threads (MTAs do), so start it afresh. */
static void unlock_in_child(void)
{
	pthread_mutex_init(&lock, NULL);
}

__attribute__((constructor)) static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, unlock_in_child);
}

static int to_mapped(int family, const void *ip, unsigned char out[16])
{
	if (family == AF_INET6) {
		memcpy(out, ip, 16);
		return 0;
	}
	if (family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, ip, 4);
		return 0;
	}
	return -1;
}

static int is_ip_literal(const char *name)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

void names_record(int family, const void *ip, const char *name)
{
	unsigned char key[16];
	size_t n = strlen(name);

	/* Only what can be a host name: a name with a newline in it (some
	 * resolver let it through) must never reach the relay's settings. */
	if (!n || n >= NAME_LEN || is_ip_literal(name) || !text_is_host(name) ||
	    to_mapped(family, ip, key) < 0)
		return;
	pthread_mutex_lock(&lock);
	struct name_entry *e = &ring[next++ % NAMES_MAX];
	memcpy(e->ip, key, 16);
	memcpy(e->name, name, n + 1);
	pthread_mutex_unlock(&lock);
}

int names_lookup(const struct sockaddr *sa, char *name, size_t len)
{
	unsigned char key[16];
	const void *ip = sa->sa_family == AF_INET
				 ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
				 : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	int found = -1;

	if (to_mapped(sa->sa_family, ip, key) < 0)
		return -1;
	pthread_mutex_lock(&lock);
	/* Newest first: the same address may have been reached by two names. */
	for (unsigned i = 1; i <= NAMES_MAX && i <= next; i++) {
		const struct name_entry *e = &ring[(next - i) % NAMES_MAX];
		if (!memcmp(e->ip, key, 16) && strlen(e->name) < len) {
			strcpy(name, e->name);
			found = 0;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}
