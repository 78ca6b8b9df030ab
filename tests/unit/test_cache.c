/* Auto mode's port memory: used only in a directory that is the user's
 * own and nobody else's to write, and written without following a link
 * or reusing a file that is there. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/relay/cache.h"
#include "check.h"

static struct config c;
static char base[64], dir[128], victim[160];

static void setup(const char *sub, mode_t mode)
{
	config_defaults(&c);
	snprintf(dir, sizeof dir, "%s/%s", base, sub);
	mkdir(dir, 0700);
	chmod(dir, mode);
	snprintf(c.cache_dir, sizeof c.cache_dir, "%s", dir);
}

static int exists(const char *name)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

static void test_private_directory_is_used(void)
{
	struct plan_entry e = {1, 587}, got = {0, 0};
	setup("private", 0700);
	cache_remember(&c, "mail.test", &e);
	CHECK(exists("port-mail.test"));
	CHECK(cache_recall(&c, "mail.test", &got) == 1);
	CHECK(got.port == 587 && got.starttls == 1);
	/* and a directory that is not there yet is made, private */
	struct stat st;
	snprintf(c.cache_dir, sizeof c.cache_dir, "%s/new/deeper", base);
	cache_remember(&c, "mail.test", &e);
	CHECK(stat(c.cache_dir, &st) == 0 && (st.st_mode & 077) == 0);
}

static void test_directory_others_may_write_is_skipped(void)
{
	struct plan_entry e = {0, 465}, got;
	setup("shared", 0777);
	cache_remember(&c, "mail.test", &e);
	CHECK(!exists("port-mail.test"));
	setup("group", 0770);
	cache_remember(&c, "mail.test", &e);
	CHECK(!exists("port-mail.test"));
	/* nor is what someone left there read */
	char path[300];
	snprintf(path, sizeof path, "%s/port-mail.test", dir);
	FILE *fp = fopen(path, "w");
	fputs("2525 starttls\n", fp);
	fclose(fp);
	CHECK(cache_recall(&c, "mail.test", &got) == 0);
}

static void test_a_link_in_place_of_the_temporary_file_is_not_followed(void)
{
	struct plan_entry e = {0, 465};
	char tmp[300];
	setup("links", 0700);
	FILE *fp = fopen(victim, "w");
	fputs("precious\n", fp);
	fclose(fp);
	snprintf(tmp, sizeof tmp, "%s/port-mail.test.%d", dir, (int)getpid());
	CHECK(symlink(victim, tmp) == 0);
	cache_remember(&c, "mail.test", &e);
	char text[32] = "";
	fp = fopen(victim, "r");
	if (!fgets(text, sizeof text, fp))
		text[0] = '\0';
	fclose(fp);
	CHECK_STR(text, "precious\n");
	CHECK(!exists("port-mail.test"));
	unlink(tmp);
	/* nor is a link in place of the cache file read */
	char path[300];
	snprintf(path, sizeof path, "%s/port-mail.test", dir);
	fp = fopen(victim, "w");
	fputs("2525 starttls\n", fp);
	fclose(fp);
	CHECK(symlink(victim, path) == 0);
	struct plan_entry got;
	CHECK(cache_recall(&c, "mail.test", &got) == 0);
}

int main(void)
{
	snprintf(base, sizeof base, "/tmp/smtpshim-test-cache.XXXXXX");
	if (!mkdtemp(base))
		return 1;
	snprintf(victim, sizeof victim, "%s/victim", base);
	test_private_directory_is_used();
	test_directory_others_may_write_is_skipped();
	test_a_link_in_place_of_the_temporary_file_is_not_followed();
	char cmd[100];
	snprintf(cmd, sizeof cmd, "rm -rf %s", base);
	if (system(cmd) != 0)
		return 1;
	return check_done("test_cache");
}
