/* A password file is used only when it is this user's (or root's) and
 * nobody else can read or change it. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/common/private_file.h"
#include "check.h"

static char path[] = "/tmp/smtpshim-private-XXXXXX";

static int check_with(uid_t uid, mode_t mode, char *err, size_t len)
{
	struct stat st;
	CHECK(stat(path, &st) == 0);
	st.st_uid = uid;
	st.st_mode = S_IFREG | mode;
	return private_file_check(path, &st, err, len);
}

static void test_own_file_with_mode_600_is_used(void)
{
	char err[512] = "";
	CHECK(check_with(geteuid(), 0600, err, sizeof err) == 0);
	CHECK(check_with(0, 0400, err, sizeof err) == 0);
}

static void test_file_of_another_user_is_refused_whatever_its_mode(void)
{
	char err[512] = "";
	uid_t other = geteuid() == 65534 ? 65533 : 65534;
	CHECK(check_with(other, 0600, err, sizeof err) < 0);
	CHECK(strstr(err, "it belongs to uid") && strstr(err, "neither this process's user"));
	CHECK(strstr(err, "use a file of your own"));
}

static void test_mode_is_still_checked_for_own_file(void)
{
	char err[512] = "";
	CHECK(check_with(geteuid(), 0640, err, sizeof err) < 0);
	CHECK(strstr(err, "readable by group or others (mode 0640)") != NULL);
}

static void test_owner_is_read_from_the_file_when_no_status_is_given(void)
{
	char err[512] = "";
	CHECK(private_file_check(path, NULL, err, sizeof err) == 0);
	if (geteuid() == 0) { /* only root can give a file away */
		CHECK(chown(path, 65534, 65534) == 0);
		CHECK(private_file_check(path, NULL, err, sizeof err) < 0);
		CHECK(strstr(err, "it belongs to uid") != NULL);
	}
}

int main(void)
{
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	test_own_file_with_mode_600_is_used();
	test_file_of_another_user_is_refused_whatever_its_mode();
	test_mode_is_still_checked_for_own_file();
	test_owner_is_read_from_the_file_when_no_status_is_given();
	unlink(path);
	return check_done("test_private_file");
}
