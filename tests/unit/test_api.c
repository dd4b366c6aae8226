/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime API against cni-test-plugin: what each plugin receives (stdin, env) is read
 * back from the plugin's record file, the cache from disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api-internal.h"
#include "conf-internal.h"
#include "buf-internal.h"
#include "file-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

#define PLUGIN "cni-test-plugin"

struct fx {
	char dir[256];
	char cache[300];
	char record[300];
	cni_config *cfg;
};

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static int fx_setup_env(void **state, const char *const *env, unsigned int timeout_ms)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *path[] = {"/nonexistent-cni-dir", CNI_TEST_PLUGIN_DIR, NULL};
	cni_config_options o = CNI_CONFIG_OPTIONS_INIT;

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/cni-test-api-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->cache, sizeof(fx->cache), "%s/cache", fx->dir);
	snprintf(fx->record, sizeof(fx->record), "%s/record", fx->dir);
	o.path = path;
	o.cache_dir = fx->cache;
	o.timeout_ms = timeout_ms;
	o.base_env = env;
	assert_int_equal(cni_config_new(&fx->cfg, &o, NULL), 0);
	*state = fx;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_env(state, NULL, 0);
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	cni_config_free(fx->cfg);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static cni_conflist *list_from(const char *fmt, ...) CNI_PRINTF(1, 2);
static cni_conflist *list_from(const char *fmt, ...)
{
	char *text = NULL;
	cni_conflist *l = NULL;
	cni_error *e = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	if (cni_conflist_from_bytes(&l, text, strlen(text), &e) < 0)
		fail_msg("bad list %s: %s", text, cni_error_msg(e));
	free(text);
	return l;
}

static cni_conf *conf_from(const char *fmt, ...) CNI_PRINTF(1, 2);
static cni_conf *conf_from(const char *fmt, ...)
{
	char *text = NULL;
	cni_conf *c = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	assert_int_equal(cni_conf_from_bytes(&c, text, strlen(text), NULL), 0);
	free(text);
	return c;
}

/* The plugin's record file as an array of call objects (empty when absent). */
static json_t *records(struct fx *fx)
{
	json_t *arr = json_array();
	FILE *f = fopen(fx->record, "re");
	char *line = NULL;
	size_t cap = 0;

	while (f && getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		json_array_append_new(arr, j);
	}
	free(line);
	if (f)
		fclose(f);
	return arr;
}

static void clear_records(struct fx *fx)
{
	unlink(fx->record);
}

static const char *rec_str(json_t *recs, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(recs, i), key));
}

static json_t *rec_config(json_t *recs, size_t i)
{
	return json_object_get(json_array_get(recs, i), "config");
}

static const char *rec_marker(json_t *recs, size_t i)
{
	return json_string_value(json_object_get(rec_config(recs, i), "marker"));
}

static bool rec_has_env(json_t *recs, size_t i, const char *kv)
{
	json_t *env = json_object_get(json_array_get(recs, i), "environ"), *v;
	size_t k;
	json_array_foreach(env, k, v) if (streq(json_string_value(v), kv)) return true;
	return false;
}

static char *cache_file(struct fx *fx, const char *net, const char *id, const char *ifname)
{
	return cni_strdupf("%s/results/%s-%s-%s", fx->cache, net, id, ifname);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define RESULT_A                                                                                   \
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"}],"       \
	"\"ips\":[{\"address\":\"10.1.0.2/24\",\"interface\":0}],\"dns\":{}}"

/* A three-plugin list: a prints RESULT_A, b echoes its prevResult, c the same. */
static cni_conflist *chain_list(struct fx *fx, const char *version, const char *extra)
{
	return list_from("{\"cniVersion\":\"%s\",\"name\":\"net1\"%s,\"plugins\":["
			 "{\"type\":\"" PLUGIN "\",\"marker\":\"a\",\"recordFile\":\"%s\","
			 "\"testBehavior\":\"result\",\"testResult\":" RESULT_A ","
			 "\"capabilities\":{\"portMappings\":true,\"mac\":false}},"
			 "{\"type\":\"" PLUGIN "\",\"marker\":\"b\",\"recordFile\":\"%s\","
			 "\"testBehavior\":\"result\",\"zeta\":{\"b\":1,\"a\":2.5}},"
			 "{\"type\":\"" PLUGIN
			 "\",\"name\":\"cee\",\"marker\":\"c\",\"recordFile\":\"%s\","
			 "\"testBehavior\":\"result\",\"capabilities\":{\"bandwidth\":true}}]}",
			 version, extra ? extra : "", fx->record, fx->record, fx->record);
}

static const char *const ABC[] = {"a", "b", "c"};
static const char *const CBA[] = {"c", "b", "a"};

static const char *const rt_args[][2] = {{"IgnoreUnknown", "1"}, {"K8S_POD_NAME", "p<1>"}};

static cni_runtime_conf make_rt(const char *id, const char *ifname)
{
	cni_runtime_conf rt = CNI_RUNTIME_CONF_INIT;
	rt.container_id = id;
	rt.netns = "/var/run/netns/test";
	rt.ifname = ifname;
	rt.args = rt_args;
	rt.n_args = 2;
	rt.capability_args = "{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,"
			     "\"protocol\":\"tcp\"}],\"mac\":\"c2:11:22:33:44:55\","
			     "\"ips\":[\"10.1.0.9/24\"]}";
	return rt;
}

/* ---- config ----------------------------------------------------------------------------- */

static void test_config_new(void **state)
{
	cni_config *cfg = NULL;
	cni_error *e = NULL;
	cni_config_options o = CNI_CONFIG_OPTIONS_INIT;
	const char *path[] = {"/a", "/b", NULL};

	assert_int_equal(cni_config_new(&cfg, NULL, NULL), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_config_new(&cfg, &o, &e), -CNI_ERR_INVALID_ARG);
	assert_non_null(strstr(cni_error_msg(e), "path"));
	cni_error_free(e);
	o.path = path;
	o.version = 99;
	assert_int_equal(cni_config_new(&cfg, &o, NULL), -CNI_ERR_INVALID_ARG);
	assert_null(cfg);
	o.version = CNI_CONFIG_OPTIONS_VERSION;
	assert_int_equal(cni_config_new(&cfg, &o, NULL), 0);
	assert_string_equal(cfg->path_joined, "/a:/b");
	assert_null(cfg->cache_dir);
	/* Cache dir: the config's, else the runtime conf's, else the default. */
	cni_runtime_conf rt = CNI_RUNTIME_CONF_INIT;
	assert_string_equal(cni_cache_dir(cfg, &rt), CNI_DEFAULT_CACHE_DIR);
	rt.cache_dir = "/rt";
	assert_string_equal(cni_cache_dir(cfg, &rt), "/rt");
	cni_config_free(cfg);
	o.cache_dir = "/cfg";
	assert_int_equal(cni_config_new(&cfg, &o, NULL), 0);
	assert_string_equal(cni_cache_dir(cfg, &rt), "/cfg");
	cni_config_free(cfg);
	cni_config_free(NULL);
}

/* ---- Go-style JSON ---------------------------------------------------------------------- */

static void check_go_json(const char *in, const char *want)
{
	json_t *j = json_loads(in, JSON_DECODE_ANY, NULL);
	cni_buf b = CNI_BUF_INIT;
	assert_non_null(j);
	assert_int_equal(cni_json_append_go(&b, j, CNI_GOJSON_SORTED), 0);
	assert_string_equal(b.data, want);
	/* a config decoded into a map (float64 numbers) re-encodes as Go does */
	char *other = cni_json_marshal_go(j);
	assert_non_null(other);
	json_t *again = NULL;
	assert_int_equal(cni_json_parse_go(in, strlen(in), "t", &again, NULL), 0);
	char *o2 = cni_json_marshal_go(again);
	assert_string_equal(o2, want);
	free(o2);
	json_decref(again);
	free(other);
	cni_buf_free(&b);
	json_decref(j);
}

static void test_go_json(void **state)
{
	check_go_json("{\"b\":1,\"a\":{\"y\":true,\"x\":null}}",
		      "{\"a\":{\"x\":null,\"y\":true},\"b\":1}");
	check_go_json("\"<a&b>\\u2028\\u2029\\u0008\\f\\n\\t\\\"\\\\é\"",
		      "\"\\u003ca\\u0026b\\u003e\\u2028\\u2029\\u0008\\u000c\\n\\t\\\"\\\\é\"");
	check_go_json("[1.5,100.0,1e21,1e20,1e-7,0.000001,-0.0,123456789.125,0.1,-2.5e-10]",
		      "[1.5,100,1e+21,100000000000000000000,1e-7,0.000001,-0,123456789.125,0.1,"
		      "-2.5e-10]");
	check_go_json("[]", "[]");
	check_go_json("{}", "{}");
	check_go_json("{\"B\":1,\"a\":2,\"_\":3}", "{\"B\":1,\"_\":3,\"a\":2}");

	/* Struct order when not sorted. */
	json_t *j = json_loads("{\"b\":1,\"a\":{\"d\":1,\"c\":2}}", 0, NULL);
	cni_buf b = CNI_BUF_INIT;
	assert_int_equal(cni_json_append_go(&b, j, 0), 0);
	assert_string_equal(b.data, "{\"b\":1,\"a\":{\"d\":1,\"c\":2}}");
	cni_buf_free(&b);
	json_decref(j);
}

/* ---- request building ------------------------------------------------------------------- */

static char *request(const cni_conf *c, const char *name, const char *version,
		     const cni_result *prev, const char *caps, const char *gc)
{
	json_t *cj = caps ? json_loads(caps, 0, NULL) : NULL;
	json_t *gj = gc ? json_loads(gc, 0, NULL) : NULL;
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(cni_api_build_request(c, name, version, prev, cj, gj, &out, &len, NULL),
			 0);
	assert_int_equal(strlen(out), len);
	json_decref(cj);
	json_decref(gj);
	return out;
}

static void test_build_request(void **state)
{
	cni_conf *c = conf_from("{\"type\":\"t\",\"name\":\"old\",\"cniVersion\":\"0.3.1\","
				"\"z\":{\"b\":1.0,\"a\":\"<\"},\"capabilities\":{\"portMappings\":"
				"true,\"mac\":false,\"ips\":true},\"runtimeConfig\":{\"x\":1}}");
	cni_result *prev = NULL;
	char *r;

	/* name and cniVersion replaced, keys sorted, nested maps sorted, numbers as Go. */
	r = request(c, "net", "1.0.0", NULL, NULL, NULL);
	assert_string_equal(r, "{\"capabilities\":{\"ips\":true,\"mac\":false,\"portMappings\":"
			       "true},\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"runtimeConfig\":"
			       "{\"x\":1},\"type\":\"t\",\"z\":{\"a\":\"\\u003c\",\"b\":1}}");
	free(r);

	/* Only declared and enabled capabilities reach runtimeConfig (which replaces any). */
	r = request(c, "net", "1.0.0", NULL,
		    "{\"portMappings\":[{\"hostPort\":1}],\"mac\":\"m\",\"bandwidth\":{}}", NULL);
	assert_non_null(strstr(r, "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":1}]}"));
	free(r);
	/* No matching capability: no runtimeConfig injected, the config's own stays. */
	r = request(c, "net", "1.0.0", NULL, "{\"bandwidth\":{}}", NULL);
	assert_non_null(strstr(r, "\"runtimeConfig\":{\"x\":1}"));
	free(r);

	/* prevResult keeps the result's field order unless runtimeConfig is injected too. */
	assert_int_equal(cni_result_from_json(&prev, NULL, RESULT_A, strlen(RESULT_A), NULL), 0);
	r = request(c, "net", "1.0.0", prev, NULL, NULL);
	assert_non_null(strstr(r, "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":"
				  "[{\"name\":\"eth0\",\"sandbox\":\"/x\"}],\"ips\":[{\"interface\""
				  ":0,\"address\":\"10.1.0.2/24\"}]"));
	free(r);
	r = request(c, "net", "1.0.0", prev, "{\"ips\":[\"10.0.0.1\"]}", NULL);
	assert_non_null(strstr(r, "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"dns\":{},"
				  "\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"}],\"ips\":"
				  "[{\"address\":\"10.1.0.2/24\",\"interface\":0}]}"));
	free(r);

	/* GC: both attachment keys, sorted before cniVersion. */
	r = request(c, "net", "1.1.0", NULL, NULL, "[{\"containerID\":\"c\",\"ifname\":\"e\"}]");
	assert_non_null(strstr(r, "\"cni.dev/attachments\":[{\"containerID\":\"c\",\"ifname\":"
				  "\"e\"}],\"cni.dev/valid-attachments\":[{\"containerID\":\"c\","
				  "\"ifname\":\"e\"}],\"cniVersion\":\"1.1.0\""));
	free(r);
	cni_result_free(prev);
	cni_conf_free(c);
}

/* ---- ADD -------------------------------------------------------------------------------- */

static void test_add_list_chain_and_cache(void **state)
{
	struct fx *fx = *state;
	cni_conflist *l = chain_list(fx, "1.0.0", NULL);
	cni_runtime_conf rt = make_rt("c1", "eth0");
	cni_result *res = NULL;
	cni_error *e = NULL;
	char *path = cache_file(fx, "net1", "c1", "eth0");
	struct stat st;

	if (cni_add_network_list(fx->cfg, l, &rt, &res, &e) < 0)
		fail_msg("add: %s", cni_error_msg(e));
	assert_non_null(res);
	assert_string_equal(cni_result_version(res), "1.0.0");
	assert_int_equal(cni_result_ip_count(res), 1);

	json_t *recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(rec_marker(recs, i), ABC[i]);
		assert_string_equal(rec_str(recs, i, "command"), "ADD");
		assert_string_equal(rec_str(recs, i, "containerId"), "c1");
		assert_string_equal(rec_str(recs, i, "ifname"), "eth0");
		assert_string_equal(rec_str(recs, i, "netns"), "/var/run/netns/test");
		assert_string_equal(rec_str(recs, i, "args"), "IgnoreUnknown=1;K8S_POD_NAME=p<1>");
		assert_string_equal(rec_str(recs, i, "path"),
				    "/nonexistent-cni-dir:" CNI_TEST_PLUGIN_DIR);
		/* name and version of the list, always. */
		assert_string_equal(json_string_value(json_object_get(rec_config(recs, i), "name")),
				    "net1");
		assert_string_equal(
		    json_string_value(json_object_get(rec_config(recs, i), "cniVersion")), "1.0.0");
	}
	/* First plugin: no prevResult, runtimeConfig with its declared capability only. */
	const char *in0 = rec_str(recs, 0, "stdin");
	assert_null(strstr(in0, "prevResult"));
	assert_non_null(strstr(in0, "\"runtimeConfig\":{\"portMappings\":[{\"containerPort\":80,"
				    "\"hostPort\":8080,\"protocol\":\"tcp\"}]}"));
	/* Second: prevResult is the first one's result, no runtimeConfig (no capabilities). */
	const char *in1 = rec_str(recs, 1, "stdin");
	assert_null(strstr(in1, "runtimeConfig"));
	assert_non_null(strstr(in1, "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":"));
	assert_non_null(strstr(in1, "\"zeta\":{\"a\":2.5,\"b\":1}"));
	/* Keys sorted as Go re-encodes a map. */
	assert_true(strstr(in1, "\"cniVersion\"") < strstr(in1, "\"marker\"") &&
		    strstr(in1, "\"marker\"") < strstr(in1, "\"name\"") &&
		    strstr(in1, "\"name\"") < strstr(in1, "\"prevResult\""));
	/* Third declared bandwidth, not given: no runtimeConfig; still has prevResult. */
	assert_null(strstr(rec_str(recs, 2, "stdin"), "runtimeConfig"));
	json_t *p2 = json_object_get(rec_config(recs, 2), "prevResult");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(p2, "ips"), 0), "address")),
			    "10.1.0.2/24");
	json_decref(recs);

	/* The cache: dir 0700, file 0600, cniCacheV1 with the list bytes in base64. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *dir = cni_strdupf("%s/results", fx->cache);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(dir);
	char *text = NULL;
	size_t tlen = 0;
	assert_int_equal(cni_read_file(path, 0, &text, &tlen, NULL), 0);
	/* Go's field order, omitempty fields present here. */
	assert_true(strncmp(text, "{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"config\":\"",
			    50) == 0);
	assert_non_null(strstr(text,
			       "\",\"ifName\":\"eth0\",\"networkName\":\"net1\",\"netns\":"
			       "\"/var/run/netns/test\",\"cniArgs\":[[\"IgnoreUnknown\",\"1\"],"
			       "[\"K8S_POD_NAME\",\"p\\u003c1\\u003e\"]],\"capabilityArgs\":{"
			       "\"ips\":[\"10.1.0.9/24\"],\"mac\":\"c2:11:22:33:44:55\","
			       "\"portMappings\":[{\"containerPort\":80,\"hostPort\":8080,"
			       "\"protocol\":\"tcp\"}]},\"result\":{\"cniVersion\":\"1.0.0\","
			       "\"dns\":{},\"interfaces\":"));
	json_t *cj = json_loads(text, 0, NULL);
	char *decoded = NULL;
	size_t dlen = 0, llen = 0;
	const char *lbytes = cni_conflist_bytes(l, &llen);
	assert_int_equal(
	    cni_base64_decode(json_string_value(json_object_get(cj, "config")), &decoded, &dlen),
	    0);
	assert_int_equal(dlen, llen);
	assert_memory_equal(decoded, lbytes, llen);
	free(decoded);
	json_decref(cj);
	free(text);

	/* Read back through the API, converted to the list's version. */
	cni_result *cached = NULL;
	assert_int_equal(cni_get_network_list_cached_result(fx->cfg, l, &rt, &cached, NULL), 0);
	assert_non_null(cached);
	assert_string_equal(cni_result_version(cached), "1.0.0");
	assert_int_equal(cni_result_ip_count(cached), 1);
	cni_result_free(cached);

	cni_attachment *a = NULL;
	assert_int_equal(cni_get_network_list_cached_config(fx->cfg, l, &rt, &a, NULL), 0);
	assert_non_null(a);
	size_t clen = 0;
	const char *cbytes = cni_attachment_config(a, &clen);
	assert_int_equal(clen, llen);
	assert_memory_equal(cbytes, lbytes, llen);
	assert_string_equal(cni_attachment_network(a), "net1");
	assert_string_equal(cni_attachment_container_id(a), "c1");
	assert_string_equal(cni_attachment_ifname(a), "eth0");
	assert_string_equal(cni_attachment_netns(a), "/var/run/netns/test");
	assert_int_equal(cni_attachment_arg_count(a), 2);
	assert_string_equal(cni_attachment_arg_key(a, 1), "K8S_POD_NAME");
	assert_string_equal(cni_attachment_arg_value(a, 1), "p<1>");
	assert_null(cni_attachment_arg_key(a, 2));
	assert_non_null(strstr(cni_attachment_capability_args(a), "\"mac\":\"c2:11:22:33:44:55\""));
	assert_non_null(strstr(cni_attachment_result(a), "\"10.1.0.2/24\""));
	cni_attachment_free(a);

	free(path);
	cni_result_free(res);
	cni_conflist_free(l);
}

static void test_add_list_errors(void **state)
{
	struct fx *fx = *state;
	cni_runtime_conf rt = make_rt("c1", "eth0");
	cni_result *res = NULL;
	cni_error *e = NULL;
	char *path = cache_file(fx, "net1", "c1", "eth0");

	/* A plugin error keeps its code and gets the reference's prefix; later plugins are
	 * not run and nothing is cached. */
	cni_conflist *l =
	    list_from("{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":["
		      "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\",\"testBehavior\":\"result\"},"
		      "{\"type\":\"" PLUGIN "\",\"name\":\"n\\\"2\",\"recordFile\":\"%s\","
		      "\"testBehavior\":\"error\",\"testCode\":123,\"testMsg\":\"boom\","
		      "\"testDetails\":\"dd\"},"
		      "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\"}]}",
		      fx->record, fx->record, fx->record);
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, &e), -123);
	assert_null(res);
	assert_int_equal(cni_error_code(e), 123);
	assert_string_equal(cni_error_msg(e),
			    "plugin type=\"" PLUGIN "\" name=\"n\\\"2\" failed (add): boom");
	assert_string_equal(cni_error_details(e), "dd");
	cni_error_free(e);
	e = NULL;
	json_t *recs = records(fx);
	assert_int_equal(json_array_size(recs), 2);
	json_decref(recs);
	assert_int_equal(access(path, F_OK), -1);
	/* Without an error object the code still comes back. */
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, NULL), -123);
	cni_conflist_free(l);

	/* Missing plugin: the find error, prefixed, no name part when the plugin has none. */
	l = list_from("{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":["
		      "{\"type\":\"no-such-plugin\"}]}");
	assert_true(cni_add_network_list(fx->cfg, l, &rt, &res, &e) < 0);
	assert_true(strncmp(cni_error_msg(e),
			    "plugin type=\"no-such-plugin\" failed (add): failed to find plugin",
			    63) == 0);
	cni_error_free(e);
	e = NULL;
	cni_conflist_free(l);

	/* Identifier validation (after the plugin is found, as the reference). */
	l = list_from("{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":["
		      "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\"}]}",
		      fx->record);
	clear_records(fx);
	rt.container_id = "";
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, &e), -3);
	assert_non_null(strstr(cni_error_msg(e), "missing containerID"));
	cni_error_free(e);
	e = NULL;
	rt.container_id = "bad/id";
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, NULL), -4);
	rt.container_id = "c1";
	rt.ifname = "this-name-is-too-long";
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, NULL), -4);
	rt.ifname = "eth0";
	rt.capability_args = "[1,2]";
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, NULL),
			 -CNI_ERR_DECODING_FAILURE);
	rt.capability_args = NULL;
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 0);
	json_decref(recs);

	/* API misuse. */
	cni_runtime_conf bad = rt;
	bad.version = 7;
	assert_int_equal(cni_add_network_list(fx->cfg, l, &bad, &res, NULL), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_add_network_list(fx->cfg, l, NULL, &res, NULL), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_add_network_list(NULL, l, &rt, &res, NULL), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, NULL, NULL), -CNI_ERR_INVALID_ARG);
	bad = rt;
	bad.n_args = 1;
	bad.args = NULL;
	assert_int_equal(cni_add_network_list(fx->cfg, l, &bad, &res, NULL), -CNI_ERR_INVALID_ARG);
	cni_conflist_free(l);
	free(path);
}

static int fx_setup_timeout(void **state)
{
	return fx_setup_env(state, NULL, 300);
}

/* The config's timeout reaches the exec: a hanging plugin is killed. */
static void test_add_timeout(void **state)
{
	struct fx *fx = *state;
	cni_runtime_conf rt = make_rt("c1", "eth0");
	cni_result *res = NULL;
	cni_error *e = NULL;
	cni_conflist *l = list_from("{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":["
				    "{\"type\":\"" PLUGIN "\",\"testBehavior\":\"hang\"}]}");

	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, &e), -CNI_ERR_TIMEOUT);
	assert_true(strncmp(cni_error_msg(e), "plugin type=\"" PLUGIN "\" failed (add): ", 44) ==
		    0);
	cni_error_free(e);
	cni_conflist_free(l);
}

/* ---- CHECK ------------------------------------------------------------------------------ */

static void test_check_list(void **state)
{
	struct fx *fx = *state;
	cni_runtime_conf rt = make_rt("c1", "eth0");
	cni_result *res = NULL;
	cni_error *e = NULL;
	json_t *recs;

	/* Version < 0.4.0: refused with the reference's text. */
	cni_conflist *old = chain_list(fx, "0.3.1", NULL);
	assert_int_equal(cni_check_network_list(fx->cfg, old, &rt, &e),
			 -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_string_equal(cni_error_msg(e),
			    "configuration version \"0.3.1\" does not support the CHECK command");
	cni_error_free(e);
	e = NULL;
	cni_conflist_free(old);

	/* disableCheck: nothing runs. */
	cni_conflist *dis = chain_list(fx, "1.0.0", ",\"disableCheck\":true");
	assert_int_equal(cni_check_network_list(fx->cfg, dis, &rt, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 0);
	json_decref(recs);
	cni_conflist_free(dis);

	/* No cache: CHECK runs without prevResult. */
	cni_conflist *l = chain_list(fx, "1.0.0", NULL);
	assert_int_equal(cni_check_network_list(fx->cfg, l, &rt, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	assert_null(json_object_get(rec_config(recs, 0), "prevResult"));
	json_decref(recs);
	clear_records(fx);

	/* After ADD: forward order, each gets the cached result, runtimeConfig as ADD. */
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, NULL), 0);
	cni_result_free(res);
	clear_records(fx);
	assert_int_equal(cni_check_network_list(fx->cfg, l, &rt, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(rec_str(recs, i, "command"), "CHECK");
		assert_string_equal(rec_marker(recs, i), ABC[i]);
		json_t *p = json_object_get(rec_config(recs, i), "prevResult");
		assert_string_equal(json_string_value(json_object_get(p, "cniVersion")), "1.0.0");
	}
	assert_non_null(strstr(rec_str(recs, 0, "stdin"), "\"runtimeConfig\":{\"portMappings\""));
	json_decref(recs);
	clear_records(fx);

	/* The first failure stops CHECK and comes back as the plugin sent it. */
	cni_conflist *fl =
	    list_from("{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":["
		      "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\",\"testBehavior\":{\"CHECK\":"
		      "\"error\"},\"testCode\":11,\"testMsg\":\"later\"},"
		      "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\"}]}",
		      fx->record, fx->record);
	assert_int_equal(cni_check_network_list(fx->cfg, fl, &rt, &e), -11);
	assert_string_equal(cni_error_msg(e), "later");
	cni_error_free(e);
	e = NULL;
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 1);
	json_decref(recs);

	/* A cache entry that cannot be read as a result fails CHECK. */
	char *path = cache_file(fx, "net1", "c1", "eth0");
	write_text(path, "{\"kind\":\"cniCacheV1\",\"result\":{\"cniVersion\":\"9.9.9\"}}");
	assert_true(cni_check_network_list(fx->cfg, l, &rt, &e) < 0);
	assert_true(
	    strncmp(cni_error_msg(e), "failed to get network \"net1\" cached result: ", 44) == 0);
	cni_error_free(e);
	free(path);
	cni_conflist_free(fl);
	cni_conflist_free(l);
}

/* ---- DEL -------------------------------------------------------------------------------- */

static void test_del_list(void **state)
{
	struct fx *fx = *state;
	cni_runtime_conf rt = make_rt("c1", "eth0");
	cni_result *res = NULL;
	cni_error *e = NULL;
	char *path = cache_file(fx, "net1", "c1", "eth0");
	json_t *recs;

	cni_conflist *l = chain_list(fx, "1.0.0", NULL);
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, NULL), 0);
	cni_result_free(res);
	clear_records(fx);
	assert_int_equal(access(path, F_OK), 0);

	/* Reverse order, cached result as prevResult, cache removed afterwards. */
	assert_int_equal(cni_del_network_list(fx->cfg, l, &rt, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(rec_str(recs, i, "command"), "DEL");
		assert_string_equal(rec_marker(recs, i), CBA[i]);
		assert_non_null(json_object_get(rec_config(recs, i), "prevResult"));
		assert_true(rec_has_env(recs, i, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=p<1>"));
	}
	json_decref(recs);
	clear_records(fx);
	assert_int_equal(access(path, F_OK), -1);

	/* Again, without a cache: still succeeds, without prevResult. */
	assert_int_equal(cni_del_network_list(fx->cfg, l, &rt, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	assert_null(json_object_get(rec_config(recs, 0), "prevResult"));
	json_decref(recs);
	clear_records(fx);

	/* A broken cache entry: DEL goes on without prevResult and the entry goes away. */
	char *dir = cni_strdupf("%s/results", fx->cache);
	assert_int_equal(cni_mkdir_p(dir, 0700, NULL), 0);
	free(dir);
	write_text(path, "{not json");
	assert_int_equal(cni_del_network_list(fx->cfg, l, &rt, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	assert_null(json_object_get(rec_config(recs, 0), "prevResult"));
	json_decref(recs);
	clear_records(fx);
	assert_int_equal(access(path, F_OK), -1);
	cni_conflist_free(l);

	/* Before 0.4.0 DEL gets no prevResult even with a cache. */
	cni_conflist *old = chain_list(fx, "0.3.1", NULL);
	assert_int_equal(cni_add_network_list(fx->cfg, old, &rt, &res, NULL), 0);
	cni_result_free(res);
	clear_records(fx);
	assert_int_equal(cni_del_network_list(fx->cfg, old, &rt, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	for (size_t i = 0; i < 3; i++)
		assert_null(json_object_get(rec_config(recs, i), "prevResult"));
	json_decref(recs);
	clear_records(fx);
	cni_conflist_free(old);

	/* A failing plugin: prefixed "(delete)", its code kept, the cache kept. */
	cni_conflist *fl = list_from(
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":["
	    "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\",\"testBehavior\":\"result\"},"
	    "{\"type\":\"" PLUGIN "\",\"name\":\"x\",\"recordFile\":\"%s\",\"testBehavior\":"
	    "{\"DEL\":\"error\",\"*\":\"result\"},\"testCode\":7,\"testMsg\":\"no\"}]}",
	    fx->record, fx->record);
	assert_int_equal(cni_add_network_list(fx->cfg, fl, &rt, &res, NULL), 0);
	cni_result_free(res);
	clear_records(fx);
	assert_int_equal(cni_del_network_list(fx->cfg, fl, &rt, &e), -7);
	assert_string_equal(cni_error_msg(e),
			    "plugin type=\"" PLUGIN "\" name=\"x\" failed (delete): no");
	cni_error_free(e);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 1);
	json_decref(recs);
	assert_int_equal(access(path, F_OK), 0);
	cni_conflist_free(fl);
	free(path);
}

/* ---- single networks -------------------------------------------------------------------- */

static void test_single_network(void **state)
{
	struct fx *fx = *state;
	cni_runtime_conf rt = make_rt("c9", "net0");
	cni_result *res = NULL;
	cni_error *e = NULL;
	json_t *recs;
	cni_conf *c = conf_from("{\"cniVersion\":\"0.4.0\",\"name\":\"single\",\"type\":\"" PLUGIN
				"\",\"recordFile\":\"%s\",\"testBehavior\":\"result\","
				"\"testResult\":" RESULT_A ",\"capabilities\":{\"mac\":true}}",
				fx->record);
	char *path = cache_file(fx, "single", "c9", "net0");

	assert_int_equal(cni_add_network(fx->cfg, c, &rt, &res, NULL), 0);
	assert_string_equal(cni_result_version(res), "0.4.0");
	cni_result_free(res);
	assert_int_equal(access(path, F_OK), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 1);
	assert_non_null(
	    strstr(rec_str(recs, 0, "stdin"), "\"runtimeConfig\":{\"mac\":\"c2:11:22:33:44:55\"}"));
	json_decref(recs);
	clear_records(fx);

	/* The cache holds the config's own bytes. */
	cni_attachment *a = NULL;
	size_t clen = 0, blen = 0;
	assert_int_equal(cni_get_network_cached_config(fx->cfg, c, &rt, &a, NULL), 0);
	const char *cb = cni_attachment_config(a, &clen);
	const char *bb = cni_conf_bytes(c, &blen);
	assert_int_equal(clen, blen);
	assert_memory_equal(cb, bb, blen);
	cni_attachment_free(a);
	cni_result *cached = NULL;
	assert_int_equal(cni_get_network_cached_result(fx->cfg, c, &rt, &cached, NULL), 0);
	assert_string_equal(cni_result_version(cached), "0.4.0");
	cni_result_free(cached);

	assert_int_equal(cni_check_network(fx->cfg, c, &rt, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 1);
	assert_string_equal(rec_str(recs, 0, "command"), "CHECK");
	assert_non_null(json_object_get(rec_config(recs, 0), "prevResult"));
	json_decref(recs);
	clear_records(fx);

	assert_int_equal(cni_del_network(fx->cfg, c, &rt, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 1);
	assert_string_equal(rec_str(recs, 0, "command"), "DEL");
	assert_non_null(json_object_get(rec_config(recs, 0), "prevResult"));
	json_decref(recs);
	assert_int_equal(access(path, F_OK), -1);

	/* A config without a name cannot be added: code 7. */
	cni_conf *nameless = conf_from("{\"cniVersion\":\"0.4.0\",\"type\":\"" PLUGIN "\"}");
	assert_int_equal(cni_add_network(fx->cfg, nameless, &rt, &res, &e),
			 -CNI_ERR_INVALID_NETWORK_CONFIG);
	assert_non_null(strstr(cni_error_msg(e), "missing network name"));
	cni_error_free(e);
	e = NULL;
	cni_conf_free(nameless);

	/* CHECK of an old single config is refused; a plugin error is not prefixed. */
	cni_conf *old =
	    conf_from("{\"cniVersion\":\"0.3.0\",\"name\":\"o\",\"type\":\"" PLUGIN "\"}");
	assert_int_equal(cni_check_network(fx->cfg, old, &rt, NULL),
			 -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	cni_conf_free(old);
	cni_conf *bad =
	    conf_from("{\"cniVersion\":\"1.0.0\",\"name\":\"o\",\"type\":\"" PLUGIN
		      "\",\"testBehavior\":\"error\",\"testCode\":130,\"testMsg\":\"m\"}");
	assert_int_equal(cni_del_network(fx->cfg, bad, &rt, &e), -130);
	assert_string_equal(cni_error_msg(e), "m");
	cni_error_free(e);
	cni_conf_free(bad);
	free(path);
	cni_conf_free(c);
}

/* ---- cache readers ---------------------------------------------------------------------- */

static void test_cached_result_formats(void **state)
{
	struct fx *fx = *state;
	cni_runtime_conf rt = make_rt("c1", "eth0");
	cni_result *res = NULL;
	cni_attachment *a = NULL;
	cni_error *e = NULL;
	char *path = cache_file(fx, "net1", "c1", "eth0");
	char *dir = cni_strdupf("%s/results", fx->cache);
	cni_conflist *l = chain_list(fx, "1.0.0", NULL);

	/* Nothing cached: NULL, no error. */
	assert_int_equal(cni_get_network_list_cached_result(fx->cfg, l, &rt, &res, NULL), 0);
	assert_null(res);
	assert_int_equal(cni_get_network_list_cached_config(fx->cfg, l, &rt, &a, NULL), 0);
	assert_null(a);

	/* The legacy format (a plain result), converted to the list's version. */
	assert_int_equal(cni_mkdir_p(dir, 0700, NULL), 0);
	write_text(path, "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.5/24\"}}");
	assert_int_equal(cni_get_network_list_cached_result(fx->cfg, l, &rt, &res, NULL), 0);
	assert_non_null(res);
	assert_string_equal(cni_result_version(res), "1.0.0");
	cni_ip ip = CNI_IP_INIT;
	assert_int_equal(cni_result_get_ip(res, 0, &ip), 0);
	assert_string_equal(ip.address, "10.0.0.5/24");
	cni_result_free(res);
	res = NULL;
	/* ... but it is no cniCacheV1 entry for the config readers. */
	assert_int_equal(cni_get_network_list_cached_config(fx->cfg, l, &rt, &a, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e),
			    "read cached network \"net1\" config has wrong kind: ");
	cni_error_free(e);
	e = NULL;

	/* A cniCacheV1 entry as Go writes it (no netns), result converted down. */
	write_text(path, "{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"config\":\"e30=\","
			 "\"ifName\":\"eth0\",\"networkName\":\"net1\",\"result\":{\"cniVersion\":"
			 "\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.6/24\"}],\"dns\":{}}}");
	cni_conflist *l031 = chain_list(fx, "0.3.1", NULL);
	assert_int_equal(cni_get_network_list_cached_result(fx->cfg, l031, &rt, &res, NULL), 0);
	assert_string_equal(cni_result_version(res), "0.3.1");
	cni_result_free(res);
	res = NULL;
	/* Empty entry fields come from the runtime conf; args too when the entry has none. */
	assert_int_equal(cni_get_network_list_cached_config(fx->cfg, l, &rt, &a, NULL), 0);
	size_t clen = 0;
	assert_string_equal(cni_attachment_config(a, &clen), "{}");
	assert_int_equal(clen, 2);
	assert_string_equal(cni_attachment_netns(a), "/var/run/netns/test");
	assert_int_equal(cni_attachment_arg_count(a), 2);
	assert_null(cni_attachment_capability_args(a));
	cni_attachment_free(a);
	a = NULL;

	/* Unconvertible: the reference's message. */
	cni_conflist *l010 = chain_list(fx, "0.1.0", NULL);
	write_text(path, "{\"kind\":\"cniCacheV1\",\"result\":{\"cniVersion\":\"1.0.0\"}}");
	assert_true(cni_get_network_list_cached_result(fx->cfg, l010, &rt, &res, &e) < 0);
	assert_true(strncmp(cni_error_msg(e),
			    "failed to convert cached result to config version \"0.1.0\": ", 59) ==
		    0);
	cni_error_free(e);
	e = NULL;

	/* Garbage: unreadable for both readers. */
	write_text(path, "{\"kind\":\"cniCacheV1\",\"config\":\"not base64!\"}");
	assert_int_equal(cni_get_network_list_cached_config(fx->cfg, l, &rt, &a, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "failed to unmarshal cached network \"net1\""));
	cni_error_free(e);
	e = NULL;
	/* ... while the result reader falls back to the legacy format, as Go does: an object
	 * without cniVersion is an (empty) 0.1.0 result. */
	assert_int_equal(cni_get_network_list_cached_result(fx->cfg, l, &rt, &res, NULL), 0);
	assert_int_equal(cni_result_ip_count(res), 0);
	cni_result_free(res);
	res = NULL;
	write_text(path, "{not json");
	assert_int_equal(cni_get_network_list_cached_result(fx->cfg, l, &rt, &res, NULL),
			 -CNI_ERR_DECODING_FAILURE);

	/* Cache paths need all three names, and never a '/'. */
	rt.container_id = "";
	assert_int_equal(cni_get_network_list_cached_result(fx->cfg, l, &rt, &res, &e),
			 -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e),
			    "cache file path requires network name (\"net1\"), container ID "
			    "(\"\"), and interface name (\"eth0\")");
	cni_error_free(e);
	rt.container_id = "../../x";
	assert_int_equal(cni_get_network_list_cached_result(fx->cfg, l, &rt, &res, NULL),
			 -CNI_ERR_INVALID_ARG);

	cni_conflist_free(l010);
	cni_conflist_free(l031);
	cni_conflist_free(l);
	free(dir);
	free(path);
}

static void test_cached_attachments(void **state)
{
	struct fx *fx = *state;
	cni_attachment **list = NULL;
	size_t n = 99;
	cni_result *res = NULL;

	/* No results dir: nothing cached. */
	assert_int_equal(cni_get_cached_attachments(fx->cfg, "c1", &list, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(list[0]);
	cni_attachments_free(list);

	cni_conflist *l = chain_list(fx, "1.0.0", NULL);
	cni_conflist *l2 = list_from("{\"cniVersion\":\"1.0.0\",\"name\":\"other\",\"plugins\":["
				     "{\"type\":\"" PLUGIN "\",\"testBehavior\":\"result\"}]}");
	const char *ids[][3] = {{"net1", "c1", "eth1"},
				{"net1", "c1", "eth0"},
				{"net1", "c2", "eth0"},
				{"other", "c1", "eth0"}};
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		cni_runtime_conf rt = make_rt(ids[i][1], ids[i][2]);
		assert_int_equal(cni_add_network_list(fx->cfg, streq(ids[i][0], "net1") ? l : l2,
						      &rt, &res, NULL),
				 0);
		cni_result_free(res);
	}
	/* Things that are not attachments. */
	char *p = cni_strdupf("%s/results/net1-c1-legacy", fx->cache);
	write_text(p, "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.5/24\"}}");
	free(p);
	p = cni_strdupf("%s/results/net1-c1-eth0.tmp.abcdef", fx->cache);
	write_text(p, "{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"ifName\":\"eth0\","
		      "\"networkName\":\"net1\"}");
	free(p);
	p = cni_strdupf("%s/results/net1-c1-fifo", fx->cache);
	assert_int_equal(mkfifo(p, 0600), 0);
	free(p);

	assert_int_equal(cni_get_cached_attachments(fx->cfg, "c1", &list, &n, NULL), 0);
	assert_int_equal(n, 3);
	/* Sorted by file name. */
	assert_string_equal(cni_attachment_ifname(list[0]), "eth0");
	assert_string_equal(cni_attachment_network(list[0]), "net1");
	assert_string_equal(cni_attachment_ifname(list[1]), "eth1");
	assert_string_equal(cni_attachment_network(list[2]), "other");
	assert_string_equal(cni_attachment_netns(list[0]), "/var/run/netns/test");
	assert_null(list[3]);
	cni_attachments_free(list);

	assert_int_equal(cni_get_cached_attachments(fx->cfg, NULL, &list, &n, NULL), 0);
	assert_int_equal(n, 4);
	cni_attachments_free(list);
	assert_int_equal(cni_get_cached_attachments(fx->cfg, "c3", &list, NULL, NULL), 0);
	assert_null(list[0]);
	cni_attachments_free(list);
	cni_conflist_free(l);
	cni_conflist_free(l2);
}

/* ---- GC --------------------------------------------------------------------------------- */

static void add_attachment(struct fx *fx, cni_conflist *l, const char *id, const char *ifname)
{
	cni_runtime_conf rt = make_rt(id, ifname);
	cni_result *res = NULL;
	assert_int_equal(cni_add_network_list(fx->cfg, l, &rt, &res, NULL), 0);
	cni_result_free(res);
}

static void test_gc(void **state)
{
	struct fx *fx = *state;
	json_t *recs;
	cni_conflist *l = chain_list(fx, "1.1.0", NULL);
	cni_conflist *other = list_from("{\"cniVersion\":\"1.1.0\",\"name\":\"other\",\"plugins\":["
					"{\"type\":\"" PLUGIN "\",\"testBehavior\":\"result\"}]}");
	char *f1 = cache_file(fx, "net1", "c1", "eth0");
	char *f2 = cache_file(fx, "net1", "c2", "eth0");
	char *fo = cache_file(fx, "other", "c2", "eth0");

	add_attachment(fx, l, "c1", "eth0");
	add_attachment(fx, l, "c2", "eth0");
	add_attachment(fx, other, "c2", "eth0");
	clear_records(fx);

	/* c2 is stale: DEL'd (reverse order, its cached netns/args/capabilities), then GC to
	 * each plugin with both attachment keys. */
	cni_gc_attachment valid[] = {{"c1", "eth0"}};
	assert_int_equal(cni_gc_network_list(fx->cfg, l, valid, 1, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 6);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(rec_str(recs, i, "command"), "DEL");
		assert_string_equal(rec_str(recs, i, "containerId"), "c2");
		assert_string_equal(rec_str(recs, i, "netns"), "/var/run/netns/test");
		assert_string_equal(rec_str(recs, i, "args"), "IgnoreUnknown=1;K8S_POD_NAME=p<1>");
		assert_non_null(json_object_get(rec_config(recs, i), "prevResult"));
	}
	assert_string_equal(rec_marker(recs, 0), "c");
	assert_non_null(strstr(rec_str(recs, 2, "stdin"), "\"runtimeConfig\":{\"portMappings\""));
	for (size_t i = 3; i < 6; i++) {
		json_t *cfg = rec_config(recs, i);
		assert_string_equal(rec_str(recs, i, "command"), "GC");
		assert_string_equal(rec_marker(recs, i), ABC[i - 3]);
		assert_string_equal(rec_str(recs, i, "containerId"), "");
		assert_string_equal(rec_str(recs, i, "ifname"), "");
		assert_string_equal(rec_str(recs, i, "netns"), "");
		assert_null(json_object_get(cfg, "prevResult"));
		assert_null(json_object_get(cfg, "runtimeConfig"));
		assert_non_null(
		    strstr(rec_str(recs, i, "stdin"),
			   "\"cni.dev/attachments\":[{\"containerID\":\"c1\",\"ifname\":"
			   "\"eth0\"}],\"cni.dev/valid-attachments\":[{\"containerID\":"
			   "\"c1\",\"ifname\":\"eth0\"}]"));
	}
	json_decref(recs);
	clear_records(fx);
	assert_int_equal(access(f1, F_OK), 0);
	assert_int_equal(access(f2, F_OK), -1);
	assert_int_equal(access(fo, F_OK), 0);

	/* valid NULL: every attachment of the network is stale; no attachment keys sent. */
	assert_int_equal(cni_gc_network_list(fx->cfg, l, NULL, 0, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 6);
	assert_string_equal(rec_str(recs, 0, "containerId"), "c1");
	assert_null(strstr(rec_str(recs, 3, "stdin"), "cni.dev/"));
	json_decref(recs);
	clear_records(fx);
	assert_int_equal(access(f1, F_OK), -1);
	assert_int_equal(access(fo, F_OK), 0);

	/* An empty valid list is sent as []. */
	assert_int_equal(cni_gc_network_list(fx->cfg, l, valid, 0, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	assert_non_null(strstr(rec_str(recs, 0, "stdin"), "\"cni.dev/valid-attachments\":[]"));
	json_decref(recs);
	clear_records(fx);

	/* disableGC: nothing at all. */
	cni_conflist *dis = chain_list(fx, "1.1.0", ",\"disableGC\":true");
	add_attachment(fx, dis, "c3", "eth0");
	clear_records(fx);
	assert_int_equal(cni_gc_network_list(fx->cfg, dis, NULL, 0, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 0);
	json_decref(recs);

	/* Before 1.1.0: stale attachments still DEL'd, but no GC verb. */
	cni_conflist *old = chain_list(fx, "1.0.0", NULL);
	assert_int_equal(cni_gc_network_list(fx->cfg, old, NULL, 0, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	assert_string_equal(rec_str(recs, 0, "command"), "DEL");
	json_decref(recs);
	clear_records(fx);

	/* Errors: every plugin still gets GC, the errors are joined, first code kept. */
	cni_conflist *bad = list_from(
	    "{\"cniVersion\":\"1.1.0\",\"name\":\"bad\",\"plugins\":["
	    "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\",\"testBehavior\":\"error\","
	    "\"testCode\":120,\"testMsg\":\"one\"},"
	    "{\"type\":\"nope\"},"
	    "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\",\"testBehavior\":\"result\"}]}",
	    fx->record, fx->record);
	cni_error *e = NULL;
	assert_int_equal(cni_gc_network_list(fx->cfg, bad, NULL, 0, &e), -120);
	assert_non_null(strstr(cni_error_msg(e), "failed to GC plugin " PLUGIN ": one\n"
						 "failed to GC plugin nope: "));
	cni_error_free(e);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 2);
	json_decref(recs);

	assert_int_equal(cni_gc_network_list(fx->cfg, l, NULL, 3, NULL), -CNI_ERR_INVALID_ARG);
	cni_conflist_free(bad);
	cni_conflist_free(old);
	cni_conflist_free(dis);
	cni_conflist_free(other);
	cni_conflist_free(l);
	free(f1);
	free(f2);
	free(fo);
}

/* ---- STATUS ----------------------------------------------------------------------------- */

static void test_status(void **state)
{
	struct fx *fx = *state;
	json_t *recs;
	cni_error *e = NULL;
	cni_conflist *l = chain_list(fx, "1.1.0", NULL);

	assert_int_equal(cni_get_status_network_list(fx->cfg, l, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(rec_str(recs, i, "command"), "STATUS");
		assert_string_equal(rec_str(recs, i, "containerId"), "");
		assert_string_equal(json_string_value(json_object_get(rec_config(recs, i), "name")),
				    "net1");
		assert_null(json_object_get(rec_config(recs, i), "runtimeConfig"));
	}
	json_decref(recs);
	clear_records(fx);
	cni_conflist_free(l);

	/* Before 1.1.0: ready without asking. */
	l = chain_list(fx, "1.0.0", NULL);
	assert_int_equal(cni_get_status_network_list(fx->cfg, l, NULL), 0);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 0);
	json_decref(recs);
	cni_conflist_free(l);

	/* The first error, untouched, stops the walk. */
	l = list_from("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"plugins\":["
		      "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\",\"testBehavior\":\"error\","
		      "\"testCode\":50,\"testMsg\":\"not ready\"},"
		      "{\"type\":\"" PLUGIN "\",\"recordFile\":\"%s\"}]}",
		      fx->record, fx->record);
	assert_int_equal(cni_get_status_network_list(fx->cfg, l, &e), -50);
	assert_string_equal(cni_error_msg(e), "not ready");
	cni_error_free(e);
	recs = records(fx);
	assert_int_equal(json_array_size(recs), 1);
	json_decref(recs);
	cni_conflist_free(l);
}

/* ---- validation / versions -------------------------------------------------------------- */

static int fx_setup_versions(void **state)
{
	static const char *const env[] = {"CNI_TEST_VERSIONS=0.3.1,0.4.0,1.0.0", NULL};
	return fx_setup_env(state, env, 0);
}

static void test_validate(void **state)
{
	struct fx *fx = *state;
	char **caps = NULL;
	cni_error *e = NULL;

	cni_conflist *l = chain_list(fx, "1.0.0", NULL);
	assert_int_equal(cni_validate_network_list(fx->cfg, l, &caps, NULL), 0);
	/* Enabled capabilities of all plugins, each once, sorted. */
	assert_int_equal(cni_strv_length(caps), 2);
	assert_string_equal(caps[0], "bandwidth");
	assert_string_equal(caps[1], "portMappings");
	cni_strv_free(caps);
	caps = NULL;
	assert_int_equal(cni_validate_network_list(fx->cfg, l, NULL, NULL), 0);
	cni_conflist_free(l);

	l = list_from("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"plugins\":["
		      "{\"type\":\"" PLUGIN "\"},{\"type\":\"missing\"},{\"type\":\"" PLUGIN
		      "\"}]}");
	assert_int_equal(cni_validate_network_list(fx->cfg, l, &caps, &e),
			 -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_null(caps);
	assert_true(strncmp(cni_error_msg(e),
			    "[plugin " PLUGIN " does not support config version \"1.1.0\" failed "
			    "to find plugin \"missing\"",
			    92) == 0);
	cni_error_free(e);
	e = NULL;
	cni_conflist_free(l);

	cni_conf *c = conf_from("{\"type\":\"" PLUGIN "\",\"capabilities\":{\"mac\":true}}");
	/* No version means 0.1.0, which this plugin does not list. */
	assert_int_equal(cni_validate_network(fx->cfg, c, &caps, &e),
			 -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_string_equal(cni_error_msg(e),
			    "plugin " PLUGIN " does not support config version \"0.1.0\"");
	cni_error_free(e);
	cni_conf_free(c);
	c = conf_from("{\"cniVersion\":\"0.4.0\",\"type\":\"" PLUGIN "\",\"capabilities\":{"
		      "\"mac\":true,\"ips\":false}}");
	assert_int_equal(cni_validate_network(fx->cfg, c, &caps, NULL), 0);
	assert_int_equal(cni_strv_length(caps), 1);
	assert_string_equal(caps[0], "mac");
	cni_strv_free(caps);
	cni_conf_free(c);

	cni_plugin_info *info = NULL;
	assert_int_equal(cni_get_version_info_of(fx->cfg, PLUGIN, &info, NULL), 0);
	assert_int_equal(cni_plugin_info_count(info), 3);
	assert_string_equal(cni_plugin_info_version(info, 2), "1.0.0");
	cni_plugin_info_free(info);
	assert_int_equal(cni_get_version_info_of(fx->cfg, "missing", &info, NULL),
			 -CNI_ERR_NOT_FOUND);
}

/* ---- threads ---------------------------------------------------------------------------- */

struct thread_arg {
	struct fx *fx;
	cni_conflist *l;
	char id[16];
	int rc;
};

static void *thread_main(void *p)
{
	struct thread_arg *t = p;
	for (int i = 0; i < 5 && t->rc == 0; i++) {
		cni_runtime_conf rt = make_rt(t->id, "eth0");
		cni_result *res = NULL, *cached = NULL;
		t->rc = cni_add_network_list(t->fx->cfg, t->l, &rt, &res, NULL);
		if (t->rc == 0)
			t->rc = cni_get_network_list_cached_result(t->fx->cfg, t->l, &rt, &cached,
								   NULL);
		if (t->rc == 0 && !cached)
			t->rc = -1;
		if (t->rc == 0)
			t->rc = cni_del_network_list(t->fx->cfg, t->l, &rt, NULL);
		cni_result_free(res);
		cni_result_free(cached);
	}
	return NULL;
}

/* One config, one list, many threads: each sees only its own cache entry. */
static void test_threads(void **state)
{
	struct fx *fx = *state;
	cni_conflist *l = list_from("{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":["
				    "{\"type\":\"" PLUGIN "\",\"testBehavior\":\"result\","
				    "\"testResult\":" RESULT_A "}]}");
	struct thread_arg args[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){fx, l, "", 0};
		snprintf(args[i].id, sizeof(args[i].id), "t%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].rc, 0);
	}
	cni_attachment **list = NULL;
	size_t n = 1;
	assert_int_equal(cni_get_cached_attachments(fx->cfg, NULL, &list, &n, NULL), 0);
	assert_int_equal(n, 0);
	cni_attachments_free(list);
	cni_conflist_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_new),
	    cmocka_unit_test(test_go_json),
	    cmocka_unit_test(test_build_request),
	    cmocka_unit_test_setup_teardown(test_add_list_chain_and_cache, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_add_list_errors, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_add_timeout, fx_setup_timeout, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_check_list, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_del_list, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_single_network, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_cached_result_formats, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_cached_attachments, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_gc, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_status, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_validate, fx_setup_versions, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_threads, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
