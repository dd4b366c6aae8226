/* SPDX-License-Identifier: Apache-2.0 */
/* netlink-bridge.c: bridge VLAN filtering and VLANs against the real kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cni/cni.h>

#include "nstest.h"

static void test_bridge_vlans(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_error *e = NULL;
	cni_link_info br = CNI_LINK_INFO_INIT, v = CNI_LINK_INFO_INIT;
	int r;

	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);
	assert_int_equal(cni_nl_open(&nl, ns, NULL), 0);
	assert_int_equal(cni_bridge_add(nl, "br-v", 0, NULL), 0);
	assert_int_equal(cni_link_get(nl, "br-v", &br, NULL), 0);
	assert_int_equal(cni_veth_add(nl, "p0", "p1", NULL, 0, NULL, NULL, NULL), 0);
	assert_int_equal(cni_link_get(nl, "p0", &v, NULL), 0);
	assert_int_equal(cni_link_set_master(nl, v.ifindex, br.ifindex, NULL), 0);
	r = cni_bridge_set_vlan_filtering(nl, br.ifindex, true, &e);
	if (!nstest_kernel_lacks(r, e, "bridge VLAN filtering")) {
		assert_int_equal(r, 0);
		int *vids = NULL;
		size_t n = 0;
		assert_int_equal(cni_bridge_vlan_add(nl, v.ifindex, 10,
						     CNI_BRIDGE_VLAN_PVID | CNI_BRIDGE_VLAN_UNTAGGED,
						     NULL),
				 0);
		assert_int_equal(cni_bridge_vlan_add(nl, v.ifindex, 20, 0, NULL), 0);
		char *out = nstest_output(p, "bridge vlan show dev p0");
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


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bridge_vlans),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
