/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every public function taking a versioned input struct refuses one that was never
 * initialised (version 0) or comes from newer headers (a version above the library's),
 * with -CNI_ERR_INVALID_ARG naming the struct, instead of reading past its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cni/cni.h>

static const unsigned int bad_versions[] = {0, 999};

/* r must be -CNI_ERR_INVALID_ARG with a message naming type; e is freed. (A macro: the
 * call must run before e is read.) */
#define refused(call, e, type)                                                                     \
	do {                                                                                       \
		int r_ = (call);                                                                   \
		check_refused(r_, (e), (type));                                                    \
	} while (0)

static void check_refused(int r, cni_error *e, const char *type)
{
	assert_int_equal(r, -CNI_ERR_INVALID_ARG);
	assert_non_null(e);
	assert_non_null(strstr(cni_error_msg(e), type));
	assert_non_null(strstr(cni_error_msg(e), "version"));
	cni_error_free(e);
}

static void test_runtime_side(void **state)
{
	const char *path[] = {"/nonexistent", NULL};
	for (size_t i = 0; i < 2; i++) {
		cni_error *e = NULL;
		cni_config *cfg = NULL;
		cni_config_options o = CNI_CONFIG_OPTIONS_INIT;
		o.path = path;
		o.version = bad_versions[i];
		refused(cni_config_new(&cfg, &o, &e), e, "cni_config_options");
		assert_null(cfg);

		cni_exec_args a = CNI_EXEC_ARGS_INIT;
		char **env = NULL;
		a.version = bad_versions[i];
		e = NULL;
		refused(cni_exec_args_to_env(&a, NULL, &env, &e), e, "cni_exec_args");
		assert_null(env);

		cni_exec_options x = CNI_EXEC_OPTIONS_INIT;
		char *out = NULL;
		size_t len = 0;
		x.version = bad_versions[i];
		e = NULL;
		refused(cni_exec_plugin_raw("/bin/true", NULL, "{}", 2, &x, &out, &len, &e), e,
			"cni_exec_options");
		assert_null(out);
	}
}

static void test_result_builders(void **state)
{
	cni_result *r = NULL;
	assert_int_equal(cni_result_new(&r, "1.0.0", NULL), 0);
	for (size_t i = 0; i < 2; i++) {
		cni_error *e = NULL;
		cni_interface itf = CNI_INTERFACE_INIT;
		itf.name = "eth0";
		itf.version = bad_versions[i];
		refused(cni_result_add_interface(r, &itf, NULL, &e), e, "cni_interface");

		cni_ip ip = CNI_IP_INIT;
		ip.address = "10.1.0.2/24";
		ip.version = bad_versions[i];
		e = NULL;
		refused(cni_result_add_ip(r, &ip, &e), e, "cni_ip");

		cni_route rt = CNI_ROUTE_INIT;
		rt.dst = "0.0.0.0/0";
		rt.version = bad_versions[i];
		e = NULL;
		refused(cni_result_add_route(r, &rt, &e), e, "cni_route");

		cni_dns dns = CNI_DNS_INIT;
		dns.version = bad_versions[i];
		e = NULL;
		refused(cni_result_set_dns(r, &dns, &e), e, "cni_dns");
	}
	assert_int_equal(cni_result_interface_count(r), 0);
	cni_result_free(r);
}

/* Checked before the netlink handle is touched: a NULL one never gets used. */
static void test_netlink_and_ipam(void **state)
{
	for (size_t i = 0; i < 2; i++) {
		cni_error *e = NULL;
		cni_route_spec rs = CNI_ROUTE_SPEC_INIT;
		rs.version = bad_versions[i];
		refused(cni_route_add(NULL, &rs, false, &e), e, "cni_route_spec");
		e = NULL;
		refused(cni_route_del(NULL, &rs, &e), e, "cni_route_spec");

		cni_rule_spec ru = CNI_RULE_SPEC_INIT;
		ru.version = bad_versions[i];
		e = NULL;
		refused(cni_rule_add(NULL, &ru, &e), e, "cni_rule_spec");

		cni_ipam_configure_options io = CNI_IPAM_CONFIGURE_OPTIONS_INIT;
		io.version = bad_versions[i];
		e = NULL;
		refused(cni_ipam_configure_iface(NULL, "eth0", NULL, &io, &e), e,
			"cni_ipam_configure_options");
	}
}

static void test_skel(void **state)
{
	const char *env[] = {"CNI_COMMAND=VERSION", NULL};
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(devnull >= 0);
	for (size_t i = 0; i < 2; i++) {
		cni_error *e = NULL;
		cni_plugin_funcs f = CNI_PLUGIN_FUNCS_INIT;
		cni_skel_io io = CNI_SKEL_IO_INIT;
		io.envp = env;
		io.stdin_fd = devnull;
		io.stdout_fd = devnull;
		io.stderr_fd = devnull;
		f.version = bad_versions[i];
		refused(cni_plugin_main_io(&f, NULL, NULL, &io, &e), e, "cni_plugin_funcs");

		f.version = CNI_PLUGIN_FUNCS_VERSION;
		io.version = bad_versions[i];
		e = NULL;
		refused(cni_plugin_main_io(&f, NULL, NULL, &io, &e), e, "cni_skel_io");
	}
	close(devnull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runtime_side),
	    cmocka_unit_test(test_result_builders),
	    cmocka_unit_test(test_netlink_and_ipam),
	    cmocka_unit_test(test_skel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
