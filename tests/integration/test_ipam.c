/* SPDX-License-Identifier: Apache-2.0 */
/* ipam.c: running the IPAM plugin, and putting its result on an interface in the kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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


/* The IPAM plugin named by ipam.type, run through CNI_PATH; configs that name none. */
static void test_ipam_exec(void **state)
{
	char dir[] = "/tmp/cni-test-ipam-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], log[128], script[512];
	snprintf(path, sizeof(path), "%s/fake-ipam", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	/* a plugin of its own: records each command and answers ADD with one address */
	snprintf(script, sizeof(script),
		 "#!/bin/sh\necho \"$CNI_COMMAND\" >>%s\ncat >/dev/null\n"
		 "[ \"$CNI_COMMAND\" = ADD ] && echo '{\"cniVersion\":\"1.0.0\","
		 "\"ips\":[{\"address\":\"10.9.0.2/24\"}]}'\nexit 0\n",
		 log);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(script, f);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	setenv("CNI_PATH", dir, 1);
	setenv("CNI_CONTAINERID", "c1", 1);
	setenv("CNI_NETNS", "/run/netns/none", 1);
	setenv("CNI_IFNAME", "eth0", 1);
	setenv("CNI_COMMAND", "ADD", 1);

	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"ptp\","
			   "\"ipam\":{\"type\":\"fake-ipam\"}}";
	cni_result *res = NULL;
	cni_error *e = NULL;
	assert_int_equal(cni_ipam_exec_add(conf, strlen(conf), &res, &e), 0);
	assert_int_equal(cni_result_ip_count(res), 1);
	cni_ip ip;
	assert_int_equal(cni_result_get_ip(res, 0, &ip), 0);
	cni_result_free(res);
	setenv("CNI_COMMAND", "DEL", 1);
	assert_int_equal(cni_ipam_exec_del(conf, strlen(conf), NULL), 0);
	char buf[64] = "";
	f = fopen(log, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, "ADD\nDEL\n");

	/* no ipam.type: said so, nothing run */
	const char *none = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{}}";
	assert_int_equal(cni_ipam_exec_add(none, strlen(none), &res, &e),
			 -CNI_ERR_INVALID_NETWORK_CONFIG);
	assert_string_equal(cni_error_msg(e), "no IPAM plugin configured: ipam.type is missing");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_ipam_exec_del("{", 1, &e), -CNI_ERR_DECODING_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "failed to parse network config"));
	cni_error_free(e);
	e = NULL;
	/* a type with no such plugin in CNI_PATH */
	const char *missing = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
			      "\"ipam\":{\"type\":\"no-such-ipam\"}}";
	setenv("CNI_COMMAND", "ADD", 1);
	assert_true(cni_ipam_exec_add(missing, strlen(missing), &res, &e) < 0);
	assert_non_null(strstr(cni_error_msg(e), "no-such-ipam"));
	cni_error_free(e);
	unlink(path);
	unlink(log);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipam_configure_iface),
		cmocka_unit_test(test_ipam_exec),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
