#include "names.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "common/addr.h"
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

void names_record(int family, const void *ip, const char *name)
{
	unsigned char key[16];
	size_t n = strlen(name);

	/* Only what can be a host name: a name with a newline in it (some
	 * resolver let it through) must never reach the relay's settings. */
	if (!n || n >= NAME_LEN || addr_is_ip_text(name) || !text_is_host(name) ||
	    addr_ip16(family, ip, key) < 0)
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
	int found = -1;

	if (addr_sockaddr_ip16(sa, key) < 0)
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
