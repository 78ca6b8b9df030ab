#include "sessions.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "common/addr.h"

/* Fixed size: older entries are overwritten by newer sessions; a program
 * with more than this many intercepted sockets open at once is not one we
 * have met. */
#define SESSIONS_MAX 256

struct entry {
	dev_t dev;
	ino_t ino;
	struct session s;
};

static struct entry table[SESSIONS_MAX];
static unsigned next;
static atomic_uint count; /* lets lookups skip everything until a first session */
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

void sessions_record(int fd, const struct session *s)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return;
	pthread_mutex_lock(&lock);
	struct entry *e = &table[next++ % SESSIONS_MAX];
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->s = *s;
	pthread_mutex_unlock(&lock);
	atomic_fetch_add(&count, 1);
}

int sessions_lookup(int fd, struct session *out)
{
	struct stat st;
	int found = -1;

	if (atomic_load(&count) == 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return -1;
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < SESSIONS_MAX; i++) {
		if (table[i].ino == st.st_ino && table[i].dev == st.st_dev && table[i].ino) {
			*out = table[i].s;
			found = 0;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	if (found == 0) {
		struct sockaddr_storage local;
		socklen_t len = sizeof local;
		if (getsockname(fd, (struct sockaddr *)&local, &len) < 0 ||
		    !addr_equal((struct sockaddr *)&local, (struct sockaddr *)&out->local))
			found = -1;
	}
	return found;
}
