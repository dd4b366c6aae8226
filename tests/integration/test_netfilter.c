/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netfilter module against the real kernel, only inside a namespace created here (run
 * through cni_netns_run, so the host's firewall is never touched): restore batches apply
 * atomically, save reads them back, nftables scripts run as one transaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <cni/cni.h>

#include "nstest.h"

static cni_netns *ns;

static int in_ns(cni_netns_fn fn, void *ud)
{
	cni_error *err = NULL;
	int r = cni_netns_run(ns, fn, ud, &err);
	if (r < 0)
		print_message("error: %s\n", err ? cni_error_msg(err) : "?");
	cni_error_free(err);
	return r;
}

static int do_restore_save(void *ud, cni_error **err)
{
	int family = *(int *)ud;
	char *out = NULL;
	int r;

	if (!cni_iptables_usable(family))
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "iptables not usable");
	r = cni_iptables_restore(family,
				 "*nat\n:CNI-NFTEST - [0:0]\n-A CNI-NFTEST -m comment --comment "
				 "\"a \\\"quoted\\\" comment\" -j RETURN\nCOMMIT\n",
				 err);
	if (r < 0)
		return r;
	if ((r = cni_iptables_save(family, "nat", &out, err)) < 0)
		return r;
	bool ok =
	    strstr(out, ":CNI-NFTEST - [0:0]") &&
	    strstr(out,
		   "-A CNI-NFTEST -m comment --comment \"a \\\"quoted\\\" comment\" -j RETURN");
	cni_free(out);
	if (!ok)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "rule not saved");

	/* a failing batch changes nothing: its first line is valid, its second is not */
	cni_error *bad = NULL;
	r = cni_iptables_restore(
	    family, "*nat\n-A CNI-NFTEST -j ACCEPT\n-A NO-SUCH-CHAIN -j ACCEPT\nCOMMIT\n", &bad);
	ok = r < 0 && bad && strstr(cni_error_msg(bad), "restore");
	cni_error_free(bad);
	if (!ok)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "bad batch accepted");
	if ((r = cni_iptables_save(family, "nat", &out, err)) < 0)
		return r;
	ok = !strstr(out, "-A CNI-NFTEST -j ACCEPT");
	cni_free(out);
	if (!ok)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "half a batch applied");
	return cni_iptables_restore(family, "*nat\n-F CNI-NFTEST\n-X CNI-NFTEST\nCOMMIT\n", err);
}

static void test_restore_save_v4(void **state)
{
	int fam = AF_INET;
	assert_int_equal(in_ns(do_restore_save, &fam), 0);
}

static void test_restore_save_v6(void **state)
{
	int fam = AF_INET6;
	assert_int_equal(in_ns(do_restore_save, &fam), 0);
}

static int do_nft(void *ud, cni_error **err)
{
	char *out = NULL;
	int r;
	if (!cni_nftables_usable())
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "nftables not usable");
	r = cni_nft_run("add table ip cni_nftest\nadd chain ip cni_nftest c\n"
			"add rule ip cni_nftest c ip saddr 10.1.2.3 counter accept comment \"x\"\n",
			false, NULL, err);
	if (r < 0)
		return r;
	if ((r = cni_nft_run("list table ip cni_nftest", true, &out, err)) < 0)
		return r;
	bool ok =
	    strstr(out, "\"nftables\"") && strstr(out, "10.1.2.3") && strstr(out, "\"comment\"");
	cni_free(out);
	if (!ok)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "JSON listing wrong");
	/* a script with an error is one failed transaction: the new table does not appear */
	cni_error *bad = NULL;
	r = cni_nft_run("add table ip cni_nftest2\nadd rule ip cni_nftest2 nochain accept\n", false,
			NULL, &bad);
	ok = r < 0 && bad && strstr(cni_error_msg(bad), "nftables");
	cni_error_free(bad);
	if (!ok)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "bad script accepted");
	bad = NULL;
	r = cni_nft_run("list table ip cni_nftest2", false, NULL, &bad);
	cni_error_free(bad);
	if (r == 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "half a transaction applied");
	return cni_nft_run("delete table ip cni_nftest", false, NULL, err);
}

/*
 * How nftables is reached: libnftables does not care about $PATH, nft(8) has to be in it.
 * LIBCNI_C_NFT_EXEC=1 (a second ctest entry) takes the exec way a statically linked
 * process takes, and the tests after this one then run through nft(8).
 */
static void test_nft_mode(void **state)
{
	const char *force = getenv("LIBCNI_C_NFT_EXEC");
	bool exec_mode = force && strcmp(force, "1") == 0;
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin");
	cni_error *e = NULL;

	assert_non_null(path);
	assert_int_equal(setenv("PATH", "/nonexistent", 1), 0);
	assert_int_equal(cni_nftables_usable(), !exec_mode);
	if (exec_mode) {
		assert_true(cni_nft_run("list tables", false, NULL, &e) < 0);
		assert_non_null(strstr(cni_error_msg(e), "nft not found in $PATH"));
		cni_error_free(e);
	}
	assert_int_equal(setenv("PATH", path, 1), 0);
	free(path);
	assert_true(cni_nftables_usable());
}

static void test_nft(void **state)
{
	NSTEST_NEED_NFT();
	assert_int_equal(in_ns(do_nft, NULL), 0);
}

/* Is it there: asked of the kernel, before and after the object exists. */
static int do_may_exist(void *ud, cni_error **err)
{
	bool ok = !cni_nft_table_may_exist("ip", "cni_maytest");
	if (!ok)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "present before creation");
	int r = cni_nft_run("add table ip cni_maytest", false, NULL, err);
	if (r < 0)
		return r;
	/* the name in another family is another table */
	ok = cni_nft_table_may_exist("ip", "cni_maytest") &&
	     !cni_nft_table_may_exist("inet", "cni_maytest") &&
	     !cni_nft_table_may_exist("ip", "cni_maytes");
	if ((r = cni_nft_run("delete table ip cni_maytest", false, NULL, err)) < 0)
		return r;
	if (!ok || cni_nft_table_may_exist("ip", "cni_maytest"))
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "nft table answer wrong");
	return 0;
}

/* The chain and every jump to it go; other chains and rules stay. */
static int do_nft_remove(void *ud, cni_error **err)
{
	static const char *const gone[] = {"CNI-DN-T", "CNI-SN-T", NULL};
	char *out = NULL;
	int r;
	if (!cni_iptables_usable(AF_INET))
		return 0;
	r = cni_iptables_restore(
	    AF_INET,
	    "*nat\n:CNI-HOSTPORT-DNAT - [0:0]\n:CNI-DN-T - [0:0]\n"
	    ":CNI-OTHER - [0:0]\n"
	    "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
	    "-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment t -j CNI-DN-T\n"
	    "-A CNI-HOSTPORT-DNAT -p udp -j CNI-OTHER\n"
	    "-A OUTPUT -j CNI-DN-T\n"
	    "-A CNI-DN-T -p tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80\n"
	    "-A CNI-OTHER -j RETURN\nCOMMIT\n",
	    err);
	if (r < 0 || (r = cni_iptables_save(AF_INET, "nat", &out, err)) < 0)
		return r;
	bool nft = strstr(out, "(nf_tables)") !=
		   NULL; /* "# Generated by iptables-save v1.8.9 (nf_tables)" */
	cni_free(out);
	out = NULL;
	/* nf_tables' count of a chain's rules, as a teardown checks a dump with it */
	int n_dnat = cni_iptables_nft_rule_count(AF_INET, "nat", "CNI-HOSTPORT-DNAT");
	int n_none = cni_iptables_nft_rule_count(AF_INET, "nat", "CNI-NO-SUCH");
	if (nft && (n_dnat != 2 || n_none != -ENOENT ||
		    cni_iptables_nft_rule_count(AF_INET, "", "X") != -EINVAL))
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "rule counts %d %d", n_dnat,
				     n_none);
	bool removed = cni_iptables_nft_remove_chains(AF_INET, "nat", gone);
	if (removed != nft)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "removed %d with nft %d", removed,
				     nft);
	if (!nft)
		return 0; /* legacy: the tools' business */
	if ((r = cni_iptables_save(AF_INET, "nat", &out, err)) < 0)
		return r;
	bool ok = !strstr(out, "CNI-DN-T") &&
		  strstr(out, "-A CNI-HOSTPORT-DNAT -p udp -j CNI-OTHER") &&
		  strstr(out, "-j CNI-HOSTPORT-DNAT") && strstr(out, "-A CNI-OTHER -j RETURN");
	if (!ok)
		print_message("after removal:\n%s", out);
	cni_free(out);
	/* again: nothing there, nothing to do */
	ok = ok && cni_iptables_nft_remove_chains(AF_INET, "nat", gone) &&
	     !cni_iptables_nft_remove_chains(AF_INET, "", gone) &&
	     !cni_iptables_nft_remove_chains(AF_INET, "nat", NULL);
	/* a legacy nat table here: its chains only iptables-legacy can see, so not this way
	 * (the forked shell is in this thread's namespace) */
	if (ok && system("iptables-legacy -t nat -n -L >/dev/null 2>&1") == 0)
		ok = !cni_iptables_nft_remove_chains(AF_INET, "nat", gone);
	return ok ? 0 : cni_error_set(err, CNI_ERR_INTERNAL, NULL, "nft removal wrong");
}

static void test_nft_remove_chains(void **state)
{
	assert_int_equal(in_ns(do_nft_remove, NULL), 0);
}

static void test_may_exist(void **state)
{
	NSTEST_NEED_NFT();
	assert_int_equal(in_ns(do_may_exist, NULL), 0);
	/* what cannot be asked may exist */
	assert_true(cni_nft_table_may_exist("nosuchfamily", "t"));
	assert_true(cni_nft_table_may_exist("ip", NULL));
}

static void test_bad_args(void **state)
{
	cni_error *err = NULL;
	char *out = NULL;
	assert_false(cni_iptables_usable(12345));
	assert_int_equal(cni_iptables_restore(AF_INET, NULL, &err), -CNI_ERR_INVALID_ARG);
	cni_error_free(err);
	err = NULL;
	assert_int_equal(cni_iptables_save(AF_INET, "", &out, &err), -CNI_ERR_INVALID_ARG);
	cni_error_free(err);
	err = NULL;
	assert_int_equal(cni_nft_run(NULL, false, NULL, &err), -CNI_ERR_INVALID_ARG);
	cni_error_free(err);
}


/* ---- conntrack ---- */

static void udp_send(const char *path, int port)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "python3 -c \"import socket; s = socket.socket(socket.AF_INET, "
		 "socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0)); s.sendto(b'x', ('127.0.0.1', %d))\"",
		 port);
	assert_int_equal(nstest_exec(path, cmd), 0);
}

struct ct_case {
	int protocol;
	unsigned int port;
	size_t deleted;
};

static int do_conntrack_delete(void *ud, cni_error **err)
{
	struct ct_case *c = ud;
	return cni_conntrack_delete_dport(AF_INET, c->protocol, c->port, &c->deleted, err);
}

/* Entries to the port and protocol asked go; the others stay. */
static void test_conntrack_delete(void **state)
{
	(void)state;
	NSTEST_NEED_NFT();
	const char *p = nstest_create();
	cni_netns *cns = NULL;
	cni_error *err = NULL;
	char *out;

	if (access("/proc/net/nf_conntrack", F_OK) != 0)
		skip();
	assert_int_equal(cni_netns_open(p, &cns, NULL), 0);
	/* a rule that looks at connection state makes the namespace track flows */
	assert_int_equal(nstest_exec(p, "ip link set lo up"), 0);
	assert_int_equal(nstest_exec(p, "nft add table ip cnitest"), 0);
	assert_int_equal(
	    nstest_exec(p, "nft 'add chain ip cnitest out { type filter hook output priority 0; }'"),
	    0);
	assert_int_equal(nstest_exec(p, "nft add rule ip cnitest out ct state new counter"), 0);
	udp_send(p, 7001);
	udp_send(p, 7001);
	udp_send(p, 7002);
	out = nstest_output(p, "cat /proc/net/nf_conntrack");
	assert_non_null(strstr(out, "dport=7001 "));
	assert_non_null(strstr(out, "dport=7002 "));

	/* TCP to 7001: none of those */
	struct ct_case c = {IPPROTO_TCP, 7001, 99};
	assert_int_equal(cni_netns_run(cns, do_conntrack_delete, &c, NULL), 0);
	assert_int_equal(c.deleted, 0);
	assert_non_null(strstr(nstest_output(p, "cat /proc/net/nf_conntrack"), "dport=7001 "));

	/* UDP to 7001: its two flows (each sender had a port of its own); 7002 stays */
	c = (struct ct_case){IPPROTO_UDP, 7001, 0};
	assert_int_equal(cni_netns_run(cns, do_conntrack_delete, &c, NULL), 0);
	assert_int_equal(c.deleted, 2);
	out = nstest_output(p, "cat /proc/net/nf_conntrack");
	assert_null(strstr(out, "dport=7001 "));
	assert_non_null(strstr(out, "dport=7002 "));

	/* nothing left to delete is no error */
	assert_int_equal(cni_netns_run(cns, do_conntrack_delete, &c, NULL), 0);
	assert_int_equal(c.deleted, 0);

	assert_int_equal(cni_conntrack_delete_dport(AF_INET, IPPROTO_UDP, 0, NULL, &err),
			 -CNI_ERR_INVALID_ARG);
	assert_non_null(strstr(cni_error_msg(err), "port 0"));
	cni_error_free(err);
	err = NULL;
	assert_int_equal(cni_conntrack_delete_dport(AF_UNIX, IPPROTO_UDP, 80, NULL, &err),
			 -CNI_ERR_INVALID_ARG);
	cni_error_free(err);
	cni_netns_close(cns);
}


/* A teardown's confirmation where iptables is the legacy one: a chain only x_tables holds,
 * which nf_tables cannot see, still fails the check; once it is gone, the check passes. */
static int do_confirm_gone_legacy(void *ud, cni_error **err)
{
	const char *const chains[] = {"CNI-LEG-T", NULL};
	cni_error *e = NULL;
	int r;
	bool ok;

	(void)ud;
	if (system("iptables-legacy -w -t nat -N CNI-LEG-T") != 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "iptables-legacy -N failed");
	r = cni_iptables_nft_confirm_gone(AF_INET, "nat", chains, "dump cut short", &e);
	ok = r == -CNI_ERR_SYSTEM && e &&
	     strstr(cni_error_msg(e),
		    "chain CNI-LEG-T, which iptables lists: dump cut short: not removed");
	if (!ok)
		print_message("confirm_gone: %d %s\n", r, e ? cni_error_msg(e) : "(no error)");
	cni_error_free(e);
	if (system("iptables-legacy -w -t nat -X CNI-LEG-T") != 0)
		ok = false;
	if (ok && cni_iptables_nft_confirm_gone(AF_INET, "nat", chains, NULL, NULL) != 0)
		ok = false;
	return ok ? 0 : cni_error_set(err, CNI_ERR_INTERNAL, NULL, "legacy confirmation wrong");
}

static void test_confirm_gone_legacy(void **state)
{
	(void)state;
	char dir[] = "/tmp/cni-it-legacy-XXXXXX", link[64], *path = NULL;
	const char *old = getenv("PATH");
	cni_netns *lns = NULL;

	if (access("/usr/sbin/iptables-legacy", X_OK) != 0)
		skip();
	/* "iptables" found first is the legacy one, as on a system that chose it */
	assert_non_null(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/iptables", dir);
	assert_int_equal(symlink("/usr/sbin/iptables-legacy", link), 0);
	assert_true(asprintf(&path, "%s:%s", dir, old ? old : "/usr/sbin:/usr/bin") > 0);
	assert_int_equal(setenv("PATH", path, 1), 0);
	assert_int_equal(cni_netns_open(nstest_create(), &lns, NULL), 0);
	cni_error *err = NULL;
	int r = cni_netns_run(lns, do_confirm_gone_legacy, NULL, &err);
	if (r < 0)
		print_message("error: %s\n", cni_error_msg(err));
	cni_error_free(err);
	cni_netns_close(lns);
	if (old)
		setenv("PATH", old, 1);
	unlink(link);
	rmdir(dir);
	free(path);
	assert_int_equal(r, 0);
}

int main(void)
{
	cni_error *err = NULL;
	const char *path = nstest_create();
	(void)nstest_exec; /* shared helper this test does not need */
	if (cni_netns_open(path, &ns, &err) < 0) {
		printf("SKIP: %s\n", cni_error_msg(err));
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_restore_save_v4), cmocka_unit_test(test_restore_save_v6),
	    cmocka_unit_test(test_nft_mode),	    cmocka_unit_test(test_nft),
	    cmocka_unit_test(test_may_exist),	    cmocka_unit_test(test_nft_remove_chains),
	    cmocka_unit_test(test_bad_args),	    cmocka_unit_test(test_conntrack_delete),
	    cmocka_unit_test(test_confirm_gone_legacy),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	cni_netns_close(ns);
	return rc;
}
