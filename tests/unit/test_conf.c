/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf-internal.h"
#include "buf-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

#define CONF_DATA CNI_TEST_DATA_DIR "/conf"

/* ---- golden suite: tests/data/conf/{valid,invalid}/<case>/ ---------------------------- */

static char *subst_case(const char *s, const char *dir)
{
	cni_buf b = CNI_BUF_INIT;
	for (const char *p = s; *p;) {
		const char *m = strstr(p, "$CASE");
		if (!m) {
			assert_int_equal(cni_buf_puts(&b, p), 0);
			break;
		}
		assert_int_equal(cni_buf_append(&b, p, (size_t)(m - p)), 0);
		assert_int_equal(cni_buf_puts(&b, dir), 0);
		p = m + 5;
	}
	return cni_buf_steal(&b);
}

static bool path_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static void expect_string_or_null(const json_t *exp, const char *key, const char *got,
				  const char *dir)
{
	json_t *v = json_object_get(exp, key);
	if (!v)
		return;
	if (json_is_null(v)) {
		if (got)
			fail_msg("%s: %s: got \"%s\", want null", dir, key, got);
		return;
	}
	if (!got || strcmp(got, json_string_value(v)) != 0)
		fail_msg("%s: %s: got \"%s\", want \"%s\"", dir, key, got ? got : "(null)",
			 json_string_value(v));
}

static void expect_bool(const json_t *exp, const char *key, bool got, const char *dir)
{
	json_t *v = json_object_get(exp, key);
	if (v && json_is_true(v) != got)
		fail_msg("%s: %s: got %d", dir, key, got);
}

static void check_list(const json_t *exp, const cni_conflist *l, const char *dir)
{
	expect_string_or_null(exp, "name", cni_conflist_name(l), dir);
	expect_string_or_null(exp, "cniVersion", cni_conflist_cni_version(l), dir);
	expect_bool(exp, "disableCheck", cni_conflist_disable_check(l), dir);
	expect_bool(exp, "disableGC", cni_conflist_disable_gc(l), dir);
	expect_bool(exp, "loadOnlyInlinedPlugins", cni_conflist_load_only_inlined_plugins(l), dir);

	json_t *types = json_object_get(exp, "plugins");
	assert_non_null(types);
	if (json_array_size(types) != cni_conflist_plugin_count(l))
		fail_msg("%s: %zu plugins, want %zu", dir, cni_conflist_plugin_count(l),
			 json_array_size(types));
	for (size_t i = 0; i < json_array_size(types); i++)
		assert_string_equal(cni_conf_type(cni_conflist_plugin(l, i)),
				    json_string_value(json_array_get(types, i)));
	assert_null(cni_conflist_plugin(l, json_array_size(types)));

	json_t *pb = json_object_get(exp, "pluginBytes");
	for (size_t i = 0; i < json_array_size(pb); i++) {
		size_t len;
		const char *b = cni_conf_bytes(cni_conflist_plugin(l, i), &len);
		assert_string_equal(b, json_string_value(json_array_get(pb, i)));
		assert_int_equal(len, strlen(b));
	}
	const char *bytes = cni_json_get_string(exp, "bytes");
	if (bytes)
		assert_string_equal(cni_conflist_bytes(l, NULL), bytes);

	/* a copy reads the same */
	cni_conflist *d = cni_conflist_dup(l);
	assert_non_null(d);
	assert_string_equal(cni_conflist_name(d), cni_conflist_name(l));
	assert_string_equal(cni_conflist_cni_version(d), cni_conflist_cni_version(l));
	assert_int_equal(cni_conflist_plugin_count(d), cni_conflist_plugin_count(l));
	assert_int_equal(cni_conflist_disable_check(d), cni_conflist_disable_check(l));
	assert_int_equal(cni_conflist_disable_gc(d), cni_conflist_disable_gc(l));
	for (size_t i = 0; i < cni_conflist_plugin_count(l); i++)
		assert_string_equal(cni_conf_bytes(cni_conflist_plugin(d, i), NULL),
				    cni_conf_bytes(cni_conflist_plugin(l, i), NULL));
	cni_conflist_free(d);
}

static void check_conf(const json_t *exp, const cni_conf *c, const char *dir)
{
	expect_string_or_null(exp, "name", cni_conf_name(c), dir);
	expect_string_or_null(exp, "type", cni_conf_type(c), dir);
	expect_string_or_null(exp, "cniVersion", cni_conf_cni_version(c), dir);
	expect_string_or_null(exp, "ipamType", cni_conf_ipam_type(c), dir);
	const char *bytes = cni_json_get_string(exp, "bytes");
	if (bytes)
		assert_string_equal(cni_conf_bytes(c, NULL), bytes);
}

/* Run one case; returns the error (or NULL) and fills the parsed object. */
static int run_case(const char *dir, const json_t *exp, cni_conflist **list, cni_conf **conf,
		    cni_error **err)
{
	char path[8192];
	const char *load = cni_json_get_string(exp, "load");
	json_t *inject = json_object_get(exp, "inject");

	if (load) {
		snprintf(path, sizeof(path), "%s/dir", dir);
		return cni_conflist_load(list, path, load, err);
	}
	snprintf(path, sizeof(path), "%s/input.conflist", dir);
	if (path_exists(path))
		return cni_conflist_from_file(list, path, err);
	snprintf(path, sizeof(path), "%s/input.conf", dir);
	if (!inject)
		return cni_conf_from_file(conf, path, err);
	cni_conf *orig = NULL;
	int r = cni_conf_from_file(&orig, path, err);
	if (r < 0)
		return r;
	r = cni_conf_inject(conf, orig, cni_json_get_string(inject, "key"),
			    cni_json_get_string(inject, "value"), err);
	cni_conf_free(orig);
	return r;
}

static void run_suite(const char *kind)
{
	char base[4096];
	snprintf(base, sizeof(base), "%s/%s", CONF_DATA, kind);
	struct dirent **ents = NULL;
	int n = scandir(base, &ents, NULL, alphasort);
	size_t ran = 0;

	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		char dir[4096 + 512], expf[4096 + 1024];
		json_error_t jerr;

		if (ents[i]->d_name[0] == '.') {
			free(ents[i]);
			continue;
		}
		snprintf(dir, sizeof(dir), "%s/%s", base, ents[i]->d_name);
		free(ents[i]);
		snprintf(expf, sizeof(expf), "%s/expected.json", dir);
		json_t *exp = json_load_file(expf, 0, &jerr);
		if (!exp)
			fail_msg("%s: %s", expf, jerr.text);

		cni_conflist *l = NULL;
		cni_conf *c = NULL;
		cni_error *e = NULL;
		int r = run_case(dir, exp, &l, &c, &e);
		if (strcmp(kind, "valid") == 0) {
			if (r < 0)
				fail_msg("%s: %s", dir, cni_error_msg(e));
			assert_null(e);
			if (l)
				check_list(exp, l, dir);
			else
				check_conf(exp, c, dir);
		} else {
			if (r >= 0)
				fail_msg("%s: accepted", dir);
			assert_null(l);
			assert_null(c);
			assert_non_null(e);
			int code = (int)json_integer_value(json_object_get(exp, "code"));
			if (r != -code || cni_error_code(e) != code)
				fail_msg("%s: code %d (%s), want %d", dir, -r, cni_error_msg(e),
					 code);
			const char *msg = cni_json_get_string(exp, "msg");
			const char *prefix = cni_json_get_string(exp, "msgPrefix");
			const char *details = cni_json_get_string(exp, "details");
			if (msg) {
				char *want = subst_case(msg, dir);
				if (strcmp(cni_error_msg(e), want) != 0)
					fail_msg("%s: msg \"%s\", want \"%s\"", dir,
						 cni_error_msg(e), want);
				free(want);
			}
			if (prefix && strncmp(cni_error_msg(e), prefix, strlen(prefix)) != 0)
				fail_msg("%s: msg \"%s\", want prefix \"%s\"", dir,
					 cni_error_msg(e), prefix);
			if (details) {
				char *want = subst_case(details, dir);
				assert_non_null(cni_error_details(e));
				assert_string_equal(cni_error_details(e), want);
				free(want);
			}
		}
		cni_conflist_free(l);
		cni_conf_free(c);
		cni_error_free(e);
		json_decref(exp);
		ran++;
	}
	free(ents);
	assert_true(ran > 10);
}

static void test_golden_valid(void **state)
{
	run_suite("valid");
}

static void test_golden_invalid(void **state)
{
	run_suite("invalid");
}

/* ---- Go encoding ---------------------------------------------------------------------- */

static void expect_marshal(const char *in, const char *want)
{
	json_t *j = NULL;
	assert_int_equal(cni_json_parse_go(in, strlen(in), "t", &j, NULL), 0);
	char *out = cni_json_marshal_go(j);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
	json_decref(j);
}

static void test_marshal_go(void **state)
{
	/* expectations printed by Go's encoding/json for the same input */
	expect_marshal("[1.0, 1e21, 1e20, 0.000001, 1e-7, -0, 0.1, 1.5e300, 5e-324]",
		       "[1,1e+21,100000000000000000000,0.000001,1e-7,-0,0.1,1.5e+300,5e-324]");
	expect_marshal("[123456789012345678901234, 9007199254740993, 1e-100, 2.5e-6, 12.5]",
		       "[1.2345678901234569e+23,9007199254740992,1e-100,0.0000025,12.5]");
	expect_marshal("[-1.25, 100, 1e6, 0.30000000000000004, 123.456e2]",
		       "[-1.25,100,1000000,0.30000000000000004,12345.6]");
	expect_marshal("{\"b\":1,\"a\":{\"d\":[],\"c\":{}},\"B\":null,\"\":true}",
		       "{\"\":true,\"B\":null,\"a\":{\"c\":{},\"d\":[]},\"b\":1}");
	expect_marshal("\"<a href='x'>&amp;</a> \\u2028\\u2029 \\u007f \\\" \\\\ / é\"",
		       "\"\\u003ca href='x'\\u003e\\u0026amp;\\u003c/a\\u003e \\u2028\\u2029 \x7f "
		       "\\\" \\\\ / é\"");
	/* jansson refuses NUL in strings, which Go accepts (a documented deviation) */
	json_t *j = NULL;
	assert_int_equal(cni_json_parse_go("\"\\u0000x\"", 9, "t", &j, NULL),
			 -CNI_ERR_DECODING_FAILURE);
	assert_null(j);
}

static void test_marshal_integers(void **state)
{
	/* objects built with json_integer (by other modules) print as Go's float64 */
	json_t *j = json_pack("{s:I,s:I,s:i}", "big", (json_int_t)9007199254740993LL, "mtu",
			      (json_int_t)1500, "neg", -3);
	assert_non_null(j);
	char *out = cni_json_marshal_go(j);
	assert_string_equal(out, "{\"big\":9007199254740992,\"mtu\":1500,\"neg\":-3}");
	free(out);
	json_decref(j);
}

/* ---- one plugin config ---------------------------------------------------------------- */

/* *e holds an error with message msg: check it, free it, reset *e. */
static void take_error(cni_error **e, const char *msg)
{
	assert_non_null(*e);
	assert_string_equal(cni_error_msg(*e), msg);
	cni_error_free(*e);
	*e = NULL;
}

static cni_conf *conf_new(const char *text)
{
	cni_conf *c = NULL;
	cni_error *e = NULL;
	int r = cni_conf_from_bytes(&c, text, strlen(text), &e);
	if (r < 0)
		fail_msg("%s: %s", text, cni_error_msg(e));
	return c;
}

static void test_conf_accessors(void **state)
{
	const char *text =
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"portmap\","
	    "\"capabilities\":{\"portMappings\":true,\"bandwidth\":false,\"ips\":true},"
	    "\"mtu\":1500,\"keep\":{\"z\":1,\"a\":\"<\"}}";
	cni_conf *c = conf_new(text);
	size_t len;

	assert_string_equal(cni_conf_bytes(c, &len), text);
	assert_int_equal(len, strlen(text));
	assert_true(cni_conf_has_capability(c, "portMappings"));
	assert_false(cni_conf_has_capability(c, "bandwidth"));
	assert_false(cni_conf_has_capability(c, "nope"));

	char **caps = NULL;
	assert_int_equal(cni_conf_capabilities(c, &caps, NULL), 0);
	assert_int_equal(cni_strv_length(caps), 2);
	assert_string_equal(caps[0], "portMappings");
	assert_string_equal(caps[1], "ips");
	cni_strv_free(caps);

	char *v = NULL;
	assert_int_equal(cni_conf_get_json(c, "keep", &v, NULL), 0);
	assert_string_equal(v, "{\"a\":\"\\u003c\",\"z\":1}");
	free(v);
	assert_int_equal(cni_conf_get_json(c, "mtu", &v, NULL), 0);
	assert_string_equal(v, "1500");
	free(v);
	v = (char *)"sentinel";
	assert_int_equal(cni_conf_get_json(c, "absent", &v, NULL), 0);
	assert_null(v);

	cni_conf *d = cni_conf_dup(c);
	assert_non_null(d);
	assert_string_equal(cni_conf_bytes(d, NULL), text);
	assert_string_equal(cni_conf_type(d), "portmap");
	cni_conf_free(d);

	/* no capabilities: an empty array, not NULL */
	cni_conf *plain = conf_new("{\"type\":\"x\"}");
	assert_int_equal(cni_conf_capabilities(plain, &caps, NULL), 0);
	assert_non_null(caps);
	assert_null(caps[0]);
	cni_strv_free(caps);
	assert_string_equal(cni_conf_cni_version(plain), "");
	assert_null(cni_conf_name(plain));
	cni_conf_free(plain);
	cni_conf_free(c);

	cni_conf_free(NULL);
	cni_conflist_free(NULL);
	assert_null(cni_conf_dup(NULL));
	assert_null(cni_conflist_dup(NULL));
}

static void test_conf_errors(void **state)
{
	static const struct {
		const char *in;
		int code;
		const char *msg;
	} cases[] = {
	    {"", 6, "error parsing configuration: unexpected end of JSON input"},
	    {"  \n", 6, "error parsing configuration: unexpected end of JSON input"},
	    {"{}", 7, "error parsing configuration: missing 'type'"},
	    {"\"x\"", 6,
	     "error parsing configuration: json: cannot unmarshal string into Go value of "
	     "type types.PluginConf"},
	    {"{\"type\":\"x\",\"capabilities\":[]}", 6,
	     "error parsing configuration: json: cannot unmarshal array into Go struct field "
	     "PluginConf.capabilities of type map[string]bool"},
	    {"{\"type\":\"x\",\"ipam\":1}", 6,
	     "error parsing configuration: json: cannot unmarshal number into Go struct field "
	     "PluginConf.ipam of type types.IPAM"},
	    {"{\"type\":\"x\",\"dns\":true}", 6,
	     "error parsing configuration: json: cannot unmarshal bool into Go struct field "
	     "PluginConf.dns of type types.DNS"},
	    {"{\"type\":\"x\",\"dns\":{\"domain\":[]}}", 6,
	     "error parsing configuration: json: cannot unmarshal array into Go struct field "
	     "DNS.dns.domain of type string"},
	    {"{\"type\":\"x\",\"cni.dev/valid-attachments\":{}}", 6,
	     "error parsing configuration: json: cannot unmarshal object into Go struct field "
	     "PluginConf.cni.dev/valid-attachments of type []types.GCAttachment"},
	    {"{\"type\":\"x\",\"cni.dev/valid-attachments\":[{\"ifname\":3}]}", 6,
	     "error parsing configuration: json: cannot unmarshal number into Go struct field "
	     "GCAttachment.cni.dev/valid-attachments.ifname of type string"},
	    /* the first bad field in document order is reported */
	    {"{\"name\":1,\"type\":2}", 6,
	     "error parsing configuration: json: cannot unmarshal number into Go struct field "
	     "PluginConf.name of type string"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cni_conf *c = NULL;
		cni_error *e = NULL;
		int r = cni_conf_from_bytes(&c, cases[i].in, strlen(cases[i].in), &e);
		if (r != -cases[i].code)
			fail_msg("%s: returned %d (%s)", cases[i].in, r, e ? cni_error_msg(e) : "");
		assert_null(c);
		assert_string_equal(cni_error_msg(e), cases[i].msg);
		cni_error_free(e);
		/* and without an error object */
		assert_int_equal(cni_conf_from_bytes(&c, cases[i].in, strlen(cases[i].in), NULL),
				 -cases[i].code);
	}
	/* jansson refuses what Go would replace; still an error, never a crash */
	cni_conf *c = NULL;
	assert_int_equal(cni_conf_from_bytes(&c, "{\"type\":\"\xff\"}", 12, NULL),
			 -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_conf_from_bytes(NULL, "{}", 2, NULL), -CNI_ERR_INVALID_ARG);

	cni_error *e = NULL;
	assert_int_equal(cni_conf_from_file(&c, CONF_DATA "/does-not-exist.conf", &e),
			 -CNI_ERR_NOT_FOUND);
	assert_non_null(
	    strstr(cni_error_msg(e), "error reading " CONF_DATA "/does-not-exist.conf"));
	cni_error_free(e);
}

static void test_inject(void **state)
{
	cni_conf *c = conf_new("{\"type\":\"bridge\",\"name\":\"n\",\"cniVersion\":\"0.4.0\"}");
	cni_conf *n = NULL;
	cni_error *e = NULL;

	assert_int_equal(
	    cni_conf_inject(&n, c, "prevResult", "{\"cniVersion\":\"0.4.0\",\"ips\":[]}", &e), 0);
	assert_string_equal(
	    cni_conf_bytes(n, NULL),
	    "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"prevResult\":{\"cniVersion\":"
	    "\"0.4.0\",\"ips\":[]},\"type\":\"bridge\"}");
	/* the original is untouched */
	assert_string_equal(cni_conf_bytes(c, NULL),
			    "{\"type\":\"bridge\",\"name\":\"n\",\"cniVersion\":\"0.4.0\"}");
	cni_conf_free(n);
	n = NULL;

	/* replacing type with a non-string is a parse error of the new config */
	assert_int_equal(cni_conf_inject(&n, c, "type", "5", &e), -CNI_ERR_DECODING_FAILURE);
	assert_null(n);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_conf_inject(&n, c, "type", "\"\"", &e),
			 -CNI_ERR_INVALID_NETWORK_CONFIG);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_conf_inject(&n, c, "x", NULL, &e), -CNI_ERR_INVALID_ARG);
	take_error(&e, "key 'x' value must not be nil");
	assert_int_equal(cni_conf_inject(&n, c, NULL, "1", &e), -CNI_ERR_INVALID_ARG);
	take_error(&e, "keys cannot be empty");
	assert_int_equal(cni_conf_inject(&n, c, "x", "{bad", &e), -CNI_ERR_DECODING_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "key 'x': invalid value: "));
	cni_error_free(e);
	assert_null(n);

	/* the private object path gives the same bytes as InjectConf */
	json_t *obj = json_deep_copy(cni_conf_json(c));
	json_object_set_new(obj, "args", json_pack("{s:{s:[s]}}", "cni", "ips", "10.0.0.2"));
	assert_int_equal(cni_conf_from_json_t(&n, obj, NULL), 0);
	assert_string_equal(cni_conf_bytes(n, NULL),
			    "{\"args\":{\"cni\":{\"ips\":[\"10.0.0.2\"]}},\"cniVersion\":\"0.4.0\","
			    "\"name\":\"n\",\"type\":\"bridge\"}");
	json_decref(obj);
	cni_conf_free(n);
	cni_conf_free(c);
}

static void test_valid_attachments(void **state)
{
	size_t n = 99;
	bool present = true;
	cni_conf *c = conf_new("{\"type\":\"x\"}");
	assert_int_equal(cni_conf_valid_attachments(c, &n, &present, NULL), 0);
	assert_int_equal(n, 0);
	assert_false(present);
	assert_null(cni_conf_valid_attachment_container_id(c, 0));
	cni_conf_free(c);

	c = conf_new("{\"type\":\"x\",\"cni.dev/valid-attachments\":[{\"containerID\":\"c1\","
		     "\"ifname\":\"eth0\"},{\"containerID\":\"c2\"},null]}");
	assert_int_equal(cni_conf_valid_attachments(c, &n, &present, NULL), 0);
	assert_int_equal(n, 3);
	assert_true(present);
	assert_string_equal(cni_conf_valid_attachment_container_id(c, 0), "c1");
	assert_string_equal(cni_conf_valid_attachment_ifname(c, 0), "eth0");
	assert_string_equal(cni_conf_valid_attachment_container_id(c, 1), "c2");
	assert_string_equal(cni_conf_valid_attachment_ifname(c, 1), "");
	/* a null entry is Go's zero GCAttachment */
	assert_string_equal(cni_conf_valid_attachment_ifname(c, 2), "");
	assert_null(cni_conf_valid_attachment_ifname(c, 3));
	cni_conf_free(c);

	c = conf_new("{\"type\":\"x\",\"cni.dev/valid-attachments\":[]}");
	assert_int_equal(cni_conf_valid_attachments(c, &n, &present, NULL), 0);
	assert_int_equal(n, 0);
	assert_true(present);
	cni_conf_free(c);
}

static void test_prev_result(void **state)
{
	cni_result *r = (cni_result *)1;
	cni_error *e = NULL;

	cni_conf *c = conf_new("{\"type\":\"x\",\"cniVersion\":\"1.0.0\"}");
	assert_int_equal(cni_conf_prev_result(c, &r, NULL), 0);
	assert_null(r);
	cni_conf_free(c);

	/* a 1.0.0 prevResult in a 1.1.0 config comes back as 1.1.0 */
	c = conf_new("{\"type\":\"x\",\"cniVersion\":\"1.1.0\",\"prevResult\":{\"cniVersion\":"
		     "\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{\"address\":"
		     "\"10.0.0.2/24\",\"interface\":0}]}}");
	assert_int_equal(cni_conf_prev_result(c, &r, &e), 0);
	assert_non_null(r);
	assert_string_equal(cni_result_version(r), "1.1.0");
	assert_int_equal(cni_result_ip_count(r), 1);
	cni_result_free(r);
	cni_conf_free(c);

	/* no cniVersion in the prevResult: the config's */
	c = conf_new("{\"type\":\"x\",\"cniVersion\":\"0.4.0\",\"prevResult\":{\"ips\":[{"
		     "\"version\":\"4\",\"address\":\"10.0.0.2/24\"}]}}");
	assert_int_equal(cni_conf_prev_result(c, &r, &e), 0);
	assert_string_equal(cni_result_version(r), "0.4.0");
	cni_result_free(r);
	cni_conf_free(c);

	/* another family is refused as the reference's creator refuses it */
	r = (cni_result *)1;
	c = conf_new("{\"type\":\"x\",\"cniVersion\":\"1.0.0\",\"prevResult\":{\"cniVersion\":"
		     "\"0.4.0\",\"ips\":[]}}");
	assert_int_equal(cni_conf_prev_result(c, &r, &e), -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "could not parse prevResult: result type supports "
					      "[1.0.0 1.1.0] but unmarshalled CNIVersion is "
					      "\"0.4.0\"");
	cni_error_free(e);
	e = NULL;
	cni_conf_free(c);

	c = conf_new("{\"type\":\"x\",\"cniVersion\":\"0.2.0\",\"prevResult\":{\"cniVersion\":"
		     "\"0.3.1\"}}");
	assert_int_equal(cni_conf_prev_result(c, &r, &e), -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "could not parse prevResult: result type supports "
					      "[ 0.1.0 0.2.0] but unmarshalled CNIVersion is "
					      "\"0.3.1\"");
	cni_error_free(e);
	e = NULL;
	cni_conf_free(c);

	c = conf_new("{\"type\":\"x\",\"cniVersion\":\"9.9.9\",\"prevResult\":{}}");
	assert_int_equal(cni_conf_prev_result(c, &r, &e), -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e),
			    "could not parse prevResult: unsupported CNI result version \"9.9.9\"");
	cni_error_free(e);
	cni_conf_free(c);
	assert_ptr_equal(r, (cni_result *)1); /* untouched on failure */
}

/* ---- lists ------------------------------------------------------------------------- */

static void test_list_from_bytes(void **state)
{
	const char *text =
	    "{\"name\":\"net\",\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"a\","
	    "\"z\":1,\"b\":2},{\"type\":\"b\"}]}";
	cni_conflist *l = NULL;
	assert_int_equal(cni_conflist_from_bytes(&l, text, strlen(text), NULL), 0);
	assert_string_equal(cni_conflist_bytes(l, NULL), text);
	assert_int_equal(cni_conflist_plugin_count(l), 2);
	assert_string_equal(cni_conf_bytes(cni_conflist_plugin(l, 0), NULL),
			    "{\"b\":2,\"type\":\"a\",\"z\":1}");
	/* from bytes, a list without plugins is not an error yet (only from a file) */
	cni_conflist_free(l);
	l = NULL;
	assert_int_equal(cni_conflist_from_bytes(&l, "{\"name\":\"n\"}", 12, NULL), 0);
	assert_int_equal(cni_conflist_plugin_count(l), 0);
	cni_conflist_free(l);
	l = NULL;
	assert_int_equal(cni_conflist_from_bytes(&l, "null", 4, NULL),
			 -CNI_ERR_INVALID_NETWORK_CONFIG);
	assert_null(l);

	/* promotion of a single config */
	cni_conf *c = conf_new("{\"type\":\"bridge\",\"cniVersion\":\"0.3.1\",\"name\":\"single\","
			       "\"mtu\":1400}");
	assert_int_equal(cni_conflist_from_conf(&l, c, NULL), 0);
	assert_string_equal(
	    cni_conflist_bytes(l, NULL),
	    "{\"cniVersion\":\"0.3.1\",\"name\":\"single\",\"plugins\":[{\"cniVersion\":"
	    "\"0.3.1\",\"mtu\":1400,\"name\":\"single\",\"type\":\"bridge\"}]}");
	assert_string_equal(cni_conflist_name(l), "single");
	assert_string_equal(cni_json_get_string(cni_conflist_json(l), "name"), "single");
	cni_conflist_free(l);
	cni_conf_free(c);

	/* a promoted config without a name gets an empty one, as the reference's does: the
	 * name is checked when the network is added */
	c = conf_new("{\"type\":\"bridge\"}");
	l = NULL;
	assert_int_equal(cni_conflist_from_conf(&l, c, NULL), 0);
	assert_string_equal(cni_conflist_name(l), "");
	cni_conflist_free(l);
	cni_conf_free(c);
}

/* The typed getters: each type, absent and null give the default, a wrong type names the key. */
static void test_conf_typed_getters(void **state)
{
	cni_conf *c = conf_new("{\"type\":\"x\",\"s\":\"v\",\"b\":true,\"n\":1500,"
			       "\"e\":1.5e3,\"f\":2.5,\"big\":1e30,\"nul\":null,"
			       "\"l\":[\"a\",\"b\"],\"badl\":[\"a\",1]}");
	cni_error *e = NULL;
	const char *s = "sentinel";
	bool b = false;
	int64_t n = 0;
	double d = 0;
	char **l = NULL;

	assert_int_equal(cni_conf_get_string(c, "s", &s, NULL), 0);
	assert_string_equal(s, "v");
	assert_int_equal(cni_conf_get_string(c, "absent", &s, NULL), 0);
	assert_null(s);
	s = "sentinel";
	assert_int_equal(cni_conf_get_string(c, "nul", &s, NULL), 0);
	assert_null(s);
	assert_int_equal(cni_conf_get_string(c, "n", &s, &e), -CNI_ERR_INVALID_NETWORK_CONFIG);
	take_error(&e, "'n' must be a string, not a number");

	assert_int_equal(cni_conf_get_bool(c, "b", false, &b, NULL), 0);
	assert_true(b);
	assert_int_equal(cni_conf_get_bool(c, "absent", true, &b, NULL), 0);
	assert_true(b);
	assert_int_equal(cni_conf_get_bool(c, "s", false, &b, &e), -CNI_ERR_INVALID_NETWORK_CONFIG);
	take_error(&e, "'s' must be a boolean, not a string");

	assert_int_equal(cni_conf_get_int(c, "n", 7, &n, NULL), 0);
	assert_int_equal(n, 1500);
	assert_int_equal(cni_conf_get_int(c, "e", 7, &n, NULL), 0);
	assert_int_equal(n, 1500);
	assert_int_equal(cni_conf_get_int(c, "absent", 7, &n, NULL), 0);
	assert_int_equal(n, 7);
	assert_int_equal(cni_conf_get_int(c, "f", 7, &n, &e), -CNI_ERR_INVALID_NETWORK_CONFIG);
	take_error(&e, "'f' must be an integer, not a number");
	assert_int_equal(cni_conf_get_int(c, "big", 7, &n, NULL), -CNI_ERR_INVALID_NETWORK_CONFIG);
	assert_int_equal(n, 7);

	assert_int_equal(cni_conf_get_double(c, "f", 0, &d, NULL), 0);
	assert_true(d == 2.5);
	assert_int_equal(cni_conf_get_double(c, "absent", 9.5, &d, NULL), 0);
	assert_true(d == 9.5);
	assert_int_equal(cni_conf_get_double(c, "l", 0, &d, NULL), -CNI_ERR_INVALID_NETWORK_CONFIG);

	assert_int_equal(cni_conf_get_strv(c, "l", &l, NULL), 0);
	assert_non_null(l);
	assert_string_equal(l[0], "a");
	assert_string_equal(l[1], "b");
	assert_null(l[2]);
	cni_strv_free(l);
	l = (char **)&s;
	assert_int_equal(cni_conf_get_strv(c, "absent", &l, NULL), 0);
	assert_null(l);
	assert_int_equal(cni_conf_get_strv(c, "badl", &l, &e), -CNI_ERR_INVALID_NETWORK_CONFIG);
	take_error(&e, "'badl[1]' must be a string, not a number");
	assert_int_equal(cni_conf_get_strv(c, "s", &l, &e), -CNI_ERR_INVALID_NETWORK_CONFIG);
	take_error(&e, "'s' must be an array of strings, not a string");

	/* only checking the type */
	assert_int_equal(cni_conf_get_bool(c, "b", false, NULL, NULL), 0);
	assert_int_equal(cni_conf_get_string(NULL, "s", &s, NULL), -CNI_ERR_INVALID_ARG);
	cni_conf_free(c);
}

static void test_conf_files(void **state)
{
	static const char *const conflist[] = {".conflist", NULL};
	static const char *const conf[] = {".conf", ".json", NULL};
	char **files = NULL;

	assert_int_equal(cni_conf_files(CONF_DATA "/missing-dir", conf, &files, NULL), 0);
	assert_non_null(files);
	assert_null(files[0]);
	cni_strv_free(files);

	/* sorted; directories (even when named *.conflist) skipped; trailing slash dropped */
	assert_int_equal(
	    cni_conf_files(CONF_DATA "/invalid/load-no-configs/dir/", conflist, &files, NULL), 0);
	assert_null(files[0]);
	cni_strv_free(files);
	assert_int_equal(
	    cni_conf_files(CONF_DATA "/valid/load-conf-fallback/dir//", conf, &files, NULL), 0);
	assert_int_equal(cni_strv_length(files), 3);
	assert_string_equal(files[0], CONF_DATA "/valid/load-conf-fallback/dir/20-wrong.conf");
	assert_string_equal(files[1], CONF_DATA "/valid/load-conf-fallback/dir/30-net.json");
	assert_string_equal(files[2], CONF_DATA "/valid/load-conf-fallback/dir/40-net.conf");
	cni_strv_free(files);

	/* a file is not a directory */
	cni_error *e = NULL;
	assert_int_equal(cni_conf_files(CONF_DATA "/valid/conf-basic/input.conf", conf, &files, &e),
			 -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "not a directory"));
	cni_error_free(e);
}

/* ---- identifiers ------------------------------------------------------------------- */

static void test_ifname(void **state)
{
	static const struct {
		const char *name;
		const char *msg; /* NULL: valid */
	} cases[] = {
	    {"eth0", NULL},
	    {"a", NULL},
	    {"123456789012345", NULL},
	    {"veth-ab_c.d@x", NULL},
	    {"caf\xc3\xa9", NULL},
	    {"bad\xff", NULL}, /* invalid UTF-8 is not whitespace */
	    {"", "interface name is empty"},
	    {"1234567890123456", "interface name is too long"},
	    {".", "interface name is . or .."},
	    {"..", "interface name is . or .."},
	    {"...", NULL},
	    {"eth/0", "interface name contains / or : or whitespace characters"},
	    {"eth:0", "interface name contains / or : or whitespace characters"},
	    {"eth 0", "interface name contains / or : or whitespace characters"},
	    {"eth\t0", "interface name contains / or : or whitespace characters"},
	    {"eth\n", "interface name contains / or : or whitespace characters"},
	    {"eth\xc2\xa0", "interface name contains / or : or whitespace characters"},
	    {"a\xe3\x80\x80", "interface name contains / or : or whitespace characters"},
	    {"a\xe2\x80\x8a", "interface name contains / or : or whitespace characters"},
	    {"a\xe2\x80\x8b", NULL}, /* U+200B is not White_Space */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cni_error *e = NULL;
		int r = cni_validate_ifname(cases[i].name, &e);
		if (!cases[i].msg) {
			if (r != 0)
				fail_msg("\"%s\" refused: %s", cases[i].name, cni_error_msg(e));
			continue;
		}
		if (r != -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES)
			fail_msg("\"%s\": %d", cases[i].name, r);
		assert_string_equal(cni_error_msg(e), cases[i].msg);
		cni_error_free(e);
	}
	cni_error *e = NULL;
	assert_int_equal(cni_validate_ifname("1234567890123456", &e),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_string_equal(cni_error_details(e),
			    "interface name should be less than 16 characters");
	cni_error_free(e);
	assert_int_equal(cni_validate_ifname(NULL, NULL), -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
}

static void test_container_id_and_name(void **state)
{
	cni_error *e = NULL;
	assert_int_equal(cni_validate_container_id("", &e), -CNI_ERR_UNKNOWN_CONTAINER);
	take_error(&e, "missing containerID");
	assert_int_equal(cni_validate_container_id("abc/def", &e),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_string_equal(cni_error_msg(e), "invalid characters in containerID");
	assert_string_equal(cni_error_details(e), "abc/def");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_validate_container_id("0123abcd-ef.g_h", NULL), 0);
	assert_int_equal(cni_validate_container_id("-abc", NULL),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_int_equal(cni_validate_container_id("_abc", NULL),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_int_equal(cni_validate_container_id("abc\n", NULL),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_int_equal(cni_validate_container_id("ab c", NULL),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_int_equal(cni_validate_container_id("caf\xc3\xa9", NULL),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);

	assert_int_equal(cni_validate_network_name("", &e), -CNI_ERR_INVALID_NETWORK_CONFIG);
	take_error(&e, "missing network name:");
	assert_int_equal(cni_validate_network_name("a b", &e), -CNI_ERR_INVALID_NETWORK_CONFIG);
	assert_string_equal(cni_error_msg(e), "invalid characters found in network name");
	assert_string_equal(cni_error_details(e), "a b");
	cni_error_free(e);
	assert_int_equal(cni_validate_network_name("k8s-pod-network", NULL), 0);

	assert_true(cni_valid_name("a"));
	assert_true(cni_valid_name("9.-_"));
	assert_false(cni_valid_name(NULL));
	assert_false(cni_valid_name(""));
	assert_false(cni_valid_name("."));
	assert_false(cni_valid_name("a:b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_valid),
	    cmocka_unit_test(test_golden_invalid),
	    cmocka_unit_test(test_marshal_go),
	    cmocka_unit_test(test_marshal_integers),
	    cmocka_unit_test(test_conf_accessors),
	    cmocka_unit_test(test_conf_errors),
	    cmocka_unit_test(test_inject),
	    cmocka_unit_test(test_valid_attachments),
	    cmocka_unit_test(test_prev_result),
	    cmocka_unit_test(test_list_from_bytes),
	    cmocka_unit_test(test_conf_typed_getters),
	    cmocka_unit_test(test_conf_files),
	    cmocka_unit_test(test_ifname),
	    cmocka_unit_test(test_container_id_and_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
