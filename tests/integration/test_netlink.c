/* SPDX-License-Identifier: Apache-2.0 */
/* netlink.c: links, addresses, routes, rules, bridges, route snapshots and VRF against the real kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cni/cni.h>

#include "nstest.h"


static void test_veth_across_namespaces(void **state)
{
	const char *pa = nstest_create(), *pb = nstest_create();
	cni_netns *a = NULL, *b = NULL, *self = NULL, *after = NULL;
	cni_nl *nla = NULL, *nlb = NULL;
	cni_error *e = NULL;

	assert_int_equal(cni_netns_open_current(&self, NULL), 0);
	assert_int_equal(cni_netns_open(pa, &a, NULL), 0);
	assert_int_equal(cni_netns_open(pb, &b, NULL), 0);
	assert_false(cni_netns_same(a, b));
	assert_int_equal(cni_nl_open(&nla, a, NULL), 0);
	assert_int_equal(cni_nl_open(&nlb, b, NULL), 0);

	assert_int_equal(cni_veth_add(nla, "eth0", "vethtest0", b, 1400, "02:11:22:33:44:55", NULL,
				      &e), 0);
	cni_link_info ia = CNI_LINK_INFO_INIT, ib = CNI_LINK_INFO_INIT;
	assert_int_equal(cni_link_get(nla, "eth0", &ia, NULL), 0);
	assert_int_equal(cni_link_get(nlb, "vethtest0", &ib, NULL), 0);
	assert_string_equal(ia.kind, "veth");
	assert_string_equal(ia.mac, "02:11:22:33:44:55");
	assert_int_equal(ia.mtu, 1400);
	assert_int_equal(ia.link, ib.ifindex);
	assert_int_equal(ib.link, ia.ifindex);
	assert_true(ia.link_netnsid >= 0);
	/* the peer is only in b, never in a */
	assert_int_equal(cni_link_get(nla, "vethtest0", &ib, &e), -CNI_ERR_NOT_FOUND);
	assert_string_equal(cni_error_msg(e), "link 'vethtest0' not found");
	cni_error_free(e);
	e = NULL;

	/* a second veth with a name that exists fails with the kernel's reason */
	assert_int_equal(cni_veth_add(nla, "eth0", "vethtest1", b, 0, NULL, NULL, &e), -CNI_ERR_SYSTEM);
	assert_non_null(strstr(cni_error_msg(e), "File exists"));
	cni_error_free(e);
	e = NULL;

	/* renamed while down: kernels before 6.2 refuse to rename a link that is up */
	assert_int_equal(cni_link_set_name(nla, ia.ifindex, "net1", NULL), 0);
	assert_int_equal(cni_link_set_up(nla, ia.ifindex, true, NULL), 0);
	assert_int_equal(cni_link_set_mtu(nla, ia.ifindex, 1300, NULL), 0);
	assert_int_equal(cni_link_set_mac(nla, ia.ifindex, "02:aa:bb:cc:dd:ee", NULL), 0);
	assert_int_equal(cni_link_set_mtu(nla, ia.ifindex, 10, &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_link_get(nla, "net1", &ia, NULL), 0);
	assert_true(ia.flags & IFF_UP);
	assert_int_equal(ia.mtu, 1300);
	assert_string_equal(ia.mac, "02:aa:bb:cc:dd:ee");

	/* the calling thread never left its namespace */
	assert_int_equal(cni_netns_open_current(&after, NULL), 0);
	assert_true(cni_netns_same(self, after));

	assert_int_equal(cni_link_del(nlb, ib.ifindex, NULL), 0);
	assert_int_equal(cni_link_get(nla, "net1", &ia, NULL), -CNI_ERR_NOT_FOUND);

	cni_nl_close(nla);
	cni_nl_close(nlb);
	cni_netns_close(a);
	cni_netns_close(b);
	cni_netns_close(self);
	cni_netns_close(after);
}

static void test_addresses_routes_rules(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_error *e = NULL;
	cni_link_info li = CNI_LINK_INFO_INIT;

	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_nl_open(&nl, ns, NULL), 0);
	assert_int_equal(cni_veth_add(nl, "eth0", "peer0", NULL, 0, NULL, NULL, NULL), 0);
	assert_int_equal(cni_link_get(nl, "eth0", &li, NULL), 0);
	assert_int_equal(cni_link_set_up(nl, li.ifindex, true, NULL), 0);

	cni_ipnet a4, a6;
	assert_int_equal(cni_ipnet_parse("10.123.4.5/24", &a4), 0);
	assert_int_equal(cni_ipnet_parse("fd00:123::5/64", &a6), 0);
	assert_int_equal(nstest_exec(p, "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0"), 0);
	assert_int_equal(cni_addr_add(nl, li.ifindex, &a4, 0, &e), 0);
	assert_int_equal(cni_addr_add(nl, li.ifindex, &a6, CNI_ADDR_NODAD, &e), 0);
	assert_int_equal(cni_addr_add(nl, li.ifindex, &a4, 0, &e), -CNI_ERR_SYSTEM);
	assert_string_equal(cni_error_msg(e),
			    "failed to add address 10.123.4.5/24 on 'eth0': File exists");
	cni_error_free(e);
	e = NULL;
	char *out = nstest_output(p, "ip -o addr show dev eth0");
	assert_non_null(strstr(out, "inet 10.123.4.5/24 brd 10.123.4.255"));
	assert_non_null(strstr(out, "inet6 fd00:123::5/64"));
	assert_non_null(strstr(out, "nodad"));

	cni_addr_info *addrs = NULL;
	size_t n = 0;
	assert_int_equal(cni_addr_list(nl, li.ifindex, AF_INET, &addrs, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_true(cni_ip_equal(&addrs[0].addr.ip, &a4.ip));
	assert_int_equal(addrs[0].addr.prefix, 24);
	cni_free(addrs);

	cni_route_spec r = CNI_ROUTE_SPEC_INIT;
	assert_int_equal(cni_ipnet_parse("10.99.0.0/16", &r.dst), 0);
	assert_int_equal(cni_ip_parse("10.123.4.1", &r.gw), 0);
	r.has_gw = true;
	r.ifindex = li.ifindex;
	r.mtu = 1280;
	r.advmss = 1200;
	r.priority = 77;
	assert_int_equal(cni_route_add(nl, &r, false, &e), 0);
	out = nstest_output(p, "ip route show 10.99.0.0/16");
	assert_non_null(strstr(out, "10.99.0.0/16 via 10.123.4.1 dev eth0"));
	assert_non_null(strstr(out, "metric 77"));
	assert_non_null(strstr(out, "mtu 1280"));
	assert_non_null(strstr(out, "advmss 1200"));
	assert_int_equal(cni_route_add(nl, &r, false, &e), -CNI_ERR_SYSTEM);
	assert_string_equal(cni_error_msg(e),
			    "failed to add route 10.99.0.0/16 via 10.123.4.1 on 'eth0': File exists");
	cni_error_free(e);
	e = NULL;

	/* a reason libnl folds into "Unspecific failure": the kernel's own is reported */
	cni_route_spec u = CNI_ROUTE_SPEC_INIT;
	assert_int_equal(cni_ipnet_parse("10.98.0.0/16", &u.dst), 0);
	assert_int_equal(cni_ip_parse("10.55.0.1", &u.gw), 0);
	u.has_gw = true;
	assert_int_equal(cni_route_add(nl, &u, false, &e), -CNI_ERR_SYSTEM);
	assert_int_equal(cni_error_errno(e), ENETUNREACH);
	assert_non_null(strstr(cni_error_msg(e), ": Network is unreachable"));
	cni_error_free(e);
	e = NULL;

	cni_route_spec t = CNI_ROUTE_SPEC_INIT;
	assert_int_equal(cni_ipnet_parse("0.0.0.0/0", &t.dst), 0);
	t.gw = r.gw;
	t.has_gw = true;
	t.ifindex = li.ifindex;
	t.table = 100;
	assert_int_equal(cni_route_add(nl, &t, false, NULL), 0);
	out = nstest_output(p, "ip route show table 100");
	assert_non_null(strstr(out, "default via 10.123.4.1 dev eth0"));

	cni_route_spec *routes = NULL;
	assert_int_equal(cni_route_list(nl, AF_INET, 0, li.ifindex, &routes, &n, NULL), 0);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (routes[i].dst.prefix == 16 && routes[i].mtu == 1280 && routes[i].advmss == 1200 &&
		    routes[i].priority == 77 && routes[i].has_gw)
			found = true;
	assert_true(found);
	cni_free(routes);
	assert_int_equal(cni_route_del(nl, &r, NULL), 0);
	out = nstest_output(p, "ip route show 10.99.0.0/16");
	assert_null(strstr(out, "10.99.0.0"));

	cni_rule_spec rule = CNI_RULE_SPEC_INIT;
	rule.has_src = true;
	assert_int_equal(cni_ipnet_parse("10.123.4.5/32", &rule.src), 0);
	rule.table = 100;
	rule.priority = 1000;
	assert_int_equal(cni_rule_add(nl, &rule, NULL), 0);
	out = nstest_output(p, "ip rule show");
	assert_non_null(strstr(out, "1000:\tfrom 10.123.4.5 lookup 100"));
	cni_rule_spec *rules = NULL;
	assert_int_equal(cni_rule_list(nl, AF_INET, &rules, &n, NULL), 0);
	found = false;
	for (size_t i = 0; i < n; i++)
		if (rules[i].priority == 1000 && rules[i].table == 100 && rules[i].has_src &&
		    rules[i].src.prefix == 32 && cni_ip_equal(&rules[i].src.ip, &rule.src.ip))
			found = true;
	assert_true(found);
	cni_free(rules);
	assert_int_equal(cni_rule_del(nl, &rule, NULL), 0);

	assert_int_equal(cni_addr_del(nl, li.ifindex, &a4, NULL), 0);
	cni_nl_close(nl);
	cni_netns_close(ns);
}

static void test_bridge_ports(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_link_info br = CNI_LINK_INFO_INIT, v = CNI_LINK_INFO_INIT;
	char veth[CNI_IFNAMSIZ];

	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_nl_open(&nl, ns, NULL), 0);
	assert_int_equal(cni_bridge_add(nl, "br-test", 1450, NULL), 0);
	assert_int_equal(cni_random_veth_name(veth, sizeof(veth), NULL), 0);
	assert_int_equal(strlen(veth), 12);
	assert_int_equal(cni_veth_add(nl, veth, "c0", NULL, 0, NULL, NULL, NULL), 0);
	assert_int_equal(cni_link_get(nl, "br-test", &br, NULL), 0);
	assert_string_equal(br.kind, "bridge");
	assert_int_equal(cni_link_get(nl, veth, &v, NULL), 0);
	assert_int_equal(cni_link_set_master(nl, v.ifindex, br.ifindex, NULL), 0);
	assert_int_equal(cni_bridge_port_set(nl, v.ifindex, 1, 1, NULL), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "cat /sys/class/net/%s/brport/hairpin_mode "
		 "/sys/class/net/%s/brport/isolated", veth, veth);
	assert_string_equal(nstest_output(p, cmd), "1\n1\n");
	assert_int_equal(cni_bridge_port_set(nl, v.ifindex, 0, -1, NULL), 0);
	assert_string_equal(nstest_output(p, cmd), "0\n1\n");
	assert_int_equal(cni_link_get(nl, veth, &v, NULL), 0);
	assert_int_equal(v.master, br.ifindex);
	cni_link_info *links = NULL;
	size_t n = 0, seen = 0;
	assert_int_equal(cni_link_list(nl, &links, &n, NULL), 0);
	for (size_t i = 0; i < n; i++)
		if ((links[i].ifindex == br.ifindex && strcmp(links[i].kind, "bridge") == 0) ||
		    (strcmp(links[i].name, veth) == 0 && links[i].master == br.ifindex))
			seen++;
	assert_int_equal(seen, 2);
	cni_free(links);
	assert_int_equal(cni_link_set_master(nl, v.ifindex, 0, NULL), 0);
	assert_int_equal(cni_link_get(nl, veth, &v, NULL), 0);
	assert_int_equal(v.master, 0);
	assert_int_equal(cni_link_set_promisc(nl, br.ifindex, true, NULL), 0);
	assert_int_equal(cni_link_get(nl, "br-test", &br, NULL), 0);
	assert_true(br.flags & IFF_PROMISC);
	cni_nl_close(nl);
	cni_netns_close(ns);
}

static void test_route_snapshot(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_error *e = NULL;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_route_snapshot *s = NULL;

	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_nl_open(&nl, ns, NULL), 0);
	assert_int_equal(cni_veth_add(nl, "eth0", "peer0", NULL, 0, NULL, NULL, NULL), 0);
	assert_int_equal(cni_link_get(nl, "eth0", &li, NULL), 0);
	assert_int_equal(cni_link_set_up(nl, li.ifindex, true, NULL), 0);
	assert_int_equal(nstest_exec(p, "sh -c 'ip link set peer0 up && "
				     "ip addr add 10.124.0.5/24 dev eth0 && "
				     "ip route add 10.98.0.0/16 via 10.124.0.1 mtu 1300 proto static && "
				     "ip route add 10.97.0.0/16 dev peer0'"),
			 0);

	/* main table, single-path through eth0: the subnet route and the gateway route */
	assert_int_equal(cni_route_snapshot_take(nl, AF_INET, 0, li.ifindex, &s, &e), 0);
	size_t n = cni_route_snapshot_count(s);
	assert_int_equal(n, 2);
	size_t gw = n;
	for (size_t i = 0; i < n; i++) {
		cni_route_spec r = CNI_ROUTE_SPEC_INIT;
		assert_int_equal(cni_route_snapshot_get(s, i, &r), 0);
		assert_int_equal(r.ifindex, li.ifindex);
		assert_int_equal(r.table, RT_TABLE_MAIN);
		if (r.has_gw)
			gw = i;
	}
	assert_true(gw < n);
	cni_route_spec bad = CNI_ROUTE_SPEC_INIT;
	bad.version = 0; /* never initialised */
	assert_int_equal(cni_route_snapshot_get(s, 0, &bad), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_route_snapshot_get(s, n, &bad), -CNI_ERR_INVALID_ARG);

	/* copied whole into table 200: protocol and metrics kept */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(cni_route_snapshot_add(nl, s, i, 200, CNI_ROUTE_F_EXCL, &e), 0);
	char *out = nstest_output(p, "ip route show table 200");
	assert_non_null(strstr(out, "10.98.0.0/16 via 10.124.0.1 dev eth0 proto static"));
	assert_non_null(strstr(out, "mtu 1300"));
	assert_non_null(strstr(out, "10.124.0.0/24 dev eth0 proto kernel scope link src 10.124.0.5"));
	assert_int_equal(cni_route_snapshot_add(nl, s, gw, 200, CNI_ROUTE_F_EXCL, &e),
			 -CNI_ERR_SYSTEM);
	assert_int_equal(cni_error_errno(e), EEXIST);
	assert_non_null(strstr(cni_error_msg(e), "in table 200: File exists"));
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_route_snapshot_add(nl, s, gw, 200, CNI_ROUTE_F_REPLACE, NULL), 0);

	/* deleted from main, then put back where it was */
	assert_int_equal(cni_route_snapshot_del(nl, s, gw, NULL), 0);
	assert_null(strstr(nstest_output(p, "ip route show table main"), "10.98.0.0"));
	assert_int_equal(cni_route_snapshot_del(nl, s, gw, &e), -CNI_ERR_NOT_FOUND);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_route_snapshot_add(nl, s, gw, 0, 0, NULL), 0);
	assert_non_null(strstr(nstest_output(p, "ip route show table main"),
			       "10.98.0.0/16 via 10.124.0.1 dev eth0 proto static"));
	cni_route_snapshot_free(s);

	/* every table */
	assert_int_equal(cni_route_snapshot_take(nl, AF_INET, CNI_ROUTE_TABLE_ANY, 0, &s, NULL), 0);
	bool t200 = false;
	for (size_t i = 0; i < cni_route_snapshot_count(s); i++) {
		cni_route_spec r = CNI_ROUTE_SPEC_INIT;
		assert_int_equal(cni_route_snapshot_get(s, i, &r), 0);
		t200 = t200 || r.table == 200;
	}
	assert_true(t200);
	cni_route_snapshot_free(s);
	cni_nl_close(nl);
	cni_netns_close(ns);
}

static void test_vrf(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_error *e = NULL;
	cni_link_info vrf = CNI_LINK_INFO_INIT, br = CNI_LINK_INFO_INIT;
	unsigned int table = 0;

	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_nl_open(&nl, ns, NULL), 0);
	int r = cni_vrf_add(nl, "vrf-t", 42, &e);
	if (!nstest_kernel_lacks(r, e, "VRF support")) {
		assert_int_equal(r, 0);
		assert_int_equal(cni_link_get(nl, "vrf-t", &vrf, NULL), 0);
		assert_string_equal(vrf.kind, "vrf");
		assert_int_equal(cni_vrf_get_table(nl, vrf.ifindex, &table, NULL), 0);
		assert_int_equal(table, 42);
	}
	cni_error_free(e);
	e = NULL;

	assert_int_equal(cni_bridge_add(nl, "br-v", 0, NULL), 0);
	assert_int_equal(cni_link_get(nl, "br-v", &br, NULL), 0);
	assert_int_equal(cni_vrf_get_table(nl, br.ifindex, &table, &e), -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "link 'br-v' is not a VRF");
	cni_error_free(e);
	e = NULL;
	cni_nl_close(nl);
	cni_netns_close(ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_veth_across_namespaces),
		cmocka_unit_test(test_addresses_routes_rules),
		cmocka_unit_test(test_bridge_ports),
		cmocka_unit_test(test_route_snapshot),
		cmocka_unit_test(test_vrf),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
