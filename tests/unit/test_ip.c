/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "internal.h"

static cni_ipaddr ip_of(const char *s)
{
	cni_ipaddr ip;
	int r = cni_ip_parse(s, &ip);
	if (r != 0)
		fail_msg("cannot parse %s", s);
	return ip;
}

static cni_ipnet net_of(const char *s)
{
	cni_ipnet n;
	int r = cni_ipnet_parse(s, &n);
	if (r != 0)
		fail_msg("cannot parse %s", s);
	return n;
}

static void assert_ip_str(const cni_ipaddr *ip, const char *want)
{
	char buf[CNI_IP_STRLEN];
	assert_non_null(cni_ip_format(ip, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

static void assert_net_str(const cni_ipnet *n, const char *want)
{
	char buf[CNI_IPNET_STRLEN];
	assert_non_null(cni_ipnet_format(n, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

/* parse then format; want NULL means "same as input" */
static void roundtrip(const char *in, int family, const char *want)
{
	cni_ipaddr ip;
	assert_int_equal(cni_ip_parse(in, &ip), 0);
	assert_int_equal(ip.family, family);
	assert_ip_str(&ip, want ? want : in);
}

static void test_parse_v4(void **state)
{
	(void)state;
	cni_ipaddr ip = ip_of("10.1.2.3");
	static const uint8_t want[4] = {10, 1, 2, 3};

	assert_int_equal(ip.family, AF_INET);
	assert_memory_equal(ip.addr, want, 4);
	for (int i = 4; i < 16; i++)
		assert_int_equal(ip.addr[i], 0);
	assert_int_equal(cni_ip_bits(&ip), 32);

	roundtrip("0.0.0.0", AF_INET, NULL);
	roundtrip("255.255.255.255", AF_INET, NULL);
	roundtrip("192.168.0.1", AF_INET, NULL);
	roundtrip("1.0.0.0", AF_INET, NULL);
}

static void test_parse_v6(void **state)
{
	(void)state;
	cni_ipaddr ip = ip_of("2001:db8::1");
	static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					 0,    0,    0,	   0,	 0, 0, 0, 1};

	assert_int_equal(ip.family, AF_INET6);
	assert_memory_equal(ip.addr, want, 16);
	assert_int_equal(cni_ip_bits(&ip), 128);

	roundtrip("::", AF_INET6, NULL);
	roundtrip("::1", AF_INET6, NULL);
	roundtrip("fe80::1", AF_INET6, NULL);
	roundtrip("2001:DB8:0:0:0:0:0:1", AF_INET6, "2001:db8::1");
	roundtrip("2001:0db8:0000:0000:0000:0000:0000:0001", AF_INET6, "2001:db8::1");
	roundtrip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6, NULL);
	/* RFC 5952 as Go prints: a single zero group is not compressed */
	roundtrip("2001:db8:0:1:1:1:1:1", AF_INET6, NULL);
	/* the first of two equally long zero runs is compressed */
	roundtrip("2001:0:0:1:0:0:1:1", AF_INET6, "2001::1:0:0:1:1");
	/* the longer run wins even when it comes second */
	roundtrip("1:0:0:1:0:0:0:1", AF_INET6, "1:0:0:1::1");
	roundtrip("1:2:3:4:5:6:7::", AF_INET6, "1:2:3:4:5:6:7:0");
	roundtrip("::2:3:4:5:6:7:8", AF_INET6, "0:2:3:4:5:6:7:8");
	roundtrip("1::", AF_INET6, NULL);
	roundtrip("1:0:0:0:0:0:0:0", AF_INET6, "1::");
	/* embedded dotted quad is accepted; Go prints hex, not glibc's ::a.b.c.d */
	roundtrip("::1.2.3.4", AF_INET6, "::102:304");
	roundtrip("64:ff9b::192.0.2.33", AF_INET6, "64:ff9b::c000:221");
}

static void test_parse_mapped(void **state)
{
	(void)state;
	cni_ipaddr ip = ip_of("::ffff:1.2.3.4");
	cni_ipaddr v4 = ip_of("1.2.3.4");

	assert_int_equal(ip.family, AF_INET);
	assert_true(cni_ip_equal(&ip, &v4));
	assert_ip_str(&ip, "1.2.3.4");
	ip = ip_of("::ffff:a01:203");
	assert_int_equal(ip.family, AF_INET);
	assert_ip_str(&ip, "10.1.2.3");
	ip = ip_of("0:0:0:0:0:ffff:ffff:ffff");
	assert_int_equal(ip.family, AF_INET);
	assert_ip_str(&ip, "255.255.255.255");

	/* a mapped value built by hand in AF_INET6 form is still printed as IPv4 (Go) */
	cni_ipaddr raw = {.family = AF_INET6};
	raw.addr[10] = raw.addr[11] = 0xff;
	raw.addr[12] = 192;
	raw.addr[15] = 1;
	assert_ip_str(&raw, "192.0.0.1");

	/* ::fffe:... and ::ffff:0:... patterns are not mapped */
	ip = ip_of("::fffe:1.2.3.4");
	assert_int_equal(ip.family, AF_INET6);
	ip = ip_of("::1:ffff:1.2.3.4");
	assert_int_equal(ip.family, AF_INET6);

	/* CIDR: mapped literal takes an IPv6 prefix; it is the IPv4 network Go uses */
	cni_ipnet n = net_of("::ffff:10.1.2.3/120");
	assert_int_equal(n.ip.family, AF_INET);
	assert_int_equal(n.prefix, 24);
	assert_net_str(&n, "10.1.2.3/24");
	n = net_of("::ffff:10.1.2.3/128");
	assert_int_equal(n.prefix, 32);
	n = net_of("::ffff:10.1.2.3/96");
	assert_int_equal(n.prefix, 0);
	n = net_of("::ffff:10.1.2.3/64");
	assert_int_equal(n.prefix, 0);
	cni_ipnet bad;
	assert_int_equal(cni_ipnet_parse("::ffff:10.1.2.3/129", &bad), -CNI_ERR_INVALID_ARG);
}

static void test_parse_invalid(void **state)
{
	(void)state;
	static const char *const bad_ips[] = {
	    "",
	    " ",
	    "1.2.3",
	    "1.2.3.4.5",
	    "1.2.3.256",
	    "256.1.1.1",
	    "01.2.3.4", /* leading zeros rejected, as Go 1.17+ */
	    "1.2.3.04",
	    "1.2.3.4 ",
	    " 1.2.3.4",
	    "1.2.3.-1",
	    "1..2.3",
	    "0x1.2.3.4",
	    "1.2.3.4/24",
	    "10",
	    "abc",
	    ":",
	    ":::",
	    "1:2:3:4:5:6:7:8:9",
	    "1:2:3:4:5:6:7",
	    "1::2::3",
	    "12345::",
	    "g::",
	    "fe80::1%eth0", /* zones are not addresses */
	    "::1.2.3",
	    "::1.2.3.4:5",
	    "[::1]",
	    "1.2.3.4xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc",
	};
	cni_ipaddr ip = {.family = 12345};

	for (size_t i = 0; i < ARRAY_SIZE(bad_ips); i++) {
		if (cni_ip_parse(bad_ips[i], &ip) != -CNI_ERR_INVALID_ARG)
			fail_msg("accepted invalid address '%s'", bad_ips[i]);
		/* output untouched on failure */
		assert_int_equal(ip.family, 12345);
	}
	assert_int_equal(cni_ip_parse(NULL, &ip), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_ip_parse("1.2.3.4", NULL), -CNI_ERR_INVALID_ARG);

	static const char *const bad_nets[] = {
	    "1.2.3.4",
	    "1.2.3.4/",
	    "1.2.3.4/33",
	    "1.2.3.4/-1",
	    "1.2.3.4/+8",
	    "1.2.3.4/ 8",
	    "1.2.3.4/8 ",
	    "1.2.3.4/8/8",
	    "1.2.3.4/0x8",
	    "/24",
	    "::/129",
	    "::/1000000000000000000000",
	    "1.2.3.4/99999999999999999999",
	    "1.2.3/24",
	    "x/24",
	    "::1/a",
	    "",
	    "/",
	};
	cni_ipnet n = {.prefix = 777};
	for (size_t i = 0; i < ARRAY_SIZE(bad_nets); i++) {
		if (cni_ipnet_parse(bad_nets[i], &n) != -CNI_ERR_INVALID_ARG)
			fail_msg("accepted invalid CIDR '%s'", bad_nets[i]);
		assert_int_equal(n.prefix, 777);
	}
	assert_int_equal(cni_ipnet_parse(NULL, &n), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_ipnet_parse("1.2.3.4/8", NULL), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_ip_or_ipnet_parse("1.2.3.4/", &n), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_ip_or_ipnet_parse("nope", &n), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_ip_or_ipnet_parse(NULL, &n), -CNI_ERR_INVALID_ARG);
	assert_int_equal(n.prefix, 777);
}

static void test_ipnet_parse(void **state)
{
	(void)state;
	cni_ipnet n = net_of("10.1.2.3/24");

	/* host bits are kept */
	assert_int_equal(n.ip.family, AF_INET);
	assert_int_equal(n.prefix, 24);
	assert_ip_str(&n.ip, "10.1.2.3");
	assert_net_str(&n, "10.1.2.3/24");

	n = net_of("0.0.0.0/0");
	assert_int_equal(n.prefix, 0);
	n = net_of("1.2.3.4/32");
	assert_int_equal(n.prefix, 32);
	/* leading zeros in the prefix are accepted, as Go's dtoi does */
	n = net_of("1.2.3.4/008");
	assert_int_equal(n.prefix, 8);
	assert_net_str(&n, "1.2.3.4/8");

	n = net_of("2001:DB8::5/64");
	assert_int_equal(n.ip.family, AF_INET6);
	assert_int_equal(n.prefix, 64);
	assert_net_str(&n, "2001:db8::5/64");
	n = net_of("::/0");
	assert_net_str(&n, "::/0");
	n = net_of("::1/128");
	assert_net_str(&n, "::1/128");

	/* optional prefix form */
	assert_int_equal(cni_ip_or_ipnet_parse("10.0.0.1", &n), 0);
	assert_int_equal(n.prefix, -1);
	assert_int_equal(n.ip.family, AF_INET);
	assert_ip_str(&n.ip, "10.0.0.1");
	assert_int_equal(cni_ip_or_ipnet_parse("fd00::1/80", &n), 0);
	assert_int_equal(n.prefix, 80);
	assert_int_equal(n.ip.family, AF_INET6);
	assert_int_equal(cni_ip_or_ipnet_parse("::ffff:1.2.3.4", &n), 0);
	assert_int_equal(n.ip.family, AF_INET);
	assert_int_equal(n.prefix, -1);
}

static void test_format_buffers(void **state)
{
	(void)state;
	char buf[CNI_IPNET_STRLEN];
	cni_ipaddr ip = ip_of("255.255.255.255");
	cni_ipnet n = net_of("255.255.255.255/32");

	/* exactly strlen + 1 is enough; one less is not */
	assert_non_null(cni_ip_format(&ip, buf, 16));
	assert_string_equal(buf, "255.255.255.255");
	assert_null(cni_ip_format(&ip, buf, 15));
	assert_null(cni_ip_format(&ip, buf, 0));
	assert_non_null(cni_ipnet_format(&n, buf, 19));
	assert_string_equal(buf, "255.255.255.255/32");
	assert_null(cni_ipnet_format(&n, buf, 18));

	/* the longest texts fit the advertised sizes */
	cni_ipaddr v6 = ip_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_non_null(cni_ip_format(&v6, buf, CNI_IP_STRLEN));
	cni_ipnet n6 = net_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	assert_non_null(cni_ipnet_format(&n6, buf, CNI_IPNET_STRLEN));
	assert_string_equal(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");

	/* invalid values are refused, not printed */
	cni_ipaddr junk = {.family = 99};
	assert_null(cni_ip_format(&junk, buf, sizeof(buf)));
	assert_null(cni_ip_format(NULL, buf, sizeof(buf)));
	assert_null(cni_ip_format(&ip, NULL, 10));
	cni_ipnet badp = n;
	badp.prefix = 33;
	assert_null(cni_ipnet_format(&badp, buf, sizeof(buf)));
	badp.prefix = -1;
	assert_null(cni_ipnet_format(&badp, buf, sizeof(buf)));
	assert_null(cni_ipnet_format(NULL, buf, sizeof(buf)));
	assert_int_equal(cni_ip_bits(&junk), 0);
	assert_int_equal(cni_ip_bits(NULL), 0);
}

static void check_next(const char *in, const char *want)
{
	cni_ipaddr ip = ip_of(in), out;
	assert_true(cni_ip_next(&ip, &out));
	assert_ip_str(&out, want);
	assert_int_equal(out.family, ip.family);
	/* and back */
	cni_ipaddr back;
	assert_true(cni_ip_prev(&out, &back));
	assert_true(cni_ip_equal(&back, &ip));
}

static void test_next_prev(void **state)
{
	(void)state;
	check_next("10.0.0.1", "10.0.0.2");
	check_next("10.0.0.255", "10.0.1.0");
	check_next("10.255.255.255", "11.0.0.0");
	check_next("0.0.0.0", "0.0.0.1");
	check_next("254.255.255.255", "255.0.0.0");
	check_next("::", "::1");
	check_next("::ffff", "::1:0");
	check_next("2001:db8::ffff:ffff", "2001:db8::1:0:0");
	check_next("fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff::");
	/* IPv4 arithmetic does not spill into the unused bytes */
	check_next("0.255.255.255", "1.0.0.0");

	cni_ipaddr out = ip_of("9.9.9.9"), keep = out;
	cni_ipaddr top4 = ip_of("255.255.255.255");
	assert_false(cni_ip_next(&top4, &out));
	assert_true(cni_ip_equal(&out, &keep));
	cni_ipaddr top6 = ip_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_false(cni_ip_next(&top6, &out));
	cni_ipaddr zero4 = ip_of("0.0.0.0");
	assert_false(cni_ip_prev(&zero4, &out));
	cni_ipaddr zero6 = ip_of("::");
	assert_false(cni_ip_prev(&zero6, &out));
	assert_true(cni_ip_equal(&out, &keep));

	cni_ipaddr junk = {.family = 0};
	assert_false(cni_ip_next(&junk, &out));
	assert_false(cni_ip_prev(&junk, &out));
	assert_false(cni_ip_next(NULL, &out));
	assert_false(cni_ip_next(&top6, NULL));
}

static void check_add(const char *in, uint64_t n, const char *want)
{
	cni_ipaddr ip = ip_of(in), out = {0};
	bool ok = cni_ip_add(&ip, n, &out);
	if (!want) {
		assert_false(ok);
		assert_int_equal(out.family, 0);
		return;
	}
	assert_true(ok);
	assert_ip_str(&out, want);
}

static void test_add(void **state)
{
	(void)state;
	check_add("10.0.0.0", 0, "10.0.0.0");
	check_add("10.0.0.0", 1, "10.0.0.1");
	check_add("10.0.0.200", 100, "10.0.1.44");
	check_add("10.0.0.0", 65536, "10.1.0.0");
	check_add("0.0.0.0", 0xffffffffu, "255.255.255.255");
	check_add("0.0.0.1", 0xffffffffu, NULL);
	check_add("255.255.255.0", 255, "255.255.255.255");
	check_add("255.255.255.0", 256, NULL);
	/* n larger than the IPv4 space wraps: refused */
	check_add("0.0.0.0", 1ull << 32, NULL);
	check_add("0.0.0.0", UINT64_MAX, NULL);

	check_add("::", 1ull << 32, "::1:0:0");
	check_add("::", UINT64_MAX, "::ffff:ffff:ffff:ffff");
	check_add("::1", UINT64_MAX, "0:0:0:1::");
	check_add("2001:db8::ffff:ffff:ffff:ffff", 2, "2001:db8:0:1::1");
	check_add("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0", 15,
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	check_add("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0", 16, NULL);
	check_add("ffff:ffff:ffff:ffff::", UINT64_MAX, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	check_add("ffff:ffff:ffff:ffff::1", UINT64_MAX, NULL);

	/* add agrees with repeated next */
	cni_ipaddr a = ip_of("10.0.0.250"), b = a, c;
	for (int i = 0; i < 300; i++)
		assert_true(cni_ip_next(&b, &b));
	assert_true(cni_ip_add(&a, 300, &c));
	assert_true(cni_ip_equal(&b, &c));
}

static void test_diff(void **state)
{
	cni_ipaddr a = ip_of("10.0.0.5"), b = ip_of("10.1.2.3"), c;
	uint64_t d = 0;

	assert_true(cni_ip_diff(&b, &a, &d));
	assert_int_equal(d, 0x010203 - 5);
	assert_true(cni_ip_add(&a, d, &c)); /* the inverse of cni_ip_add */
	assert_true(cni_ip_equal(&c, &b));
	assert_true(cni_ip_diff(&a, &a, &d));
	assert_int_equal(d, 0);
	assert_false(cni_ip_diff(&a, &b, &d)); /* hi < lo */
	assert_true(d == UINT64_MAX);

	cni_ipaddr lo = ip_of("fd00::"), hi = ip_of("fd00::ffff:ffff:ffff:ffff");
	assert_true(cni_ip_diff(&hi, &lo, &d));
	assert_true(d == UINT64_MAX); /* exactly 2^64 - 1: still fits, and true says so */
	hi = ip_of("fd00::1:0:0:0:0");
	assert_false(cni_ip_diff(&hi, &lo, &d)); /* 2^64: needs more than 64 bits */
	assert_true(d == UINT64_MAX);
	hi = ip_of("fd00::1:2");
	assert_true(cni_ip_diff(&hi, &lo, &d));
	assert_int_equal(d, 0x10002);
	/* a borrow across bytes */
	a = ip_of("10.0.1.0");
	b = ip_of("10.0.0.255");
	assert_true(cni_ip_diff(&a, &b, &d));
	assert_int_equal(d, 1);
	/* families differ, NULLs */
	assert_false(cni_ip_diff(&hi, &a, &d));
	assert_false(cni_ip_diff(NULL, &a, &d));
	assert_false(cni_ip_diff(&a, NULL, &d));
	assert_false(cni_ip_diff(&a, &b, NULL));
}

static void test_cmp(void **state)
{
	(void)state;
	cni_ipaddr a = ip_of("10.0.0.1"), b = ip_of("10.0.0.2"), c = ip_of("9.255.255.255");
	cni_ipaddr v6 = ip_of("::"), v6b = ip_of("::1"), a2 = ip_of("10.0.0.1");

	assert_true(cni_ip_cmp(&a, &b) < 0);
	assert_true(cni_ip_cmp(&b, &a) > 0);
	assert_true(cni_ip_cmp(&c, &a) < 0);
	assert_int_equal(cni_ip_cmp(&a, &a2), 0);
	assert_true(cni_ip_equal(&a, &a2));
	assert_false(cni_ip_equal(&a, &b));
	/* IPv4 before IPv6, even :: */
	assert_true(cni_ip_cmp(&a, &v6) < 0);
	assert_true(cni_ip_cmp(&v6, &a) > 0);
	assert_true(cni_ip_cmp(&v6, &v6b) < 0);
	/* 0.0.0.0 and :: are different addresses */
	cni_ipaddr z4 = ip_of("0.0.0.0");
	assert_false(cni_ip_equal(&z4, &v6));
	assert_true(cni_ip_cmp(&z4, &v6) < 0);
	/* byte order matters, not host integer order */
	cni_ipaddr x = ip_of("1.0.0.255"), y = ip_of("2.0.0.0");
	assert_true(cni_ip_cmp(&x, &y) < 0);
	assert_true(cni_ip_cmp(NULL, &a) < 0);
	assert_true(cni_ip_cmp(&a, NULL) > 0);
	assert_int_equal(cni_ip_cmp(NULL, NULL), 0);
	assert_false(cni_ip_equal(NULL, &a));
	assert_false(cni_ip_equal(&a, NULL));

	assert_true(cni_ip_is_unspecified(&z4));
	assert_true(cni_ip_is_unspecified(&v6));
	assert_false(cni_ip_is_unspecified(&v6b));
	assert_false(cni_ip_is_unspecified(&a));
	cni_ipaddr junk = {.family = 7};
	assert_false(cni_ip_is_unspecified(&junk));
	assert_false(cni_ip_is_unspecified(NULL));
}

static void test_network_last_mask(void **state)
{
	(void)state;
	static const struct {
		const char *cidr, *network, *last, *mask;
	} cases[] = {
	    {"10.1.2.3/24", "10.1.2.0/24", "10.1.2.255", "255.255.255.0"},
	    {"10.1.2.3/32", "10.1.2.3/32", "10.1.2.3", "255.255.255.255"},
	    {"10.1.2.3/31", "10.1.2.2/31", "10.1.2.3", "255.255.255.254"},
	    {"10.1.2.3/0", "0.0.0.0/0", "255.255.255.255", "0.0.0.0"},
	    {"172.16.200.9/12", "172.16.0.0/12", "172.31.255.255", "255.240.0.0"},
	    {"192.168.1.129/25", "192.168.1.128/25", "192.168.1.255", "255.255.255.128"},
	    {"10.1.2.3/1", "0.0.0.0/1", "127.255.255.255", "128.0.0.0"},
	    {"2001:db8::1/64", "2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff",
	     "ffff:ffff:ffff:ffff::"},
	    {"2001:db8:1:2:3:4:5:6/128", "2001:db8:1:2:3:4:5:6/128", "2001:db8:1:2:3:4:5:6",
	     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	    {"2001:db8::1/0", "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::"},
	    {"fd00:abcd::1/60", "fd00:abcd::/60", "fd00:abcd:0:f:ffff:ffff:ffff:ffff",
	     "ffff:ffff:ffff:fff0::"},
	    {"fd00::1234/123", "fd00::1220/123", "fd00::123f",
	     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffe0"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cni_ipnet n = net_of(cases[i].cidr), net;
		cni_ipaddr last, mask;
		cni_ipnet_network(&n, &net);
		cni_ipnet_last(&n, &last);
		cni_ipnet_mask(&n, &mask);
		assert_net_str(&net, cases[i].network);
		assert_ip_str(&last, cases[i].last);
		assert_ip_str(&mask, cases[i].mask);
		assert_int_equal(net.prefix, n.prefix);
		assert_int_equal(mask.family, n.ip.family);
		/* both ends are in the network, one past each is not */
		assert_true(cni_ipnet_contains(&n, &net.ip));
		assert_true(cni_ipnet_contains(&n, &last));
		cni_ipaddr out;
		if (cni_ip_next(&last, &out))
			assert_false(cni_ipnet_contains(&n, &out));
		if (cni_ip_prev(&net.ip, &out))
			assert_false(cni_ipnet_contains(&n, &out));
	}

	/* a bare address (prefix -1) acts as a host network */
	cni_ipnet host;
	cni_ipaddr m;
	assert_int_equal(cni_ip_or_ipnet_parse("10.9.8.7", &host), 0);
	cni_ipnet_mask(&host, &m);
	assert_ip_str(&m, "255.255.255.255");

	/* invalid input leaves outputs alone */
	cni_ipnet junk = {.ip = {.family = 3}, .prefix = 8}, out = net_of("1.1.1.1/8");
	cni_ipaddr o = ip_of("2.2.2.2");
	cni_ipnet_network(&junk, &out);
	cni_ipnet_last(&junk, &o);
	cni_ipnet_mask(&junk, &o);
	assert_net_str(&out, "1.1.1.1/8");
	assert_ip_str(&o, "2.2.2.2");
	cni_ipnet_network(NULL, &out);
	cni_ipnet_last(NULL, &o);
	cni_ipnet_mask(NULL, &o);
	cni_ipnet_network(&out, NULL);
}

static void test_contains(void **state)
{
	(void)state;
	cni_ipnet n = net_of("10.1.2.3/24");
	cni_ipaddr in = ip_of("10.1.2.200"), out = ip_of("10.1.3.0");
	cni_ipaddr v6 = ip_of("::a01:200");
	cni_ipaddr mapped = ip_of("::ffff:10.1.2.9");

	assert_true(cni_ipnet_contains(&n, &in));
	assert_false(cni_ipnet_contains(&n, &out));
	/* other family never contains, even with the same low bytes */
	assert_false(cni_ipnet_contains(&n, &v6));
	/* a mapped literal is IPv4 */
	assert_true(cni_ipnet_contains(&n, &mapped));

	cni_ipnet all4 = net_of("0.0.0.0/0"), all6 = net_of("::/0");
	assert_true(cni_ipnet_contains(&all4, &in));
	assert_false(cni_ipnet_contains(&all4, &v6));
	assert_true(cni_ipnet_contains(&all6, &v6));
	assert_false(cni_ipnet_contains(&all6, &in));

	cni_ipnet n6 = net_of("2001:db8:0:1::/64");
	cni_ipaddr a6 = ip_of("2001:db8:0:1:ffff::1"), b6 = ip_of("2001:db8:0:2::1");
	assert_true(cni_ipnet_contains(&n6, &a6));
	assert_false(cni_ipnet_contains(&n6, &b6));

	/* non-octet prefix */
	cni_ipnet odd = net_of("10.0.0.0/13");
	cni_ipaddr o1 = ip_of("10.7.255.255"), o2 = ip_of("10.8.0.0");
	assert_true(cni_ipnet_contains(&odd, &o1));
	assert_false(cni_ipnet_contains(&odd, &o2));

	cni_ipaddr junk = {.family = 0};
	assert_false(cni_ipnet_contains(&n, &junk));
	assert_false(cni_ipnet_contains(NULL, &in));
	assert_false(cni_ipnet_contains(&n, NULL));
}

static void check_overlap(const char *a, const char *b, bool want)
{
	cni_ipnet na = net_of(a), nb = net_of(b);
	if (cni_ipnet_overlaps(&na, &nb) != want || cni_ipnet_overlaps(&nb, &na) != want)
		fail_msg("overlaps(%s, %s) should be %s", a, b, want ? "true" : "false");
}

static void test_overlaps(void **state)
{
	(void)state;
	check_overlap("10.0.0.0/8", "10.1.0.0/16", true);
	check_overlap("10.0.0.0/8", "11.0.0.0/8", false);
	check_overlap("10.0.0.0/24", "10.0.0.0/24", true);
	check_overlap("10.0.0.0/24", "10.0.1.0/24", false);
	check_overlap("10.0.0.0/23", "10.0.1.0/24", true);
	check_overlap("10.0.0.128/25", "10.0.0.0/25", false);
	check_overlap("10.0.0.5/32", "10.0.0.0/29", true);
	check_overlap("10.0.0.8/32", "10.0.0.0/29", false);
	/* host bits in either side do not matter */
	check_overlap("10.0.0.77/24", "10.0.0.200/25", true);
	check_overlap("0.0.0.0/0", "192.168.0.0/16", true);
	check_overlap("2001:db8::/32", "2001:db8:1::/48", true);
	check_overlap("2001:db8::/48", "2001:db8:1::/48", false);
	check_overlap("::/0", "fd00::/8", true);
	/* never across families */
	check_overlap("0.0.0.0/0", "::/0", false);
	check_overlap("10.0.0.0/8", "::a00:0/104", false);
	check_overlap("::ffff:10.0.0.0/104", "10.0.0.0/16", true);

	cni_ipnet a = net_of("10.0.0.0/8"), junk = {.ip = {.family = 1}, .prefix = 8};
	assert_false(cni_ipnet_overlaps(&a, &junk));
	assert_false(cni_ipnet_overlaps(&a, NULL));
	assert_false(cni_ipnet_overlaps(NULL, &a));
}

/* Our parser agrees with inet_pton on a deterministic pseudo-random corpus; formatting
 * round-trips on every accepted value. */
static void test_fuzz_roundtrip(void **state)
{
	(void)state;
	static const char alphabet[] = "0123456789abcdef.:/";
	uint32_t seed = 12345;
	char s[24], buf[CNI_IPNET_STRLEN];

	for (int iter = 0; iter < 200000; iter++) {
		size_t len;
		seed = seed * 1103515245u + 12345u;
		len = 1 + (seed >> 16) % (sizeof(s) - 1);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			s[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		s[len] = '\0';

		cni_ipaddr ip, again;
		if (cni_ip_parse(s, &ip) == 0) {
			uint8_t raw[16];
			assert_true(inet_pton(AF_INET, s, raw) == 1 ||
				    inet_pton(AF_INET6, s, raw) == 1);
			assert_non_null(cni_ip_format(&ip, buf, sizeof(buf)));
			assert_int_equal(cni_ip_parse(buf, &again), 0);
			assert_true(cni_ip_equal(&ip, &again));
		}
		cni_ipnet n, n2;
		if (cni_ipnet_parse(s, &n) == 0) {
			assert_non_null(cni_ipnet_format(&n, buf, sizeof(buf)));
			assert_int_equal(cni_ipnet_parse(buf, &n2), 0);
			assert_true(cni_ip_equal(&n.ip, &n2.ip));
			assert_int_equal(n.prefix, n2.prefix);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_v4),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_parse_v6),
	    cmocka_unit_test(test_parse_mapped),
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_ipnet_parse),
	    cmocka_unit_test(test_format_buffers),
	    cmocka_unit_test(test_next_prev),
	    cmocka_unit_test(test_add),
	    cmocka_unit_test(test_cmp),
	    cmocka_unit_test(test_network_last_mask),
	    cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_overlaps),
	    cmocka_unit_test(test_fuzz_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
