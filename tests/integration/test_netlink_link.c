/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interface-link functions of cni/netlink.h (src/netlink-link.c) against the real
 * kernel: each kind made in one namespace and directly in another, its details read back,
 * input errors, and tap devices. Kinds the kernel lacks (ipvlan, 802.1Q, dummy here) must
 * fail with the kernel's reason and leave nothing; the user-mode kernel of tests/kernel
 * has them all (label kernel), where CNI_TEST_REQUIRE_KERNEL_FEATURES=1 makes a missing
 * one a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <cni/cni.h>

#include "nstest.h"

static const char *host_path, *cont_path;
static cni_netns *host_ns, *cont_ns;
static cni_nl *host_nl, *cont_nl;
static int master;

static int setup(void **state)
{
	(void)state;
	host_path = nstest_create();
	cont_path = nstest_create();
	if (nstest_exec(host_path, "ip link add m0 type veth peer name m0p") != 0 ||
	    nstest_exec(host_path, "ip link set m0 up") != 0)
		return -1;
	cni_link_info li = CNI_LINK_INFO_INIT;
	if (cni_netns_open(host_path, &host_ns, NULL) < 0 ||
	    cni_netns_open(cont_path, &cont_ns, NULL) < 0 ||
	    cni_nl_open(&host_nl, host_ns, NULL) < 0 || cni_nl_open(&cont_nl, cont_ns, NULL) < 0 ||
	    cni_link_get(host_nl, "m0", &li, NULL) < 0)
		return -1;
	master = li.ifindex;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cni_nl_close(host_nl);
	cni_nl_close(cont_nl);
	cni_netns_close(host_ns);
	cni_netns_close(cont_ns);
	return 0;
}

/* Whether the kernel refused the kind; then nothing may be left and the test ends. */
static bool missing_kind(int r, const char *what, cni_error *e)
{
	if (r == 0 || errno != EOPNOTSUPP)
		return false;
	assert_non_null(strstr(cni_error_msg(e), "Operation not supported"));
	const char *req = getenv("CNI_TEST_REQUIRE_KERNEL_FEATURES");
	if (req && strcmp(req, "1") == 0)
		fail_msg("this kernel must have %s", what);
	printf("NOTE: no %s in this kernel: tested in the user-mode kernel\n", what);
	return true;
}

static void del_in_cont(const char *name)
{
	cni_link_info li = CNI_LINK_INFO_INIT;
	assert_int_equal(cni_link_get(cont_nl, name, &li, NULL), 0);
	assert_int_equal(cni_link_del(cont_nl, li.ifindex, NULL), 0);
}

static void test_modes(void **state)
{
	(void)state;
	cni_macvlan_mode mm;
	cni_ipvlan_mode im;
	cni_error *e = NULL;
	assert_int_equal(cni_macvlan_mode_parse("vepa", &mm, NULL), 0);
	assert_int_equal(mm, CNI_MACVLAN_VEPA);
	assert_string_equal(cni_macvlan_mode_name(CNI_MACVLAN_PASSTHRU), "passthru");
	assert_int_equal(cni_macvlan_mode_parse("Bridge", &mm, &e), -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "unknown macvlan mode: Bridge");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_ipvlan_mode_parse("l3s", &im, NULL), 0);
	assert_int_equal(im, CNI_IPVLAN_L3S);
	assert_string_equal(cni_ipvlan_mode_name(CNI_IPVLAN_L2), "l2");
	assert_string_equal(cni_ipvlan_mode_name((cni_ipvlan_mode)7), "unknown");
	assert_int_equal(cni_ipvlan_mode_parse(NULL, &im, &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
}

static void test_macvlan(void **state)
{
	(void)state;
	cni_link_spec s = CNI_LINK_SPEC_INIT;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_link_details d = CNI_LINK_DETAILS_INIT;
	cni_error *e = NULL;

	/* made directly in the container's namespace, on the host's master */
	s.name = "mv0";
	s.parent = master;
	s.ns = cont_ns;
	s.mtu = 1400;
	s.mac = "02:00:00:00:01:01";
	s.txqlen = 0;
	assert_int_equal(cni_macvlan_add(host_nl, &s, CNI_MACVLAN_PRIVATE, 77, NULL), 0);
	assert_int_equal(cni_link_get(host_nl, "mv0", &li, NULL), -CNI_ERR_NOT_FOUND);
	assert_int_equal(cni_link_get(cont_nl, "mv0", &li, NULL), 0);
	assert_string_equal(li.kind, "macvlan");
	assert_int_equal(li.mtu, 1400);
	assert_int_equal(li.txqlen, 0);
	assert_string_equal(li.mac, "02:00:00:00:01:01");
	assert_int_equal(cni_link_get_details(cont_nl, li.ifindex, &d, NULL), 0);
	assert_string_equal(d.kind, "macvlan");
	assert_int_equal(d.macvlan_mode, CNI_MACVLAN_PRIVATE);
	assert_int_equal(d.parent, master);
	assert_true(d.parent_netnsid >= 0);
	assert_int_equal(d.vlan_id, -1);
	assert_int_equal(d.ipvlan_mode, -1);

	/* the same name again: EEXIST, named */
	assert_int_equal(cni_macvlan_add(host_nl, &s, CNI_MACVLAN_PRIVATE, 0, &e), -CNI_ERR_SYSTEM);
	assert_int_equal(errno, EEXIST);
	assert_string_equal(cni_error_msg(e), "failed to create macvlan 'mv0' on 'm0': File exists");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_link_get_by_mac(cont_nl, "02:00:00:00:01:01", &li, NULL), 0);
	assert_string_equal(li.name, "mv0");
	assert_int_equal(cni_link_get_by_mac(cont_nl, "02:00:00:00:01:09", &li, &e),
			 -CNI_ERR_NOT_FOUND);
	cni_error_free(e);
	e = NULL;
	del_in_cont("mv0");

	/* in the master's own namespace; an MTU above the master's is the kernel's ERANGE */
	s.ns = NULL;
	s.mtu = 9000;
	s.mac = NULL;
	assert_int_equal(cni_macvlan_add(host_nl, &s, CNI_MACVLAN_BRIDGE, 0, &e), -CNI_ERR_SYSTEM);
	assert_non_null(strstr(cni_error_msg(e), "failed to create macvlan 'mv0' on 'm0'"));
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_link_get(host_nl, "mv0", &li, NULL), -CNI_ERR_NOT_FOUND);

	/* input errors, before any request */
	s.mtu = 0;
	s.parent = 0;
	assert_int_equal(cni_macvlan_add(host_nl, &s, CNI_MACVLAN_BRIDGE, 0, &e),
			 -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "macvlan 'mv0' needs a parent link");
	cni_error_free(e);
	e = NULL;
	s.parent = master;
	s.name = "a-name-much-too-long";
	assert_int_equal(cni_macvlan_add(host_nl, &s, CNI_MACVLAN_BRIDGE, 0, &e),
			 -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	e = NULL;
	s.name = "mv0";
	s.mac = "zz";
	assert_int_equal(cni_macvlan_add(host_nl, &s, CNI_MACVLAN_BRIDGE, 0, &e),
			 -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	e = NULL;
	s.mac = NULL;
	assert_int_equal(cni_macvlan_add(host_nl, &s, (cni_macvlan_mode)3, 0, &e),
			 -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	e = NULL;
	s.version = 99;
	assert_int_equal(cni_macvlan_add(host_nl, &s, CNI_MACVLAN_BRIDGE, 0, &e),
			 -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	assert_int_equal(cni_link_get(host_nl, "mv0", &li, NULL), -CNI_ERR_NOT_FOUND);
}

static void test_ipvlan(void **state)
{
	(void)state;
	cni_link_spec s = CNI_LINK_SPEC_INIT;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_link_details d = CNI_LINK_DETAILS_INIT;
	cni_error *e = NULL;
	s.name = "iv0";
	s.parent = master;
	s.ns = cont_ns;
	s.mac = "02:00:00:00:01:02";
	assert_int_equal(cni_ipvlan_add(host_nl, &s, CNI_IPVLAN_L3, &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	e = NULL;
	s.mac = NULL;
	int r = cni_ipvlan_add(host_nl, &s, CNI_IPVLAN_L3, &e);
	if (missing_kind(r, "ipvlan", e)) {
		cni_error_free(e);
		assert_int_equal(cni_link_get(cont_nl, "iv0", &li, NULL), -CNI_ERR_NOT_FOUND);
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(cni_link_get(cont_nl, "iv0", &li, NULL), 0);
	assert_int_equal(cni_link_get_details(cont_nl, li.ifindex, &d, NULL), 0);
	assert_string_equal(d.kind, "ipvlan");
	assert_int_equal(d.ipvlan_mode, CNI_IPVLAN_L3);
	assert_int_equal(d.macvlan_mode, -1);
	del_in_cont("iv0");
}

static void test_vlan(void **state)
{
	(void)state;
	cni_link_spec s = CNI_LINK_SPEC_INIT;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_link_details d = CNI_LINK_DETAILS_INIT;
	cni_error *e = NULL;
	s.name = "vl0";
	s.parent = master;
	s.ns = cont_ns;
	assert_int_equal(cni_vlan_add(host_nl, &s, 4095, &e), -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "invalid VLAN id 4095: must be between 0 and 4094");
	cni_error_free(e);
	e = NULL;
	int r = cni_vlan_add(host_nl, &s, 4094, &e);
	if (missing_kind(r, "802.1Q", e)) {
		assert_non_null(strstr(cni_error_msg(e), "failed to create vlan 4094 'vl0' on 'm0'"));
		cni_error_free(e);
		assert_int_equal(cni_link_get(cont_nl, "vl0", &li, NULL), -CNI_ERR_NOT_FOUND);
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(cni_link_get(cont_nl, "vl0", &li, NULL), 0);
	assert_int_equal(cni_link_get_details(cont_nl, li.ifindex, &d, NULL), 0);
	assert_string_equal(d.kind, "vlan");
	assert_int_equal(d.vlan_id, 4094);
	del_in_cont("vl0");
}

static void test_dummy(void **state)
{
	(void)state;
	cni_link_spec s = CNI_LINK_SPEC_INIT;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_error *e = NULL;
	s.name = "du0";
	s.parent = master;
	assert_int_equal(cni_dummy_add(cont_nl, &s, &e), -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "dummy link 'du0' takes no parent link");
	cni_error_free(e);
	e = NULL;
	s.parent = 0;
	s.mtu = 9000;
	int r = cni_dummy_add(cont_nl, &s, &e);
	if (missing_kind(r, "dummy", e)) {
		cni_error_free(e);
		assert_int_equal(cni_link_get(cont_nl, "du0", &li, NULL), -CNI_ERR_NOT_FOUND);
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(cni_link_get(cont_nl, "du0", &li, NULL), 0);
	assert_string_equal(li.kind, "dummy");
	assert_int_equal(li.mtu, 9000);
	del_in_cont("du0");
}

static void test_tap(void **state)
{
	(void)state;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_link_details d = CNI_LINK_DETAILS_INIT;
	cni_error *e = NULL;
	assert_int_equal(cni_tap_add(cont_ns, "tp0", CNI_TAP_MULTI_QUEUE | CNI_TAP_VNET_HDR, 1000,
				     100, NULL),
			 0);
	assert_int_equal(cni_link_get(host_nl, "tp0", &li, NULL), -CNI_ERR_NOT_FOUND);
	assert_int_equal(cni_link_get(cont_nl, "tp0", &li, NULL), 0);
	assert_int_equal(cni_link_get_details(cont_nl, li.ifindex, &d, NULL), 0);
	assert_string_equal(d.kind, "tun");
	/* owner, group, and IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE | persist */
	assert_int_equal(nstest_exec(cont_path, "sh -c 'test \"$(cat /sys/class/net/tp0/owner "
						"/sys/class/net/tp0/group "
						"/sys/class/net/tp0/tun_flags | tr \"\\n\" \" \")\" = "
						"\"1000 100 0x5902 \"'"),
			 0);
	/* a second one of that name: refused, the first untouched */
	assert_int_equal(cni_tap_add(cont_ns, "tp0", 0, -1, -1, &e), -CNI_ERR_SYSTEM);
	assert_non_null(strstr(cni_error_msg(e), "failed to create tap 'tp0'"));
	assert_non_null(strstr(cni_error_msg(e), "File exists"));
	cni_error_free(e);
	e = NULL;
	assert_int_equal(nstest_exec(cont_path, "sh -c 'test $(cat /sys/class/net/tp0/owner) = 1000'"),
			 0);
	del_in_cont("tp0");
	/* plain, no owner */
	assert_int_equal(cni_tap_add(cont_ns, "tp1", 0, -1, -1, NULL), 0);
	assert_int_equal(nstest_exec(cont_path, "sh -c 'test $(cat /sys/class/net/tp1/owner) = -1'"),
			 0);
	del_in_cont("tp1");
	assert_int_equal(cni_tap_add(cont_ns, "tp2", 0x80, -1, -1, &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),   cmocka_unit_test(test_macvlan),
		cmocka_unit_test(test_ipvlan),  cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_dummy),   cmocka_unit_test(test_tap),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
