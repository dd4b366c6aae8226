/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of host-local's core: ranges, config, iterator, store and allocator. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-local.h"

static hl_config *parse_ok(const char *json, const char *env)
{
	hl_config *c = NULL;
	cni_error *e = NULL;
	int r = hl_config_parse(json, strlen(json), env, &c, &e);

	if (r < 0)
		fail_msg("unexpected error: %s", cni_error_msg(e));
	cni_error_free(e);
	return c;
}

static void expect_error(const char *json, const char *env, const char *msg)
{
	hl_config *c = NULL;
	cni_error *e = NULL;
	int r = hl_config_parse(json, strlen(json), env, &c, &e);

	assert_true(r < 0);
	assert_null(c);
	assert_non_null(e);
	if (strcmp(cni_error_msg(e), msg) != 0)
		fail_msg("got \"%s\", want \"%s\"", cni_error_msg(e), msg);
	cni_error_free(e);
}

#define NET(ipam)                                                                                  \
	"{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"ipam\":{\"type\":\"host-local\"" ipam "}}"

static void ipstr(const cni_ipaddr *ip, char *buf)
{
	assert_non_null(cni_ip_format(ip, buf, CNI_IP_STRLEN));
}

static void test_canonical_errors(void **state)
{
	(void)state;
	expect_error(NET(",\"subnet\":\"10.0.0.0/31\""), NULL,
		     "invalid range set 0: Network 10.0.0.0/31 too small to allocate from");
	expect_error(NET(",\"subnet\":\"fd00::/127\""), NULL,
		     "invalid range set 0: Network fd00::/127 too small to allocate from");
	expect_error(NET(",\"subnet\":\"10.0.0.5/24\""), NULL,
		     "invalid range set 0: Network has host bits set. For a subnet mask of length "
		     "24 the network address is 10.0.0.0");
	expect_error(NET(",\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.1.0.1\""), NULL,
		     "invalid range set 0: RangeStart 10.1.0.1 not in network 10.0.0.0/24");
	expect_error(NET(",\"subnet\":\"10.0.0.0/"
			 "24\",\"rangeStart\":\"10.0.0.50\",\"rangeEnd\":\"10.0.0.40\""),
		     NULL, "invalid range set 0: RangeStart 10.0.0.50 not in network 10.0.0.0/24");
	expect_error(NET(",\"subnet\":\"10.0.0.0/24\",\"rangeEnd\":\"10.0.1.40\""), NULL,
		     "invalid range set 0: RangeEnd 10.0.1.40 not in network 10.0.0.0/24");
	expect_error(NET(",\"subnet\":\"foo\""), NULL, "invalid CIDR address: foo");
	expect_error(NET(",\"subnet\":\"10.0.0.0/24\",\"gateway\":\"foo\""), NULL,
		     "invalid IP address: foo");
	expect_error(NET(",\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"},{\"subnet\":\"fd00::/64\"}]]"),
		     NULL, "invalid range set 0: mixed address families");
	expect_error(
	    NET(",\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"},{\"subnet\":\"10.0.0.0/25\"}]]"), NULL,
	    "invalid range set 0: subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap");
	expect_error(
	    NET(",\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"}],[{\"subnet\":\"10.0.0.0/25\"}]]"),
	    NULL, "range set 0 overlaps with 1");
	expect_error(NET(",\"ranges\":[[]]"), NULL, "invalid range set 0: empty range set");
	expect_error(NET(",\"ranges\":[[{}]]"), NULL,
		     "invalid range set 0: IP <nil> not v4 nor v6");
	expect_error(NET(",\"ranges\":[]"), NULL, "no IP ranges specified");
	expect_error("{\"cniVersion\":\"0.4.0\",\"name\":\"n\"}", NULL,
		     "IPAM config missing 'ipam' key");
	expect_error("{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"ipam\":{\"ranges\":[[{\"subnet\":"
		     "\"10.0.0.0/24\"}],[{\"subnet\":\"10.1.0.0/24\"}]]}}",
		     NULL, "CNI version 0.2.0 does not support more than 1 address per family");
	expect_error(NET(",\"subnet\":\"10.0.0.0/24\""), "IP=foo",
		     "ARGS: error parsing value of pair \"IP=foo\": invalid IP address foo");
	expect_error("{\"name\":\"n\",\"runtimeConfig\":{\"ips\":[\"\"]},\"ipam\":{\"subnet\":\"10."
		     "0.0.0/24\"}}",
		     NULL, "cannot understand ip: IP <nil> not v4 nor v6");
	expect_error(NET(",\"subnet\":\"10.0.0.0/24\",\"routes\":[{\"dst\":\"foo\"}]"), NULL,
		     "invalid CIDR address: foo");
	expect_error(NET(",\"ranges\":\"x\""), NULL,
		     "ipam.ranges: expected an array of range sets, got string");
}

static void test_defaults(void **state)
{
	hl_config *c =
	    parse_ok("{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"ipam\":{\"ranges\":[[{\"subnet\":"
		     "\"10.0.0.0/24\"}],[{\"subnet\":\"fd00::/120\",\"gateway\":\"fd00::9\"}]]}}",
		     NULL);
	char a[CNI_IP_STRLEN];

	(void)state;
	assert_int_equal(c->nsets, 2);
	assert_string_equal(c->data_dir, HL_DEFAULT_DATA_DIR);
	ipstr(&c->sets[0].ranges[0].start, a);
	assert_string_equal(a, "10.0.0.1");
	ipstr(&c->sets[0].ranges[0].end, a);
	assert_string_equal(a, "10.0.0.254");
	ipstr(&c->sets[0].ranges[0].gateway, a);
	assert_string_equal(a, "10.0.0.1");
	ipstr(&c->sets[1].ranges[0].end, a);
	assert_string_equal(a, "fd00::ff");
	ipstr(&c->sets[1].ranges[0].gateway, a);
	assert_string_equal(a, "fd00::9");
	hl_config_free(c);
}

static void test_order_and_requests(void **state)
{
	/* runtime ranges, then the legacy range, then ranges; keys fold case like Go's */
	hl_config *c =
	    parse_ok("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"runtimeConfig\":{\"ipRanges\":[[{"
		     "\"subnet\":\"10.9.0.0/24\"}]],\"ips\":[\"10.1.0.7/24\"]},"
		     "\"args\":{\"cni\":{\"ips\":[\"10.9.0.5\"]}},"
		     "\"ipam\":{\"Subnet\":\"10.1.0.0/24\",\"DATADIR\":\"/"
		     "x\",\"releaseOnReboot\":true,\"ranges\":[[{\"subnet\":\"10.2.0.0/24\"}]]}}",
		     "IgnoreUnknown=1;IP=10.2.0.9;K8S_POD_NAME=x");
	char a[CNI_IP_STRLEN];

	(void)state;
	assert_int_equal(c->nsets, 3);
	ipstr(&c->sets[0].ranges[0].subnet.ip, a);
	assert_string_equal(a, "10.9.0.0");
	ipstr(&c->sets[1].ranges[0].subnet.ip, a);
	assert_string_equal(a, "10.1.0.0");
	ipstr(&c->sets[2].ranges[0].subnet.ip, a);
	assert_string_equal(a, "10.2.0.0");
	assert_string_equal(c->data_dir, "/x");
	assert_true(c->release_on_reboot);
	assert_int_equal(c->nrequested, 3);
	ipstr(&c->requested[0], a);
	assert_string_equal(a, "10.2.0.9");
	ipstr(&c->requested[1], a);
	assert_string_equal(a, "10.9.0.5");
	ipstr(&c->requested[2], a);
	assert_string_equal(a, "10.1.0.7");
	hl_config_free(c);
}

static hl_config *two_ranges(void)
{
	return parse_ok(NET(",\"ranges\":[[{\"subnet\":\"10.0.0.0/"
			    "29\",\"rangeStart\":\"10.0.0.0\",\"rangeEnd\":\"10.0.0.7\"},"
			    "{\"subnet\":\"10.0.1.0/30\",\"gateway\":\"10.0.1.2\"}]]"),
			NULL);
}

static void test_iterator(void **state)
{
	hl_config *c = two_ranges();
	const char *want[] = {"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5",
			      "10.0.0.6", "10.0.1.1", NULL};
	cni_ipaddr ip, last;
	char a[CNI_IP_STRLEN];
	hl_iter it;
	size_t i = 0;

	(void)state;
	/* network, gateway and broadcast never come out */
	hl_iter_init(&it, &c->sets[0], NULL);
	while (hl_iter_next(&it, &ip, NULL)) {
		ipstr(&ip, a);
		assert_non_null(want[i]);
		assert_string_equal(a, want[i]);
		i++;
	}
	assert_null(want[i]);
	assert_int_equal(hl_rangeset_capacity(&c->sets[0]), 6);

	/* round robin: starts after the last reserved, wraps, ends with it */
	assert_int_equal(cni_ip_parse("10.0.0.5", &last), 0);
	hl_iter_init(&it, &c->sets[0], &last);
	assert_true(hl_iter_next(&it, &ip, NULL));
	ipstr(&ip, a);
	assert_string_equal(a, "10.0.0.6");
	assert_true(hl_iter_next(&it, &ip, NULL));
	ipstr(&ip, a);
	assert_string_equal(a, "10.0.1.1");
	assert_true(hl_iter_next(&it, &ip, NULL));
	ipstr(&ip, a);
	assert_string_equal(a, "10.0.0.2");
	for (i = 3; hl_iter_next(&it, &ip, NULL); i++)
		ipstr(&ip, a);
	assert_int_equal(i, 6);
	assert_string_equal(a, "10.0.0.5");

	/* a last address outside the set is ignored */
	assert_int_equal(cni_ip_parse("192.168.0.1", &last), 0);
	hl_iter_init(&it, &c->sets[0], &last);
	assert_true(hl_iter_next(&it, &ip, NULL));
	ipstr(&ip, a);
	assert_string_equal(a, "10.0.0.2");
	hl_config_free(c);
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/hl-unit-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static hl_store *store_locked(void)
{
	hl_store *s = NULL;
	cni_error *e = NULL;

	assert_int_equal(hl_store_open(&s, tmpdir, "net", NULL, &e), 0);
	assert_int_equal(hl_store_lock(s, &e), 0);
	return s;
}

static void write_file(const char *name, const char *content)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/net/%s", tmpdir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void test_allocator(void **state)
{
	hl_config *c = two_ranges();
	hl_store *s = store_locked();
	cni_ipaddr ip, *held = NULL;
	const hl_range *rg;
	cni_error *e = NULL;
	char a[CNI_IP_STRLEN], p[256];
	size_t n = 0, released = 0;
	struct stat st;

	(void)state;
	for (int i = 0; i < 6; i++) {
		char id[16];

		snprintf(id, sizeof(id), "c%d", i);
		assert_int_equal(hl_allocate(s, &c->sets[0], 0, id, "eth0", NULL, &ip, &rg, &e), 0);
	}
	assert_true(hl_allocate(s, &c->sets[0], 0, "c9", "eth0", NULL, &ip, &rg, &e) < 0);
	assert_string_equal(
	    cni_error_msg(e),
	    "no IP addresses available in range set: 10.0.0.0-10.0.0.7,10.0.1.1-10.0.1.2");
	cni_error_free(e);
	e = NULL;
	assert_true(hl_allocate(s, &c->sets[0], 0, "c1", "eth0", NULL, &ip, &rg, &e) < 0);
	assert_string_equal(
	    cni_error_msg(e),
	    "10.0.0.3 has been allocated to c1, duplicate allocation is not allowed");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(hl_rangeset_free_count(&c->sets[0], NULL, 0), 6);

	/* files as the reference writes them, 0600 */
	snprintf(p, sizeof(p), "%s/net/10.0.0.3", tmpdir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, strlen("c1\r\neth0"));

	assert_int_equal(hl_store_release_by_id(s, "c1", "eth0", &released, &e), 0);
	assert_int_equal(released, 1);
	assert_int_equal(stat(p, &st), -1);
	hl_store_unlock(s);
	hl_store_free(s);

	/* a foreign writer (reference plugin, legacy file) is seen by the next session */
	write_file("10.0.0.3", "legacy");
	s = store_locked();
	assert_int_equal(hl_store_get_by_id(s, "legacy", "eth1", &held, &n, &e), 0);
	assert_int_equal(n, 1);
	ipstr(&held[0], a);
	assert_string_equal(a, "10.0.0.3");
	free(held);
	/* requested address: taken, gateway, network */
	assert_int_equal(cni_ip_parse("10.0.0.3", &ip), 0);
	assert_true(hl_allocate(s, &c->sets[0], 0, "x", "eth0", &ip, &ip, &rg, &e) < 0);
	assert_string_equal(cni_error_msg(e), "requested IP address 10.0.0.3 is not available in "
					      "range set 10.0.0.0-10.0.0.7,10.0.1.1-10.0.1.2");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_ip_parse("10.0.1.2", &ip), 0);
	assert_true(hl_allocate(s, &c->sets[0], 0, "x", "eth0", &ip, &ip, &rg, &e) < 0);
	assert_string_equal(cni_error_msg(e), "requested ip 10.0.1.2 is subnet's gateway");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_ip_parse("10.0.0.0", &ip), 0);
	assert_true(hl_allocate(s, &c->sets[0], 0, "x", "eth0", &ip, &ip, &rg, &e) < 0);
	cni_error_free(e);
	e = NULL;

	/* GC keeps valid pairs only; legacy files belong to every ifname of their id */
	{
		hl_attachment valid[] = {{"c2", "eth0"}, {"legacy", "net1"}};

		assert_int_equal(hl_store_gc(s, valid, 2, &released, &e), 0);
		assert_int_equal(released, 4);
	}
	assert_int_equal(hl_store_get_by_id(s, "c2", "eth0", &held, &n, &e), 0);
	assert_int_equal(n, 1);
	free(held);
	assert_int_equal(hl_store_get_by_id(s, "c3", "eth0", &held, &n, &e), 0);
	assert_int_equal(n, 0);
	free(held);
	hl_store_unlock(s);
	hl_store_free(s);
	hl_config_free(c);
}

static void test_index_follows_foreign_changes(void **state)
{
	hl_config *c = two_ranges();
	hl_store *s;
	cni_ipaddr ip, *held = NULL;
	const hl_range *rg;
	cni_error *e = NULL;
	char p[256];
	size_t n;

	(void)state;
	s = store_locked();
	assert_int_equal(hl_allocate(s, &c->sets[0], 0, "a", "eth0", NULL, &ip, &rg, &e), 0);
	hl_store_unlock(s);
	hl_store_free(s);

	/* someone else removes our file and gives the address to "b" */
	snprintf(p, sizeof(p), "%s/net/10.0.0.2", tmpdir);
	assert_int_equal(unlink(p), 0);
	write_file("10.0.0.2", "b\r\neth0");
	s = store_locked();
	assert_int_equal(hl_store_get_by_id(s, "a", "eth0", &held, &n, &e), 0);
	assert_int_equal(n, 0);
	free(held);
	assert_int_equal(hl_store_get_by_id(s, "b", "eth0", &held, &n, &e), 0);
	assert_int_equal(n, 1);
	free(held);
	/* the owner of an address is checked before release */
	assert_int_equal(hl_store_release_ip(s, "a", "eth0", &ip, &e), 0);
	assert_int_equal(access(p, F_OK), 0);
	hl_store_unlock(s);
	hl_store_free(s);
	hl_config_free(c);
}

/* The index is trusted by the next session: state records the directory's mtime. */
static bool index_trusted(void)
{
	char p[256], buf[256] = "";
	long long sec = -1, nsec = -1;
	struct stat st;
	FILE *f;

	snprintf(p, sizeof(p), "%s/net/.host-local/state", tmpdir);
	f = fopen(p, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	snprintf(p, sizeof(p), "%s/net", tmpdir);
	return sscanf(buf, "host-local-index-v2 %lld %lld", &sec, &nsec) == 2 &&
	       stat(p, &st) == 0 && st.st_mtim.tv_sec == sec && st.st_mtim.tv_nsec == nsec;
}

/* More owners than index buckets: every bucket is shared, and an update of one owner
 * keeps the others' entries. */
static void test_index_shared_buckets(void **state)
{
	enum { OWNERS = 1500 };
	hl_config *c = parse_ok(NET(",\"subnet\":\"10.8.0.0/20\""), NULL);
	cni_ipaddr *got = calloc(OWNERS, sizeof(*got)), ip, *held = NULL;
	const hl_range *rg;
	cni_error *e = NULL;
	hl_store *s;
	size_t n, released;
	char id[16];

	(void)state;
	assert_non_null(got);
	s = store_locked();
	for (int i = 0; i < OWNERS; i++) {
		snprintf(id, sizeof(id), "o%d", i);
		assert_int_equal(hl_allocate(s, &c->sets[0], 0, id, "eth0", NULL, &got[i], &rg, &e),
				 0);
	}
	hl_store_unlock(s);
	hl_store_free(s);

	assert_true(index_trusted());
	s = store_locked();
	for (int i = 0; i < OWNERS; i++) {
		snprintf(id, sizeof(id), "o%d", i);
		assert_int_equal(hl_store_get_by_id(s, id, "eth0", &held, &n, &e), 0);
		assert_int_equal(n, 1);
		assert_true(cni_ip_equal(&held[0], &got[i]));
		free(held);
		if (i % 2 == 0) {
			assert_int_equal(hl_store_release_by_id(s, id, "eth0", &released, &e), 0);
			assert_int_equal(released, 1);
		}
	}
	hl_store_unlock(s);
	hl_store_free(s);

	assert_true(index_trusted());
	s = store_locked();
	for (int i = 0; i < OWNERS; i++) {
		snprintf(id, sizeof(id), "o%d", i);
		assert_int_equal(hl_store_get_by_id(s, id, "eth0", &held, &n, &e), 0);
		assert_int_equal(n, (size_t)(i % 2));
		free(held);
	}
	assert_true(hl_allocate(s, &c->sets[0], 0, "o1", "eth0", NULL, &ip, &rg, &e) < 0);
	cni_error_free(e);
	hl_store_unlock(s);
	hl_store_free(s);
	free(got);
	hl_config_free(c);
}

static void test_reboot(void **state)
{
	hl_store_options o = {.release_on_reboot = true};
	char boot[256], p[256];
	hl_store *s = NULL;
	cni_error *e = NULL;
	FILE *f;

	(void)state;
	snprintf(boot, sizeof(boot), "%s/boot_id", tmpdir);
	o.boot_id_path = boot;
	f = fopen(boot, "w");
	fputs("aaaa\n", f);
	fclose(f);
	assert_int_equal(hl_store_open(&s, tmpdir, "net", &o, &e), 0);
	assert_int_equal(hl_store_lock(s, &e), 0);
	hl_store_free(s);
	write_file("10.0.0.4", "x\r\neth0");
	assert_int_equal(hl_store_open(&s, tmpdir, "net", &o, &e), 0);
	assert_int_equal(hl_store_lock(s, &e), 0);
	hl_store_free(s);
	snprintf(p, sizeof(p), "%s/net/10.0.0.4", tmpdir);
	assert_int_equal(access(p, F_OK), 0); /* same boot: kept */
	f = fopen(boot, "w");
	fputs("bbbb\n", f);
	fclose(f);
	assert_int_equal(hl_store_open(&s, tmpdir, "net", &o, &e), 0);
	assert_int_equal(hl_store_lock(s, &e), 0);
	hl_store_free(s);
	assert_int_equal(access(p, F_OK), -1); /* new boot: dropped */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_order_and_requests),
	    cmocka_unit_test(test_iterator),
	    cmocka_unit_test_setup_teardown(test_allocator, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_index_follows_foreign_changes, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_index_shared_buckets, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_reboot, setup_dir, teardown_dir),
	    cmocka_unit_test(test_canonical_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
