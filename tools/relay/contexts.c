/* The cache of TLS contexts by CA file (contexts.h): a handful, since a
 * user's sessions name one or two CA settings; the oldest goes when full. */
#include "contexts.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "shim/common/config.h"
#include "tls.h"

#define CONTEXTS_MAX 8

struct cached_context {
	char ca_file[CONFIG_PATH_MAX];
	struct stat st;
	int have_st;
	SSL_CTX *ctx;
};
static struct cached_context contexts[CONTEXTS_MAX];
static unsigned n_contexts, next_evict;
static SSL_CTX *latest;

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The entry for ca_file, or NULL; *fresh says whether the file is as it
 * was when the entry's context was built. */
static struct cached_context *find(const char *ca_file, struct stat *st, int *have_st,
				   int *fresh)
{
	const char *file = *ca_file ? ca_file : X509_get_default_cert_file();
	*have_st = stat(file, st) == 0;
	*fresh = 0;
	for (unsigned i = 0; i < n_contexts; i++)
		if (!strcmp(contexts[i].ca_file, ca_file)) {
			struct cached_context *c = &contexts[i];
			*fresh = c->ctx && c->have_st == *have_st &&
				 (!*have_st || same_file(&c->st, st));
			return c;
		}
	return NULL;
}

int contexts_have(const char *ca_file)
{
	struct stat st;
	int have_st, fresh;
	find(ca_file, &st, &have_st, &fresh);
	return fresh;
}

SSL_CTX *contexts_latest(void)
{
	return latest;
}

SSL_CTX *contexts_get(const char *ca_file)
{
	struct stat st;
	int have_st, fresh;
	struct cached_context *c = find(ca_file, &st, &have_st, &fresh);
	if (fresh)
		return c->ctx;
	if (!c)
		c = &contexts[n_contexts < CONTEXTS_MAX ? n_contexts++ : next_evict++ % CONTEXTS_MAX];
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	char err[512];
	c->ctx = tls_context(ca_file, err, sizeof err);
	latest = c->ctx ? c->ctx : latest;
	snprintf(c->ca_file, sizeof c->ca_file, "%s", ca_file);
	c->st = st;
	c->have_st = have_st;
	return c->ctx;
}
