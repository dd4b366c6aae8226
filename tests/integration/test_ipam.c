/* SPDX-License-Identifier: Apache-2.0 */
/* ipam.c: putting an IPAM result on an interface, against the real kernel. */
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

	char *out = nstest_output(p, "ip -o addr show dev eth0");
	assert_non_null(strstr(out, "10.77.0.5/24"));
	assert_non_null(strstr(out, "fd77::5/64"));
	assert_null(strstr(out, "10.88.0.5")); /* no interface index: skipped, as the reference */
	assert_null(strstr(out, "tentative"));
	out = nstest_output(p, "ip route show");
	assert_non_null(strstr(out, "default via 10.77.0.1 dev eth0"));
	assert_non_null(strstr(out, "10.60.0.0/16 via 10.77.0.254 dev eth0 metric 33"));
	assert_non_null(strstr(out, "mtu 1300 advmss 1260"));
	out = nstest_output(p, "ip route show table 200");
	assert_non_null(strstr(out, "10.61.0.0/16 via 10.77.0.1 dev eth0"));
	out = nstest_output(p, "ip -6 route show");
	assert_non_null(strstr(out, "default via fd77::1 dev eth0"));
	out = nstest_output(p, "cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6");
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


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipam_configure_iface),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
