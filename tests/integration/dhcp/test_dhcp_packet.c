/* SPDX-License-Identifier: Apache-2.0 */
/* The DHCP packet code of the dhcp plugin: encode, decode, the route options. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dhcp-packet.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void encode_decode_roundtrip(void **state)
{
	uint8_t buf[DHCP_MAX_LEN], big[600];
	struct dhcp_msg *m = malloc(sizeof(*m));
	const char *cid = "\0ctr/net/eth0";
	uint8_t prl[] = {1, 3, 6, 121};
	struct dhcp_opt o[] = {{DHCP_OPT_CLIENT_ID, 13, cid}, {DHCP_OPT_PARAM_LIST, 4, prl},
			       {200, sizeof(big), big}};
	struct dhcp_out out = {.xid = 0x01020304, .flags = DHCP_FLAG_BROADCAST,
			       .ciaddr = ip("10.0.0.9"), .chaddr = {1, 2, 3, 4, 5, 6},
			       .type = DHCP_REQUEST, .opts = o, .n_opts = 3};
	size_t len;
	const uint8_t *d;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	n = dhcp_encode(buf, sizeof(buf), &out);
	assert_true(n >= 300);
	assert_int_equal(buf[0], 1);
	assert_int_equal(dhcp_decode(m, buf, (size_t)n), 0);
	assert_int_equal(m->xid, 0x01020304);
	assert_int_equal(m->flags, DHCP_FLAG_BROADCAST);
	assert_int_equal(m->ciaddr, ip("10.0.0.9"));
	assert_memory_equal(m->chaddr, out.chaddr, 6);
	assert_int_equal(dhcp_msg_type(m), DHCP_REQUEST);
	d = dhcp_msg_opt(m, DHCP_OPT_CLIENT_ID, &len);
	assert_non_null(d);
	assert_int_equal(len, 13);
	assert_memory_equal(d, cid, 13);
	/* longer than 255: split on encode, joined again on decode (RFC 3396) */
	d = dhcp_msg_opt(m, 200, &len);
	assert_non_null(d);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(d, big, sizeof(big));
	assert_null(dhcp_msg_opt(m, DHCP_OPT_ROUTER, &len));
	/* no room */
	assert_int_equal(dhcp_encode(buf, 400, &out), -ENOSPC);
	out.type = 0;
	assert_int_equal(dhcp_encode(buf, sizeof(buf), &out), -EINVAL);
	free(m);
}

/* A server's answer built by hand, as a server lays it out. */
static size_t reply(uint8_t *b, const uint8_t *opts, size_t olen)
{
	memset(b, 0, 240);
	b[0] = 2;
	b[1] = 1;
	b[2] = 6;
	b[4] = 0xaa;
	memcpy(b + 16, (uint8_t[]){10, 97, 0, 60}, 4);
	memcpy(b + 236, (uint8_t[]){99, 130, 83, 99}, 4);
	memcpy(b + 240, opts, olen);
	return 240 + olen;
}

static void decode_server_answer(void **state)
{
	uint8_t b[DHCP_MAX_LEN];
	const uint8_t opts[] = {53, 1, 5,  1,  4, 255, 255, 255, 0, 51, 4, 0, 0, 0, 120,
				54, 4, 10, 97, 0, 1,   0,   0,   0, 255};
	struct dhcp_msg *m = malloc(sizeof(*m));
	uint32_t v;

	(void)state;
	assert_int_equal(dhcp_decode(m, b, reply(b, opts, sizeof(opts))), 0);
	assert_int_equal(m->op, 2);
	assert_int_equal(m->yiaddr, ip("10.97.0.60"));
	assert_int_equal(dhcp_msg_type(m), DHCP_ACK);
	assert_true(dhcp_msg_u32(m, DHCP_OPT_LEASE_TIME, &v));
	assert_int_equal(v, 120);
	assert_true(dhcp_msg_u32(m, DHCP_OPT_SUBNET_MASK, &v));
	assert_int_equal(v, 0xffffff00);
	assert_false(dhcp_msg_u32(m, DHCP_OPT_T1, &v));
	free(m);
}

static void decode_rejects_malformed(void **state)
{
	uint8_t b[DHCP_MAX_LEN];
	struct dhcp_msg *m = malloc(sizeof(*m));
	const uint8_t overrun[] = {53, 1, 5, 6, 200, 1, 2};
	const uint8_t no_len[] = {53};
	size_t n;

	(void)state;
	n = reply(b, overrun, sizeof(overrun));
	assert_int_equal(dhcp_decode(m, b, n), -EBADMSG);
	n = reply(b, no_len, sizeof(no_len));
	assert_int_equal(dhcp_decode(m, b, n), -EBADMSG);
	n = reply(b, (const uint8_t[]){255}, 1);
	assert_int_equal(dhcp_decode(m, b, 239), -EBADMSG); /* shorter than the fixed part */
	b[236] = 0;                                          /* no magic cookie */
	assert_int_equal(dhcp_decode(m, b, n), -EBADMSG);
	assert_int_equal(dhcp_decode(m, NULL, 0), -EBADMSG);
	free(m);
}

static void option_overload(void **state)
{
	uint8_t b[DHCP_MAX_LEN];
	const uint8_t opts[] = {53, 1, 2, 52, 1, 1, 255};
	struct dhcp_msg *m = malloc(sizeof(*m));
	const uint8_t *d;
	size_t n = reply(b, opts, sizeof(opts)), len;

	(void)state;
	/* the file field carries the router option */
	memcpy(b + 108, (uint8_t[]){3, 4, 10, 97, 0, 1, 255}, 7);
	assert_int_equal(dhcp_decode(m, b, n), 0);
	d = dhcp_msg_opt(m, DHCP_OPT_ROUTER, &len);
	assert_non_null(d);
	assert_int_equal(len, 4);
	assert_int_equal(d[3], 1);
	free(m);
}

static void classless_routes(void **state)
{
	/* 10.96.0.0/16 via 10.97.0.1, 0.0.0.0/0 via 10.97.0.254, 192.168.1.128/25 on link */
	const uint8_t d[] = {16, 10, 96, 10, 97, 0, 1, 0, 10, 97, 0, 254,
			     25, 192, 168, 1, 128, 0, 0, 0, 0};
	struct dhcp_route r[4];

	(void)state;
	assert_int_equal(dhcp_parse_classless(d, sizeof(d), r, 4), 3);
	assert_int_equal(r[0].dst, ip("10.96.0.0"));
	assert_int_equal(r[0].prefix, 16);
	assert_int_equal(r[0].gw, ip("10.97.0.1"));
	assert_int_equal(r[1].dst, 0);
	assert_int_equal(r[1].prefix, 0);
	assert_int_equal(r[1].gw, ip("10.97.0.254"));
	assert_int_equal(r[2].dst, ip("192.168.1.128"));
	assert_int_equal(r[2].prefix, 25);
	assert_int_equal(r[2].gw, 0);
	/* truncated, prefix too long */
	assert_int_equal(dhcp_parse_classless(d, 6, r, 4), -EBADMSG);
	assert_int_equal(dhcp_parse_classless((const uint8_t[]){33, 1, 2, 3, 4, 5, 1, 2, 3, 4}, 10,
					      r, 4),
			 -EBADMSG);
	/* more routes than room: counted up to the room */
	assert_int_equal(dhcp_parse_classless(d, sizeof(d), r, 1), 1);
}

static void static_routes(void **state)
{
	const uint8_t d[] = {10, 1, 2, 3, 10, 97, 0, 1, 172, 16, 5, 0, 10, 97, 0, 2,
			     0, 0, 0, 0, 10, 97, 0, 3, 192, 168, 7, 0, 10, 97, 0, 4};
	struct dhcp_route r[8];

	(void)state;
	assert_int_equal(dhcp_parse_static(d, sizeof(d), r, 8), 3);
	assert_int_equal(r[0].prefix, 8);
	assert_int_equal(r[0].dst, ip("10.0.0.0")); /* host bits of the classful net cleared */
	assert_int_equal(r[1].prefix, 16);
	assert_int_equal(r[2].prefix, 24);
	assert_int_equal(r[2].gw, ip("10.97.0.4"));
	assert_int_equal(dhcp_parse_static(d, 7, r, 8), -EBADMSG);
}

static void option_names(void **state)
{
	(void)state;
	assert_int_equal(dhcp_option_code("routers"), 3);
	assert_int_equal(dhcp_option_code("subnet-mask"), 1);
	assert_int_equal(dhcp_option_code("dhcp-client-identifier"), 61);
	assert_int_equal(dhcp_option_code("121"), 121);
	assert_int_equal(dhcp_option_code("0"), -EINVAL);
	assert_int_equal(dhcp_option_code("255"), -EINVAL);
	assert_int_equal(dhcp_option_code("12x"), -EINVAL);
	assert_int_equal(dhcp_option_code("no-such-option"), -EINVAL);
	assert_int_equal(dhcp_option_code(""), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(encode_decode_roundtrip), cmocka_unit_test(decode_server_answer),
	    cmocka_unit_test(decode_rejects_malformed), cmocka_unit_test(option_overload),
	    cmocka_unit_test(classless_routes),        cmocka_unit_test(static_routes),
	    cmocka_unit_test(option_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
