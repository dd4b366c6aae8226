/* SPDX-License-Identifier: Apache-2.0 */
/* sysctl.c: reading and writing sysctls, in a namespace of our own. */
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
	assert_string_equal(nstest_output(p, "cat /proc/sys/net/ipv4/ip_forward"), "1\n");
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


/* Names with dots or slashes, and names that would leave /proc/sys, on the host (read only). */
static void test_sysctl_names(void **state)
{
	char *a = NULL, *b = NULL, *c = NULL;
	cni_error *e = NULL;
	/* the reference's rule: with a dot first, dots and slashes swap */
	assert_int_equal(cni_sysctl_get("net.ipv4.conf.lo.forwarding", &a, NULL), 0);
	assert_int_equal(cni_sysctl_get("net/ipv4/conf/lo/forwarding", &b, NULL), 0);
	assert_string_equal(a, b);
	assert_true(strcmp(a, "0") == 0 || strcmp(a, "1") == 0);
	assert_int_equal(cni_sysctl_get("", &c, &e), -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "empty sysctl name");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_sysctl_get("net/ipv4/../../../etc/passwd", &c, &e), -CNI_ERR_INVALID_ARG);
	assert_non_null(strstr(cni_error_msg(e), "invalid sysctl name"));
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_sysctl_get("net//ipv4", &c, &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	assert_null(c);
	cni_free(a);
	cni_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sysctl_in_netns),
		cmocka_unit_test(test_sysctl_names),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
