/* Address and host:port helpers. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "shim/common/addr.h"
#include "shim/common/text.h"
#include "check.h"

static void test_host_port_forms(void)
{
	char host[64];
	uint16_t port = 7;
	CHECK(text_split_host_port("mx.example.com", host, sizeof host, &port) == 0);
	CHECK_STR(host, "mx.example.com");
	CHECK(port == 7);
	CHECK(text_split_host_port("mx:2525", host, sizeof host, &port) == 0 && port == 2525);
	CHECK(text_split_host_port("2001:db8::1", host, sizeof host, &port) == 0);
	CHECK_STR(host, "2001:db8::1");
	CHECK(text_split_host_port("[::1]:465", host, sizeof host, &port) == 0 && port == 465);
	CHECK_STR(host, "::1");
	CHECK(text_split_host_port("[::1", host, sizeof host, &port) < 0);
	CHECK(text_split_host_port("mx:", host, sizeof host, &port) < 0);
	CHECK(text_is_host("smtp.example.com") && text_is_host("192.0.2.1") && text_is_host("::1"));
	CHECK(!text_is_host(":]::B::*") && !text_is_host("") && !text_is_host("a b"));
	CHECK(!text_is_host("-rf") && !text_is_host("host:25"));
	char out[64];
	text_join_host_port("::1", 25, out, sizeof out);
	CHECK_STR(out, "[::1]:25");
}

static void test_v4_mapped_equals_v4(void)
{
	struct sockaddr_storage a, b;
	socklen_t la, lb;
	CHECK(addr_parse("127.0.0.1:4000", &a, &la) == 0);
	CHECK(addr_parse("[::ffff:127.0.0.1]:4000", &b, &lb) == 0);
	CHECK(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	CHECK(addr_parse("[::ffff:127.0.0.1]:4001", &b, &lb) == 0);
	CHECK(!addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	char text[ADDR_TEXT_MAX];
	CHECK(addr_text((struct sockaddr *)&b, text, sizeof text) == 0);
	CHECK_STR(text, "127.0.0.1:4001");
}

static void test_loopback_in_every_spelling(void)
{
	struct sockaddr_storage a;
	socklen_t l;
	addr_parse("127.1.2.3:25", &a, &l);
	CHECK(addr_is_loopback((struct sockaddr *)&a));
	addr_parse("[::1]:25", &a, &l);
	CHECK(addr_is_loopback((struct sockaddr *)&a));
	addr_parse("[::ffff:127.0.0.1]:25", &a, &l);
	CHECK(addr_is_loopback((struct sockaddr *)&a));
	addr_parse("192.0.2.1:25", &a, &l);
	CHECK(!addr_is_loopback((struct sockaddr *)&a));
	CHECK(addr_port((struct sockaddr *)&a, l) == 25);
}

static void test_unspecified_address_reaches_this_host(void)
{
	struct sockaddr_storage a;
	socklen_t l;
	addr_parse("0.0.0.0:25", &a, &l);
	CHECK(addr_is_loopback((struct sockaddr *)&a) && addr_is_unspecified((struct sockaddr *)&a));
	addr_parse("[::]:25", &a, &l);
	CHECK(addr_is_loopback((struct sockaddr *)&a) && addr_is_unspecified((struct sockaddr *)&a));
	addr_parse("[::ffff:0.0.0.0]:25", &a, &l);
	CHECK(addr_is_loopback((struct sockaddr *)&a) && addr_is_unspecified((struct sockaddr *)&a));
	addr_parse("127.0.0.1:25", &a, &l);
	CHECK(!addr_is_unspecified((struct sockaddr *)&a));
	/* 0.0.0.0/8 beyond 0.0.0.0 itself is not routed to this host */
	addr_parse("0.0.0.1:25", &a, &l);
	CHECK(!addr_is_loopback((struct sockaddr *)&a) && !addr_is_unspecified((struct sockaddr *)&a));
	addr_parse("[::2]:25", &a, &l);
	CHECK(!addr_is_loopback((struct sockaddr *)&a));
}

static void test_ip_literals_are_told_from_names(void)
{
	CHECK(addr_is_ip_text("192.0.2.1"));
	CHECK(addr_is_ip_text("2001:db8::1"));
	CHECK(addr_is_ip_text("::1"));
	CHECK(!addr_is_ip_text("mail.test"));
	CHECK(!addr_is_ip_text("[::1]"));
	CHECK(!addr_is_ip_text("192.0.2.1:25"));
	CHECK(!addr_is_ip_text(""));
}

int main(void)
{
	test_host_port_forms();
	test_v4_mapped_equals_v4();
	test_loopback_in_every_spelling();
	test_unspecified_address_reaches_this_host();
	test_ip_literals_are_told_from_names();
	return check_done("test_addr_text");
}
