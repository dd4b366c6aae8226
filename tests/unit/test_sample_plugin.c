/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sample plugin as a runtime sees it: the built binary (CNI_PLUGINS_BIN_DIR/sample)
 * run with CNI_* and a config on stdin; stdout, stderr and the exit code checked.
 * Results are compared as JSON values, so the test does not depend on formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "internal.h"
#include "buf-internal.h"
#include "file-internal.h"
#include "json-internal.h"

#define SAMPLE CNI_PLUGINS_BIN_DIR "/sample"

typedef struct outcome {
	int exit_code;
	char *out, *err;
} outcome;

static void outcome_clear(outcome *o)
{
	free(o->out);
	free(o->err);
	memset(o, 0, sizeof(*o));
}

static int memfd_with(const char *data)
{
	int fd = memfd_create("sample-test", MFD_CLOEXEC);
	size_t len = strlen(data);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static char *fd_contents(int fd)
{
	char path[64], *data = NULL;
	size_t len;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	assert_int_equal(cni_read_file(path, 0, &data, &len, NULL), 0);
	return data;
}

/* env: NULL-terminated "K=V" list; the plugin gets nothing else. */
static void run_sample(const char *const *env, const char *stdin_text, outcome *o)
{
	if (access(SAMPLE, X_OK) < 0)
		fail_msg("%s not built (build the 'sample' target first)", SAMPLE);
	int in = memfd_with(stdin_text), out = memfd_with(""), err = memfd_with("");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *const argv[] = {(char *)SAMPLE, NULL};
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execve(SAMPLE, argv, (char *const *)env);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	o->exit_code = WEXITSTATUS(st);
	o->out = fd_contents(out);
	o->err = fd_contents(err);
	close(in);
	close(out);
	close(err);
}

static const char *const env_add[] = {
    "CNI_COMMAND=ADD", "CNI_CONTAINERID=ctr1",	"CNI_NETNS=/var/run/netns/none",
    "CNI_IFNAME=eth0", "CNI_PATH=/opt/cni/bin", NULL};

/* env_add with CNI_COMMAND replaced and extra entries appended. */
static const char **env_with(const char *command, const char *extra1, const char *extra2)
{
	static const char *env[16];
	size_t n = 0;
	env[n++] = command;
	for (size_t i = 1; env_add[i]; i++)
		env[n++] = env_add[i];
	if (extra1)
		env[n++] = extra1;
	if (extra2)
		env[n++] = extra2;
	env[n] = NULL;
	return env;
}

static void assert_error(const outcome *o, int code, const char *msg_prefix)
{
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loads(o->out, 0, &jerr);
	if (!j)
		fail_msg("not JSON: %s", o->out);
	assert_int_equal(o->exit_code, 1);
	if (code >= 0) /* -1: any code */
		assert_int_equal(json_integer_value(json_object_get(j, "code")), code);
	else
		assert_true(json_is_integer(json_object_get(j, "code")));
	const char *msg = cni_json_get_string(j, "msg");
	assert_non_null(msg);
	if (strncmp(msg, msg_prefix, strlen(msg_prefix)) != 0)
		fail_msg("msg \"%s\" does not start with \"%s\"", msg, msg_prefix);
}

static void assert_json_equal(const char *got, const char *want)
{
	_cleanup_json_ json_t *g = json_loads(got, 0, NULL);
	_cleanup_json_ json_t *w = json_loads(want, 0, NULL);
	assert_non_null(w);
	if (!g || !json_equal(g, w))
		fail_msg("got:\n%s\nwant:\n%s", got, want);
}

#define PREV_100                                                                                   \
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"0a:58:0a:01:00:"   \
	"05\","                                                                                    \
	"\"sandbox\":\"/var/run/netns/none\"}],\"ips\":[{\"interface\":0,\"address\":"             \
	"\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":"    \
	"\"10.1.0.1\"}],\"dns\":{\"nameservers\":[\"10.1.0.1\"]}}"

static char *conf_with(const char *version, const char *prev, const char *extra)
{
	char *s = cni_strdupf(
	    "{\"cniVersion\":\"%s\",\"name\":\"sample-net\",\"type\":\"sample\"%s%s%s%s}", version,
	    prev ? ",\"prevResult\":" : "", prev ? prev : "", extra ? "," : "", extra ? extra : "");
	assert_non_null(s);
	return s;
}

static void test_add_passes_prev_result_through(void **state)
{
	static const struct {
		const char *version, *prev;
	} cases[] = {
	    {"1.0.0", PREV_100},
	    {"0.3.1",
	     "{\"cniVersion\":\"0.3.1\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{"
	     "\"version\":\"4\",\"interface\":0,\"address\":\"10.1.0.5/24\"}],\"dns\":{}}"},
	    {"0.4.0", "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"6\",\"address\":"
		      "\"fd00::5/64\"}],\"routes\":[{\"dst\":\"::/0\"}],\"dns\":{}}"},
	    {"1.1.0", "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"mtu\":1400}],"
		      "\"ips\":[{\"interface\":0,\"address\":\"10.1.0.5/24\"}]}"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *conf =
		    conf_with(cases[i].version, cases[i].prev, "\"anotherAwesomeArg\":\"hello\"");
		outcome o;
		run_sample(env_add, conf, &o);
		if (o.exit_code != 0)
			fail_msg("case %zu: exit %d: %s", i, o.exit_code, o.out);
		assert_json_equal(o.out, cases[i].prev);
		outcome_clear(&o);
	}
}

static void test_config_errors(void **state)
{
	outcome o;
	_cleanup_free_ char *no_arg = conf_with("1.0.0", PREV_100, NULL);
	run_sample(env_add, no_arg, &o);
	assert_error(&o, CNI_ERR_INVALID_NETWORK_CONFIG, "anotherAwesomeArg must be specified");
	outcome_clear(&o);

	_cleanup_free_ char *empty_arg = conf_with("1.0.0", PREV_100, "\"anotherAwesomeArg\":\"\"");
	run_sample(env_with("CNI_COMMAND=DEL", NULL, NULL), empty_arg, &o);
	assert_error(&o, CNI_ERR_INVALID_NETWORK_CONFIG, "anotherAwesomeArg must be specified");
	outcome_clear(&o);

	_cleanup_free_ char *bad_flag =
	    conf_with("1.0.0", PREV_100, "\"anotherAwesomeArg\":\"x\",\"myAwesomeFlag\":\"yes\"");
	run_sample(env_add, bad_flag, &o);
	assert_error(&o, CNI_ERR_INVALID_NETWORK_CONFIG, "'myAwesomeFlag' must be a boolean, not a string");
	outcome_clear(&o);

	_cleanup_free_ char *bad_prev = conf_with("1.0.0", "{\"cniVersion\":\"1.0.0\",\"ips\":{}}",
						  "\"anotherAwesomeArg\":\"x\"");
	run_sample(env_add, bad_prev, &o);
	assert_error(&o, -1, "could not parse prevResult: ");
	outcome_clear(&o);
}

static void test_prev_result_required(void **state)
{
	outcome o;
	_cleanup_free_ char *none = conf_with("1.0.0", NULL, "\"anotherAwesomeArg\":\"x\"");
	run_sample(env_add, none, &o);
	assert_error(&o, CNI_ERR_INVALID_NETWORK_CONFIG, "must be called as chained plugin");
	outcome_clear(&o);

	run_sample(env_with("CNI_COMMAND=CHECK", NULL, NULL), none, &o);
	assert_error(&o, CNI_ERR_INVALID_NETWORK_CONFIG, "must be called as chained plugin");
	outcome_clear(&o);

	/* DEL does not need it */
	run_sample(env_with("CNI_COMMAND=DEL", NULL, NULL), none, &o);
	assert_int_equal(o.exit_code, 0);
	assert_string_equal(o.out, "");
	outcome_clear(&o);

	_cleanup_free_ char *no_ips = conf_with("1.0.0", "{\"cniVersion\":\"1.0.0\",\"dns\":{}}",
						"\"anotherAwesomeArg\":\"x\"");
	run_sample(env_add, no_ips, &o);
	assert_error(&o, CNI_ERR_INVALID_NETWORK_CONFIG, "got no container IPs");
	outcome_clear(&o);

	_cleanup_free_ char *ok = conf_with("1.0.0", PREV_100, "\"anotherAwesomeArg\":\"x\"");
	run_sample(env_with("CNI_COMMAND=CHECK", NULL, NULL), ok, &o);
	assert_int_equal(o.exit_code, 0);
	assert_string_equal(o.out, "");
	outcome_clear(&o);
}

static void test_cni_args(void **state)
{
	outcome o;
	_cleanup_free_ char *conf = conf_with("1.0.0", PREV_100, "\"anotherAwesomeArg\":\"x\"");

	run_sample(env_with("CNI_COMMAND=ADD", "CNI_ARGS=FOO=bar", NULL), conf, &o);
	assert_error(&o, CNI_ERR_INTERNAL, "ARGS: unknown args [\"FOO=bar\"]");
	outcome_clear(&o);

	run_sample(env_with("CNI_COMMAND=ADD", "CNI_ARGS=IgnoreUnknown=1;FOO=bar", NULL), conf, &o);
	assert_int_equal(o.exit_code, 0);
	assert_string_equal(o.err, "");
	outcome_clear(&o);

	run_sample(env_with("CNI_COMMAND=ADD",
			    "CNI_ARGS=K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1;SAMPLE_DEBUG=true",
			    NULL),
		   conf, &o);
	assert_int_equal(o.exit_code, 0);
	assert_json_equal(o.out, PREV_100);
	assert_non_null(strstr(o.err, "sample: pod ns1/pod1\n"));
	assert_non_null(strstr(o.err, "anotherAwesomeArg=x"));
	outcome_clear(&o);

	run_sample(env_with("CNI_COMMAND=ADD", "CNI_ARGS=SAMPLE_DEBUG=maybe", NULL), conf, &o);
	assert_int_equal(o.exit_code, 1);
	assert_non_null(strstr(o.out, "maybe"));
	outcome_clear(&o);
}

static void test_gc_status_version_about(void **state)
{
	outcome o;
	_cleanup_free_ char *conf110 = conf_with("1.1.0", NULL, "\"cni.dev/valid-attachments\":[]");
	const char *gc[] = {"CNI_COMMAND=GC", "CNI_PATH=/opt/cni/bin", NULL};
	const char *status[] = {"CNI_COMMAND=STATUS", "CNI_PATH=/opt/cni/bin", NULL};
	const char *version[] = {"CNI_COMMAND=VERSION", NULL};
	const char *none[] = {NULL};

	run_sample(gc, conf110, &o);
	assert_int_equal(o.exit_code, 0);
	assert_string_equal(o.out, "");
	outcome_clear(&o);

	run_sample(status, conf110, &o);
	assert_int_equal(o.exit_code, 0);
	assert_string_equal(o.out, "");
	outcome_clear(&o);

	_cleanup_free_ char *conf100 = conf_with("1.0.0", NULL, NULL);
	run_sample(gc, conf100, &o);
	assert_error(&o, CNI_ERR_INCOMPATIBLE_CNI_VERSION, "config version does not allow GC");
	outcome_clear(&o);

	run_sample(version, "", &o);
	assert_int_equal(o.exit_code, 0);
	assert_json_equal(o.out, "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.1.0\","
				 "\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
	outcome_clear(&o);

	run_sample(none, "", &o);
	assert_int_equal(o.exit_code, 0);
	assert_string_equal(o.out, "");
	assert_non_null(strstr(o.err, "CNI sample plugin "));
	assert_non_null(strstr(o.err, "CNI protocol versions supported: 0.1.0, "));
	outcome_clear(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_passes_prev_result_through),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_prev_result_required),
	    cmocka_unit_test(test_cni_args),
	    cmocka_unit_test(test_gc_status_version_about),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
