/* The relay's own EHLO name (hostname.c, one for the whole relay): a plain
 * host name, cut to the buffer, never overrun. */
#include <string.h>

#include "shim/common/text.h"
#include "tools/relay/hostname.h"
#include "check.h"

static void test_ehlo_name_is_a_plain_host_name(void)
{
	char name[256], small[4];
	hostname_ours(name, sizeof name);
	CHECK(name[0] != '\0' && text_is_host(name));
	CHECK(strpbrk(name, " \r\n") == NULL);
	hostname_ours(small, sizeof small);
	CHECK(strlen(small) <= 3); /* cut, never overrun */
}

int main(void)
{
	test_ehlo_name_is_a_plain_host_name();
	return check_done("test_ehlo_name");
}
