/* SPDX-License-Identifier: Apache-2.0 */
/* netns, netlink, sysctl and ipam helpers against the real kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cni/cni.h>

#include "nstest.h"

/* Output of a command run in a namespace. */
static char *ns_output(const char *path, const char *cmd)
{
	char buf[1024];
	const char *name = strrchr(path, '/') + 1;
	snprintf(buf, sizeof(buf), "ip netns exec %s %s 2>&1", name, cmd);
	FILE *f = popen(buf, "r");
	assert_non_null(f);
	static char out[16384];
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

static void test_netns_open_errors(void **state)
{
	cni_netns *ns = NULL;
	cni_error *e = NULL;
	assert_int_equal(cni_netns_open("/nonexistent/netns", &ns, &e), -CNI_ERR_NOT_FOUND);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_netns_open("/etc/hostname", &ns, &e),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_non_null(strstr(cni_error_msg(e), "/etc/hostname is not a network namespace"));
	cni_error_free(e);
	assert_null(ns);
}

/* What a cni_netns_run() function saw: its thread and the inode of its namespace. */
struct where {
	pid_t tid;
	ino_t ns;
};

static ino_t thread_ns(void)
{
	struct stat st;
	assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
	return st.st_ino;
}

static int note_where(void *ud, cni_error **err)
{
	struct where *w = ud;
	(void)err;
	w->tid = gettid();
	w->ns = thread_ns();
	return 7;
}

struct watcher {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go, done;
	ino_t seen; /* the namespace the other thread was in while the work ran */
};

static void *watch(void *arg)
{
	struct watcher *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->go)
		pthread_cond_wait(&w->cond, &w->lock);
	w->seen = thread_ns();
	w->done = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct watched {
	struct watcher *w;
	struct where where;
};

/* Lets the other thread look at its own namespace while this work runs in the target. */
static int note_while_watched(void *ud, cni_error **err)
{
	struct watched *x = ud;
	pthread_mutex_lock(&x->w->lock);
	x->w->go = true;
	pthread_cond_broadcast(&x->w->cond);
	while (!x->w->done)
		pthread_cond_wait(&x->w->cond, &x->w->lock);
	pthread_mutex_unlock(&x->w->lock);
	return note_where(&x->where, err);
}

/*
 * A single-threaded caller runs the work on its own thread and comes back to its own
 * namespace; a caller with other threads runs it on a thread of its own, and the other
 * threads stay where they were all along.
 */
static void test_netns_run_threads(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	struct stat target;
	ino_t home = thread_ns();

	assert_int_equal(stat(p, &target), 0);
	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);

	struct where w = {0, 0};
	assert_int_equal(cni_netns_run(ns, note_where, &w, NULL), 7);
	assert_int_equal(w.ns, target.st_ino);
	assert_int_equal(w.tid, gettid());
	assert_int_equal(thread_ns(), home);

	struct watcher wt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, 0};
	struct watched x = {&wt, {0, 0}};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, watch, &wt), 0);
	assert_int_equal(cni_netns_run(ns, note_while_watched, &x, NULL), 7);
	pthread_join(t, NULL);
	assert_int_equal(x.where.ns, target.st_ino);
	assert_int_not_equal(x.where.tid, gettid());
	assert_int_equal(wt.seen, home);
	assert_int_equal(thread_ns(), home);

	/* the other thread is gone: alone again, the caller's thread does it once more */
	struct where again = {0, 0};
	assert_int_equal(cni_netns_run(ns, note_where, &again, NULL), 7);
	assert_int_equal(again.ns, target.st_ino);
	assert_int_equal(again.tid, gettid());
	assert_int_equal(thread_ns(), home);
	cni_netns_close(ns);
}

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
	char *out = ns_output(p, "ip -o addr show dev eth0");
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
	out = ns_output(p, "ip route show 10.99.0.0/16");
	assert_non_null(strstr(out, "10.99.0.0/16 via 10.123.4.1 dev eth0"));
	assert_non_null(strstr(out, "metric 77"));
	assert_non_null(strstr(out, "mtu 1280"));
	assert_non_null(strstr(out, "advmss 1200"));
	assert_int_equal(cni_route_add(nl, &r, false, &e), -CNI_ERR_SYSTEM);
	assert_string_equal(cni_error_msg(e),
			    "failed to add route 10.99.0.0/16 via 10.123.4.1 on 'eth0': File exists");
	cni_error_free(e);
	e = NULL;

	cni_route_spec t = CNI_ROUTE_SPEC_INIT;
	assert_int_equal(cni_ipnet_parse("0.0.0.0/0", &t.dst), 0);
	t.gw = r.gw;
	t.has_gw = true;
	t.ifindex = li.ifindex;
	t.table = 100;
	assert_int_equal(cni_route_add(nl, &t, false, NULL), 0);
	out = ns_output(p, "ip route show table 100");
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
	out = ns_output(p, "ip route show 10.99.0.0/16");
	assert_null(strstr(out, "10.99.0.0"));

	cni_rule_spec rule = CNI_RULE_SPEC_INIT;
	rule.has_src = true;
	assert_int_equal(cni_ipnet_parse("10.123.4.5/32", &rule.src), 0);
	rule.table = 100;
	rule.priority = 1000;
	assert_int_equal(cni_rule_add(nl, &rule, NULL), 0);
	out = ns_output(p, "ip rule show");
	assert_non_null(strstr(out, "1000:\tfrom 10.123.4.5 lookup 100"));
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
	assert_string_equal(ns_output(p, cmd), "1\n1\n");
	assert_int_equal(cni_bridge_port_set(nl, v.ifindex, 0, -1, NULL), 0);
	assert_string_equal(ns_output(p, cmd), "0\n1\n");
	assert_int_equal(cni_link_get(nl, veth, &v, NULL), 0);
	assert_int_equal(v.master, br.ifindex);
	assert_int_equal(cni_link_set_master(nl, v.ifindex, 0, NULL), 0);
	assert_int_equal(cni_link_get(nl, veth, &v, NULL), 0);
	assert_int_equal(v.master, 0);
	assert_int_equal(cni_link_set_promisc(nl, br.ifindex, true, NULL), 0);
	assert_int_equal(cni_link_get(nl, "br-test", &br, NULL), 0);
	assert_true(br.flags & IFF_PROMISC);
	cni_nl_close(nl);
	cni_netns_close(ns);
}

/* A feature this kernel may lack (VRF, bridge VLAN filtering on the machines' kernel):
 * where the user-mode kernel runs the suite (CNI_TEST_REQUIRE_KERNEL_FEATURES) it must
 * work; elsewhere the test says so and skips. */
static bool kernel_lacks(int r, const cni_error *e, const char *what)
{
	if (r == 0 || cni_error_errno(e) != EOPNOTSUPP)
		return false;
	const char *req = getenv("CNI_TEST_REQUIRE_KERNEL_FEATURES");
	assert_false(req && *req == '1');
	printf("SKIP: this kernel has no %s (tested in the user-mode kernel)\n", what);
	return true;
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
	char *out = ns_output(p, "ip route show table 200");
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
	assert_null(strstr(ns_output(p, "ip route show table main"), "10.98.0.0"));
	assert_int_equal(cni_route_snapshot_del(nl, s, gw, &e), -CNI_ERR_NOT_FOUND);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_route_snapshot_add(nl, s, gw, 0, 0, NULL), 0);
	assert_non_null(strstr(ns_output(p, "ip route show table main"),
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

static void test_traffic_control(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_error *e = NULL;
	cni_link_info v = CNI_LINK_INFO_INIT, ifb = CNI_LINK_INFO_INIT;
	char *alias = NULL;

	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_nl_open(&nl, ns, NULL), 0);
	assert_int_equal(cni_veth_add(nl, "v0", "v1", NULL, 0, NULL, NULL, NULL), 0);
	assert_int_equal(cni_link_get(nl, "v0", &v, NULL), 0);
	assert_int_equal(cni_ifb_add(nl, "ifb-t0", 1400, NULL), 0);
	assert_int_equal(cni_link_get(nl, "ifb-t0", &ifb, NULL), 0);
	assert_string_equal(ifb.kind, "ifb");
	assert_int_equal(ifb.mtu, 1400);
	assert_true(ifb.flags & IFF_UP);
	assert_int_equal(cni_ifb_add(nl, "ifb-t0", 1400, &e), -CNI_ERR_SYSTEM);
	assert_int_equal(cni_error_errno(e), EEXIST);
	cni_error_free(e);
	e = NULL;

	/* an alias longer than cni_link_info's field comes back whole */
	char longalias[200];
	memset(longalias, 'a', sizeof(longalias) - 1);
	longalias[sizeof(longalias) - 1] = '\0';
	assert_int_equal(cni_link_set_alias(nl, ifb.ifindex, longalias, NULL), 0);
	assert_int_equal(cni_link_get_alias(nl, ifb.ifindex, &alias, NULL), 0);
	assert_string_equal(alias, longalias);
	cni_free(alias);

	bool found = true;
	cni_tbf want = {125000, 390625, 28125}, have = {0, 0, 0};
	assert_int_equal(cni_qdisc_tbf_get(nl, v.ifindex, &found, &have, NULL), 0);
	assert_false(found);
	assert_int_equal(cni_qdisc_tbf_add(nl, v.ifindex, &want, NULL), 0);
	assert_int_equal(cni_qdisc_tbf_get(nl, v.ifindex, &found, &have, NULL), 0);
	assert_true(found);
	assert_true(have.rate == want.rate && have.limit == want.limit &&
		    have.buffer == want.buffer);
	assert_non_null(strstr(ns_output(p, "tc qdisc show dev v0"), "qdisc tbf 1: root"));
	assert_int_equal(cni_qdisc_tbf_add(nl, v.ifindex, &want, &e), -CNI_ERR_SYSTEM);
	assert_string_equal(cni_error_msg(e), "create qdisc on 'v0': File exists");
	cni_error_free(e);
	e = NULL;

	assert_int_equal(cni_qdisc_ingress_add(nl, v.ifindex, NULL), 0);
	assert_int_equal(cni_filter_redirect_add(nl, v.ifindex, ifb.ifindex, NULL), 0);
	char *out = ns_output(p, "tc filter show dev v0 ingress");
	assert_non_null(strstr(out, "u32"));
	assert_non_null(strstr(out, "Redirect to device ifb-t0"));

	assert_int_equal(cni_qdisc_del(nl, v.ifindex, true, NULL), 0);
	assert_int_equal(cni_qdisc_del(nl, v.ifindex, false, NULL), 0);
	assert_null(strstr(ns_output(p, "tc qdisc show dev v0"), "tbf"));
	assert_int_equal(cni_qdisc_del(nl, v.ifindex, false, &e), -CNI_ERR_SYSTEM);
	cni_error_free(e);
	cni_nl_close(nl);
	cni_netns_close(ns);
}

static void test_vrf_and_bridge_vlans(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_error *e = NULL;
	cni_link_info vrf = CNI_LINK_INFO_INIT, br = CNI_LINK_INFO_INIT, v = CNI_LINK_INFO_INIT;
	unsigned int table = 0;

	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_nl_open(&nl, ns, NULL), 0);
	int r = cni_vrf_add(nl, "vrf-t", 42, &e);
	if (!kernel_lacks(r, e, "VRF support")) {
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
	assert_int_equal(cni_veth_add(nl, "p0", "p1", NULL, 0, NULL, NULL, NULL), 0);
	assert_int_equal(cni_link_get(nl, "p0", &v, NULL), 0);
	assert_int_equal(cni_link_set_master(nl, v.ifindex, br.ifindex, NULL), 0);
	r = cni_bridge_set_vlan_filtering(nl, br.ifindex, true, &e);
	if (!kernel_lacks(r, e, "bridge VLAN filtering")) {
		assert_int_equal(r, 0);
		int *vids = NULL;
		size_t n = 0;
		assert_int_equal(cni_bridge_vlan_add(nl, v.ifindex, 10,
						     CNI_BRIDGE_VLAN_PVID | CNI_BRIDGE_VLAN_UNTAGGED,
						     NULL),
				 0);
		assert_int_equal(cni_bridge_vlan_add(nl, v.ifindex, 20, 0, NULL), 0);
		char *out = ns_output(p, "bridge vlan show dev p0");
		assert_non_null(strstr(out, "10 PVID Egress Untagged"));
		assert_non_null(strstr(out, "20"));
		assert_int_equal(cni_bridge_vlan_list(nl, v.ifindex, &vids, &n, NULL), 0);
		assert_int_equal(n, 3); /* 1 (the default), 10, 20 */
		for (size_t i = 0; i < n; i++)
			assert_int_equal(cni_bridge_vlan_del(nl, v.ifindex, vids[i], NULL), 0);
		cni_free(vids);
		assert_int_equal(cni_bridge_vlan_list(nl, v.ifindex, &vids, &n, NULL), 0);
		assert_int_equal(n, 0);
		cni_free(vids);
	}
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_bridge_vlan_add(nl, v.ifindex, 4095, 0, &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	cni_nl_close(nl);
	cni_netns_close(ns);
}

struct sysctl_ctx {
	char *value;
};

static int read_forwarding(void *userdata, cni_error **err)
{
	struct sysctl_ctx *c = userdata;
	int r = cni_sysctl_set("net.ipv4.ip_forward", "1", err);
	if (r < 0)
		return r;
	return cni_sysctl_get("net/ipv4/ip_forward", &c->value, err);
}

static void test_sysctl_in_netns(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	struct sysctl_ctx c = {NULL};
	cni_error *e = NULL;
	char *host = NULL;

	assert_int_equal(cni_sysctl_get("net.ipv4.ip_forward", &host, NULL), 0);
	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_netns_run(ns, read_forwarding, &c, NULL), 0);
	assert_string_equal(c.value, "1");
	assert_string_equal(ns_output(p, "cat /proc/sys/net/ipv4/ip_forward"), "1\n");
	/* the host's value is untouched */
	char *again = NULL;
	assert_int_equal(cni_sysctl_get("net.ipv4.ip_forward", &again, NULL), 0);
	assert_string_equal(host, again);
	assert_int_equal(cni_sysctl_get("net.ipv4.no_such_thing", &again, &e), -CNI_ERR_NOT_FOUND);
	cni_error_free(e);
	assert_int_equal(cni_sysctl_set("net/../../etc/x", "1", NULL), -CNI_ERR_INVALID_ARG);
	cni_free(again);
	cni_free(host);
	cni_free(c.value);
	cni_netns_close(ns);
}

struct conf_ctx {
	cni_result *res;
};

static int configure(void *userdata, cni_error **err)
{
	struct conf_ctx *c = userdata;
	cni_nl *nl = NULL;
	int r = cni_nl_open(&nl, NULL, err);
	if (r < 0)
		return r;
	r = cni_ipam_configure_iface(nl, "eth0", c->res, NULL, err);
	cni_nl_close(nl);
	return r;
}

static void test_ipam_configure_iface(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_error *e = NULL;
	struct conf_ctx c = {NULL};
	const char *json = "{\"cniVersion\":\"1.1.0\","
			   "\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"x\"}],"
			   "\"ips\":[{\"address\":\"10.77.0.5/24\",\"gateway\":\"10.77.0.1\",\"interface\":0},"
			   "{\"address\":\"fd77::5/64\",\"gateway\":\"fd77::1\",\"interface\":0},"
			   "{\"address\":\"10.88.0.5/24\"}],"
			   "\"routes\":[{\"dst\":\"0.0.0.0/0\"},"
			   "{\"dst\":\"10.60.0.0/16\",\"gw\":\"10.77.0.254\",\"mtu\":1300,\"advmss\":1260,"
			   "\"priority\":33},"
			   "{\"dst\":\"10.61.0.0/16\",\"table\":200},"
			   "{\"dst\":\"::/0\"}]}";

	assert_int_equal(cni_result_from_json(&c.res, NULL, json, strlen(json), &e), 0);
	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_nl_open(&nl, ns, NULL), 0);
	assert_int_equal(cni_veth_add(nl, "eth0", "peer0", NULL, 0, NULL, NULL, NULL), 0);
	assert_int_equal(cni_netns_run(ns, configure, &c, &e), 0);

	char *out = ns_output(p, "ip -o addr show dev eth0");
	assert_non_null(strstr(out, "10.77.0.5/24"));
	assert_non_null(strstr(out, "fd77::5/64"));
	assert_null(strstr(out, "10.88.0.5")); /* no interface index: skipped, as the reference */
	assert_null(strstr(out, "tentative"));
	out = ns_output(p, "ip route show");
	assert_non_null(strstr(out, "default via 10.77.0.1 dev eth0"));
	assert_non_null(strstr(out, "10.60.0.0/16 via 10.77.0.254 dev eth0 metric 33"));
	assert_non_null(strstr(out, "mtu 1300 advmss 1260"));
	out = ns_output(p, "ip route show table 200");
	assert_non_null(strstr(out, "10.61.0.0/16 via 10.77.0.1 dev eth0"));
	out = ns_output(p, "ip -6 route show");
	assert_non_null(strstr(out, "default via fd77::1 dev eth0"));
	out = ns_output(p, "cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6");
	assert_string_equal(out, "0\n");

	/* an index that points at another interface is refused */
	cni_result_free(c.res);
	const char *bad = "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth9\"}],"
			  "\"ips\":[{\"address\":\"10.1.0.5/24\",\"interface\":0}]}";
	assert_int_equal(cni_result_from_json(&c.res, NULL, bad, strlen(bad), NULL), 0);
	assert_int_equal(cni_netns_run(ns, configure, &c, &e), -CNI_ERR_INVALID_ARG);
	assert_non_null(strstr(cni_error_msg(e), "invalid interface index 0"));
	cni_error_free(e);
	cni_result_free(c.res);
	cni_nl_close(nl);
	cni_netns_close(ns);
}

static void test_filelock(void **state)
{
	char path[] = "/tmp/cni-lock-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	cni_filelock *a = NULL, *b = NULL;
	assert_int_equal(cni_filelock_open(path, &a, NULL), 0);
	assert_int_equal(cni_filelock_open(path, &b, NULL), 0);
	assert_int_equal(cni_filelock_lock(a, true, NULL), 0);
	/* another holder cannot take it while a has it */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "flock -n -x %s true", path);
	assert_int_not_equal(system(cmd), 0);
	assert_int_equal(cni_filelock_unlock(a, NULL), 0);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(cni_filelock_lock(a, false, NULL), 0);
	assert_int_equal(cni_filelock_lock(b, false, NULL), 0);
	cni_filelock_close(a);
	cni_filelock_close(b);
	cni_filelock_close(NULL);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netns_open_errors),
		cmocka_unit_test(test_netns_run_threads),
		cmocka_unit_test(test_veth_across_namespaces),
		cmocka_unit_test(test_addresses_routes_rules),
		cmocka_unit_test(test_bridge_ports),
		cmocka_unit_test(test_route_snapshot),
		cmocka_unit_test(test_traffic_control),
		cmocka_unit_test(test_vrf_and_bridge_vlans),
		cmocka_unit_test(test_sysctl_in_netns),
		cmocka_unit_test(test_ipam_configure_iface),
		cmocka_unit_test(test_filelock),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
