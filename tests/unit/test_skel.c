/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skel: golden cases (tests/data/skel/{valid,invalid}/<case>/) run in-process through
 * cni_plugin_main_io with memfds for stdin/stdout/stderr, plus unit tests of the pieces
 * the cases cannot reach (stdin robustness, callback error mapping, the netns check).
 *
 * A case folder holds: env (KEY=VALUE lines), stdin, expected-stdout, expected-exit, and
 * optionally expected-stderr, max-stdin (the cap to use) and plugin-versions (what the
 * plugin supports, space-separated; default: every known version). "source" says where
 * the expected output came from and is not read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "gojson-internal.h"
#include "buf-internal.h"
#include "file-internal.h"
#include "json-internal.h"

#define ABOUT "CNI skel-test plugin v0"

/* ---- the tiny plugin ---- */

typedef struct calls {
	int add, check, del, gc, status;
	int fail_code;	       /* callbacks return -fail_code when not 0 */
	bool fail_with_error;  /* ... and set *err */
	const char *seen_args; /* CNI_ARGS of the last call */
	const char *seen_command; /* CNI_COMMAND the last call was given */
	size_t seen_stdin_len;
} calls;

static int record(calls *c, const cni_cmd_args *a, cni_error **err)
{
	c->seen_args = a->args;
	c->seen_command = a->command;
	c->seen_stdin_len = a->stdin_len;
	if (!c->fail_code)
		return 0;
	if (c->fail_with_error)
		return cni_error_set(err, c->fail_code, "some details",
				     "callback failed on purpose");
	return -c->fail_code;
}

/* ADD passes prevResult through, like the reference's sample plugin. */
static int t_add(const cni_cmd_args *a, cni_result **result, cni_error **err, void *ud)
{
	calls *c = ud;
	c->add++;
	if (c->fail_code)
		return record(c, a, err);
	json_error_t jerr;
	_cleanup_json_ json_t *conf = json_loadb(a->stdin_data, a->stdin_len, 0, &jerr);
	if (!conf)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL, "bad conf: %s",
				     jerr.text);
	json_t *prev = json_object_get(conf, "prevResult");
	if (!prev)
		/* a library code: must print as 999 */
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "must be called as chained plugin");
	const char *v = cni_json_get_string(conf, "cniVersion");
	_cleanup_free_ char *s = cni_json_dump_compact(prev);
	assert_non_null(s);
	/* as the reference sample does: parse as the config's version, work on 1.0.0 */
	cni_result *prev_r = NULL;
	int r = cni_result_from_json(&prev_r, isempty(v) ? "0.1.0" : v, s, strlen(s), err);
	if (r < 0)
		return r;
	r = cni_result_convert(result, prev_r, "1.0.0", err);
	cni_result_free(prev_r);
	return r;
}

static int t_check(const cni_cmd_args *a, cni_error **err, void *ud)
{
	((calls *)ud)->check++;
	return record(ud, a, err);
}

static int t_del(const cni_cmd_args *a, cni_error **err, void *ud)
{
	((calls *)ud)->del++;
	return record(ud, a, err);
}

static int t_gc(const cni_cmd_args *a, cni_error **err, void *ud)
{
	((calls *)ud)->gc++;
	return record(ud, a, err);
}

static int t_status(const cni_cmd_args *a, cni_error **err, void *ud)
{
	((calls *)ud)->status++;
	return record(ud, a, err);
}

/* ---- helpers ---- */

static int memfd_with(const char *data, size_t len)
{
	int fd = memfd_create("skel-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static char *fd_contents(int fd)
{
	char *data = NULL;
	size_t len = 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	assert_int_equal(cni_read_file(path, 0, &data, &len, NULL), 0);
	return data;
}

static char *read_case_file(const char *dir, const char *name, bool optional)
{
	_cleanup_free_ char *path = cni_strdupf("%s/%s", dir, name);
	char *data = NULL;
	size_t len;
	assert_non_null(path);
	if (access(path, F_OK) < 0 && optional)
		return NULL;
	if (cni_read_file(path, 0, &data, &len, NULL) < 0)
		fail_msg("cannot read %s", path);
	return data;
}

typedef struct run_out {
	int rc;
	char *out, *err_text;
	cni_error *err;
} run_out;

static void run_out_clear(run_out *o)
{
	free(o->out);
	free(o->err_text);
	cni_error_free(o->err);
	memset(o, 0, sizeof(*o));
}

static void run(const cni_plugin_funcs *f, const cni_plugin_info *info, const char *about,
		const char *const *envp, const char *in, size_t in_len, size_t max, run_out *o)
{
	cni_skel_io io = CNI_SKEL_IO_INIT;
	io.envp = envp;
	io.stdin_fd = memfd_with(in ? in : "", in ? in_len : 0);
	io.stdout_fd = memfd_with("", 0);
	io.stderr_fd = memfd_with("", 0);
	io.max_stdin = max;
	memset(o, 0, sizeof(*o));
	o->rc = cni_plugin_main_io(f, info, about, &io, &o->err);
	o->out = fd_contents(io.stdout_fd);
	o->err_text = fd_contents(io.stderr_fd);
	close(io.stdin_fd);
	close(io.stdout_fd);
	close(io.stderr_fd);
}

static cni_plugin_funcs test_funcs(calls *c)
{
	cni_plugin_funcs f = CNI_PLUGIN_FUNCS_INIT;
	f.add = t_add;
	f.check = t_check;
	f.del = t_del;
	f.userdata = c;
	return f;
}

/* ---- golden cases ---- */

static void run_case(const char *dir, bool expect_success)
{
	_cleanup_free_ char *env = read_case_file(dir, "env", false);
	_cleanup_free_ char *in = read_case_file(dir, "stdin", false);
	_cleanup_free_ char *want_out = read_case_file(dir, "expected-stdout", false);
	_cleanup_free_ char *want_exit = read_case_file(dir, "expected-exit", false);
	_cleanup_free_ char *want_err = read_case_file(dir, "expected-stderr", true);
	_cleanup_free_ char *max_s = read_case_file(dir, "max-stdin", true);
	_cleanup_free_ char *vers = read_case_file(dir, "plugin-versions", true);
	_cleanup_strv_ char **envp = calloc(1, sizeof(char *));
	_cleanup_strv_ char **versions = calloc(1, sizeof(char *));
	cni_plugin_info *info = NULL;
	calls c = {0};
	cni_plugin_funcs f = test_funcs(&c);
	size_t max = 0;
	run_out o;

	assert_non_null(envp);
	assert_non_null(versions);
	for (char *save = NULL, *l = strtok_r(env, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		assert_int_equal(cni_strv_push(&envp, l), 0);
	if (max_s) {
		char *end;
		max = strtoul(max_s, &end, 10);
		assert_true(max > 0 && (*end == '\n' || !*end));
	}
	if (vers) {
		for (char *save = NULL, *v = strtok_r(vers, " \n", &save); v;
		     v = strtok_r(NULL, " \n", &save))
			assert_int_equal(cni_strv_push(&versions, v), 0);
		assert_int_equal(cni_plugin_info_new(&info, (const char *const *)versions, NULL),
				 0);
	}

	run(&f, info, ABOUT, (const char *const *)envp, in, strlen(in), max, &o);
	int exit_code = o.rc < 0 ? 1 : 0;
	if (!streq(o.out, want_out) || exit_code != atoi(want_exit) ||
	    (want_err && !streq(o.err_text, want_err))) {
		/* cmocka truncates long messages: print in full first */
		fprintf(stderr,
			"case %s:\n--- expected (exit %d)\n%s\n--- got (exit %d)\n%s\n"
			"--- stderr\n%s\n",
			dir, atoi(want_exit), want_out, exit_code, o.out, o.err_text);
		fail_msg("golden case %s differs", dir);
	}
	assert_int_equal(exit_code, expect_success ? 0 : 1);
	/* the error handed back is the one printed */
	if (o.rc < 0) {
		_cleanup_free_ char *json = NULL;
		assert_non_null(o.err);
		assert_int_equal(cni_error_to_json(o.err, NULL, &json), 0);
		assert_string_equal(json, o.out);
	} else {
		assert_null(o.err);
	}
	cni_plugin_info_free(info);
	run_out_clear(&o);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_suite(const char *kind)
{
	_cleanup_free_ char *base = cni_strdupf("%s/skel/%s", CNI_TEST_DATA_DIR, kind);
	_cleanup_strv_ char **names = calloc(1, sizeof(char *));
	DIR *d = opendir(base);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			assert_int_equal(cni_strv_push(&names, de->d_name), 0);
	closedir(d);
	size_t n = cni_strv_length(names);
	assert_true(n >= 10); /* the suite is really there */
	qsort(names, n, sizeof(char *), cmp_names);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dir = cni_strdupf("%s/%s", base, names[i]);
		run_case(dir, streq(kind, "valid"));
	}
}

static void test_golden_valid(void **state)
{
	run_suite("valid");
}

static void test_golden_invalid(void **state)
{
	run_suite("invalid");
}

/* ---- unit tests ---- */

static const char *const env_add[] = {"CNI_COMMAND=ADD",
				      "CNI_CONTAINERID=c1",
				      "CNI_NETNS=/nonexistent/netns",
				      "CNI_IFNAME=eth0",
				      "CNI_PATH=/bin",
				      "CNI_ARGS=A=1;B=2",
				      NULL};
static const char conf100[] = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}";
static const char conf110[] = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\"}";

/* Go's json.Unmarshal messages for a struct{Name string}, recorded with Go 1.19. */
static void test_go_json_messages(void **state)
{
	static const struct {
		const char *in;
		const char *msg; /* NULL: valid */
		const char *name;
	} cases[] = {
	    {"", "unexpected end of JSON input", NULL},
	    {" ", "unexpected end of JSON input", NULL},
	    {"{", "unexpected end of JSON input", NULL},
	    {"{\"name\"", "unexpected end of JSON input", NULL},
	    {"{\"name\":", "unexpected end of JSON input", NULL},
	    {"{\"name\":\"x\"", "unexpected end of JSON input", NULL},
	    {"{\"name\":\"x\",", "unexpected end of JSON input", NULL},
	    {"{\"name\":\"x\" \"a\"}", "invalid character '\"' after object key:value pair", NULL},
	    {"{\"name\" 1}", "invalid character '1' after object key", NULL},
	    {"{,}", "invalid character ',' looking for beginning of object key string", NULL},
	    {"{\"a\":1,}", "invalid character '}' looking for beginning of object key string",
	     NULL},
	    {"[1,]", "invalid character ']' looking for beginning of value", NULL},
	    {"[1 2]", "invalid character '2' after array element", NULL},
	    {"{\"a\":tru}", "invalid character '}' in literal true (expecting 'e')", NULL},
	    {"{\"a\":nul}", "invalid character '}' in literal null (expecting 'l')", NULL},
	    {"{\"a\":falsy}", "invalid character 'y' in literal false (expecting 'e')", NULL},
	    {"{\"a\":-}", "invalid character '}' in numeric literal", NULL},
	    {"{\"a\":1.}", "invalid character '}' after decimal point in numeric literal", NULL},
	    {"{\"a\":1e}", "invalid character '}' in exponent of numeric literal", NULL},
	    {"{\"a\":1e+}", "invalid character '}' in exponent of numeric literal", NULL},
	    {"{\"a\":01}", "invalid character '1' after object key:value pair", NULL},
	    {"{} x", "invalid character 'x' after top-level value", NULL},
	    {"{}}", "invalid character '}' after top-level value", NULL},
	    {"{'a':1}", "invalid character '\\'' looking for beginning of object key string", NULL},
	    {"{\"a\":\"\\x\"}", "invalid character 'x' in string escape code", NULL},
	    {"{\"a\":\"\\u12g4\"}", "invalid character 'g' in \\u hexadecimal character escape",
	     NULL},
	    {"{\"a\":\"\x01\"}", "invalid character '\\x01' in string literal", NULL},
	    {"{\"a\":\"\n\"}", "invalid character '\\n' in string literal", NULL},
	    {"{\"a\":\x7f}", "invalid character '\\x7f' looking for beginning of value", NULL},
	    {"{\"a\":\xc3\xa9}", "invalid character '\xc3\x83' looking for beginning of value",
	     NULL},
	    {"{\"a\":\xad}", "invalid character '\\u00ad' looking for beginning of value", NULL},
	    {"{\"a\":\x85}", "invalid character '\\u0085' looking for beginning of value", NULL},
	    {"{\"a\":\\}", "invalid character '\\\\' looking for beginning of value", NULL},
	    {"\t{\"a\":[1,{\"b\":[]}]}\r\n", NULL, NULL},
	    {"{\"a\":.5}", "invalid character '.' looking for beginning of value", NULL},
	    {"{\"a\":+1}", "invalid character '+' looking for beginning of value", NULL},
	    {"{\"a\":\"x\\", "invalid character ' ' in string escape code", NULL},
	    {"{\"a\":\"x\\u12", "invalid character ' ' in \\u hexadecimal character escape", NULL},
	    {"{\"a\":-", "invalid character ' ' in numeric literal", NULL},
	    {"{\"a\":t", "invalid character ' ' in literal true (expecting 'r')", NULL},
	    {"[", "unexpected end of JSON input", NULL},
	    {"null", NULL, NULL},
	    {"{\"NAME\":\"n\"}", NULL, "n"},
	    {"{\"n\\u0061me\":\"q\"}", NULL, "q"},
	    {"{\"name\":null}", NULL, NULL},
	    {"{\"name\":\"a\",\"Name\":\"b\"}", NULL, "b"},
	    {"{\"x\":{\"name\":\"inner\"},\"name\":\"outer\"}", NULL, "outer"},
	    {"{\"name\":\"\\ud83d\\ude00\\ud800x\xff\"}", NULL,
	     "\xf0\x9f\x98\x80\xef\xbf\xbdx\xef\xbf\xbd"},
	    {"{\"a\":1.5e-3,\"b\":-0,\"c\":[true,false,null,\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]}", NULL,
	     NULL},
	    {"{\"a\":99999999999999999999999999999999}", NULL,
	     NULL}, /* Go accepts, jansson does not */
	    {"{\"a\":1,\"a\":2}", NULL, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cni_go_conf conf = CNI_GO_CONF_INIT;
		char *msg = NULL;
		int r = cni_go_json_scan(cases[i].in, strlen(cases[i].in), &conf, &msg);
		if (cases[i].msg) {
			assert_int_equal(r, -CNI_ERR_DECODING_FAILURE);
			if (!streq(msg, cases[i].msg))
				fail_msg("input %zu: got \"%s\" want \"%s\"", i, msg, cases[i].msg);
		} else {
			if (r != 0)
				fail_msg("input %zu: unexpected error %s", i, msg);
			if (cases[i].name)
				assert_string_equal(conf.name.value, cases[i].name);
			else
				assert_null(conf.name.value);
		}
		free(msg);
		cni_go_conf_clear(&conf);
	}

	/* embedded NUL: Go quotes it */
	cni_go_conf conf = CNI_GO_CONF_INIT;
	char *msg = NULL;
	assert_int_equal(cni_go_json_scan("{}\0", 3, &conf, &msg), -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(msg, "invalid character '\\x00' after top-level value");
	free(msg);
	cni_go_conf_clear(&conf);

	/* nesting deeper than Go's limit fails cleanly instead of blowing the stack */
	size_t deep = 20000;
	char *big = malloc(deep + 1);
	assert_non_null(big);
	memset(big, '[', deep);
	big[deep] = '\0';
	msg = NULL;
	assert_int_equal(cni_go_json_scan(big, deep, &conf, &msg), -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(msg, "invalid character '[' exceeded max depth");
	free(msg);
	free(big);
	cni_go_conf_clear(&conf);
}

static void test_callbacks_get_args(void **state)
{
	calls c = {0};
	cni_plugin_funcs f = test_funcs(&c);
	const char *env_del[] = {"CNI_COMMAND=DEL", "CNI_CONTAINERID=c1", "CNI_IFNAME=eth0",
				 "CNI_PATH=/bin",   "CNI_ARGS=K=V",	  NULL};
	run_out o;
	run(&f, NULL, ABOUT, env_del, conf100, strlen(conf100), 0, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(c.del, 1);
	assert_string_equal(c.seen_args, "K=V");
	assert_int_equal(c.seen_stdin_len, strlen(conf100));
	assert_string_equal(o.out, "");
	run_out_clear(&o);

	/* VERSION never calls back and ignores stdin */
	const char *env_version[] = {"CNI_COMMAND=VERSION", NULL};
	run(&f, NULL, ABOUT, env_version, "garbage", 7, 0, &o);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "\"supportedVersions\""));
	assert_int_equal(c.add + c.check + c.gc + c.status, 0);
	run_out_clear(&o);
}

static void test_callback_errors(void **state)
{
	calls c = {0};
	cni_plugin_funcs f = test_funcs(&c);
	run_out o;

	/* a spec code passes through with its details */
	c.fail_code = 107;
	c.fail_with_error = true;
	run(&f, NULL, ABOUT, env_add, conf100, strlen(conf100), 0, &o);
	assert_int_equal(o.rc, -107);
	assert_string_equal(o.out, "{\n    \"code\": 107,\n    \"msg\": \"callback failed on "
				   "purpose\",\n    \"details\": \"some details\"\n}");
	run_out_clear(&o);

	/* a library code prints as 999 */
	c.fail_code = CNI_ERR_SYSTEM;
	run(&f, NULL, ABOUT, env_add, conf100, strlen(conf100), 0, &o);
	assert_int_equal(o.rc, -CNI_ERR_SYSTEM);
	assert_int_equal(cni_error_code(o.err), CNI_ERR_SYSTEM);
	assert_non_null(strstr(o.out, "\"code\": 999"));
	run_out_clear(&o);

	/* a failure without an error object still prints one, naming the verb */
	c.fail_code = CNI_ERR_TRY_AGAIN_LATER;
	c.fail_with_error = false;
	run(&f, NULL, ABOUT, env_add, conf100, strlen(conf100), 0, &o);
	assert_int_equal(o.rc, -CNI_ERR_TRY_AGAIN_LATER);
	assert_string_equal(o.out, "{\n    \"code\": 11,\n    \"msg\": \"ADD failed: "
				   "CNI_ERR_TRY_AGAIN_LATER\"\n}");
	run_out_clear(&o);
	assert_int_equal(c.add, 3);
}

static cni_plugin_info *info_all(void)
{
	cni_plugin_info *info = NULL;
	assert_int_equal(cni_plugin_info_all(&info, NULL), 0);
	return info;
}

static void test_gc_status(void **state)
{
	calls c = {0};
	cni_plugin_funcs f = test_funcs(&c);
	const char *env_gc[] = {"CNI_COMMAND=GC", "CNI_PATH=/bin", NULL};
	const char *env_status[] = {"CNI_COMMAND=STATUS", "CNI_PATH=/bin", NULL};
	run_out o;

	/* NULL callbacks succeed */
	run(&f, NULL, ABOUT, env_gc, conf110, strlen(conf110), 0, &o);
	assert_int_equal(o.rc, 0);
	assert_string_equal(o.out, "");
	run_out_clear(&o);

	f.gc = t_gc;
	f.status = t_status;
	run(&f, NULL, ABOUT, env_gc, conf110, strlen(conf110), 0, &o);
	assert_int_equal(o.rc, 0);
	run_out_clear(&o);
	c.fail_code = CNI_ERR_PLUGIN_NOT_AVAILABLE;
	c.fail_with_error = true;
	run(&f, NULL, ABOUT, env_status, conf110, strlen(conf110), 0, &o);
	assert_int_equal(o.rc, -CNI_ERR_PLUGIN_NOT_AVAILABLE);
	assert_non_null(strstr(o.out, "\"code\": 50"));
	run_out_clear(&o);
	assert_int_equal(c.gc, 1);
	assert_int_equal(c.status, 1);

	/* below 1.1.0 the callback is not reached */
	run(&f, NULL, ABOUT, env_status, conf100, strlen(conf100), 0, &o);
	assert_int_equal(o.rc, -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_int_equal(c.status, 1);
	run_out_clear(&o);

	/* an unparsable version on CHECK is a decoding failure (code 6) */
	const char *env_check[] = {"CNI_COMMAND=CHECK", "CNI_CONTAINERID=c", "CNI_NETNS=/x",
				   "CNI_IFNAME=eth0",	"CNI_PATH=/bin",     NULL};
	const char bad[] = "{\"cniVersion\":\"x.y\",\"name\":\"n\"}";
	run(&f, NULL, ABOUT, env_check, bad, strlen(bad), 0, &o);
	assert_int_equal(o.rc, -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(c.check, 0);
	run_out_clear(&o);
}

static void test_netns_check(void **state)
{
	calls c = {0};
	cni_plugin_funcs f = test_funcs(&c);
	const char *own[] = {"CNI_COMMAND=DEL",
			     "CNI_CONTAINERID=c1",
			     "CNI_IFNAME=eth0",
			     "CNI_PATH=/bin",
			     "CNI_NETNS=/proc/self/ns/net",
			     NULL,
			     NULL};
	static const char *const overrides[] = {"CNI_NETNS_OVERRIDE=1", "CNI_NETNS_OVERRIDE=true",
						"CNI_NETNS_OVERRIDE=True"};
	run_out o;

	/* refused before the callback runs */
	run(&f, NULL, ABOUT, own, conf100, strlen(conf100), 0, &o);
	assert_int_equal(o.rc, -CNI_ERR_INVALID_NETNS);
	assert_int_equal(c.del, 0);
	run_out_clear(&o);

	for (size_t i = 0; i < ARRAY_SIZE(overrides); i++) {
		own[5] = overrides[i];
		run(&f, NULL, ABOUT, own, conf100, strlen(conf100), 0, &o);
		assert_int_equal(o.rc, 0);
		run_out_clear(&o);
	}
	assert_int_equal(c.del, 3);

	/* "false" is no override */
	own[5] = "CNI_NETNS_OVERRIDE=false";
	run(&f, NULL, ABOUT, own, conf100, strlen(conf100), 0, &o);
	assert_int_equal(o.rc, -CNI_ERR_INVALID_NETNS);
	run_out_clear(&o);

	/* a FIFO at the path must not block the check */
	char dir[] = "/tmp/skel-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *fifo = cni_strdupf("%s/fifo", dir);
	_cleanup_free_ char *netns_env = cni_strdupf("CNI_NETNS=%s", fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	own[4] = netns_env;
	own[5] = NULL;
	run(&f, NULL, ABOUT, own, conf100, strlen(conf100), 0, &o);
	assert_int_equal(o.rc, 0);
	run_out_clear(&o);
	unlink(fifo);
	rmdir(dir);
}

static void test_about_and_missing_command(void **state)
{
	const char *none[] = {NULL};
	run_out o;
	cni_plugin_info *info = info_all();

	run(NULL, info, "my about", none, NULL, 0, 0, &o);
	assert_int_equal(o.rc, 0);
	assert_string_equal(o.out, "");
	assert_string_equal(o.err_text, "my about\nCNI protocol versions supported: 0.1.0, 0.2.0, "
					"0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n");
	run_out_clear(&o);

	/* without about text it is an error */
	run(NULL, info, NULL, none, NULL, 0, 0, &o);
	assert_int_equal(o.rc, -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_string_equal(o.out, "{\n    \"code\": 4,\n    \"msg\": \"required env variables "
				   "[CNI_COMMAND] missing\"\n}");
	assert_string_equal(o.err_text, "");
	run_out_clear(&o);
	cni_plugin_info_free(info);
}

static void test_invalid_utf8_in_env(void **state)
{
	const char *env[] = {"CNI_COMMAND=\xff\xfe", NULL};
	run_out o;
	run(NULL, NULL, ABOUT, env, conf100, strlen(conf100), 0, &o);
	assert_int_equal(o.rc, -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_string_equal(o.out, "{\n    \"code\": 4,\n    \"msg\": \"unknown CNI_COMMAND: "
				   "\xef\xbf\xbd\xef\xbf\xbd\"\n}");
	run_out_clear(&o);
}

/* ---- stdin robustness ---- */

/* A thread writes len bytes in small chunks with pauses: partial reads, and EAGAIN when
 * the read end is non-blocking. (A thread, not a fork: valgrind checks forked children as
 * programs of their own.) */
typedef struct writer {
	pthread_t thread;
	int fd;
	size_t len, chunk;
} writer;

static void *writer_main(void *arg)
{
	writer *w = arg;
	char *buf = calloc(1, w->chunk);
	for (size_t off = 0; buf && off < w->len;) {
		size_t n = w->len - off < w->chunk ? w->len - off : w->chunk;
		memset(buf, ' ', n);
		if (off == 0)
			memcpy(buf, "{\"name\":\"n\"}", n < 12 ? n : 12);
		ssize_t r = write(w->fd, buf, n);
		if (r <= 0)
			break; /* EPIPE once the reader gave up */
		off += (size_t)r;
		usleep(1000);
	}
	free(buf);
	close(w->fd);
	return NULL;
}

static void slow_writer(writer *w, int fd, size_t len, size_t chunk)
{
	w->fd = fd;
	w->len = len;
	w->chunk = chunk;
	assert_int_equal(pthread_create(&w->thread, NULL, writer_main, w), 0);
}

static void test_stdin_partial_and_nonblocking(void **state)
{
	calls c = {0};
	cni_plugin_funcs f = test_funcs(&c);
	const char *env_del[] = {"CNI_COMMAND=DEL", "CNI_CONTAINERID=c1", "CNI_IFNAME=eth0",
				 "CNI_PATH=/bin", NULL};
	for (int nonblock = 0; nonblock < 2; nonblock++) {
		int p[2];
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		if (nonblock)
			assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
		writer w;
		slow_writer(&w, p[1], 200, 16);
		cni_skel_io io = CNI_SKEL_IO_INIT;
		io.envp = env_del;
		io.stdin_fd = p[0];
		io.stdout_fd = memfd_with("", 0);
		io.stderr_fd = memfd_with("", 0);
		assert_int_equal(cni_plugin_main_io(&f, NULL, ABOUT, &io, NULL), 0);
		assert_int_equal(c.seen_stdin_len, 200);
		assert_int_equal(pthread_join(w.thread, NULL), 0);
		close(p[0]);
		close(io.stdout_fd);
		close(io.stderr_fd);
	}
	assert_int_equal(c.del, 2);
}

static void test_stdin_over_default_cap(void **state)
{
	calls c = {0};
	cni_plugin_funcs f = test_funcs(&c);
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* an endless-looking writer: more than the cap; we must stop reading, not hang */
	writer w;
	slow_writer(&w, p[1], CNI_SKEL_DEFAULT_MAX_STDIN + 65536, 65536);
	cni_skel_io io = CNI_SKEL_IO_INIT;
	io.envp = env_add;
	io.stdin_fd = p[0];
	io.stdout_fd = memfd_with("", 0);
	io.stderr_fd = memfd_with("", 0);
	cni_error *e = NULL;
	assert_int_equal(cni_plugin_main_io(&f, NULL, ABOUT, &io, &e), -CNI_ERR_IO_FAILURE);
	assert_string_equal(cni_error_msg(e), "error reading from stdin: network config exceeds "
					      "the limit of 4194304 bytes");
	cni_error_free(e);
	close(p[0]); /* the writer gets EPIPE and stops */
	assert_int_equal(pthread_join(w.thread, NULL), 0);
	assert_int_equal(c.add, 0);
	_cleanup_free_ char *out = fd_contents(io.stdout_fd);
	assert_non_null(strstr(out, "\"code\": 5"));
	close(io.stdout_fd);
	close(io.stderr_fd);
}

static void test_stdin_read_error(void **state)
{
	cni_skel_io io = CNI_SKEL_IO_INIT;
	cni_error *e = NULL;
	io.envp = env_add;
	io.stdin_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* read() gives EISDIR */
	io.stdout_fd = memfd_with("", 0);
	io.stderr_fd = memfd_with("", 0);
	assert_int_equal(cni_plugin_main_io(NULL, NULL, ABOUT, &io, &e), -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "error reading from stdin: "));
	cni_error_free(e);
	close(io.stdin_fd);
	close(io.stdout_fd);
	close(io.stderr_fd);
}

/* An ADD whose result cannot be written is taken back with DEL: the runtime never learns
 * of the attachment (issue 17). */
static void test_add_undone_when_result_is_lost(void **state)
{
	calls c = {0};
	cni_plugin_funcs f = test_funcs(&c);
	cni_skel_io io = CNI_SKEL_IO_INIT;
	cni_error *e = NULL;
	io.envp = env_add;
	const char *conf =
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":{\"cniVersion\":\"1.0.0\"}}";
	io.stdin_fd = memfd_with(conf, strlen(conf));
	io.stdout_fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* write() gives EBADF */
	io.stderr_fd = memfd_with("", 0);
	assert_int_equal(cni_plugin_main_io(&f, NULL, ABOUT, &io, &e), -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "error writing to stdout: "));
	assert_int_equal(c.add, 1);
	assert_int_equal(c.del, 1);
	/* the undoing call is a DEL to a callback that looks (etcd-ipam forwards it) */
	assert_string_equal(c.seen_command, "DEL");
	cni_error_free(e);
	close(io.stdin_fd);
	close(io.stdout_fd);
	close(io.stderr_fd);
}

/* stdout that takes nothing: the error JSON goes to stderr instead of nowhere. */
static void test_error_to_stderr_when_stdout_fails(void **state)
{
	const char *none[] = {NULL};
	cni_skel_io io = CNI_SKEL_IO_INIT;
	io.envp = none;
	io.stdin_fd = memfd_with("", 0);
	io.stdout_fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* write() gives EBADF */
	io.stderr_fd = memfd_with("", 0);
	assert_int_equal(cni_plugin_main_io(NULL, NULL, NULL, &io, NULL),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	_cleanup_free_ char *err_text = fd_contents(io.stderr_fd);
	assert_non_null(strstr(err_text, "failed to write the error to stdout (Bad file "
					 "descriptor): {"));
	assert_non_null(strstr(err_text, "required env variables [CNI_COMMAND] missing"));
	close(io.stdin_fd);
	close(io.stdout_fd);
	close(io.stderr_fd);
}

static char self_exe[4096];

/* What the test binary does when re-executed as a plugin. */
static int as_plugin(void)
{
	calls c = {0};
	cni_plugin_funcs f = test_funcs(&c);
	return cni_plugin_main(&f, NULL, ABOUT);
}

/* cni_plugin_main on a real process: environment, fds 0/1 and the exit code. The test
 * binary re-executes itself, so valgrind (not tracing children) checks only this one. */
static void test_plugin_main_process(void **state)
{
	for (int ok = 0; ok < 2; ok++) {
		int in = memfd_with(conf100, strlen(conf100));
		int out = memfd_with("", 0);
		char *const argv[] = {self_exe, (char *)"--as-plugin", NULL};
		char *const envp[] = {ok ? (char *)"CNI_COMMAND=DEL" : (char *)"CNI_COMMAND=BOGUS",
				      (char *)"CNI_CONTAINERID=c1", (char *)"CNI_IFNAME=eth0",
				      (char *)"CNI_PATH=/bin", NULL};
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			dup2(in, 0);
			dup2(out, 1);
			execve(self_exe, argv, envp);
			_exit(127);
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), ok ? 0 : 1);
		_cleanup_free_ char *got = fd_contents(out);
		assert_string_equal(got, ok ? ""
					    : "{\n    \"code\": 4,\n    \"msg\": \"unknown "
					      "CNI_COMMAND: BOGUS\"\n}");
		close(in);
		close(out);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && streq(argv[1], "--as-plugin"))
		return as_plugin();
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = '\0';
	/* writers in the stdin tests must see EPIPE, not die of SIGPIPE */
	signal(SIGPIPE, SIG_IGN);

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_go_json_messages),
	    cmocka_unit_test(test_golden_valid),
	    cmocka_unit_test(test_golden_invalid),
	    cmocka_unit_test(test_callbacks_get_args),
	    cmocka_unit_test(test_callback_errors),
	    cmocka_unit_test(test_gc_status),
	    cmocka_unit_test(test_netns_check),
	    cmocka_unit_test(test_about_and_missing_command),
	    cmocka_unit_test(test_invalid_utf8_in_env),
	    cmocka_unit_test(test_stdin_partial_and_nonblocking),
	    cmocka_unit_test(test_stdin_over_default_cap),
	    cmocka_unit_test(test_stdin_read_error),
	    cmocka_unit_test(test_add_undone_when_result_is_lost),
	    cmocka_unit_test(test_error_to_stderr_when_stdout_fails),
	    cmocka_unit_test(test_plugin_main_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
