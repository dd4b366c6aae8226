/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipmasq against the real kernel, always inside test namespaces (cni_netns_run), never
 * the host's firewall: iptables and nftables setup/teardown/GC, IPv4 and IPv6, and
 * interop with the reference ptp plugin (/usr/lib/cni/ptp) in both directions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cni/cni.h>

#include "nstest.h"

#define REF_PTP "/usr/lib/cni/ptp"

enum { OP_SETUP, OP_TEARDOWN, OP_GC };

typedef struct op {
	int kind;
	cni_ipmasq_backend backend;
	const char *net, *ifname, *cid;
	const char *const *addrs;
	const cni_gc_attachment *valid;
	size_t n_valid;
} op;

static int op_fn(void *ud, cni_error **err)
{
	const op *o = ud;
	switch (o->kind) {
	case OP_SETUP:
		return cni_ipmasq_setup(o->backend, o->net, o->ifname, o->cid, o->addrs, err);
	case OP_TEARDOWN:
		return cni_ipmasq_teardown(o->net, o->ifname, o->cid, err);
	default:
		return cni_ipmasq_gc(o->net, o->valid, o->n_valid, err);
	}
}

/* Run an operation inside the namespace at path; fails the test on error. */
static void run_op(const char *path, op o)
{
	cni_netns *ns = NULL;
	cni_error *e = NULL;
	assert_int_equal(cni_netns_open(path, &ns, NULL), 0);
	int r = cni_netns_run(ns, op_fn, &o, &e);
	if (r != 0)
		fail_msg("ipmasq op %d failed: %d %s", o.kind, r, e ? cni_error_msg(e) : "");
	cni_netns_close(ns);
}

static void setup(const char *path, cni_ipmasq_backend be, const char *net, const char *ifname,
		  const char *cid, const char *const *addrs)
{
	run_op(path, (op){OP_SETUP, be, net, ifname, cid, addrs, NULL, 0});
}

static void teardown(const char *path, const char *net, const char *ifname, const char *cid)
{
	run_op(path, (op){OP_TEARDOWN, 0, net, ifname, cid, NULL, NULL, 0});
}

static void gc(const char *path, const char *net, const cni_gc_attachment *valid, size_t n)
{
	run_op(path, (op){OP_GC, 0, net, NULL, NULL, NULL, valid, n});
}

/* New string: output of a shell command run in the namespace. */
static char *ns_output(const char *path, const char *cmd)
{
	char buf[2048];
	const char *name = strrchr(path, '/') + 1;
	snprintf(buf, sizeof(buf), "ip netns exec %s sh -c '%s' 2>&1", name, cmd);
	FILE *f = popen(buf, "r");
	assert_non_null(f);
	size_t cap = 65536, n = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	size_t k;
	while ((k = fread(out + n, 1, cap - n - 1, f)) > 0)
		n += k;
	out[n] = '\0';
	pclose(f);
	return out;
}

/* The rule lines and user chains of the nat table (no comments, no counters). */
static char *nat_rules(const char *path, int family)
{
	/* chains sorted (their order follows creation), rules in order */
	return ns_output(path, family == 6 ? "ip6tables-save -t nat | grep \"^:CNI\" | sort; "
					     "ip6tables-save -t nat | grep \"^-A\""
					   : "iptables-save -t nat | grep \"^:CNI\" | sort; "
					     "iptables-save -t nat | grep \"^-A\"");
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void chain_of(const char *net, const char *cid, char *chain)
{
	assert_int_equal(cni_format_chain_name(net, cid, "", chain, 32), 0);
}

static void test_iptables_setup_teardown(void **state)
{
	const char *h = nstest_create();
	static const char *const addrs[] = {"10.88.0.5/16", "fd00:88::5/64", NULL};
	char chain[32], want[4096];
	chain_of("net1", "c1", chain);

	/* a rule and a chain that are not ours must survive everything below */
	assert_int_equal(
	    nstest_exec(h, "iptables -t nat -A POSTROUTING -s 10.9.9.9/32 -j MASQUERADE"), 0);
	assert_int_equal(nstest_exec(h, "iptables -t nat -N CNI-foreign"), 0);

	setup(h, CNI_IPMASQ_IPTABLES, "net1", "eth0", "c1", addrs);
	char *v4 = nat_rules(h, 4), *v6 = nat_rules(h, 6);
	snprintf(want, sizeof(want),
		 ":%s - [0:0]\n:CNI-foreign - [0:0]\n" /* sorted: hex sorts before "fo" */
		 "-A POSTROUTING -s 10.9.9.9/32 -j MASQUERADE\n"
		 "-A POSTROUTING -s 10.88.0.5/32 -m comment --comment \"name: \\\"net1\\\" id: "
		 "\\\"c1\\\"\" -j %s\n"
		 "-A %s -d 10.88.0.0/16 -m comment --comment \"name: \\\"net1\\\" id: \\\"c1\\\"\" "
		 "-j ACCEPT\n"
		 "-A %s ! -d 224.0.0.0/4 -m comment --comment \"name: \\\"net1\\\" id: "
		 "\\\"c1\\\"\" -j MASQUERADE\n",
		 chain, chain, chain, chain);
	assert_string_equal(v4, want);
	snprintf(want, sizeof(want),
		 ":%s - [0:0]\n"
		 "-A POSTROUTING -s fd00:88::5/128 -m comment --comment \"name: \\\"net1\\\" id: "
		 "\\\"c1\\\"\" -j %s\n"
		 "-A %s -d fd00:88::/64 -m comment --comment \"name: \\\"net1\\\" id: \\\"c1\\\"\" "
		 "-j ACCEPT\n"
		 "-A %s ! -d ff00::/8 -m comment --comment \"name: \\\"net1\\\" id: \\\"c1\\\"\" "
		 "-j MASQUERADE\n",
		 chain, chain, chain, chain);
	assert_string_equal(v6, want);

	/* idempotent: a second setup changes nothing */
	setup(h, CNI_IPMASQ_IPTABLES, "net1", "eth0", "c1", addrs);
	char *v4b = nat_rules(h, 4), *v6b = nat_rules(h, 6);
	assert_string_equal(v4, v4b);
	assert_string_equal(v6, v6b);

	/* teardown needs no addresses; twice is fine */
	teardown(h, "net1", "eth0", "c1");
	teardown(h, "net1", "eth0", "c1");
	free(v4b);
	free(v6b);
	v4b = nat_rules(h, 4);
	v6b = nat_rules(h, 6);
	assert_string_equal(v4b,
			    ":CNI-foreign - [0:0]\n-A POSTROUTING -s 10.9.9.9/32 -j MASQUERADE\n");
	assert_string_equal(v6b, "");
	free(v4);
	free(v6);
	free(v4b);
	free(v6b);
}

static bool libnftables_mapped(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "libnftables") != NULL;
	fclose(f);
	return found;
}

/*
 * Teardown on an iptables-only host asks the kernel whether our nftables table exists
 * before loading libnftables to look: nothing loaded when it does not, loaded when it
 * does. Runs first, before any other test has loaded libnftables into this process.
 */
static void test_teardown_loads_libnftables_only_for_a_table(void **state)
{
	const char *h = nstest_create();
	static const char *const addrs[] = {"10.88.0.7/16", NULL};
	const char *force = getenv("LIBCNI_C_NFT_EXEC");

	if (libnftables_mapped())
		skip();
	setup(h, CNI_IPMASQ_IPTABLES, "net7", "eth0", "c7", addrs);
	teardown(h, "net7", "eth0", "c7");
	assert_false(libnftables_mapped());
	char *v4 = nat_rules(h, 4);
	assert_string_equal(v4, "");
	free(v4);
	/* nft(8) instead of the library: nothing to see in the maps; a kernel without
	 * nftables' inet family cannot have the table */
	if ((force && strcmp(force, "1") == 0) || !nstest_kernel_has_nft())
		return;
	assert_int_equal(nstest_exec(h, "nft add table inet cni_plugins_masquerade"), 0);
	teardown(h, "net7", "eth0", "c7");
	assert_true(libnftables_mapped());
}

static void test_iptables_two_addresses_one_family(void **state)
{
	const char *h = nstest_create();
	static const char *const a1[] = {"10.1.0.2/24", "10.2.0.2/24", NULL};
	static const char *const a2[] = {"10.3.0.2/24", NULL};
	char chain[32];
	chain_of("net1", "c2", chain);
	setup(h, CNI_IPMASQ_IPTABLES, "net1", "eth0", "c2", a1);
	setup(h, CNI_IPMASQ_IPTABLES, "net1", "eth0", "c2", a2);
	char *v4 = nat_rules(h, 4);
	/* every ACCEPT before the one MASQUERADE, one jump per address */
	const char *m = strstr(v4, "-j MASQUERADE");
	assert_non_null(m);
	assert_int_equal(count(v4, "-j MASQUERADE"), 1);
	assert_int_equal(count(v4, "-j ACCEPT"), 3);
	assert_true(strstr(v4, "-d 10.3.0.0/24") < m);
	assert_int_equal(count(v4, "-A POSTROUTING"), 3);
	free(v4);
	teardown(h, "net1", "eth1", "c2");
	v4 = nat_rules(h, 4);
	assert_string_equal(v4, "");
	free(v4);
}

static char *nft_rules(const char *path)
{
	return ns_output(path, "nft list table inet cni_plugins_masquerade");
}

static void test_nftables_setup_teardown(void **state)
{
	NSTEST_NEED_NFT();
	const char *h = nstest_create();
	static const char *const addrs[] = {"10.88.0.5/16", "fd00:88::5/64", NULL};
	static const char *const other[] = {"10.88.0.6/16", NULL};
	setup(h, CNI_IPMASQ_NFTABLES, "net1", "eth0", "c1", addrs);
	setup(h, CNI_IPMASQ_NFTABLES, "net1", "eth0", "c2", other);
	char *t = nft_rules(h);
	char h1[17], h2[17], comment[256];
	assert_int_equal(cni_format_hash("", "net1", 16, h1, sizeof(h1)), 0);
	assert_int_equal(cni_format_hash("", "eth0:c1", 16, h2, sizeof(h2)), 0);
	snprintf(comment, sizeof(comment), "comment \"%s-%s, net: net1, if: eth0, id: c1\"", h1,
		 h2);
	assert_non_null(strstr(t, "ip saddr 10.88.0.5 ip daddr != 10.88.0.0/16 masquerade"));
	assert_non_null(strstr(t, "ip6 saddr fd00:88::5 ip6 daddr != fd00:88::/64 masquerade"));
	assert_int_equal(count(t, comment), 2);
	assert_non_null(strstr(t, "type nat hook postrouting priority srcnat; policy accept;"));
	assert_non_null(strstr(t, "ip daddr 224.0.0.0/4 return"));
	assert_non_null(strstr(t, "ip6 daddr ff00::/8 return"));
	assert_non_null(strstr(t, "goto masq_checks"));
	assert_int_equal(count(t, "masquerade comment"), 3);

	/* idempotent */
	setup(h, CNI_IPMASQ_NFTABLES, "net1", "eth0", "c1", addrs);
	char *t2 = nft_rules(h);
	assert_int_equal(count(t2, "masquerade comment"), 3);
	assert_int_equal(count(t2, "goto masq_checks"), 1);
	free(t2);

	/* teardown of c1 leaves c2 */
	teardown(h, "net1", "eth0", "c1");
	teardown(h, "net1", "eth0", "c1");
	t2 = nft_rules(h);
	assert_int_equal(count(t2, "masquerade comment"), 1);
	assert_non_null(strstr(t2, "ip saddr 10.88.0.6"));
	free(t2);
	/* other ifname: not the same attachment */
	teardown(h, "net1", "eth1", "c2");
	t2 = nft_rules(h);
	assert_int_equal(count(t2, "masquerade comment"), 1);
	free(t2);
	teardown(h, "net1", "eth0", "c2");
	t2 = nft_rules(h);
	assert_int_equal(count(t2, "masquerade comment"), 0);
	free(t2);
	free(t);
}

static void test_auto_backend_and_bad_input(void **state)
{
	const char *h = nstest_create();
	static const char *const addrs[] = {"10.4.0.2/24", NULL};
	static const char *const bad[] = {"10.4.0.300/24", NULL};
	cni_ipmasq_backend be;
	cni_error *e = NULL;
	assert_int_equal(cni_ipmasq_backend_parse("", &be, NULL), 0);
	assert_int_equal(be, CNI_IPMASQ_AUTO);
	assert_int_equal(cni_ipmasq_backend_parse("nftables", &be, NULL), 0);
	assert_int_equal(be, CNI_IPMASQ_NFTABLES);
	assert_int_equal(cni_ipmasq_backend_parse("ebtables", &be, &e),
			 -CNI_ERR_INVALID_NETWORK_CONFIG);
	assert_non_null(strstr(cni_error_msg(e), "\"ebtables\""));
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_ipmasq_setup(CNI_IPMASQ_AUTO, "n", "eth0", "c", bad, &e),
			 -CNI_ERR_INVALID_ARG);
	assert_non_null(strstr(cni_error_msg(e), "10.4.0.300/24"));
	cni_error_free(e);

	/* iptables works in a fresh namespace, so auto picks it (the reference's default) */
	setup(h, CNI_IPMASQ_AUTO, "autonet", "eth0", "c1", addrs);
	char *v4 = nat_rules(h, 4);
	assert_int_equal(count(v4, "-j MASQUERADE"), 1);
	free(v4);
	teardown(h, "autonet", "eth0", "c1");
	v4 = nat_rules(h, 4);
	assert_string_equal(v4, "");
	free(v4);
}

static void test_gc_both_backends(void **state)
{
	NSTEST_NEED_NFT();
	const char *h = nstest_create();
	static const char *const a1[] = {"10.5.0.1/24", "fd00:5::1/64", NULL};
	static const char *const a2[] = {"10.5.0.2/24", NULL};
	static const char *const a3[] = {"10.5.0.3/24", NULL};
	static const char *const a9[] = {"10.5.0.9/24", NULL};
	for (int be = CNI_IPMASQ_IPTABLES; be <= CNI_IPMASQ_NFTABLES; be++) {
		setup(h, be, "gcnet", "eth0", "c1", a1);
		setup(h, be, "gcnet", "eth0", "c2", a2);
		setup(h, be, "gcnet", "eth1", "c3", a3);
		setup(h, be, "othernet", "eth0", "c9", a9);
	}
	/* a portmap-like chain with our network's comment but another name is not ours */
	assert_int_equal(nstest_exec(h, "iptables -t nat -N CNI-DN-x"), 0);
	assert_int_equal(nstest_exec(h, "iptables -t nat -A CNI-DN-x -m comment --comment "
					"'name: \"gcnet\" id: \"c2\"' -j RETURN"),
			 0);
	cni_gc_attachment valid[] = {{"c1", "eth0"}, {"c3", "eth9"}};
	gc(h, "gcnet", valid, 2);

	char *v4 = nat_rules(h, 4), *v6 = nat_rules(h, 6), *t = nft_rules(h);
	char c1[32], c2[32], c3[32], c9[32];
	chain_of("gcnet", "c1", c1);
	chain_of("gcnet", "c2", c2);
	chain_of("gcnet", "c3", c3);
	chain_of("othernet", "c9", c9);
	/* iptables: no ifname in the comment, so c3 stays through its container id */
	assert_non_null(strstr(v4, c1));
	assert_null(strstr(v4, c2));
	assert_non_null(strstr(v4, c3));
	assert_non_null(strstr(v4, c9));
	assert_non_null(strstr(v4, "CNI-DN-x"));
	assert_non_null(strstr(v6, c1));
	/* nftables: c3 on eth1 is not (c3, eth9) */
	assert_non_null(strstr(t, "ip saddr 10.5.0.1 "));
	assert_non_null(strstr(t, "ip6 saddr fd00:5::1 "));
	assert_null(strstr(t, "ip saddr 10.5.0.2 "));
	assert_null(strstr(t, "ip saddr 10.5.0.3 "));
	assert_non_null(strstr(t, "ip saddr 10.5.0.9 "));
	free(v4);
	free(v6);
	free(t);

	/* empty valid list: every attachment of the network goes, the other network stays */
	gc(h, "gcnet", NULL, 0);
	v4 = nat_rules(h, 4);
	v6 = nat_rules(h, 6);
	t = nft_rules(h);
	assert_null(strstr(v4, c1));
	assert_null(strstr(v4, c3));
	assert_non_null(strstr(v4, c9));
	assert_string_equal(v6, "");
	assert_int_equal(count(t, "masquerade comment"), 1);
	assert_non_null(strstr(t, "ip saddr 10.5.0.9 "));
	free(v4);
	free(v6);
	free(t);
}

/* ---- interop with the reference ptp plugin ---- */

static char tmpdir[64];

static void write_conf(const char *file, bool masq)
{
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"cniVersion\":\"0.4.0\",\"name\":\"refnet\",\"type\":\"ptp\",\"ipMasq\":%s,"
		"\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"%s/ipam\","
		"\"ranges\":[[{\"subnet\":\"172.16.31.0/24\"}],[{\"subnet\":\"fd00:31::/64\"}]]}}",
		masq ? "true" : "false", tmpdir);
	fclose(f);
}

static int ref_ptp(const char *hostns, const char *contns, const char *cmd, bool masq)
{
	char conf[128], line[1024];
	snprintf(conf, sizeof(conf), "%s/conf-%d.json", tmpdir, masq);
	write_conf(conf, masq);
	snprintf(line, sizeof(line),
		 "env CNI_COMMAND=%s CNI_CONTAINERID=refcid CNI_NETNS=%s CNI_IFNAME=eth0 "
		 "CNI_PATH=/usr/lib/cni " REF_PTP " < %s > %s/out.json",
		 cmd, contns, conf, tmpdir);
	return nstest_exec(hostns, line);
}

static int interop_setup(void **state)
{
	if (access(REF_PTP, X_OK) != 0)
		return 0;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cni-it-ipmasq-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int interop_teardown(void **state)
{
	char cmd[128];
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0) {
			/* best effort */
		}
	}
	return 0;
}

static void test_interop_reference_rules_removed_by_us(void **state)
{
	if (access(REF_PTP, X_OK) != 0)
		skip();
	const char *h = nstest_create(), *c = nstest_create();
	assert_int_equal(ref_ptp(h, c, "ADD", true), 0);
	char *v4 = nat_rules(h, 4), *v6 = nat_rules(h, 6);
	char chain[32];
	chain_of("refnet", "refcid", chain);
	assert_int_equal(count(v4, chain), 4);
	assert_int_equal(count(v6, chain), 4);
	/* the reference's rules are exactly what we create for the same attachment */
	static const char *const addrs[] = {"172.16.31.2/24", "fd00:31::2/64", NULL};
	setup(h, CNI_IPMASQ_IPTABLES, "refnet", "eth0", "refcid", addrs);
	char *v4b = nat_rules(h, 4), *v6b = nat_rules(h, 6);
	assert_string_equal(v4, v4b);
	assert_string_equal(v6, v6b);
	free(v4b);
	free(v6b);
	/* our teardown, without addresses, removes them */
	teardown(h, "refnet", "eth0", "refcid");
	v4b = nat_rules(h, 4);
	v6b = nat_rules(h, 6);
	assert_string_equal(v4b, "");
	assert_string_equal(v6b, "");
	free(v4);
	free(v6);
	free(v4b);
	free(v6b);
	/* the reference's DEL with ipMasq fails once the chain is gone (it asks iptables to
	 * delete a jump to a missing chain), so release the link and address without it */
	assert_int_equal(ref_ptp(h, c, "DEL", false), 0);
}

static void test_interop_our_rules_removed_by_reference(void **state)
{
	if (access(REF_PTP, X_OK) != 0)
		skip();
	const char *h = nstest_create(), *c = nstest_create();
	/* the reference creates the link and addresses, we the masquerade rules */
	assert_int_equal(ref_ptp(h, c, "ADD", false), 0);
	static const char *const addrs[] = {"172.16.31.2/24", "fd00:31::2/64", NULL};
	setup(h, CNI_IPMASQ_IPTABLES, "refnet", "eth0", "refcid", addrs);
	char *v4 = nat_rules(h, 4), *v6 = nat_rules(h, 6);
	assert_int_equal(count(v4, "-j MASQUERADE"), 1);
	assert_int_equal(count(v6, "-j MASQUERADE"), 1);
	free(v4);
	free(v6);
	assert_int_equal(ref_ptp(h, c, "DEL", true), 0);
	v4 = nat_rules(h, 4);
	v6 = nat_rules(h, 6);
	assert_string_equal(v4, "");
	assert_string_equal(v6, "");
	free(v4);
	free(v6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_teardown_loads_libnftables_only_for_a_table),
	    cmocka_unit_test(test_iptables_setup_teardown),
	    cmocka_unit_test(test_iptables_two_addresses_one_family),
	    cmocka_unit_test(test_nftables_setup_teardown),
	    cmocka_unit_test(test_auto_backend_and_bad_input),
	    cmocka_unit_test(test_gc_both_backends),
	    cmocka_unit_test_setup_teardown(test_interop_reference_rules_removed_by_us,
					    interop_setup, interop_teardown),
	    cmocka_unit_test_setup_teardown(test_interop_our_rules_removed_by_reference,
					    interop_setup, interop_teardown),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
