/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>

#include "internal.h"
#include "result-internal.h"
#include "buf-internal.h"
#include "file-internal.h"

#define RESULT_DATA CNI_TEST_DATA_DIR "/result"

static const char *const versions[] = {"0.1.0", "0.2.0", "0.3.0", "0.3.1",
				       "0.4.0", "1.0.0", "1.1.0"};

/* Whole file, or NULL when it does not exist. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	char *data = NULL;
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, F_OK) != 0)
		return NULL;
	if (cni_read_file(path, 0, &data, &n, NULL) < 0)
		fail_msg("cannot read %s", path);
	if (len)
		*len = n;
	return data;
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Sorted case directories of tests/data/result/<kind>. */
static char **cases(const char *kind)
{
	char path[1024];
	char **list = NULL;
	snprintf(path, sizeof(path), "%s/%s", RESULT_DATA, kind);
	DIR *d = opendir(path);
	if (!d)
		fail_msg("cannot open %s", path);
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char *p = cni_strdupf("%s/%s", path, e->d_name);
		assert_int_equal(cni_strv_consume(&list, p), 0);
	}
	closedir(d);
	size_t n = cni_strv_length(list);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(list[j - 1], list[j]) > 0; j--) {
			char *t = list[j];
			list[j] = list[j - 1];
			list[j - 1] = t;
		}
	return list;
}

static cni_result *parse_case(const char *dir, cni_error **err, int *ret)
{
	size_t len = 0;
	_cleanup_free_ char *input = slurp(dir, "input.json", &len);
	_cleanup_free_ char *as = slurp(dir, "as-version", NULL);
	cni_result *r = NULL;
	if (!input)
		fail_msg("%s: no input.json", dir);
	if (as)
		chomp(as);
	*ret = cni_result_from_json(&r, as, input, len, err);
	return r;
}

/* Every valid input printed as every version, byte for byte against the goldens. */
static void test_golden_valid(void **state)
{
	(void)state;
	_cleanup_strv_ char **list = cases("valid");
	size_t checked = 0;

	assert_true(cni_strv_length(list) >= 10);
	for (char **dir = list; *dir; dir++) {
		cni_error *err = NULL;
		int ret;
		cni_result *r = parse_case(*dir, &err, &ret);
		if (ret != 0)
			fail_msg("%s: parse failed: %s", *dir, cni_error_msg(err));
		for (size_t v = 0; v < ARRAY_SIZE(versions); v++) {
			char name[32];
			snprintf(name, sizeof(name), "%s.json", versions[v]);
			_cleanup_free_ char *want = slurp(*dir, name, NULL);
			snprintf(name, sizeof(name), "%s.error", versions[v]);
			_cleanup_free_ char *want_err = slurp(*dir, name, NULL);
			char *out = NULL;
			cni_error *cerr = NULL;

			if (!want == !want_err)
				fail_msg("%s: need exactly one of %s.json / %s.error", *dir,
					 versions[v], versions[v]);
			ret = cni_result_to_json_as(r, versions[v], &out, &cerr);
			if (want) {
				if (ret != 0)
					fail_msg("%s as %s: %s", *dir, versions[v],
						 cni_error_msg(cerr));
				if (strcmp(out, want) != 0) {
					print_error("%s as %s:\n--- want\n%s\n--- got\n%s\n", *dir,
						    versions[v], want, out);
					fail();
				}
				/* the printed form reads back to the same bytes */
				cni_result *again = NULL;
				char *out2 = NULL;
				assert_int_equal(
				    cni_result_from_json(&again, NULL, out, strlen(out), NULL), 0);
				assert_string_equal(cni_result_version(again), versions[v]);
				assert_int_equal(cni_result_to_json(again, &out2, NULL), 0);
				assert_string_equal(out2, out);
				cni_free(out2);
				cni_result_free(again);
			} else {
				chomp(want_err);
				if (ret == 0)
					fail_msg("%s as %s: expected failure '%s', got\n%s", *dir,
						 versions[v], want_err, out);
				assert_int_equal(ret, -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
				assert_string_equal(cni_error_msg(cerr), want_err);
				assert_null(out);
			}
			cni_free(out);
			cni_error_free(cerr);
			checked++;
		}
		cni_result_free(r);
	}
	assert_int_equal(checked, cni_strv_length(list) * ARRAY_SIZE(versions));
}

/* Inputs that must be refused: our message in "error", our code in "code". */
static void test_golden_invalid(void **state)
{
	(void)state;
	_cleanup_strv_ char **list = cases("invalid");

	assert_true(cni_strv_length(list) >= 10);
	for (char **dir = list; *dir; dir++) {
		_cleanup_free_ char *want = slurp(*dir, "error", NULL);
		_cleanup_free_ char *code = slurp(*dir, "code", NULL);
		cni_error *err = NULL;
		int ret;
		if (!want || !code)
			fail_msg("%s: needs 'error' and 'code'", *dir);
		chomp(want);
		cni_result *r = parse_case(*dir, &err, &ret);
		if (ret == 0) {
			cni_result_free(r);
			fail_msg("%s: accepted", *dir);
		}
		assert_null(r);
		assert_non_null(err);
		if (strcmp(cni_error_msg(err), want) != 0)
			fail_msg("%s: want '%s', got '%s'", *dir, want, cni_error_msg(err));
		assert_int_equal(-ret, strtol(code, NULL, 10));
		assert_int_equal(cni_error_code(err), -ret);
		cni_error_free(err);
	}
}

static cni_result *parse_ok(const char *json, const char *version)
{
	cni_result *r = NULL;
	cni_error *err = NULL;
	if (cni_result_from_json(&r, version, json, strlen(json), &err) != 0)
		fail_msg("parse failed: %s", cni_error_msg(err));
	return r;
}

static int parse_fail(const char *json, const char *version, const char *want_msg)
{
	cni_result *r = NULL;
	cni_error *err = NULL;
	int ret = cni_result_from_json(&r, version, json, strlen(json), &err);
	assert_true(ret < 0);
	assert_null(r);
	if (want_msg)
		assert_string_equal(cni_error_msg(err), want_msg);
	cni_error_free(err);
	return ret;
}

static char *print(const cni_result *r)
{
	char *out = NULL;
	assert_int_equal(cni_result_to_json(r, &out, NULL), 0);
	return out;
}

static void test_parse_version_rules(void **state)
{
	(void)state;
	cni_result *r;

	/* no cniVersion: 0.1.0 */
	r = parse_ok("{\"ip4\":{\"ip\":\"10.0.0.2/24\"}}", NULL);
	assert_string_equal(cni_result_version(r), "0.1.0");
	cni_result_free(r);
	r = parse_ok("{\"cniVersion\":\"\",\"ip4\":{\"ip\":\"10.0.0.2/24\"}}", "0.2.0");
	assert_string_equal(cni_result_version(r), "0.1.0");
	cni_result_free(r);
	/* same family keeps the JSON's label */
	r = parse_ok("{\"cniVersion\":\"0.3.1\"}", "0.4.0");
	assert_string_equal(cni_result_version(r), "0.3.1");
	cni_result_free(r);
	r = parse_ok("{\"cniVersion\":\"1.1.0\"}", "1.0.0");
	assert_string_equal(cni_result_version(r), "1.1.0");
	cni_result_free(r);
	/* case-insensitive member names, as Go's decoder */
	r = parse_ok("{\"CNIVERSION\":\"0.4.0\",\"IPs\":[{\"Version\":\"4\",\"Address\":\"10.0.0.2/"
		     "24\"}]}",
		     NULL);
	assert_string_equal(cni_result_version(r), "0.4.0");
	assert_int_equal(cni_result_ip_count(r), 1);
	cni_result_free(r);

	assert_int_equal(parse_fail("{\"cniVersion\":\"0.2.0\"}", "1.0.0",
				    "result type supports [1.0.0 1.1.0] but unmarshalled "
				    "CNIVersion is \"0.2.0\""),
			 -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	parse_fail("{\"cniVersion\":\"1.0.0\"}", "0.1.0",
		   "result type supports [ 0.1.0 0.2.0] but unmarshalled CNIVersion is \"1.0.0\"");
	assert_int_equal(parse_fail("{}", "2.0.0", "unsupported CNI result version \"2.0.0\""),
			 -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_int_equal(parse_fail("", NULL, NULL), -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(parse_fail("{\"cniVersion\":\"1.0.0\"} x", NULL, NULL),
			 -CNI_ERR_DECODING_FAILURE);
	parse_fail("{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"mtu\":1e3}]}",
		   NULL, "routes[0].mtu: expected an integer, got number 1000.0");
	parse_fail("{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"table\":"
		   "4294967296}]}",
		   NULL, "routes[0].table: 4294967296 is out of range");
	parse_fail("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"e\",\"mtu\":\"9000\"}]}",
		   NULL, "interfaces[0].mtu: expected an integer, got string \"9000\"");
	parse_fail("{\"cniVersion\":\"0.2.0\",\"ip6\":{\"ip\":\"::1/129\"}}", NULL,
		   "ip6.ip: invalid CIDR address: ::1/129");
	parse_fail("{\"cniVersion\":\"0.2.0\",\"ip6\":[]}", NULL,
		   "ip6: expected an object, got array");
	parse_fail("{\"cniVersion\":\"1.0.0\",\"dns\":{\"search\":[1]}}", NULL,
		   "dns.search[0]: expected a string, got number 1");
	parse_fail("{\"cniVersion\":\"1.0.0\",\"dns\":\"x\"}", NULL,
		   "dns: expected an object, got string \"x\"");
}

/* Address syntax as Go's net package accepts it. */
static void test_address_syntax(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cidrs[] = {
	    {"10.0.0.1/24", "10.0.0.1/24"},
	    {"10.0.0.1/024", "10.0.0.1/24"},
	    {"0.0.0.0/0", "0.0.0.0/0"},
	    {"255.255.255.255/32", "255.255.255.255/32"},
	    {"::/0", "::/0"},
	    {"::1/128", "::1/128"},
	    {"1::/16", "1::/16"},
	    {"1:0:0:2::/64", "1:0:0:2::/64"},
	    {"1:2:3:4:5:6:7:8/64", "1:2:3:4:5:6:7:8/64"},
	    {"1:0:2:0:0:3:0:0/64", "1:0:2::3:0:0/64"},
	    {"0:0:1:0:0:0:1:0/64", "0:0:1::1:0/64"},
	    {"1:0:2:3:4:5:6:7/64", "1:0:2:3:4:5:6:7/64"},
	    {"00000001::/64", "1::/64"},
	    {"::ffff:1.2.3.4/128", "1.2.3.4/32"},
	    {"::ffff:1.2.3.4/96", "1.2.3.4/0"},
	    {"::1.2.3.4/128", "::102:304/128"},
	    {"ABCD::EF/64", "abcd::ef/64"},
	    {"10.0.0.1/33", NULL},
	    {"10.0.0.1/-1", NULL},
	    {"10.0.0.1/+8", NULL},
	    {"10.0.0.1/", NULL},
	    {"10.0.0.1", NULL},
	    {"10.0.0/8", NULL},
	    {"10.0.0.1.1/8", NULL},
	    {"10.0.0.01/8", NULL},
	    {"256.0.0.1/8", NULL},
	    {"1::2::3/64", NULL},
	    {"1:2:3:4:5:6:7:8:9/64", NULL},
	    {"1:2:3:4:5:6:7::8/64", NULL},
	    {"1:2:3:4:5:6:7:8::/64", NULL},
	    {":1::/64", NULL},
	    {"1::2:/64", NULL},
	    {"12345::/64", NULL},
	    {"1:2:3:4:5:6:1.2.3.4:1/64", NULL},
	    {"1.2.3.4::/64", NULL},
	    {"fe80::1%eth0/64", NULL},
	    {"::/129", NULL},
	    {"", NULL},
	    {" 10.0.0.1/8", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cidrs); i++) {
		cni_result *r = NULL;
		cni_route rt = CNI_ROUTE_INIT;
		cni_error *err = NULL;
		assert_int_equal(cni_result_new(&r, "1.0.0", NULL), 0);
		rt.dst = cidrs[i].in;
		int ret = cni_result_add_route(r, &rt, &err);
		if (cidrs[i].out) {
			if (ret != 0)
				fail_msg("%s refused: %s", cidrs[i].in, cni_error_msg(err));
			assert_int_equal(cni_result_get_route(r, 0, &rt), 0);
			assert_string_equal(rt.dst, cidrs[i].out);
		} else {
			if (ret == 0)
				fail_msg("%s accepted", cidrs[i].in);
			assert_int_equal(ret, -CNI_ERR_INVALID_ARG);
			assert_non_null(strstr(cni_error_msg(err), cidrs[i].in));
		}
		cni_error_free(err);
		cni_result_free(r);
	}

	static const struct {
		const char *in, *out;
	} ips[] = {
	    {"10.1.2.3", "10.1.2.3"},
	    {"::ffff:10.1.2.3", "10.1.2.3"},
	    {"FE80::1", "fe80::1"},
	    {"", NULL /* unset */},
	    {"10.1.2", "!"},
	    {"10.1.2.3/32", "!"},
	    {"::g", "!"},
	    {"1.2.3.4:", "!"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ips); i++) {
		cni_result *r = NULL;
		cni_ip ip = CNI_IP_INIT;
		assert_int_equal(cni_result_new(&r, "1.0.0", NULL), 0);
		ip.address = "10.1.2.3/24";
		ip.gateway = ips[i].in;
		int ret = cni_result_add_ip(r, &ip, NULL);
		if (ips[i].out && streq(ips[i].out, "!")) {
			assert_int_equal(ret, -CNI_ERR_INVALID_ARG);
		} else {
			assert_int_equal(ret, 0);
			assert_int_equal(cni_result_get_ip(r, 0, &ip), 0);
			if (ips[i].out)
				assert_string_equal(ip.gateway, ips[i].out);
			else
				assert_null(ip.gateway);
		}
		cni_result_free(r);
	}
}

/* Build a 1.1.0 result with every field through the API and read it all back. */
static void test_build_and_read_all_fields(void **state)
{
	(void)state;
	cni_result *r = NULL;
	cni_error *err = NULL;
	size_t idx = 99;

	assert_int_equal(cni_result_new(&r, "1.1.0", NULL), 0);
	assert_string_equal(cni_result_version(r), "1.1.0");

	cni_interface host = CNI_INTERFACE_INIT;
	host.name = "veth0";
	host.mac = "02:00:00:00:00:01";
	assert_int_equal(cni_result_add_interface(r, &host, &idx, NULL), 0);
	assert_int_equal(idx, 0);
	cni_interface cont = CNI_INTERFACE_INIT;
	cont.name = "eth0";
	cont.mac = "02:00:00:00:00:02";
	cont.sandbox = "/var/run/netns/t";
	cont.mtu = 1450;
	cont.socket_path = "/run/s.sock";
	cont.pci_id = "0000:01:00.0";
	assert_int_equal(cni_result_add_interface(r, &cont, &idx, NULL), 0);
	assert_int_equal(idx, 1);

	cni_ip ip = CNI_IP_INIT;
	ip.address = "10.1.0.5/24";
	ip.gateway = "10.1.0.1";
	ip.interface = 1;
	assert_int_equal(cni_result_add_ip(r, &ip, NULL), 0);
	ip = (cni_ip)CNI_IP_INIT;
	ip.address = "fd00::5/64";
	assert_int_equal(cni_result_add_ip(r, &ip, NULL), 0);
	ip.interface = 2; /* no such interface */
	assert_int_equal(cni_result_add_ip(r, &ip, &err), -CNI_ERR_INVALID_ARG);
	assert_non_null(strstr(cni_error_msg(err), "interface index 2"));
	cni_error_free(err);
	err = NULL;

	cni_route rt = CNI_ROUTE_INIT;
	rt.dst = "0.0.0.0/0";
	rt.gw = "10.1.0.1";
	rt.mtu = 1400;
	rt.advmss = 1360;
	rt.priority = 10;
	rt.has_table = true;
	rt.table = 0;
	rt.has_scope = true;
	rt.scope = 253;
	assert_int_equal(cni_result_add_route(r, &rt, NULL), 0);
	rt = (cni_route)CNI_ROUTE_INIT;
	rt.dst = "fd00:1::/64";
	assert_int_equal(cni_result_add_route(r, &rt, NULL), 0);
	rt.mtu = -1;
	assert_int_equal(cni_result_add_route(r, &rt, NULL), -CNI_ERR_INVALID_ARG);

	const char *ns[] = {"10.1.0.1", "fd00::1", NULL};
	const char *search[] = {"a.test", NULL};
	const char *opts[] = {"ndots:3", NULL};
	cni_dns dns = CNI_DNS_INIT;
	dns.nameservers = ns;
	dns.domain = "a.test";
	dns.search = search;
	dns.options = opts;
	assert_int_equal(cni_result_set_dns(r, &dns, NULL), 0);

	assert_int_equal(cni_result_set_interface_mac(r, 0, "02:00:00:00:00:ff", NULL), 0);
	assert_int_equal(cni_result_set_interface_mac(r, 2, "x", NULL), -CNI_ERR_INVALID_ARG);

	/* print, parse back (both 1.1.0 and, relabelled, 1.0.0) and compare every field */
	_cleanup_free_ char *text = print(r);
	cni_result *copies[3];
	copies[0] = parse_ok(text, NULL);
	copies[1] = cni_result_dup(r);
	assert_int_equal(cni_result_convert(&copies[2], r, "1.0.0", NULL), 0);
	assert_string_equal(cni_result_version(copies[2]), "1.0.0");
	for (size_t c = 0; c < ARRAY_SIZE(copies); c++) {
		const cni_result *x = copies[c];
		cni_interface f;
		assert_int_equal(cni_result_interface_count(x), 2);
		assert_int_equal(cni_result_get_interface(x, 0, &f), 0);
		assert_string_equal(f.name, "veth0");
		assert_string_equal(f.mac, "02:00:00:00:00:ff");
		assert_null(f.sandbox);
		assert_int_equal(f.mtu, 0);
		assert_null(f.socket_path);
		assert_null(f.pci_id);
		assert_int_equal(cni_result_get_interface(x, 1, &f), 0);
		assert_string_equal(f.name, "eth0");
		assert_string_equal(f.mac, "02:00:00:00:00:02");
		assert_string_equal(f.sandbox, "/var/run/netns/t");
		assert_int_equal(f.mtu, 1450);
		assert_string_equal(f.socket_path, "/run/s.sock");
		assert_string_equal(f.pci_id, "0000:01:00.0");
		assert_int_equal(cni_result_get_interface(x, 2, &f), -CNI_ERR_INVALID_ARG);

		cni_ip i;
		assert_int_equal(cni_result_ip_count(x), 2);
		assert_int_equal(cni_result_get_ip(x, 0, &i), 0);
		assert_string_equal(i.address, "10.1.0.5/24");
		assert_string_equal(i.gateway, "10.1.0.1");
		assert_int_equal(i.interface, 1);
		assert_int_equal(cni_result_get_ip(x, 1, &i), 0);
		assert_string_equal(i.address, "fd00::5/64");
		assert_null(i.gateway);
		assert_int_equal(i.interface, -1);
		assert_int_equal(cni_result_get_ip(x, 2, &i), -CNI_ERR_INVALID_ARG);

		cni_route t;
		assert_int_equal(cni_result_route_count(x), 2);
		assert_int_equal(cni_result_get_route(x, 0, &t), 0);
		assert_string_equal(t.dst, "0.0.0.0/0");
		assert_string_equal(t.gw, "10.1.0.1");
		assert_int_equal(t.mtu, 1400);
		assert_int_equal(t.advmss, 1360);
		assert_int_equal(t.priority, 10);
		assert_true(t.has_table);
		assert_int_equal(t.table, 0);
		assert_true(t.has_scope);
		assert_int_equal(t.scope, 253);
		assert_int_equal(cni_result_get_route(x, 1, &t), 0);
		assert_string_equal(t.dst, "fd00:1::/64");
		assert_null(t.gw);
		assert_false(t.has_table);
		assert_false(t.has_scope);
		assert_int_equal(t.mtu + t.advmss + t.priority, 0);
		assert_int_equal(cni_result_get_route(x, 2, &t), -CNI_ERR_INVALID_ARG);

		cni_dns d;
		assert_int_equal(cni_result_get_dns(x, &d), 0);
		assert_string_equal(d.nameservers[0], "10.1.0.1");
		assert_string_equal(d.nameservers[1], "fd00::1");
		assert_null(d.nameservers[2]);
		assert_string_equal(d.domain, "a.test");
		assert_string_equal(d.search[0], "a.test");
		assert_null(d.search[1]);
		assert_string_equal(d.options[0], "ndots:3");
		assert_null(d.options[1]);
	}
	/* 1.0.0 prints the same data, in struct order */
	_cleanup_free_ char *t100 = print(copies[2]);
	assert_non_null(strstr(t100, "\"socketPath\": \"/run/s.sock\""));
	assert_non_null(strstr(t100, "\"table\": 0"));
	assert_true(strstr(t100, "\"interfaces\"") < strstr(t100, "\"dns\""));
	/* 1.1.0 prints keys sorted */
	assert_true(strstr(text, "\"dns\"") < strstr(text, "\"interfaces\""));
	for (size_t c = 0; c < ARRAY_SIZE(copies); c++)
		cni_result_free(copies[c]);

	/* to 0.4.0: interface 1.1 fields dropped, route ones kept, versions computed */
	char *t040 = NULL;
	assert_int_equal(cni_result_to_json_as(r, "0.4.0", &t040, NULL), 0);
	assert_null(strstr(t040, "socketPath"));
	assert_null(strstr(t040, "pciID"));
	assert_non_null(strstr(t040, "\"advmss\": 1360"));
	assert_non_null(strstr(t040, "\"version\": \"6\""));
	cni_free(t040);
	/* to 0.2.0: only dst and gw of routes */
	char *t020 = NULL;
	assert_int_equal(cni_result_to_json_as(r, "0.2.0", &t020, NULL), 0);
	assert_null(strstr(t020, "advmss"));
	assert_non_null(strstr(t020, "\"gw\": \"10.1.0.1\""));
	cni_free(t020);
	cni_result_free(r);
}

static void test_build_legacy(void **state)
{
	(void)state;
	cni_result *r = NULL;
	cni_error *err = NULL;
	assert_int_equal(cni_result_new(&r, "0.2.0", NULL), 0);

	cni_interface f = CNI_INTERFACE_INIT;
	f.name = "eth0";
	assert_int_equal(cni_result_add_interface(r, &f, NULL, NULL), -CNI_ERR_UNSUPPORTED);

	cni_route rt = CNI_ROUTE_INIT;
	rt.dst = "0.0.0.0/0";
	/* no IPv4 address yet to attach it to */
	assert_int_equal(cni_result_add_route(r, &rt, &err), -CNI_ERR_UNSUPPORTED);
	assert_non_null(strstr(cni_error_msg(err), "0.0.0.0/0"));
	cni_error_free(err);

	cni_ip ip = CNI_IP_INIT;
	ip.address = "fd00::2/64";
	assert_int_equal(cni_result_add_ip(r, &ip, NULL), 0);
	rt.dst = "fd00:1::/64";
	assert_int_equal(cni_result_add_route(r, &rt, NULL), 0);
	ip.address = "10.0.0.2/24";
	ip.gateway = "10.0.0.1";
	assert_int_equal(cni_result_add_ip(r, &ip, NULL), 0);
	ip.address = "10.0.0.3/24";
	assert_int_equal(cni_result_add_ip(r, &ip, NULL), -CNI_ERR_UNSUPPORTED);
	rt.dst = "0.0.0.0/0";
	rt.gw = "10.0.0.1";
	assert_int_equal(cni_result_add_route(r, &rt, NULL), 0);

	/* ip4 first, and its routes first */
	cni_ip got;
	cni_route gr;
	assert_int_equal(cni_result_ip_count(r), 2);
	assert_int_equal(cni_result_get_ip(r, 0, &got), 0);
	assert_string_equal(got.address, "10.0.0.2/24");
	assert_int_equal(cni_result_get_ip(r, 1, &got), 0);
	assert_string_equal(got.address, "fd00::2/64");
	assert_int_equal(cni_result_get_route(r, 0, &gr), 0);
	assert_string_equal(gr.dst, "0.0.0.0/0");
	assert_int_equal(cni_result_get_route(r, 1, &gr), 0);
	assert_string_equal(gr.dst, "fd00:1::/64");
	assert_int_equal(cni_result_interface_count(r), 0);

	_cleanup_free_ char *text = print(r);
	assert_string_equal(text, "{\n"
				  "    \"cniVersion\": \"0.2.0\",\n"
				  "    \"ip4\": {\n"
				  "        \"ip\": \"10.0.0.2/24\",\n"
				  "        \"gateway\": \"10.0.0.1\",\n"
				  "        \"routes\": [\n"
				  "            {\n"
				  "                \"dst\": \"0.0.0.0/0\",\n"
				  "                \"gw\": \"10.0.0.1\"\n"
				  "            }\n"
				  "        ]\n"
				  "    },\n"
				  "    \"ip6\": {\n"
				  "        \"ip\": \"fd00::2/64\",\n"
				  "        \"routes\": [\n"
				  "            {\n"
				  "                \"dst\": \"fd00:1::/64\"\n"
				  "            }\n"
				  "        ]\n"
				  "    },\n"
				  "    \"dns\": {}\n"
				  "}");

	/* 0.4.0 builder computes ips[].version; interface 1.1 fields are refused there */
	cni_result *r4 = NULL;
	assert_int_equal(cni_result_new(&r4, "0.4.0", NULL), 0);
	f.mtu = 1500;
	assert_int_equal(cni_result_add_interface(r4, &f, NULL, NULL), -CNI_ERR_UNSUPPORTED);
	f.mtu = 0;
	assert_int_equal(cni_result_add_interface(r4, &f, NULL, NULL), 0);
	ip = (cni_ip)CNI_IP_INIT;
	ip.address = "10.0.0.2/24";
	ip.interface = 0;
	assert_int_equal(cni_result_add_ip(r4, &ip, NULL), 0);
	_cleanup_free_ char *t4 = print(r4);
	assert_non_null(strstr(t4, "\"version\": \"4\",\n            \"interface\": 0,"));
	cni_result_free(r4);
	cni_result_free(r);
}

static void test_versions_and_misuse(void **state)
{
	(void)state;
	cni_result *r = NULL, *c = NULL;
	cni_error *err = NULL;
	char *out = NULL;

	assert_int_equal(cni_result_new(&r, "0.5.0", &err), -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_string_equal(cni_error_msg(err), "unsupported CNI result version \"0.5.0\"");
	cni_error_free(err);
	err = NULL;
	assert_null(r);
	assert_int_equal(cni_result_new(&r, NULL, NULL), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_result_new(NULL, "1.0.0", NULL), -CNI_ERR_INVALID_ARG);

	for (size_t v = 0; v < ARRAY_SIZE(versions); v++) {
		assert_int_equal(cni_result_new(&r, versions[v], NULL), 0);
		assert_string_equal(cni_result_version(r), versions[v]);
		cni_result_free(r);
	}

	assert_int_equal(cni_result_new(&r, "1.0.0", NULL), 0);
	/* relabel within a family only */
	assert_int_equal(cni_result_set_version(r, "1.1.0", NULL), 0);
	assert_string_equal(cni_result_version(r), "1.1.0");
	assert_int_equal(cni_result_set_version(r, "0.4.0", NULL), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_result_set_version(r, "7", NULL), -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_string_equal(cni_result_version(r), "1.1.0");

	/* unknown target; empty target means 0.1.0 (and this one has no IP) */
	assert_int_equal(cni_result_convert(&c, r, "2.0.0", &err),
			 -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_string_equal(cni_error_msg(err),
			    "no converter for CNI result version 1.1.0 to 2.0.0");
	cni_error_free(err);
	err = NULL;
	assert_int_equal(cni_result_convert(&c, r, "", &err), -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_string_equal(cni_error_msg(err), "cannot convert: no valid IP addresses");
	cni_error_free(err);
	assert_null(c);
	/* 1.1.0 with empty dns prints only the version */
	assert_int_equal(cni_result_to_json(r, &out, NULL), 0);
	assert_string_equal(out, "{\n    \"cniVersion\": \"1.1.0\"\n}");
	cni_free(out);
	out = NULL;
	assert_int_equal(cni_result_to_json_as(r, "1.0.0", &out, NULL), 0);
	assert_string_equal(out, "{\n    \"cniVersion\": \"1.0.0\",\n    \"dns\": {}\n}");
	cni_free(out);

	/* struct versions are checked */
	cni_interface f = CNI_INTERFACE_INIT;
	f.version = 0;
	f.name = "x";
	assert_int_equal(cni_result_add_interface(r, &f, NULL, NULL), -CNI_ERR_INVALID_ARG);
	cni_ip ip = CNI_IP_INIT;
	ip.version = 2;
	ip.address = "10.0.0.1/8";
	assert_int_equal(cni_result_add_ip(r, &ip, NULL), -CNI_ERR_INVALID_ARG);
	ip.version = CNI_IP_VERSION;
	ip.address = NULL;
	assert_int_equal(cni_result_add_ip(r, &ip, NULL), -CNI_ERR_INVALID_ARG);
	cni_dns d = CNI_DNS_INIT;
	d.version = 5;
	assert_int_equal(cni_result_set_dns(r, &d, NULL), -CNI_ERR_INVALID_ARG);
	f.version = CNI_INTERFACE_VERSION;
	f.name = "bad\xff";
	assert_int_equal(cni_result_add_interface(r, &f, NULL, NULL), -CNI_ERR_INVALID_ARG);
	const char *bad_ns[] = {"ok", "\xc3", NULL};
	d.version = CNI_DNS_VERSION;
	d.nameservers = bad_ns;
	assert_int_equal(cni_result_set_dns(r, &d, NULL), -CNI_ERR_INVALID_ARG);
	f.name = NULL;
	assert_int_equal(cni_result_add_interface(r, &f, NULL, NULL), -CNI_ERR_INVALID_ARG);

	/* NULL tolerance */
	cni_result_free(NULL);
	assert_null(cni_result_dup(NULL));
	assert_null(cni_result_version(NULL));
	assert_int_equal(cni_result_ip_count(NULL), 0);
	assert_int_equal(cni_result_get_dns(NULL, &d), -CNI_ERR_INVALID_ARG);
	assert_null(cni_result_to_json_t(NULL));
	assert_int_equal(cni_result_to_json(r, NULL, NULL), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_result_from_json(&c, NULL, NULL, 0, NULL), -CNI_ERR_INVALID_ARG);
	cni_result_free(r);
}

/* dup is deep: changing the copy leaves the original alone. */
static void test_dup_independent(void **state)
{
	(void)state;
	cni_result *r = parse_ok("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\","
				 "\"mac\":\"02:00:00:00:00:01\"}],\"ips\":[{\"address\":\"10.0.0.2/"
				 "24\",\"interface\":0}],\"dns\":{\"nameservers\":[\"1.1.1.1\"]}}",
				 NULL);
	cni_result *d = cni_result_dup(r);
	assert_non_null(d);
	assert_int_equal(cni_result_set_interface_mac(d, 0, "02:00:00:00:00:99", NULL), 0);
	const char *ns[] = {"9.9.9.9", NULL};
	cni_dns dns = CNI_DNS_INIT;
	dns.nameservers = ns;
	assert_int_equal(cni_result_set_dns(d, &dns, NULL), 0);
	assert_int_equal(cni_result_set_interface_mac(d, 0, NULL, NULL), 0);

	cni_interface f;
	cni_dns got;
	assert_int_equal(cni_result_get_interface(r, 0, &f), 0);
	assert_string_equal(f.mac, "02:00:00:00:00:01");
	assert_int_equal(cni_result_get_interface(d, 0, &f), 0);
	assert_null(f.mac);
	assert_int_equal(cni_result_get_dns(r, &got), 0);
	assert_string_equal(got.nameservers[0], "1.1.1.1");
	assert_int_equal(cni_result_get_dns(d, &got), 0);
	assert_string_equal(got.nameservers[0], "9.9.9.9");

	_cleanup_free_ char *a = print(r);
	cni_result *e = cni_result_dup(r);
	_cleanup_free_ char *b = print(e);
	assert_string_equal(a, b);
	cni_result_free(e);
	cni_result_free(d);
	cni_result_free(r);
}

/* The json_t entry points other modules use. */
static void test_json_t_interface(void **state)
{
	(void)state;
	json_error_t jerr;
	json_t *j = json_loads("{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":"
			       "\"10.0.0.2/24\"}]}",
			       0, &jerr);
	cni_result *r = NULL;
	assert_non_null(j);
	assert_int_equal(cni_result_from_json_t(&r, "0.4.0", j, NULL), 0);
	json_decref(j);
	assert_string_equal(cni_result_version(r), "0.3.1");

	json_t *o = cni_result_to_json_t(r);
	assert_non_null(o);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":"
			       "\"10.0.0.2/24\"}],\"dns\":{}}");
	free(s);
	json_decref(o);

	j = json_string("x");
	cni_result *bad = NULL;
	assert_int_equal(cni_result_from_json_t(&bad, NULL, j, NULL), -CNI_ERR_DECODING_FAILURE);
	assert_null(bad);
	json_decref(j);
	cni_result_free(r);
}

/* cni_result_set_interface: read, change the mtu, write back (borrowed strings passed in). */
static void test_set_interface(void **state)
{
	cni_result *r = parse_ok("{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\","
				 "\"mac\":\"02:00:00:00:00:01\",\"sandbox\":\"/run/netns/x\"}]}",
				 NULL);
	cni_interface f = CNI_INTERFACE_INIT;
	cni_error *e = NULL;

	assert_int_equal(cni_result_get_interface(r, 0, &f), 0);
	f.mtu = 9000;
	f.socket_path = "/run/sock";
	assert_int_equal(cni_result_set_interface(r, 0, &f, NULL), 0);
	_cleanup_free_ char *text = print(r);
	assert_non_null(strstr(text, "\"mtu\": 9000"));
	assert_non_null(strstr(text, "\"socketPath\": \"/run/sock\""));
	assert_non_null(strstr(text, "\"sandbox\": \"/run/netns/x\""));
	assert_non_null(strstr(text, "\"mac\": \"02:00:00:00:00:01\""));
	/* what f borrowed went with the old interface: read it again */
	assert_int_equal(cni_result_get_interface(r, 0, &f), 0);

	assert_int_equal(cni_result_set_interface(r, 1, &f, &e), -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "cni_result_set_interface: no interface 1");
	cni_error_free(e);
	f.mtu = -1;
	assert_int_equal(cni_result_set_interface(r, 0, &f, NULL), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_result_get_interface(r, 0, &f), 0);
	assert_int_equal(f.mtu, 9000); /* unchanged by the failed call */

	/* a 0.4.0 result has no interface mtu */
	cni_result *old = NULL;
	assert_int_equal(cni_result_convert(&old, r, "0.4.0", NULL), 0);
	assert_int_equal(cni_result_get_interface(old, 0, &f), 0);
	f.mtu = 1400;
	assert_int_equal(cni_result_set_interface(old, 0, &f, NULL), -CNI_ERR_UNSUPPORTED);
	cni_result_free(old);
	cni_result_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_valid),
	    cmocka_unit_test(test_golden_invalid),
	    cmocka_unit_test(test_parse_version_rules),
	    cmocka_unit_test(test_address_syntax),
	    cmocka_unit_test(test_build_and_read_all_fields),
	    cmocka_unit_test(test_build_legacy),
	    cmocka_unit_test(test_versions_and_misuse),
	    cmocka_unit_test(test_dup_independent),
	    cmocka_unit_test(test_json_t_interface),
	    cmocka_unit_test(test_set_interface),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
