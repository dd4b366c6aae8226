/* SPDX-License-Identifier: Apache-2.0 */
/*
 * invoke: CNI_PATH lookup, AsEnv, and running the scriptable test plugin
 * (tests/test-plugin/cni-test-plugin.c) through every way a plugin can fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "internal.h"
#include "buf-internal.h"
#include "file-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define PLUGIN CNI_TEST_PLUGIN_DIR "/cni-test-plugin"

static char tmpdir[] = "/tmp/cni-test-invoke-XXXXXX";

static int group_setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	/* Set before any thread starts; AsEnv with a NULL base must carry it. */
	setenv("CNI_TEST_INVOKE_MARK", "present", 1);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
	char *p = cni_strdupf("%s/%s", tmpdir, name);
	assert_non_null(p);
	return p;
}

/* Process environment plus extra entries (NULL-terminated list). */
static char **env_plus(const char *first, ...)
{
	char **env = NULL;
	assert_int_equal(cni_strv_dup((const char *const *)environ, &env), 0);
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		assert_int_equal(cni_strv_push(&env, s), 0);
	va_end(ap);
	return env;
}

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static size_t env_count(char **env, const char *name)
{
	size_t n = strlen(name), c = 0;
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			c++;
	return c;
}

static size_t count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

/*
 * Valgrind runs posix_spawn's child as a real fork, so an exec failure in the child cannot
 * be reported back to posix_spawn (the child just exits): the spawn-error texts are
 * checked only without it.
 */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload");
}

/* No child of ours is left (running or zombie). */
static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* Run the plugin with conf as stdin and CNI_COMMAND=ADD on top of the given env. */
static int run(const char *conf, const cni_exec_options *opts, char **out, size_t *out_len,
	       cni_error **err)
{
	cni_exec_args args = CNI_EXEC_ARGS_INIT;
	args.command = "ADD";
	args.container_id = "ctr1";
	args.netns = "/run/netns/test";
	args.ifname = "eth0";
	args.path = CNI_TEST_PLUGIN_DIR;
	char **env = NULL;
	assert_int_equal(cni_exec_args_to_env(&args, opts ? opts->base_env : NULL, &env, NULL), 0);
	int r = cni_exec_plugin_raw(PLUGIN, (const char *const *)env, conf, conf ? strlen(conf) : 0,
				    opts, out, out_len, err);
	cni_strv_free(env);
	return r;
}

/* Expect failure with the given code and exact message. */
static void expect_fail(const char *conf, const cni_exec_options *opts, int code, const char *msg)
{
	cni_error *e = NULL;
	char *out = (char *)0x1;
	assert_int_equal(run(conf, opts, &out, NULL, &e), -code);
	assert_ptr_equal(out, (char *)0x1); /* untouched on failure */
	assert_non_null(e);
	assert_int_equal(cni_error_code(e), code);
	assert_string_equal(cni_error_msg(e), msg);
	cni_error_free(e);
	assert_no_children();
}

static json_t *load(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, 0, &jerr);
	if (!j)
		fail_msg("not JSON (%s): %.200s", jerr.text, s);
	return j;
}

static json_t *read_records(const char *file)
{
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(cni_read_file(file, 0, &data, &len, NULL), 0);
	json_t *arr = json_array();
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		json_array_append_new(arr, load(line));
	free(data);
	return arr;
}

/* ---- find in path ---- */

static void test_split_path(void **state)
{
	char **v = NULL;
	assert_int_equal(cni_split_path("/a::/b:", &v, NULL), 0);
	assert_int_equal(cni_strv_length(v), 2);
	assert_string_equal(v[0], "/a");
	assert_string_equal(v[1], "/b");
	cni_strv_free(v);
	v = NULL;
	assert_int_equal(cni_split_path(NULL, &v, NULL), 0);
	assert_non_null(v);
	assert_null(v[0]);
	cni_strv_free(v);
	assert_int_equal(cni_split_path(":", &v, NULL), 0);
	assert_null(v[0]);
	cni_strv_free(v);
}

static void find_fails(const char *plugin, const char *const *paths, int code, const char *msg)
{
	cni_error *e = NULL;
	char *out = NULL;
	assert_int_equal(cni_find_in_path(plugin, paths, &out, &e), -code);
	assert_null(out);
	assert_string_equal(cni_error_msg(e), msg);
	assert_int_equal(cni_error_code(e), code);
	cni_error_free(e);
}

static void test_find_in_path(void **state)
{
	const char *const paths[] = {"/nonexistent/a", "/nonexistent/b", NULL};
	const char *const none[] = {NULL};
	find_fails("", paths, CNI_ERR_INVALID_ARG, "no plugin name provided");
	find_fails(NULL, paths, CNI_ERR_INVALID_ARG, "no plugin name provided");
	find_fails("sub/plugin", paths, CNI_ERR_INVALID_ARG, "invalid plugin name: sub/plugin");
	find_fails("x", none, CNI_ERR_NOT_FOUND, "no paths provided");
	find_fails("x", NULL, CNI_ERR_NOT_FOUND, "no paths provided");
	find_fails("bridge", paths, CNI_ERR_NOT_FOUND,
		   "failed to find plugin \"bridge\" in path [/nonexistent/a /nonexistent/b]");

	/* A directory of the same name is skipped; a non-executable file is found (the
	 * reference does not check the exec bit); paths are cleaned as filepath.Join. */
	char *d1 = tmp_path("find1"), *d2 = tmp_path("find2");
	assert_int_equal(mkdir(d1, 0755), 0);
	assert_int_equal(mkdir(d2, 0755), 0);
	char *dir_as_plugin = cni_strdupf("%s/p", d1), *file = cni_strdupf("%s/p", d2);
	assert_int_equal(mkdir(dir_as_plugin, 0755), 0);
	assert_int_equal(cni_file_write_atomic(file, "x", 1, 0644, 0, NULL), 0);
	char *messy = cni_strdupf("%s//./sub/..//find2/", tmpdir);
	const char *const p2[] = {d1, messy, NULL};
	char *out = NULL;
	assert_int_equal(cni_find_in_path("p", p2, &out, NULL), 0);
	assert_string_equal(out, file);
	cni_free(out);

	const char *const p3[] = {d1, CNI_TEST_PLUGIN_DIR, NULL};
	assert_int_equal(cni_find_in_path("cni-test-plugin", p3, &out, NULL), 0);
	assert_string_equal(out, PLUGIN);
	cni_free(out);

	char *msg = cni_strdupf("failed to find plugin \"q\" in path [%s %s]", d1, messy);
	find_fails("q", p2, CNI_ERR_NOT_FOUND, msg);
	free(msg);
	free(messy);
	free(dir_as_plugin);
	free(file);
	free(d1);
	free(d2);
}

/* ---- AsEnv ---- */

static void test_args_to_env(void **state)
{
	const char *const base[] = {"A=1",  "CNI_COMMAND=OLD", "B=",	 "A=2",
				    "NOEQ", "CNI_ARGS=old",    "Z=last", NULL};
	const char *const pargs[][2] = {{"K", "V"}, {"K2", "V2"}};
	cni_exec_args args = CNI_EXEC_ARGS_INIT;
	args.command = "ADD";
	args.container_id = "c1";
	args.plugin_args = pargs;
	args.n_plugin_args = 2;
	args.path = "/opt/cni/bin:/usr/lib/cni";
	char **env = NULL;
	assert_int_equal(cni_exec_args_to_env(&args, base, &env, NULL), 0);

	assert_string_equal(env_get(env, "A"), "2");
	assert_int_equal(env_count(env, "A"), 1);
	assert_string_equal(env_get(env, "B"), "");
	assert_string_equal(env_get(env, "Z"), "last");
	assert_string_equal(env_get(env, "CNI_COMMAND"), "ADD");
	assert_string_equal(env_get(env, "CNI_CONTAINERID"), "c1");
	assert_string_equal(env_get(env, "CNI_NETNS"), ""); /* empty values kept */
	assert_string_equal(env_get(env, "CNI_IFNAME"), "");
	assert_string_equal(env_get(env, "CNI_ARGS"), "K=V;K2=V2");
	assert_string_equal(env_get(env, "CNI_PATH"), "/opt/cni/bin:/usr/lib/cni");
	const char *names[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS",
			       "CNI_ARGS",    "CNI_IFNAME",	 "CNI_PATH"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_int_equal(env_count(env, names[i]), 1);
	size_t noeq = 0;
	for (size_t i = 0; env[i]; i++)
		noeq += streq(env[i], "NOEQ");
	assert_int_equal(noeq, 1);
	assert_int_equal(cni_strv_length(env), 4 + 6); /* A B NOEQ Z + the six CNI_* */
	cni_strv_free(env);

	/* PluginArgsStr wins over PluginArgs. */
	args.plugin_args_str = "IgnoreUnknown=1;X=Y";
	assert_int_equal(cni_exec_args_to_env(&args, base, &env, NULL), 0);
	assert_string_equal(env_get(env, "CNI_ARGS"), "IgnoreUnknown=1;X=Y");
	cni_strv_free(env);

	/* NULL base: the process environment. */
	cni_exec_args empty = CNI_EXEC_ARGS_INIT;
	assert_int_equal(cni_exec_args_to_env(&empty, NULL, &env, NULL), 0);
	assert_string_equal(env_get(env, "CNI_TEST_INVOKE_MARK"), "present");
	assert_string_equal(env_get(env, "CNI_COMMAND"), "");
	assert_string_equal(env_get(env, "CNI_ARGS"), "");
	cni_strv_free(env);

	cni_error *e = NULL;
	assert_int_equal(cni_exec_args_to_env(NULL, NULL, &env, &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	args.plugin_args = NULL;
	assert_int_equal(cni_exec_args_to_env(&args, NULL, &env, NULL), -CNI_ERR_INVALID_ARG);
}

/* ---- exec ---- */

static void test_exec_echo(void **state)
{
	/* A stray inheritable descriptor in the caller must not reach the plugin. */
	int stray = open("/dev/null", O_RDONLY);
	assert_true(stray > 2);
	size_t before = count_fds();

	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"testBehavior\":\"echo\"}";
	const char *const base[] = {"PATH=/usr/bin:/bin", "CNI_IFNAME=stale", NULL};
	cni_exec_options opts = CNI_EXEC_OPTIONS_INIT;
	opts.base_env = base;
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(run(conf, &opts, &out, &len, NULL), 0);
	assert_int_equal(len, strlen(out));
	json_t *r = load(out);
	json_t *echo = json_object_get(r, "testEcho");
	assert_string_equal(json_string_value(json_object_get(r, "cniVersion")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(echo, "command")), "ADD");
	assert_string_equal(json_string_value(json_object_get(echo, "containerId")), "ctr1");
	assert_string_equal(json_string_value(json_object_get(echo, "netns")), "/run/netns/test");
	assert_string_equal(json_string_value(json_object_get(echo, "ifname")), "eth0");
	assert_string_equal(json_string_value(json_object_get(echo, "args")), "");
	assert_string_equal(json_string_value(json_object_get(echo, "path")), CNI_TEST_PLUGIN_DIR);
	assert_string_equal(json_string_value(json_object_get(echo, "stdin")), conf);
	assert_string_equal(json_string_value(json_object_get(echo, "argv0")), PLUGIN);
	/* Exactly the base environment plus the six CNI_* variables. */
	json_t *environ_arr = json_object_get(echo, "environ");
	assert_int_equal(json_array_size(environ_arr), 7);
	json_t *fds = json_object_get(echo, "fds");
	assert_int_equal(json_array_size(fds), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(json_integer_value(json_array_get(fds, i)), (json_int_t)i);
	json_decref(r);
	cni_free(out);

	/* out and out_len may be NULL. */
	assert_int_equal(run(conf, &opts, NULL, NULL, NULL), 0);
	assert_int_equal(count_fds(), before);
	close(stray);
	assert_no_children();
}

static void test_exec_error_json(void **state)
{
	cni_error *e = NULL;
	assert_int_equal(run("{\"testBehavior\":\"error\",\"testCode\":117,\"testMsg\":\"no "
			     "ipam\",\"testDetails\":\"range full\"}",
			     NULL, NULL, NULL, &e),
			 -117);
	assert_int_equal(cni_error_code(e), 117);
	assert_int_equal(cni_error_spec_code(e), 117);
	assert_string_equal(cni_error_msg(e), "no ipam");
	assert_string_equal(cni_error_details(e), "range full");
	cni_error_free(e);
	e = NULL;

	/* The spec's codes stay as they are. */
	assert_int_equal(run("{\"testBehavior\":\"error\",\"testCode\":7,\"testMsg\":\"bad\"}",
			     NULL, NULL, NULL, &e),
			 -CNI_ERR_INVALID_NETWORK_CONFIG);
	assert_string_equal(cni_error_msg(e), "bad");
	assert_null(cni_error_details(e));
	cni_error_free(e);
	e = NULL;

	/* Code 0 (ErrUnknown) is kept in the error, and the call still fails. */
	int r = run("{\"testBehavior\":\"error\",\"testCode\":0,\"testMsg\":\"zero\"}", NULL, NULL,
		    NULL, &e);
	assert_true(r < 0);
	assert_int_equal(cni_error_code(e), 0);
	assert_string_equal(cni_error_msg(e), "zero");
	cni_error_free(e);
	e = NULL;

	/* A plugin's own code in the library's range stays the plugin's: printed as it is,
	 * and the call fails with -CNI_ERR_EXEC rather than reading as -CNI_ERR_NOT_FOUND. */
	r = run("{\"testBehavior\":\"error\",\"testCode\":1003,\"testMsg\":\"mine\"}", NULL, NULL,
		NULL, &e);
	assert_int_equal(r, -CNI_ERR_EXEC);
	assert_int_equal(cni_error_code(e), 1003);
	assert_int_equal(cni_error_spec_code(e), 1003);
	char *ej = NULL;
	assert_int_equal(cni_error_to_json(e, NULL, &ej), 0);
	assert_non_null(strstr(ej, "\"code\": 1003"));
	cni_free(ej);
	cni_error *copy = cni_error_dup(e);
	assert_int_equal(cni_error_spec_code(copy), 1003);
	cni_error_free(copy);
	cni_error_free(e);
	e = NULL;

	/* Error JSON with exit 0 is a success: stdout is returned as is. */
	char *out = NULL;
	assert_int_equal(run("{\"testBehavior\":\"error\",\"testExitCode\":0,\"testCode\":5}", NULL,
			     &out, NULL, NULL),
			 0);
	assert_non_null(strstr(out, "\"code\": 5"));
	cni_free(out);
	assert_no_children();
}

static void test_exec_failures(void **state)
{
	char msg[4096];

	snprintf(msg, sizeof(msg),
		 "netplugin failed with no error message: plugin \"%s\": exit status 3", PLUGIN);
	expect_fail("{\"testBehavior\":\"exit\",\"testExitCode\":3}", NULL, CNI_ERR_EXEC, msg);

	snprintf(msg, sizeof(msg), "netplugin failed: \"oh no\\n\": plugin \"%s\": exit status 1",
		 PLUGIN);
	expect_fail("{\"testBehavior\":\"exit\",\"testStderr\":\"oh no\\n\"}", NULL, CNI_ERR_EXEC,
		    msg);

	snprintf(msg, sizeof(msg),
		 "netplugin failed: \"dying\": plugin \"%s\": killed by signal SIGABRT", PLUGIN);
	expect_fail("{\"testBehavior\":\"crash\",\"testStderr\":\"dying\"}", NULL, CNI_ERR_EXEC,
		    msg);

	snprintf(msg, sizeof(msg),
		 "netplugin failed with no error message: plugin \"%s\": killed by signal SIGTERM",
		 PLUGIN);
	expect_fail("{\"testBehavior\":\"signal\",\"testSignal\":15}", NULL, CNI_ERR_EXEC, msg);

	/* Unparsable stdout: jansson's own reason, then how it ended and stderr. */
	json_error_t jerr;
	assert_null(json_loads("this is not JSON", 0, &jerr));
	snprintf(msg, sizeof(msg),
		 "netplugin failed but error parsing its diagnostic message \"this is not "
		 "JSON\": %s (line %d, column %d): plugin \"%s\": exit status 1",
		 jerr.text, jerr.line, jerr.column, PLUGIN);
	expect_fail("{\"testBehavior\":\"garbage\"}", NULL, CNI_ERR_EXEC, msg);

	assert_null(json_loads("{\"code\":", 0, &jerr));
	snprintf(msg, sizeof(msg),
		 "netplugin failed but error parsing its diagnostic message \"{\\\"code\\\":\": "
		 "%s (line %d, column %d): plugin \"%s\": exit status 4, stderr \"why\"",
		 jerr.text, jerr.line, jerr.column, PLUGIN);
	expect_fail("{\"testBehavior\":\"garbage\",\"testOutput\":\"{\\\"code\\\":\","
		    "\"testExitCode\":4,\"testStderr\":\"why\"}",
		    NULL, CNI_ERR_EXEC, msg);

	/* Mistyped error fields are not an error object either. */
	snprintf(msg, sizeof(msg),
		 "netplugin failed but error parsing its diagnostic message "
		 "\"{\\\"code\\\":\\\"7\\\"}\": \"code\" must be a non-negative integer, \"msg\" "
		 "and \"details\" strings: plugin \"%s\": exit status 1",
		 PLUGIN);
	expect_fail("{\"testBehavior\":\"garbage\",\"testOutput\":\"{\\\"code\\\":\\\"7\\\"}\"}",
		    NULL, CNI_ERR_EXEC, msg);

	/* Garbage with exit 0 is a raw success. */
	char *out = NULL;
	assert_int_equal(
	    run("{\"testBehavior\":\"garbage\",\"testExitCode\":0}", NULL, &out, NULL, NULL), 0);
	assert_string_equal(out, "this is not JSON");
	cni_free(out);

	cni_error *e = NULL;
	assert_int_equal(
	    cni_exec_plugin_raw("/nonexistent/plugin", NULL, "{}", 2, NULL, NULL, NULL, &e),
	    -CNI_ERR_EXEC);
	if (!under_valgrind())
		assert_string_equal(cni_error_msg(e),
				    "failed to run plugin \"/nonexistent/plugin\": "
				    "No such file or directory");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_exec_plugin_raw(NULL, NULL, NULL, 0, NULL, NULL, NULL, &e),
			 -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	assert_no_children();
}

static void test_exec_unknown_command(void **state)
{
	cni_exec_args args = CNI_EXEC_ARGS_INIT;
	args.command = "FROB";
	cni_error *e = NULL;
	assert_int_equal(cni_exec_plugin_without_result(PLUGIN, "{}", 2, &args, NULL, &e),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_string_equal(cni_error_msg(e), "unknown CNI_COMMAND: FROB");
	cni_error_free(e);
}

static void test_exec_stderr_tail(void **state)
{
	cni_exec_options opts = CNI_EXEC_OPTIONS_INIT;
	opts.stderr_tail = 16;
	char msg[512];
	/* 200000 bytes of stderr: only the last 16 are quoted, marked as cut. */
	snprintf(msg, sizeof(msg),
		 "netplugin failed: \"...eeeeeeeeeeeeeeee\": plugin \"%s\": exit status 2", PLUGIN);
	expect_fail("{\"testBehavior\":\"stderr\",\"testBytes\":200000,\"testExitCode\":2}", &opts,
		    CNI_ERR_EXEC, msg);

	/* Exactly the tail size: nothing is cut. */
	snprintf(msg, sizeof(msg),
		 "netplugin failed: \"eeeeeeeeeeeeeeee\": plugin \"%s\": exit status 1", PLUGIN);
	expect_fail("{\"testBehavior\":\"stderr\",\"testBytes\":16}", &opts, CNI_ERR_EXEC, msg);

	/* The default tail is 4096 bytes. */
	cni_error *e = NULL;
	assert_true(
	    run("{\"testBehavior\":\"stderr\",\"testBytes\":100000}", NULL, NULL, NULL, &e) < 0);
	const char *m = cni_error_msg(e);
	const char *q = strstr(m, "\"...");
	assert_non_null(q);
	assert_int_equal(strspn(q + 4, "e"), 4096);
	cni_error_free(e);

	/* Success: stderr is dropped (the library never prints). */
	assert_int_equal(run("{\"testBehavior\":\"result\",\"testStderr\":\"log line\"}", NULL,
			     NULL, NULL, NULL),
			 0);
}

static void test_exec_timeout(void **state)
{
	size_t before = count_fds();
	char *rec = tmp_path("hang.jsonl");
	char *conf = cni_strdupf("{\"testBehavior\":\"hang\",\"recordFile\":\"%s\","
				 "\"testStderr\":\"waiting\"}",
				 rec);
	cni_exec_options opts = CNI_EXEC_OPTIONS_INIT;
	opts.timeout_ms = 300;
	char msg[512];
	snprintf(msg, sizeof(msg), "plugin \"%s\" timed out after 300 ms: stderr \"waiting\"",
		 PLUGIN);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cni_error *e = NULL;
	assert_int_equal(run(conf, &opts, NULL, NULL, &e), -CNI_ERR_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(cni_error_msg(e), msg);
	assert_int_equal(cni_error_spec_code(e), CNI_ERR_INTERNAL);
	cni_error_free(e);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 300);
	assert_true(ms < 10000);

	/* Killed and reaped: the recorded pid is gone, no zombie is left. */
	json_t *recs = read_records(rec);
	assert_int_equal(json_array_size(recs), 1);
	pid_t pid = (pid_t)json_integer_value(json_object_get(json_array_get(recs, 0), "pid"));
	assert_true(pid > 0);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	json_decref(recs);
	assert_no_children();
	assert_int_equal(count_fds(), before);

	/* Without stderr, the message is exactly the reference-style one. */
	snprintf(msg, sizeof(msg), "plugin \"%s\" timed out after 300 ms", PLUGIN);
	expect_fail("{\"testBehavior\":\"hang\"}", &opts, CNI_ERR_TIMEOUT, msg);

	/* A plugin that finishes in time is not affected by the limit. */
	opts.timeout_ms = 10000;
	assert_int_equal(
	    run("{\"testBehavior\":\"result\",\"testSleepMs\":50}", &opts, NULL, NULL, NULL), 0);
	free(conf);
	free(rec);
}

/* Gone, or a zombie on its way to being reaped by init, within two seconds. */
static bool pid_ends(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		FILE *f = fopen(path, "re");
		if (!f)
			return true;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		const char *p = strrchr(buf, ')');
		if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
			return true;
		usleep(10000);
	}
	return false;
}

/* The timeout kills what the plugin started too, not only the plugin (issue 17). */
static void test_exec_timeout_kills_children(void **state)
{
	char *pidfile = tmp_path("child.pid");
	char *conf =
	    cni_strdupf("{\"testBehavior\":\"hangchild\",\"testPidFile\":\"%s\"}", pidfile);
	cni_exec_options opts = CNI_EXEC_OPTIONS_INIT;
	opts.timeout_ms = 300;
	assert_int_equal(run(conf, &opts, NULL, NULL, NULL), -CNI_ERR_TIMEOUT);
	FILE *f = fopen(pidfile, "re");
	assert_non_null(f);
	int child = 0;
	assert_int_equal(fscanf(f, "%d", &child), 1);
	fclose(f);
	assert_true(child > 0);
	bool ended = pid_ends(child);
	if (!ended)
		kill(child, SIGKILL);
	assert_true(ended);
	assert_no_children();
	free(conf);
	free(pidfile);
}

static void test_exec_output_cap(void **state)
{
	size_t before = count_fds();
	cni_exec_options opts = CNI_EXEC_OPTIONS_INIT;
	opts.max_output = 100000;
	char msg[512];
	snprintf(msg, sizeof(msg), "plugin \"%s\" wrote more than 100000 bytes to stdout", PLUGIN);
	expect_fail("{\"testBehavior\":\"bigoutput\",\"testBytes\":5000000}", &opts, CNI_ERR_EXEC,
		    msg);
	/* Just under the cap is fine. */
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(
	    run("{\"testBehavior\":\"bigoutput\",\"testBytes\":99000}", &opts, &out, &len, NULL),
	    0);
	assert_true(len > 99000 && len <= 100000);
	cni_free(out);
	assert_int_equal(count_fds(), before);
}

static void test_exec_huge_io(void **state)
{
	/* 6 MiB of stdin echoed back twice (raw and parsed): both directions at once. */
	size_t pad = 6u * 1024 * 1024;
	cni_buf b = CNI_BUF_INIT;
	assert_int_equal(cni_buf_puts(&b, "{\"cniVersion\":\"1.0.0\",\"pad\":\""), 0);
	for (size_t i = 0; i < pad; i += 64)
		assert_int_equal(
		    cni_buf_puts(
			&b, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
		    0);
	assert_int_equal(cni_buf_puts(&b, "\"}"), 0);
	char *out = NULL;
	size_t len = 0;
	cni_exec_options opts = CNI_EXEC_OPTIONS_INIT;
	opts.max_output = 64u * 1024 * 1024;
	assert_int_equal(run(b.data, &opts, &out, &len, NULL), 0);
	assert_true(len > 2 * pad);
	json_t *r = load(out);
	json_t *echo = json_object_get(r, "testEcho");
	assert_string_equal(json_string_value(json_object_get(echo, "stdin")), b.data);
	assert_int_equal(
	    strlen(json_string_value(json_object_get(json_object_get(echo, "config"), "pad"))),
	    pad);
	json_decref(r);
	cni_free(out);

	/* 20 MiB of stdout with a matching limit. */
	opts.max_output = 32u * 1024 * 1024;
	assert_int_equal(run("{\"cniVersion\":\"1.0.0\",\"testBehavior\":\"bigoutput\","
			     "\"testBytes\":20971520}",
			     &opts, &out, &len, NULL),
			 0);
	assert_int_equal(len, strlen("{\"cniVersion\":\"1.0.0\",\"big\":\"\"}") + 20971520);
	cni_free(out);

	/* The default limit (16 MiB) refuses it. */
	cni_error *e = NULL;
	assert_int_equal(
	    run("{\"testBehavior\":\"bigoutput\",\"testBytes\":20971520}", NULL, NULL, NULL, &e),
	    -CNI_ERR_EXEC);
	assert_non_null(strstr(cni_error_msg(e), "wrote more than 16777216 bytes"));
	cni_error_free(e);

	/* A plugin that never reads its (large) stdin: EPIPE is not a failure, and the
	 * SIGPIPE it raises does not reach this process (which would die of it). */
	char **env = env_plus("CNI_TEST_BEHAVIOR=closestdin", NULL);
	opts.base_env = (const char *const *)env;
	opts.max_output = 0;
	assert_int_equal(run(b.data, &opts, &out, NULL, NULL), 0);
	assert_string_equal(out, "{}");
	cni_free(out);
	sigset_t pending;
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, SIGPIPE));
	cni_strv_free(env);
	cni_buf_free(&b);
	assert_no_children();
}

static void test_exec_daemon_grandchild(void **state)
{
	/* The plugin exits but leaves a grandchild holding its stdout and stderr: the call
	 * returns when the plugin is done, not when the grandchild lets go. */
	size_t before = count_fds();
	struct timespec t0, t1;
	char *out = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(run("{\"cniVersion\":\"1.0.0\",\"testBehavior\":\"daemon\","
			     "\"testDaemonMs\":3000}",
			     NULL, &out, NULL, NULL),
			 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	json_t *r = load(out);
	json_int_t daemon = json_integer_value(json_object_get(r, "daemonPid"));
	assert_true(daemon > 0);
	kill((pid_t)daemon, SIGKILL);
	json_decref(r);
	cni_free(out);
	/* Valgrind lacks pidfd_open, and without it the pipes' EOF is what ends the call. */
	if (!under_valgrind())
		assert_true(ms < 2000);
	assert_int_equal(count_fds(), before);
	assert_no_children();
}

/* Several threads at once, each checking it got its own answer back. */
struct worker {
	pthread_t thread;
	int id;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 8; i++) {
		char cid[64], conf[256];
		snprintf(cid, sizeof(cid), "thread-%d-%d", w->id, i);
		cni_exec_args args = CNI_EXEC_ARGS_INIT;
		args.command = "ADD";
		args.container_id = cid;
		args.ifname = "eth0";
		const char *behavior = (i % 4 == 3) ? "crash" : "echo";
		snprintf(conf, sizeof(conf), "{\"cniVersion\":\"1.0.0\",\"testBehavior\":\"%s\"}",
			 behavior);
		cni_exec_options opts = CNI_EXEC_OPTIONS_INIT;
		opts.timeout_ms = 30000;
		char **env = NULL;
		char *out = NULL;
		cni_error *e = NULL;
		if (cni_exec_args_to_env(&args, NULL, &env, NULL) < 0) {
			w->failures++;
			continue;
		}
		int r = cni_exec_plugin_raw(PLUGIN, (const char *const *)env, conf, strlen(conf),
					    &opts, &out, NULL, &e);
		cni_strv_free(env);
		if (streq(behavior, "crash")) {
			if (r != -CNI_ERR_EXEC || !strstr(cni_error_msg(e), "SIGABRT"))
				w->failures++;
		} else {
			json_t *j = r == 0 ? json_loads(out, 0, NULL) : NULL;
			json_t *echo = json_object_get(j, "testEcho");
			const char *got = json_string_value(json_object_get(echo, "containerId"));
			if (!got || strcmp(got, cid) != 0 ||
			    json_array_size(json_object_get(echo, "fds")) != 3)
				w->failures++;
			json_decref(j);
		}
		cni_free(out);
		cni_error_free(e);
	}
	return NULL;
}

static void test_exec_threads(void **state)
{
	size_t before = count_fds();
	struct worker w[12];
	for (int i = 0; i < 12; i++) {
		w[i].id = i;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 12; i++) {
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(count_fds(), before);
	assert_no_children();
}

struct closer {
	int fd;
	unsigned int delay_ms;
};

static void *close_later(void *arg)
{
	struct closer *c = arg;
	struct timespec ts = {0, (long)c->delay_ms * 1000000L};
	nanosleep(&ts, NULL);
	close(c->fd);
	return NULL;
}

static void copy_plugin(const char *dst)
{
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(cni_read_file(PLUGIN, 0, &data, &len, NULL), 0);
	assert_int_equal(cni_file_write_atomic(dst, data, len, 0755, 0, NULL), 0);
	free(data);
}

static void test_exec_text_file_busy(void **state)
{
	/* While someone holds the binary open for writing, exec fails with ETXTBSY; the
	 * call retries and succeeds once the writer is gone. */
	if (under_valgrind())
		skip();
	char *copy = tmp_path("busy-plugin");
	copy_plugin(copy);
	struct closer c = {open(copy, O_WRONLY | O_CLOEXEC), 150};
	assert_true(c.fd >= 0);
	char **env = env_plus("CNI_COMMAND=ADD", NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, close_later, &c), 0);
	assert_int_equal(cni_exec_plugin_raw(copy, (const char *const *)env,
					     "{\"testBehavior\":\"result\"}", 25, NULL, NULL, NULL,
					     NULL),
			 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* It did wait for the writer to go away. */
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 150);
	cni_strv_free(env);

	/* Busy for good: gives up with the system's message. */
	int fd = open(copy, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	cni_error *e = NULL;
	assert_int_equal(cni_exec_plugin_raw(copy, NULL, "{}", 2, NULL, NULL, NULL, &e),
			 -CNI_ERR_EXEC);
	char msg[512];
	snprintf(msg, sizeof(msg), "failed to run plugin \"%s\": %s", copy, strerror(ETXTBSY));
	assert_string_equal(cni_error_msg(e), msg);
	cni_error_free(e);
	close(fd);
	free(copy);
}

/* ---- with / without result ---- */

static void test_with_result(void **state)
{
	cni_exec_args args = CNI_EXEC_ARGS_INIT;
	args.command = "ADD";
	args.container_id = "c";
	args.ifname = "eth0";
	cni_result *res = NULL;

	/* No cniVersion in the result: the config's is used (issue #895). */
	const char *c1 =
	    "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"testBehavior\":\"noversion\","
	    "\"testResult\":{\"cniVersion\":\"\",\"interfaces\":[{\"name\":\"eth0\"}]}}";
	assert_int_equal(
	    cni_exec_plugin_with_result(PLUGIN, c1, strlen(c1), &args, NULL, &res, NULL), 0);
	assert_string_equal(cni_result_version(res), "0.4.0");
	assert_int_equal(cni_result_interface_count(res), 1);
	cni_result_free(res);
	res = NULL;

	/* Empty cniVersion counts as missing. */
	const char *c1b = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"testBehavior\":\"garbage\","
			  "\"testExitCode\":0,\"testOutput\":\"{\\\"cniVersion\\\":\\\"\\\"}\"}";
	assert_int_equal(
	    cni_exec_plugin_with_result(PLUGIN, c1b, strlen(c1b), &args, NULL, &res, NULL), 0);
	assert_string_equal(cni_result_version(res), "1.0.0");
	cni_result_free(res);
	res = NULL;

	/* A result in another version is parsed in its own version, not converted. */
	const char *c2 =
	    "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"testBehavior\":\"garbage\","
	    "\"testExitCode\":0,\"testOutput\":\"{\\\"cniVersion\\\":\\\"1.0.0\\\"}\"}";
	assert_int_equal(
	    cni_exec_plugin_with_result(PLUGIN, c2, strlen(c2), &args, NULL, &res, NULL), 0);
	assert_string_equal(cni_result_version(res), "1.0.0");
	cni_result_free(res);
	res = NULL;

	/* Not JSON on success. */
	cni_error *e = NULL;
	const char *c3 =
	    "{\"cniVersion\":\"1.0.0\",\"testBehavior\":\"garbage\",\"testExitCode\":0}";
	assert_int_equal(cni_exec_plugin_with_result(PLUGIN, c3, strlen(c3), &args, NULL, &res, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_null(res);
	assert_true(strncmp(cni_error_msg(e), "failed to unmarshal raw result: ", 32) == 0);
	cni_error_free(e);
	e = NULL;

	/* The plugin's error comes through unchanged. */
	const char *c4 = "{\"cniVersion\":\"1.0.0\",\"testBehavior\":\"error\",\"testCode\":11,"
			 "\"testMsg\":\"busy\"}";
	assert_int_equal(cni_exec_plugin_with_result(PLUGIN, c4, strlen(c4), &args, NULL, &res, &e),
			 -CNI_ERR_TRY_AGAIN_LATER);
	assert_string_equal(cni_error_msg(e), "busy");
	cni_error_free(e);
	e = NULL;

	/* Config that is not JSON: the version cannot be decoded (plugin ran fine). */
	assert_int_equal(cni_exec_plugin_with_result(PLUGIN, "nope", 4, &args, NULL, &res, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_true(strncmp(cni_error_msg(e), "decoding version from network config: ", 38) == 0);
	cni_error_free(e);
}

static void test_without_result(void **state)
{
	char *rec = tmp_path("without.jsonl");
	char *conf = cni_strdupf("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"recordFile\":\"%s\","
				 "\"testBehavior\":{\"DEL\":\"echo\",\"CHECK\":\"error\"}}",
				 rec);
	cni_exec_args args = CNI_EXEC_ARGS_INIT;
	args.command = "DEL";
	args.container_id = "c9";
	args.plugin_args_str = "K8S_POD_NAME=p";
	assert_int_equal(
	    cni_exec_plugin_without_result(PLUGIN, conf, strlen(conf), &args, NULL, NULL), 0);
	args.command = "CHECK";
	cni_error *e = NULL;
	assert_int_equal(
	    cni_exec_plugin_without_result(PLUGIN, conf, strlen(conf), &args, NULL, &e), -100);
	assert_string_equal(cni_error_msg(e), "test error");
	cni_error_free(e);

	json_t *recs = read_records(rec);
	assert_int_equal(json_array_size(recs), 2);
	json_t *r0 = json_array_get(recs, 0), *r1 = json_array_get(recs, 1);
	assert_string_equal(json_string_value(json_object_get(r0, "command")), "DEL");
	assert_string_equal(json_string_value(json_object_get(r1, "command")), "CHECK");
	assert_string_equal(json_string_value(json_object_get(r0, "args")), "K8S_POD_NAME=p");
	assert_string_equal(json_string_value(json_object_get(r0, "netns")), "");
	assert_string_equal(json_string_value(json_object_get(r0, "stdin")), conf);
	json_decref(recs);
	free(conf);
	free(rec);
}

/* ---- VERSION ---- */

static void test_version_info(void **state)
{
	char *rec = tmp_path("version.jsonl");
	char *rec_env = cni_strdupf("CNI_TEST_RECORD=%s", rec);
	char **env = env_plus("CNI_TEST_VERSIONS=0.3.1,0.4.0", rec_env, NULL);
	cni_exec_options opts = CNI_EXEC_OPTIONS_INIT;
	opts.base_env = (const char *const *)env;
	cni_plugin_info *info = NULL;
	assert_int_equal(cni_get_version_info(PLUGIN, &opts, &info, NULL), 0);
	assert_int_equal(cni_plugin_info_count(info), 2);
	assert_string_equal(cni_plugin_info_version(info, 0), "0.3.1");
	assert_string_equal(cni_plugin_info_version(info, 1), "0.4.0");
	cni_plugin_info_free(info);
	info = NULL;

	json_t *recs = read_records(rec);
	json_t *r0 = json_array_get(recs, 0);
	assert_string_equal(json_string_value(json_object_get(r0, "command")), "VERSION");
	assert_string_equal(json_string_value(json_object_get(r0, "netns")), "dummy");
	assert_string_equal(json_string_value(json_object_get(r0, "ifname")), "dummy");
	assert_string_equal(json_string_value(json_object_get(r0, "path")), "dummy");
	assert_string_equal(json_string_value(json_object_get(r0, "containerId")), "");
	assert_string_equal(json_string_value(json_object_get(r0, "stdin")),
			    "{\"cniVersion\":\"1.1.0\"}");
	json_decref(recs);
	cni_strv_free(env);

	/* Default: all versions (process environment). */
	assert_int_equal(cni_get_version_info(PLUGIN, NULL, &info, NULL), 0);
	assert_int_equal(cni_plugin_info_count(info), 7);
	cni_plugin_info_free(info);
	info = NULL;

	/* A plugin from before VERSION existed speaks 0.1.0 only. */
	env = env_plus("CNI_TEST_VERSION_BEHAVIOR=unknown", NULL);
	opts.base_env = (const char *const *)env;
	assert_int_equal(cni_get_version_info(PLUGIN, &opts, &info, NULL), 0);
	assert_int_equal(cni_plugin_info_count(info), 1);
	assert_string_equal(cni_plugin_info_version(info, 0), "0.1.0");
	cni_plugin_info_free(info);
	info = NULL;
	cni_strv_free(env);

	/* Other failures come through. */
	env = env_plus("CNI_TEST_VERSION_BEHAVIOR=crash", NULL);
	opts.base_env = (const char *const *)env;
	cni_error *e = NULL;
	assert_int_equal(cni_get_version_info(PLUGIN, &opts, &info, &e), -CNI_ERR_EXEC);
	assert_null(info);
	assert_non_null(strstr(cni_error_msg(e), "killed by signal SIGABRT"));
	cni_error_free(e);
	e = NULL;
	cni_strv_free(env);

	/* A reply that is not plugin info. */
	env = env_plus("CNI_TEST_VERSION_BEHAVIOR=garbage", "CNI_TEST_EXIT_CODE=0", NULL);
	opts.base_env = (const char *const *)env;
	assert_true(cni_get_version_info(PLUGIN, &opts, &info, &e) < 0);
	assert_null(info);
	assert_non_null(e);
	cni_error_free(e);
	cni_strv_free(env);
	free(rec_env);
	free(rec);
}

/* ---- delegation ---- */

static void test_delegate(void **state)
{
	/* $CNI_PATH lists an empty directory first, then one with the plugin as "ipam-x". */
	char *empty = tmp_path("deleg-empty"), *dir = tmp_path("deleg-bin");
	assert_int_equal(mkdir(empty, 0755), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	char *link = cni_strdupf("%s/ipam-x", dir);
	assert_int_equal(symlink(PLUGIN, link), 0);
	char *path = cni_strdupf("%s:%s", empty, dir);
	char *rec = tmp_path("delegate.jsonl");
	setenv("CNI_PATH", path, 1);
	setenv("CNI_COMMAND", "ADD", 1);
	setenv("CNI_CONTAINERID", "parent-ctr", 1);
	setenv("CNI_IFNAME", "net1", 1);

	char *conf = cni_strdupf("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"recordFile\":\"%s\","
				 "\"testBehavior\":\"result\",\"testResult\":{\"ips\":[]}}",
				 rec);
	size_t len = strlen(conf);
	cni_result *res = NULL;
	assert_int_equal(cni_delegate_add("ipam-x", conf, len, &res, NULL), 0);
	assert_string_equal(cni_result_version(res), "1.0.0");
	cni_result_free(res);
	assert_int_equal(cni_delegate_check("ipam-x", conf, len, NULL), 0);
	assert_int_equal(cni_delegate_del("ipam-x", conf, len, NULL), 0);
	assert_int_equal(cni_delegate_gc("ipam-x", conf, len, NULL), 0);
	assert_int_equal(cni_delegate_status("ipam-x", conf, len, NULL), 0);

	json_t *recs = read_records(rec);
	const char *verbs[] = {"ADD", "CHECK", "DEL", "GC", "STATUS"};
	assert_int_equal(json_array_size(recs), ARRAY_SIZE(verbs));
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		json_t *r = json_array_get(recs, i);
		assert_string_equal(json_string_value(json_object_get(r, "command")), verbs[i]);
		/* Everything else is inherited. */
		assert_string_equal(json_string_value(json_object_get(r, "containerId")),
				    "parent-ctr");
		assert_string_equal(json_string_value(json_object_get(r, "ifname")), "net1");
		assert_string_equal(json_string_value(json_object_get(r, "path")), path);
		assert_true(json_is_null(json_object_get(r, "netns")));
		assert_string_equal(json_string_value(json_object_get(r, "stdin")), conf);
		assert_string_equal(json_string_value(json_object_get(r, "argv0")), link);
		size_t n_cmd = 0;
		json_t *v;
		size_t k;
		json_array_foreach(json_object_get(r, "environ"), k, v) n_cmd +=
		    strncmp(json_string_value(v), "CNI_COMMAND=", 12) == 0;
		assert_int_equal(n_cmd, 1);
	}
	json_decref(recs);

	/* Errors: not in $CNI_PATH, and the plugin's own error. */
	cni_error *e = NULL;
	char msg[1024];
	snprintf(msg, sizeof(msg), "failed to find plugin \"missing\" in path [%s %s]", empty, dir);
	assert_int_equal(cni_delegate_del("missing", conf, len, &e), -CNI_ERR_NOT_FOUND);
	assert_string_equal(cni_error_msg(e), msg);
	cni_error_free(e);
	e = NULL;
	const char *bad = "{\"cniVersion\":\"1.0.0\",\"testBehavior\":\"error\",\"testCode\":50,"
			  "\"testMsg\":\"down\"}";
	assert_int_equal(cni_delegate_status("ipam-x", bad, strlen(bad), &e),
			 -CNI_ERR_PLUGIN_NOT_AVAILABLE);
	assert_string_equal(cni_error_msg(e), "down");
	cni_error_free(e);
	e = NULL;

	unsetenv("CNI_PATH");
	assert_int_equal(cni_delegate_add("ipam-x", conf, len, &res, &e), -CNI_ERR_NOT_FOUND);
	assert_string_equal(cni_error_msg(e), "no paths provided");
	cni_error_free(e);
	unsetenv("CNI_COMMAND");
	unsetenv("CNI_CONTAINERID");
	unsetenv("CNI_IFNAME");
	free(conf);
	free(rec);
	free(path);
	free(link);
	free(dir);
	free(empty);
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_path),
	    cmocka_unit_test(test_find_in_path),
	    cmocka_unit_test(test_args_to_env),
	    cmocka_unit_test(test_exec_echo),
	    cmocka_unit_test(test_exec_error_json),
	    cmocka_unit_test(test_exec_failures),
	    cmocka_unit_test(test_exec_unknown_command),
	    cmocka_unit_test(test_exec_stderr_tail),
	    cmocka_unit_test(test_exec_timeout),
	    cmocka_unit_test(test_exec_timeout_kills_children),
	    cmocka_unit_test(test_exec_output_cap),
	    cmocka_unit_test(test_exec_huge_io),
	    cmocka_unit_test(test_exec_daemon_grandchild),
	    cmocka_unit_test(test_exec_threads),
	    cmocka_unit_test(test_exec_text_file_busy),
	    cmocka_unit_test(test_with_result),
	    cmocka_unit_test(test_without_result),
	    cmocka_unit_test(test_version_info),
	    cmocka_unit_test(test_delegate),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
