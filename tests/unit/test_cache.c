/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache.c: entries written, read back, listed and removed under a temp dir; the file's
 * bytes as the reference writes them; entries that are legacy, broken or of another kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "api-internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"
#include "json-internal.h"

#define RESULT "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}]," \
	       "\"ips\":[{\"address\":\"10.1.2.3/24\",\"interface\":0}]}"

struct fx {
	char dir[64];
	cni_config *cfg;
	cni_result *res;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cni-test-cache-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	const char *path[] = {"/nonexistent", NULL};
	cni_config_options o = CNI_CONFIG_OPTIONS_INIT;
	o.path = path;
	o.cache_dir = fx->dir;
	if (cni_config_new(&fx->cfg, &o, NULL) < 0 ||
	    cni_result_from_json(&fx->res, NULL, RESULT, strlen(RESULT), NULL) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	int r = system(cmd);
	cni_config_free(fx->cfg);
	cni_result_free(fx->res);
	free(fx);
	return r == 0 ? 0 : -1;
}

static char *read_back(const char *path)
{
	char *data = NULL;
	assert_int_equal(cni_read_file(path, 0, &data, NULL, NULL), 0);
	return data;
}

static void test_round_trip(void **state)
{
	struct fx *fx = *state;
	const char *const args[][2] = {{"K8S_POD_NAME", "web"}, {"IgnoreUnknown", "1"}};
	cni_runtime_conf rt = CNI_RUNTIME_CONF_INIT;
	rt.container_id = "c1";
	rt.ifname = "eth0";
	rt.netns = "/run/netns/x";
	rt.args = args;
	rt.n_args = 2;
	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"type\":\"ptp\"}";
	json_t *caps = json_pack("{s:[{s:i}],s:s}", "portMappings", "hostPort", 80, "a", "<&>");
	assert_non_null(caps);
	assert_int_equal(cni_cache_add(fx->cfg, fx->res, conf, strlen(conf), "net", &rt, caps, NULL),
			 0);
	json_decref(caps);

	_cleanup_free_ char *path = NULL;
	assert_int_equal(cni_cache_file_path(fx->cfg, "net", &rt, &path, NULL), 0);
	_cleanup_free_ char *want = cni_strdupf("%s/results/net-c1-eth0", fx->dir);
	assert_string_equal(path, want);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	_cleanup_free_ char *results = cni_strdupf("%s/results", fx->dir);
	assert_int_equal(stat(results, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* the bytes, as Go's libcni writes them: struct order, maps sorted, Go escapes */
	_cleanup_free_ char *b64 = cni_base64_encode(conf, strlen(conf));
	_cleanup_free_ char *entry = cni_strdupf(
	    "{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"config\":\"%s\",\"ifName\":\"eth0\","
	    "\"networkName\":\"net\",\"netns\":\"/run/netns/x\","
	    "\"cniArgs\":[[\"K8S_POD_NAME\",\"web\"],[\"IgnoreUnknown\",\"1\"]],"
	    "\"capabilityArgs\":{\"a\":\"\\u003c\\u0026\\u003e\",\"portMappings\":[{\"hostPort\":80}]},"
	    "\"result\":{\"cniVersion\":\"1.0.0\",\"dns\":{},\"interfaces\":[{\"name\":\"eth0\"}],"
	    "\"ips\":[{\"address\":\"10.1.2.3/24\",\"interface\":0}]}}",
	    b64);
	_cleanup_free_ char *data = read_back(path);
	assert_string_equal(data, entry);

	/* the result, converted on the way out */
	cni_result *r = NULL;
	assert_int_equal(cni_cache_get_result(fx->cfg, "net", "0.4.0", &rt, &r, NULL), 0);
	assert_non_null(r);
	assert_string_equal(cni_result_version(r), "0.4.0");
	assert_int_equal(cni_result_ip_count(r), 1);
	cni_result_free(r);

	/* the config and arguments */
	cni_attachment *a = NULL;
	assert_int_equal(cni_cache_get_config(fx->cfg, "net", &rt, &a, NULL), 0);
	assert_non_null(a);
	size_t len = 0;
	assert_memory_equal(cni_attachment_config(a, &len), conf, strlen(conf));
	assert_int_equal(len, strlen(conf));
	assert_string_equal(cni_attachment_container_id(a), "c1");
	assert_string_equal(cni_attachment_network(a), "net");
	assert_string_equal(cni_attachment_ifname(a), "eth0");
	assert_string_equal(cni_attachment_netns(a), "/run/netns/x");
	assert_int_equal(cni_attachment_arg_count(a), 2);
	assert_string_equal(cni_attachment_arg_key(a, 1), "IgnoreUnknown");
	assert_string_equal(cni_attachment_arg_value(a, 0), "web");
	/* re-encoded as Go re-encodes the map it decoded: sorted, Go's escapes */
	assert_string_equal(cni_attachment_capability_args(a),
			    "{\"a\":\"\\u003c\\u0026\\u003e\",\"portMappings\":[{\"hostPort\":80}]}");
	cni_attachment_free(a);

	/* listed, then gone */
	cni_attachment **list = NULL;
	size_t n = 0;
	assert_int_equal(cni_get_cached_attachments(fx->cfg, "c1", &list, &n, NULL), 0);
	assert_int_equal(n, 1);
	cni_attachments_free(list);
	cni_cache_del(fx->cfg, "net", &rt);
	assert_int_equal(access(path, F_OK), -1);
	r = (cni_result *)1;
	assert_int_equal(cni_cache_get_result(fx->cfg, "net", "1.0.0", &rt, &r, NULL), 0);
	assert_null(r);
	a = (cni_attachment *)1;
	assert_int_equal(cni_cache_get_config(fx->cfg, "net", &rt, &a, NULL), 0);
	assert_null(a);
	cni_cache_del(fx->cfg, "net", &rt); /* again: nothing to do, no error */
}

static void test_paths(void **state)
{
	struct fx *fx = *state;
	cni_runtime_conf rt = CNI_RUNTIME_CONF_INIT;
	cni_error *e = NULL;
	char *p = NULL;
	rt.container_id = "c1";
	assert_int_equal(cni_cache_file_path(fx->cfg, "net", &rt, &p, &e), -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "cache file path requires network name (\"net\"), "
					      "container ID (\"c1\"), and interface name (\"\")");
	cni_error_free(e);
	e = NULL;
	rt.ifname = "eth0";
	assert_int_equal(cni_cache_file_path(fx->cfg, "../net", &rt, &p, &e), -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "cache file name ../net-c1-eth0 must not contain '/'");
	cni_error_free(e);
	e = NULL;
	/* an add that cannot name its file writes nothing */
	rt.container_id = "a/b";
	assert_int_equal(cni_cache_add(fx->cfg, fx->res, "{}", 2, "net", &rt, NULL, &e),
			 -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	_cleanup_free_ char *results = cni_strdupf("%s/results", fx->dir);
	assert_int_equal(access(results, F_OK), -1);
	assert_null(p);

	/* whose dir: the config's, else the runtime's, else the default */
	const char *path[] = {"/nonexistent", NULL};
	cni_config_options o = CNI_CONFIG_OPTIONS_INIT;
	o.path = path;
	cni_config *plain = NULL;
	assert_int_equal(cni_config_new(&plain, &o, NULL), 0);
	assert_string_equal(cni_cache_dir(plain, NULL), CNI_DEFAULT_CACHE_DIR);
	rt.cache_dir = "/tmp/rt";
	assert_string_equal(cni_cache_dir(plain, &rt), "/tmp/rt");
	assert_string_equal(cni_cache_dir(fx->cfg, &rt), fx->dir);
	cni_config_free(plain);
}

/* Entries written by hand: legacy (a plain result), broken, another kind, no result. */
static void test_odd_entries(void **state)
{
	struct fx *fx = *state;
	cni_runtime_conf rt = CNI_RUNTIME_CONF_INIT;
	rt.container_id = "c2";
	rt.ifname = "eth1";
	rt.netns = "/run/netns/y";
	_cleanup_free_ char *results = cni_strdupf("%s/results", fx->dir);
	_cleanup_free_ char *path = cni_strdupf("%s/net-c2-eth1", results);
	assert_int_equal(cni_mkdir_p(results, 0700, NULL), 0);
	cni_result *r = NULL;
	cni_attachment *a = NULL;
	cni_error *e = NULL;

	/* before cniCacheV1 the file held the result itself */
	assert_int_equal(cni_file_write_atomic(path, RESULT, strlen(RESULT), 0600, 0, NULL), 0);
	assert_int_equal(cni_cache_get_result(fx->cfg, "net", "1.0.0", &rt, &r, NULL), 0);
	assert_int_equal(cni_result_ip_count(r), 1);
	cni_result_free(r);
	r = NULL;
	/* ... which has no config to give */
	assert_int_equal(cni_cache_get_config(fx->cfg, "net", &rt, &a, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "read cached network \"net\" config has wrong kind: ");
	cni_error_free(e);
	e = NULL;
	/* a version it cannot be converted to */
	assert_true(cni_cache_get_result(fx->cfg, "net", "9.9.9", &rt, &r, &e) < 0);
	assert_null(r);
	assert_non_null(strstr(cni_error_msg(e),
			       "failed to convert cached result to config version \"9.9.9\""));
	cni_error_free(e);
	e = NULL;

	const char *broken = "{\"kind\":\"cniCacheV1\",\"config\":\"!!\"}";
	assert_int_equal(cni_file_write_atomic(path, broken, strlen(broken), 0600, 0, NULL), 0);
	assert_int_equal(cni_cache_get_config(fx->cfg, "net", &rt, &a, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "is not a valid cache entry"));
	cni_error_free(e);
	e = NULL;

	/* a V1 entry with no result, and only the kind: the rest from the caller */
	const char *bare = "{\"kind\":\"cniCacheV1\"}";
	assert_int_equal(cni_file_write_atomic(path, bare, strlen(bare), 0600, 0, NULL), 0);
	assert_int_equal(cni_cache_get_result(fx->cfg, "net", "1.0.0", &rt, &r, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "holds no result"));
	cni_error_free(e);
	e = NULL;
	const char *const args[][2] = {{"A", "1"}};
	rt.args = args;
	rt.n_args = 1;
	assert_int_equal(cni_cache_get_config(fx->cfg, "net", &rt, &a, NULL), 0);
	assert_string_equal(cni_attachment_container_id(a), "c2");
	assert_string_equal(cni_attachment_ifname(a), "eth1");
	assert_string_equal(cni_attachment_network(a), "net");
	assert_string_equal(cni_attachment_netns(a), "/run/netns/y");
	assert_int_equal(cni_attachment_arg_count(a), 1);
	assert_string_equal(cni_attachment_arg_value(a, 0), "1");
	cni_attachment_free(a);

	/* not JSON: for the result as if a legacy entry failed to parse */
	assert_int_equal(cni_file_write_atomic(path, "garbage", 7, 0600, 0, NULL), 0);
	assert_true(cni_cache_get_result(fx->cfg, "net", "1.0.0", &rt, &r, &e) < 0);
	assert_null(r);
	cni_error_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_entries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
