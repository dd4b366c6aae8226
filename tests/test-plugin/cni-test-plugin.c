/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cni-test-plugin: a scriptable CNI plugin for the test suites.
 *
 * It deliberately does not use libcni's skel: it has to be able to misbehave in ways a
 * well-formed plugin never would (crash, hang, print garbage, flood stdout or stderr).
 * What it does is chosen by keys in the stdin config, with environment fallbacks.
 *
 * Config keys (all optional):
 *   "testBehavior"      string, or an object mapping a CNI_COMMAND (or "*") to a string:
 *       "echo"        (default) print a result describing the call (see below), exit 0
 *       "result"      print "testResult" (or prevResult, or {}) with cniVersion set, exit 0
 *       "noversion"   like "result" but without any cniVersion key
 *       "error"       print {"code":testCode,"msg":testMsg,"details":testDetails}, exit
 *                     testExitCode (default 1); testCode defaults to 100
 *       "garbage"     print testOutput (default "this is not JSON") and exit testExitCode
 *                     (default 1; set 0 for "garbage on success")
 *       "exit"        print nothing, exit testExitCode (default 1)
 *       "crash"       abort() (SIGABRT)
 *       "signal"      raise(testSignal) (default SIGTERM)
 *       "hang"        sleep forever
 *       "hangchild"   fork a child that sleeps forever (in our process group), write its
 *                     pid to the file testPidFile, then sleep forever too
 *       "bigoutput"   print {"cniVersion":"..","big":"xxx..."} with testBytes x's, exit 0
 *       "stderr"      write testBytes bytes to stderr, exit testExitCode (default 1)
 *       "daemon"      fork a grandchild that keeps stdout/stderr open for testDaemonMs
 *                     (default 3000), print the "result" output plus "daemonPid", exit 0
 *       "closestdin"  (env CNI_TEST_BEHAVIOR only: it is decided before stdin is read)
 *                     close stdin unread, wait 200 ms, print {}, exit 0
 *   "testCode", "testMsg", "testDetails", "testExitCode", "testOutput", "testBytes",
 *   "testSignal", "testDaemonMs", "testPidFile"  parameters of the behaviours above
 *   "testResult"        object printed by "result"/"echo" as the base of the result
 *   "testStderr"        string written to stderr before the behaviour runs (any behaviour)
 *   "testSleepMs"       sleep this long before the behaviour runs
 *   "testVersions"      array of versions answered to VERSION
 *   "testVersionBehavior" what VERSION does: "normal" (default) prints
 *                     {"cniVersion":"1.1.0","supportedVersions":[...]}; "unknown" answers
 *                     like a pre-VERSION plugin: error JSON code 4
 *                     "unknown CNI_COMMAND: VERSION", exit 1; any other value is run as
 *                     a behaviour from the list above
 *   "recordFile"        append one JSON line per invocation to this file (see below)
 *
 * Environment (used when the config does not set the corresponding key; VERSION calls get
 * a fixed stdin, so they are driven by these):
 *   CNI_TEST_BEHAVIOR, CNI_TEST_VERSIONS (comma-separated), CNI_TEST_VERSION_BEHAVIOR,
 *   CNI_TEST_RECORD (record file), CNI_TEST_STDERR, CNI_TEST_EXIT_CODE.
 *
 * "echo" prints the base result (testResult, else prevResult, else {}) with "cniVersion"
 * set to the config's and a "testEcho" object added:
 *   {"command", "containerId", "netns", "ifname", "args", "path": the CNI_* values (null
 *    when unset), "stdin": the raw stdin text, "config": stdin parsed (null if not JSON),
 *    "environ": the whole environment as an array of "K=V", "fds": open descriptors,
 *    "pid": process id, "argv0": how it was called}
 * A record line is the same object as testEcho, compact, on one line; it is appended
 * under an exclusive flock() so parallel invocations do not interleave.
 *
 * Unknown CNI_COMMAND values fail like skel: code 4 "unknown CNI_COMMAND: <cmd>".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *const all_versions[] = {"0.1.0", "0.2.0", "0.3.0", "0.3.1",
					   "0.4.0", "1.0.0", "1.1.0", NULL};

static void write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

static void put_json(json_t *j, size_t flags)
{
	char *s = json_dumps(j, flags | JSON_ENCODE_ANY);
	if (s) {
		write_all(STDOUT_FILENO, s, strlen(s));
		free(s);
	}
}

static char *read_stdin(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		abort();
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
		ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static json_t *env_value(const char *name)
{
	const char *v = getenv(name);
	return v ? json_string(v) : json_null();
}

static json_t *open_fds(void)
{
	json_t *arr = json_array();
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return arr;
	int self = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		errno = 0;
		long fd = strtol(de->d_name, &end, 10);
		if (de->d_name[0] == '.' || *end || errno || fd == self)
			continue;
		json_array_append_new(arr, json_integer(fd));
	}
	closedir(d);
	return arr;
}

static json_t *describe_call(const char *argv0, const char *stdin_data, size_t stdin_len,
			     json_t *config)
{
	json_t *o = json_object();
	json_t *env = json_array();
	for (char **e = environ; e && *e; e++)
		json_array_append_new(env, json_string(*e));
	json_object_set_new(o, "command", env_value("CNI_COMMAND"));
	json_object_set_new(o, "containerId", env_value("CNI_CONTAINERID"));
	json_object_set_new(o, "netns", env_value("CNI_NETNS"));
	json_object_set_new(o, "ifname", env_value("CNI_IFNAME"));
	json_object_set_new(o, "args", env_value("CNI_ARGS"));
	json_object_set_new(o, "path", env_value("CNI_PATH"));
	json_object_set_new(o, "stdin", json_stringn(stdin_data, stdin_len));
	json_object_set_new(o, "config", config ? json_incref(config) : json_null());
	json_object_set_new(o, "environ", env);
	json_object_set_new(o, "fds", open_fds());
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "argv0", json_string(argv0));
	return o;
}

static void record(const char *file, json_t *call)
{
	char *line = json_dumps(call, JSON_COMPACT);
	if (!line)
		return;
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		size_t len = strlen(line);
		line[len] = '\n';
		flock(fd, LOCK_EX);
		write_all(fd, line, len + 1);
		flock(fd, LOCK_UN);
		close(fd);
	}
	free(line);
}

static const char *conf_string(json_t *config, const char *key, const char *env)
{
	const char *v = json_string_value(json_object_get(config, key));
	if (!v && env)
		v = getenv(env);
	return v;
}

static long long conf_int(json_t *config, const char *key, const char *env, long long def)
{
	json_t *j = json_object_get(config, key);
	if (json_is_integer(j))
		return json_integer_value(j);
	const char *v = env ? getenv(env) : NULL;
	if (v && *v) {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (!errno && !*end)
			return n;
	}
	return def;
}

static const char *behavior_for(json_t *config, const char *command)
{
	json_t *b = json_object_get(config, "testBehavior");
	if (json_is_string(b))
		return json_string_value(b);
	if (json_is_object(b)) {
		json_t *c = json_object_get(b, command);
		if (!json_is_string(c))
			c = json_object_get(b, "*");
		if (json_is_string(c))
			return json_string_value(c);
	}
	const char *env = getenv("CNI_TEST_BEHAVIOR");
	return env && *env ? env : "echo";
}

static const char *conf_version(json_t *config)
{
	const char *v = json_string_value(json_object_get(config, "cniVersion"));
	return v ? v : "";
}

static json_t *base_result(json_t *config)
{
	json_t *r = json_object_get(config, "testResult");
	if (!json_is_object(r))
		r = json_object_get(config, "prevResult");
	return json_is_object(r) ? json_deep_copy(r) : json_object();
}

static void print_error(int code, const char *msg, const char *details)
{
	json_t *e = json_object();
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "msg", json_string(msg ? msg : ""));
	if (details && *details)
		json_object_set_new(e, "details", json_string(details));
	put_json(e, JSON_INDENT(4));
	json_decref(e);
}

static void print_versions(json_t *config)
{
	json_t *list = json_array();
	json_t *conf = json_object_get(config, "testVersions");
	const char *env = getenv("CNI_TEST_VERSIONS");
	if (json_is_array(conf)) {
		json_decref(list);
		list = json_deep_copy(conf);
	} else if (env) {
		char *copy = strdup(env), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(list, json_string(t));
		free(copy);
	} else {
		for (const char *const *v = all_versions; *v; v++)
			json_array_append_new(list, json_string(*v));
	}
	json_t *o = json_object();
	json_object_set_new(o, "cniVersion", json_string("1.1.0"));
	json_object_set_new(o, "supportedVersions", list);
	put_json(o, JSON_COMPACT);
	write_all(STDOUT_FILENO, "\n", 1);
	json_decref(o);
}

static int run_behavior(const char *behavior, const char *command, json_t *config, json_t *call)
{
	int exit_code = (int)conf_int(config, "testExitCode", "CNI_TEST_EXIT_CODE", 1);
	long long nbytes = conf_int(config, "testBytes", NULL, 0);

	if (!strcmp(behavior, "echo") || !strcmp(behavior, "result") ||
	    !strcmp(behavior, "noversion")) {
		json_t *r = base_result(config);
		if (!strcmp(behavior, "noversion"))
			json_object_del(r, "cniVersion");
		else
			json_object_set_new(r, "cniVersion", json_string(conf_version(config)));
		if (!strcmp(behavior, "echo"))
			json_object_set(r, "testEcho", call);
		put_json(r, JSON_INDENT(4));
		json_decref(r);
		return 0;
	}
	if (!strcmp(behavior, "error")) {
		const char *msg = conf_string(config, "testMsg", NULL);
		print_error((int)conf_int(config, "testCode", NULL, 100), msg ? msg : "test error",
			    conf_string(config, "testDetails", NULL));
		return exit_code;
	}
	if (!strcmp(behavior, "garbage")) {
		const char *out = conf_string(config, "testOutput", NULL);
		if (!out)
			out = "this is not JSON";
		write_all(STDOUT_FILENO, out, strlen(out));
		return exit_code;
	}
	if (!strcmp(behavior, "exit"))
		return exit_code;
	if (!strcmp(behavior, "daemon")) {
		/* A grandchild that keeps stdout and stderr open after we exit. */
		long long ms = conf_int(config, "testDaemonMs", NULL, 3000);
		pid_t pid = fork();
		if (pid == 0) {
			setsid();
			struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		json_t *r = base_result(config);
		json_object_set_new(r, "cniVersion", json_string(conf_version(config)));
		json_object_set_new(r, "daemonPid", json_integer(pid));
		put_json(r, JSON_COMPACT);
		json_decref(r);
		return 0;
	}
	if (!strcmp(behavior, "crash"))
		abort();
	if (!strcmp(behavior, "signal")) {
		int sig = (int)conf_int(config, "testSignal", NULL, SIGTERM);
		signal(sig, SIG_DFL);
		raise(sig);
		return 126;
	}
	if (!strcmp(behavior, "hangchild")) {
		const char *pidfile = conf_string(config, "testPidFile", NULL);
		pid_t pid = fork();
		if (pid == 0)
			for (;;)
				pause();
		FILE *f = pidfile ? fopen(pidfile, "we") : NULL;
		if (f) {
			fprintf(f, "%d\n", (int)pid);
			fclose(f);
		}
	}
	if (!strcmp(behavior, "hang") || !strcmp(behavior, "hangchild")) {
		for (;;)
			pause();
	}
	if (!strcmp(behavior, "bigoutput")) {
		char chunk[65536];
		memset(chunk, 'x', sizeof(chunk));
		const char *v = conf_version(config);
		char head[256];
		int n = snprintf(head, sizeof(head), "{\"cniVersion\":\"%s\",\"big\":\"", v);
		write_all(STDOUT_FILENO, head, (size_t)n);
		for (long long left = nbytes; left > 0;) {
			size_t k = left > (long long)sizeof(chunk) ? sizeof(chunk) : (size_t)left;
			write_all(STDOUT_FILENO, chunk, k);
			left -= (long long)k;
		}
		write_all(STDOUT_FILENO, "\"}", 2);
		return 0;
	}
	if (!strcmp(behavior, "stderr")) {
		char chunk[65536];
		memset(chunk, 'e', sizeof(chunk));
		for (long long left = nbytes; left > 0;) {
			size_t k = left > (long long)sizeof(chunk) ? sizeof(chunk) : (size_t)left;
			write_all(STDERR_FILENO, chunk, k);
			left -= (long long)k;
		}
		return exit_code;
	}
	char msg[256];
	snprintf(msg, sizeof(msg), "cni-test-plugin: unknown testBehavior \"%s\" for %s", behavior,
		 command);
	print_error(999, msg, NULL);
	return 1;
}

int main(int argc, char **argv)
{
	const char *command = getenv("CNI_COMMAND");
	const char *env_behavior = getenv("CNI_TEST_BEHAVIOR");
	(void)argc;

	if (env_behavior && !strcmp(env_behavior, "closestdin")) {
		/* Stay around a little so the caller's writes hit a closed pipe (EPIPE). */
		close(STDIN_FILENO);
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
		write_all(STDOUT_FILENO, "{}", 2);
		return 0;
	}

	size_t stdin_len = 0;
	char *stdin_data = read_stdin(&stdin_len);
	json_t *config = json_loadb(stdin_data, stdin_len, 0, NULL);
	if (config && !json_is_object(config)) {
		json_decref(config);
		config = NULL;
	}

	json_t *call = describe_call(argv[0], stdin_data, stdin_len, config);
	const char *rec = conf_string(config, "recordFile", "CNI_TEST_RECORD");
	if (rec && *rec)
		record(rec, call);

	const char *err_text = conf_string(config, "testStderr", "CNI_TEST_STDERR");
	if (err_text)
		write_all(STDERR_FILENO, err_text, strlen(err_text));

	long long sleep_ms = conf_int(config, "testSleepMs", NULL, 0);
	if (sleep_ms > 0) {
		struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}

	int rc;
	if (!command) {
		print_error(4, "required env variables [CNI_COMMAND] missing", NULL);
		rc = 1;
	} else if (!strcmp(command, "VERSION")) {
		const char *vb =
		    conf_string(config, "testVersionBehavior", "CNI_TEST_VERSION_BEHAVIOR");
		if (!vb || !strcmp(vb, "normal")) {
			print_versions(config);
			rc = 0;
		} else if (!strcmp(vb, "unknown")) {
			print_error(4, "unknown CNI_COMMAND: VERSION", NULL);
			rc = 1;
		} else {
			rc = run_behavior(vb, command, config, call);
		}
	} else if (!strcmp(command, "ADD") || !strcmp(command, "DEL") ||
		   !strcmp(command, "CHECK") || !strcmp(command, "GC") ||
		   !strcmp(command, "STATUS")) {
		rc = run_behavior(behavior_for(config, command), command, config, call);
	} else {
		char msg[256];
		snprintf(msg, sizeof(msg), "unknown CNI_COMMAND: %s", command);
		print_error(4, msg, NULL);
		rc = 1;
	}

	json_decref(call);
	json_decref(config);
	free(stdin_data);
	return rc;
}
