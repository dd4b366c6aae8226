/* SPDX-License-Identifier: Apache-2.0 */
/* netlink-tc.c: ifb devices, qdiscs and filters against the real kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cni/cni.h>

#include "nstest.h"

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
	assert_non_null(strstr(nstest_output(p, "tc qdisc show dev v0"), "qdisc tbf 1: root"));
	assert_int_equal(cni_qdisc_tbf_add(nl, v.ifindex, &want, &e), -CNI_ERR_SYSTEM);
	assert_string_equal(cni_error_msg(e), "create qdisc on 'v0': File exists");
	cni_error_free(e);
	e = NULL;

	assert_int_equal(cni_qdisc_ingress_add(nl, v.ifindex, NULL), 0);
	assert_int_equal(cni_filter_redirect_add(nl, v.ifindex, ifb.ifindex, NULL), 0);
	char *out = nstest_output(p, "tc filter show dev v0 ingress");
	assert_non_null(strstr(out, "u32"));
	assert_non_null(strstr(out, "Redirect to device ifb-t0"));

	assert_int_equal(cni_qdisc_del(nl, v.ifindex, true, NULL), 0);
	assert_int_equal(cni_qdisc_del(nl, v.ifindex, false, NULL), 0);
	assert_null(strstr(nstest_output(p, "tc qdisc show dev v0"), "tbf"));
	assert_int_equal(cni_qdisc_del(nl, v.ifindex, false, &e), -CNI_ERR_SYSTEM);
	cni_error_free(e);
	cni_nl_close(nl);
	cni_netns_close(ns);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traffic_control),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
