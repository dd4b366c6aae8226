/* SPDX-License-Identifier: Apache-2.0 */
/* plugins/common: member lookup rules, Go-style decoding errors, the growable string. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin-buf.h"
#include "plugin-daemon.h"
#include "plugin-ipam.h"
#include "plugin-json.h"
#include "plugin-netns.h"
#include "plugin-util.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
	assert_non_null(v);
	return v;
}

static const pj_go netconf = { "failed to load netconf", "NetConf.", NULL };

/* the error's code and message; frees it */
static void assert_error(cni_error *e, int code, const char *msg)
{
	assert_non_null(e);
	assert_int_equal(cni_error_code(e), code);
	assert_string_equal(cni_error_msg(e), msg);
	cni_error_free(e);
}

static void test_kind(void **state)
{
	const char *in[] = { "{}", "[]", "\"s\"", "1", "1.5", "true", "false", "null" };
	const char *want[] = { "object", "array", "string", "number", "number", "bool", "bool",
			       "null" };

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		json_t *v = parse(in[i]);
		assert_string_equal(pj_kind(v), want[i]);
		json_decref(v);
	}
}

static void test_lookup_rules(void **state)
{
	(void)state;
	/* several keys folding to one name: each lookup keeps its own rule */
	json_t *o = parse("{\"MTU\": 1, \"Mtu\": 2, \"mtuX\": 3}");
	assert_int_equal(json_integer_value(pj_get(o, "mtu")), 2);      /* last folded */
	assert_int_equal(json_integer_value(pj_get_set(o, "mtu")), 2);  /* last non-null */
	assert_int_equal(json_integer_value(pj_get_first(o, "mtu")), 1); /* first folded */
	assert_int_equal(json_integer_value(pj_get_first(o, "Mtu")), 2); /* exact wins */
	assert_null(pj_get(o, "mt"));
	json_decref(o);

	/* a trailing null: absent for pj_get, passed by for pj_get_set */
	o = parse("{\"Mtu\": 7, \"mtu\": null}");
	assert_null(pj_get(o, "mtu"));
	assert_int_equal(json_integer_value(pj_get_set(o, "mtu")), 7);
	assert_null(pj_get_first(o, "mtu")); /* the exact key holds null */
	json_decref(o);

	/* not an object: nothing */
	o = parse("[1]");
	assert_null(pj_get(o, "mtu"));
	assert_null(pj_get_set(o, "mtu"));
	assert_null(pj_get_first(o, "mtu"));
	assert_null(pj_get(NULL, "mtu"));
	json_decref(o);
}

static void test_go_int(void **state)
{
	cni_error *e = NULL;
	int out = -1;
	bool present = true;

	(void)state;
	json_t *o = parse("{\"a\": 1.0, \"b\": 1.5, \"c\": 2147483648, \"d\": -2147483648,"
			  " \"e\": 1e300, \"f\": \"9\", \"g\": null}");
	assert_int_equal(pj_go_int(&netconf, o, "a", "a", &out, &present, &e), 0);
	assert_int_equal(out, 1);
	assert_true(present);
	assert_int_equal(pj_go_int(&netconf, o, "d", "d", &out, NULL, &e), 0);
	assert_int_equal(out, -2147483647 - 1);

	out = 42;
	assert_int_equal(pj_go_int(&netconf, o, "g", "g", &out, &present, &e), 0);
	assert_false(present);
	assert_int_equal(out, 42); /* absent leaves it alone */
	assert_int_equal(pj_go_int(&netconf, o, "zz", "zz", &out, &present, &e), 0);
	assert_false(present);

	assert_true(pj_go_int(&netconf, o, "b", "b", &out, NULL, &e) < 0);
	assert_error(e, CNI_ERR_DECODING_FAILURE,
		     "failed to load netconf: json: cannot unmarshal number 1.5 into Go struct "
		     "field NetConf.b of type int");
	e = NULL;
	assert_true(pj_go_int(&netconf, o, "c", "c", &out, NULL, &e) < 0);
	assert_error(e, CNI_ERR_DECODING_FAILURE,
		     "failed to load netconf: json: cannot unmarshal number 2.14748e+09 into Go "
		     "struct field NetConf.c of type int");
	e = NULL;
	assert_true(pj_go_int(&netconf, o, "e", "e", &out, NULL, &e) < 0);
	assert_error(e, CNI_ERR_DECODING_FAILURE,
		     "failed to load netconf: json: cannot unmarshal number 1e+300 into Go "
		     "struct field NetConf.e of type int");
	e = NULL;
	assert_true(pj_go_int(&netconf, o, "f", "f", &out, NULL, &e) < 0);
	assert_error(e, CNI_ERR_DECODING_FAILURE,
		     "failed to load netconf: json: cannot unmarshal string into Go struct "
		     "field NetConf.f of type int");
	assert_int_equal(out, 42); /* failures leave it alone */
	json_decref(o);
}

static void test_go_string_bool(void **state)
{
	cni_error *e = NULL;
	const char *s = NULL;
	bool b = false, present = false;

	(void)state;
	json_t *o = parse("{\"Name\": \"n\", \"flag\": true, \"bad\": 3}");
	assert_int_equal(pj_go_string(&netconf, o, "name", "name", &s, &present, &e), 0);
	assert_true(present);
	assert_string_equal(s, "n");
	assert_int_equal(pj_go_bool(&netconf, o, "FLAG", "flag", &b, NULL, &e), 0);
	assert_true(b);
	assert_true(pj_go_bool(&netconf, o, "bad", "bad", &b, NULL, &e) < 0);
	assert_error(e, CNI_ERR_DECODING_FAILURE,
		     "failed to load netconf: json: cannot unmarshal number into Go struct "
		     "field NetConf.bad of type bool");
	e = NULL;
	assert_true(pj_go_string(&netconf, o, "flag", "flag", &s, NULL, &e) < 0);
	assert_error(e, CNI_ERR_DECODING_FAILURE,
		     "failed to load netconf: json: cannot unmarshal bool into Go struct field "
		     "NetConf.flag of type string");
	json_decref(o);
}

static void test_go_load(void **state)
{
	cni_error *e = NULL;
	json_t *out = NULL;
	const char *ok = "{\"a\": 1}", *arr = "[1, 2]", *bad = "{\"a\": ";

	(void)state;
	assert_int_equal(pj_go_load(&netconf, ok, strlen(ok), "types.NetConf", &out, &e), 0);
	assert_true(json_is_object(out));
	json_decref(out);
	out = NULL;
	assert_true(pj_go_load(&netconf, arr, strlen(arr), "types.NetConf", &out, &e) < 0);
	assert_null(out);
	assert_error(e, CNI_ERR_DECODING_FAILURE,
		     "failed to load netconf: json: cannot unmarshal array into Go value of type "
		     "types.NetConf");
	e = NULL;
	assert_true(pj_go_load(&netconf, bad, strlen(bad), "types.NetConf", &out, &e) < 0);
	assert_null(out);
	assert_non_null(e);
	assert_int_equal(cni_error_code(e), CNI_ERR_DECODING_FAILURE);
	assert_memory_equal(cni_error_msg(e), "failed to load netconf: ", 24);
	cni_error_free(e);
}

static void test_expected(void **state)
{
	cni_error *e = NULL;
	char big[200];

	(void)state;
	json_t *v = parse("[1,2]");
	assert_true(pj_expected(&e, "ipam.ranges", "an array of arrays", v) < 0);
	assert_error(e, CNI_ERR_INVALID_NETWORK_CONFIG,
		     "ipam.ranges: expected an array of arrays, got array");
	e = NULL;
	assert_true(pj_expected_value(&e, "ipam.ranges", "an array of arrays", v) < 0);
	assert_error(e, CNI_ERR_INVALID_NETWORK_CONFIG,
		     "ipam.ranges: expected an array of arrays, got [1,2]");
	json_decref(v);

	/* a long value is cut at 64 characters */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	v = json_string(big);
	e = NULL;
	assert_true(pj_expected_value(&e, "f", "a number", v) < 0);
	assert_non_null(e);
	const char *m = cni_error_msg(e);
	assert_int_equal(strlen(m), strlen("f: expected a number, got ") + 64 + 3);
	assert_string_equal(m + strlen(m) - 3, "...");
	cni_error_free(e);
	json_decref(v);
}

static void test_sbuf(void **state)
{
	sbuf b = { 0 };
	char want[5000];
	size_t n = 0;

	(void)state;
	assert_null(b.s);
	/* grows past its first allocation, stays NUL-terminated */
	for (int i = 0; i < 500; i++) {
		sb_printf(&b, "%03d-%s;", i, "ab");
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%03d-%s;", i, "ab");
	}
	assert_false(b.oom);
	assert_int_equal(b.len, n);
	assert_string_equal(b.s, want);
	sb_printf(&b, "%s", "");
	assert_int_equal(b.len, n);
	free(b.s);
}


static void test_go_uint32_integer(void **state)
{
	cni_error *e = NULL;
	unsigned int u = 7;
	long long ll = 0;
	bool present = false;

	(void)state;
	json_t *o = parse("{\"a\": 4294967295, \"b\": -1, \"c\": 4294967296, \"d\": 2.5,"
			  " \"e\": 9000000000}");
	assert_int_equal(pj_go_uint32(&netconf, o, "a", "a", &u, &present, &e), 0);
	assert_true(present);
	assert_int_equal(u, 4294967295u);
	assert_true(pj_go_uint32(&netconf, o, "b", "b", &u, NULL, &e) < 0);
	assert_error(e, CNI_ERR_DECODING_FAILURE,
		     "failed to load netconf: json: cannot unmarshal number -1 into Go struct "
		     "field NetConf.b of type uint32");
	e = NULL;
	assert_true(pj_go_uint32(&netconf, o, "c", "c", &u, NULL, &e) < 0);
	cni_error_free(e);
	e = NULL;
	assert_true(pj_go_uint32(&netconf, o, "d", "d", &u, NULL, &e) < 0);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(u, 4294967295u); /* failures leave it alone */
	/* a wider type takes what uint32 does not */
	assert_int_equal(pj_go_integer(&netconf, o, "e", "e", "int64", -9.2e18, 9.2e18, &ll,
				       &present, &e),
			 0);
	assert_true(ll == 9000000000LL);
	assert_int_equal(pj_go_integer(&netconf, o, "zz", "zz", "int64", -9.2e18, 9.2e18, &ll,
				       &present, &e),
			 0);
	assert_false(present);
	json_decref(o);
}

static void test_daemon_listen(void **state)
{
	char dir[] = "/tmp/cni-pc-daemon-XXXXXX", path[128], sub[96];
	cni_error *e = NULL;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/run", dir);
	snprintf(path, sizeof(path), "%s/d.sock", sub);
	/* the directory is made; a stale file in the socket's place is replaced */
	int fd = pc_daemon_listen(path, 4, &e);
	assert_true(fd >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = pc_daemon_listen(path, 4, &e);
	assert_true(fd >= 0);
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(c);
	close(fd);

	char longp[200];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(pc_daemon_listen(longp, 4, &e), -CNI_ERR_INVALID_ARG);
	assert_non_null(strstr(cni_error_msg(e), "socket path too long"));
	cni_error_free(e);
	e = NULL;
	/* a directory that cannot be made names it and the reason */
	assert_true(pc_daemon_listen("/proc/cni-no/d.sock", 4, &e) < 0);
	assert_non_null(strstr(cni_error_msg(e), "/proc/cni-no"));
	cni_error_free(e);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

/* What pc_netns_run_path_del() ran: how often, and what it made it return. */
struct del_probe {
	int calls;
	int ret;
};

static int del_fn(void *ud, cni_error **err)
{
	struct del_probe *p = ud;
	p->calls++;
	if (p->ret < 0)
		return cni_error_set(err, -p->ret, NULL, "del_fn failed");
	return 0;
}

static void test_netns_run_path_del(void **state)
{
	struct del_probe p = {0, 0};
	cni_error *e = NULL;
	char file[] = "/tmp/cni-pc-netns-XXXXXX";

	(void)state;
	/* no namespace, or one that is gone: success, nothing run */
	assert_int_equal(pc_netns_run_path_del("", false, del_fn, &p, &e), 0);
	assert_int_equal(
	    pc_netns_run_path_del("/run/netns/cni-pc-no-such-ns", true, del_fn, &p, &e), 0);
	assert_int_equal(p.calls, 0);
	assert_null(e);
	/* a path that is not a namespace is not "gone": its error comes back */
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pc_netns_run_path_del(file, false, del_fn, &p, &e),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_non_null(e);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(pc_netns_run_path_del(file, false, del_fn, &p, NULL),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	unlink(file);
	assert_int_equal(p.calls, 0);

	/* our own namespace: entering it needs CAP_SYS_ADMIN */
	cni_netns *self = NULL;
	if (cni_netns_open("/proc/self/ns/net", &self, NULL) < 0 ||
	    cni_netns_run(self, del_fn, &p, NULL) < 0) {
		cni_netns_close(self);
		skip();
	}
	cni_netns_close(self);
	p.calls = 0;
	assert_int_equal(pc_netns_run_path_del("/proc/self/ns/net", true, del_fn, &p, &e), 0);
	assert_int_equal(p.calls, 1);
	assert_null(e);
	/* fn's failure comes back as it is ... */
	p.ret = -CNI_ERR_INTERNAL;
	assert_int_equal(pc_netns_run_path_del("/proc/self/ns/net", false, del_fn, &p, &e),
			 -CNI_ERR_INTERNAL);
	assert_error(e, CNI_ERR_INTERNAL, "del_fn failed");
	e = NULL;
	/* ... but for -CNI_ERR_NOT_FOUND: what it looked for is gone */
	p.ret = -CNI_ERR_NOT_FOUND;
	assert_int_equal(pc_netns_run_path_del("/proc/self/ns/net", false, del_fn, &p, &e), 0);
	assert_null(e);
	assert_int_equal(p.calls, 3);
}

static void test_gone_ok(void **state)
{
	cni_error *e = NULL, *out = NULL;
	bool gone = true;

	(void)state;
	/* success is success, not "gone" */
	assert_int_equal(pc_gone_ok(0, NULL, &gone, &out), 0);
	assert_false(gone);
	assert_null(out);
	/* not found: gone already, the error dropped, *err untouched */
	cni_error_set(&e, CNI_ERR_NOT_FOUND, NULL, "Link not found");
	assert_int_equal(pc_gone_ok(-CNI_ERR_NOT_FOUND, e, &gone, &out), 0);
	assert_true(gone);
	assert_null(out);
	e = NULL;
	cni_error_set(&e, CNI_ERR_NOT_FOUND, NULL, "Link not found");
	assert_int_equal(pc_gone_ok(-CNI_ERR_NOT_FOUND, e, NULL, NULL), 0);
	/* any other failure comes back with its error */
	e = NULL;
	cni_error_set(&e, CNI_ERR_INTERNAL, NULL, "busy");
	assert_int_equal(pc_gone_ok(-CNI_ERR_INTERNAL, e, &gone, &out), -CNI_ERR_INTERNAL);
	assert_false(gone);
	assert_ptr_equal(out, e);
	assert_error(out, CNI_ERR_INTERNAL, "busy");
	/* ... or is freed when nobody asks for it */
	e = NULL;
	cni_error_set(&e, CNI_ERR_SYSTEM, NULL, "denied");
	assert_int_equal(pc_gone_ok(-CNI_ERR_SYSTEM, e, NULL, NULL), -CNI_ERR_SYSTEM);
}

static void test_netns_open_del(void **state)
{
	cni_netns *ns = (cni_netns *)&ns;
	cni_error *e = NULL;
	char file[] = "/tmp/cni-pc-netns-XXXXXX";

	(void)state;
	/* no path, or a namespace that is gone: success without one */
	assert_int_equal(pc_netns_open_del("", &ns, &e), 0);
	assert_null(ns);
	ns = (cni_netns *)&ns;
	assert_int_equal(pc_netns_open_del(NULL, &ns, &e), 0);
	assert_null(ns);
	ns = (cni_netns *)&ns;
	assert_int_equal(pc_netns_open_del("/run/netns/cni-pc-no-such-ns", &ns, &e), 0);
	assert_null(ns);
	assert_null(e);
	/* a path that is not a namespace is not "gone" */
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pc_netns_open_del(file, &ns, &e), -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_null(ns);
	assert_non_null(e);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(pc_netns_open_del(file, &ns, NULL),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	unlink(file);
	/* one that is there is opened */
	assert_int_equal(pc_netns_open_del("/proc/self/ns/net", &ns, &e), 0);
	assert_non_null(ns);
	assert_null(e);
	assert_string_equal(cni_netns_path(ns), "/proc/self/ns/net");
	cni_netns_close(ns);
}

static void test_ipam_check_families(void **state)
{
	cni_error *e = NULL;

	(void)state;
	/* one address a family fits every version; more need 0.3.0 or later */
	assert_int_equal(pc_ipam_check_families("0.2.0", 1, 1, &e), 0);
	assert_int_equal(pc_ipam_check_families("0.1.0", 0, 0, &e), 0);
	assert_int_equal(pc_ipam_check_families("0.3.0", 2, 3, &e), 0);
	assert_int_equal(pc_ipam_check_families("1.0.0", 4, 0, &e), 0);
	assert_null(e);
	assert_int_equal(pc_ipam_check_families("0.2.0", 2, 0, &e),
			 -CNI_ERR_INVALID_NETWORK_CONFIG);
	assert_error(e, CNI_ERR_INVALID_NETWORK_CONFIG,
		     "CNI version 0.2.0 does not support more than 1 address per family");
	e = NULL;
	assert_int_equal(pc_ipam_check_families("0.1.0", 1, 2, &e),
			 -CNI_ERR_INVALID_NETWORK_CONFIG);
	assert_error(e, CNI_ERR_INVALID_NETWORK_CONFIG,
		     "CNI version 0.1.0 does not support more than 1 address per family");
}

/* fd's peer has answer waiting (closed for writing after it when shut); the exchange's
 * result, the answer in *ans, and what the peer received checked against line */
static int exchange(const char *answer, bool shut, long timeout_ms, size_t cap, json_t **ans)
{
	int sv[2], r;
	char got[64] = "";
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	if (answer)
		assert_int_equal(write(sv[1], answer, strlen(answer)), (ssize_t)strlen(answer));
	if (shut)
		shutdown(sv[1], SHUT_WR);
	r = pc_daemon_exchange(sv[0], "{\"q\":1}\n", timeout_ms, cap, 3, ans);
	n = read(sv[1], got, sizeof(got) - 1);
	assert_int_equal(n, 8);
	assert_string_equal(got, "{\"q\":1}\n");
	close(sv[0]);
	close(sv[1]);
	return r;
}

static void test_daemon_exchange(void **state)
{
	json_t *ans = NULL;

	(void)state;
	/* the answer is the first JSON value; what follows it is ignored */
	assert_int_equal(exchange("{\"version\":3,\"ok\":true}\n{\"x\"", false, 2000, 4096, &ans),
			 0);
	assert_non_null(ans);
	assert_true(json_is_true(json_object_get(ans, "ok")));
	json_decref(ans);
	/* an answer without its newline ends where the daemon closes */
	assert_int_equal(exchange("{\"version\":3}", true, 2000, 4096, &ans), 0);
	json_decref(ans);
	/* another version, not an object, nothing at all: no valid answer */
	assert_int_equal(exchange("{\"version\":2}\n", false, 2000, 4096, &ans), -EPROTO);
	assert_null(ans);
	assert_int_equal(exchange("[3]\n", false, 2000, 4096, &ans), -EPROTO);
	assert_null(ans);
	assert_int_equal(exchange(NULL, true, 2000, 4096, &ans), -EPROTO);
	assert_null(ans);
	/* a daemon that keeps quiet */
	assert_int_equal(exchange(NULL, false, 50, 4096, &ans), -ETIMEDOUT);
	assert_null(ans);
	/* at most cap - 1 bytes are read: {"version":3} is 13 */
	assert_int_equal(exchange("{\"version\":3}\n", false, 2000, 14, &ans), 0);
	json_decref(ans);
	assert_int_equal(exchange("{\"version\":3}\n", false, 2000, 13, &ans), -EPROTO);
	assert_null(ans);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind),	       cmocka_unit_test(test_lookup_rules),
		cmocka_unit_test(test_go_int),	       cmocka_unit_test(test_go_string_bool),
		cmocka_unit_test(test_go_load),	       cmocka_unit_test(test_expected),
		cmocka_unit_test(test_sbuf),	       cmocka_unit_test(test_go_uint32_integer),
		cmocka_unit_test(test_daemon_listen),
		cmocka_unit_test(test_netns_run_path_del),
		cmocka_unit_test(test_gone_ok),
		cmocka_unit_test(test_netns_open_del),
		cmocka_unit_test(test_ipam_check_families),
		cmocka_unit_test(test_daemon_exchange),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
