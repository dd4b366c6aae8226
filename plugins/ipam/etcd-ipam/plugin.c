/* SPDX-License-Identifier: Apache-2.0 */
/*
 * etcd-ipam, the plugin a runtime runs: it does not talk to etcd itself. When etcd-ipamd
 * listens on the socket (ipam key "daemonSocket"), the request goes there and its answer
 * is the plugin's; when nothing listens there (no socket, or refused), it execs
 * etcd-ipamd as a one-shot plugin with the same input, so the plugin works without the
 * daemon too. Without libcurl it joins the multi-call binary: an exec costs what our
 * other plugins' does.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include <cni/cni.h>

#include "plugin-daemon.h"
#include "proto.h"

#define DAEMON_NAME "etcd-ipamd"

typedef struct where {
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	long wait_ms;
} where;

/* The daemon's socket and how long to wait for it. A config that does not parse is
 * left to the handlers (which name the problem as the one-shot plugin always did). */
static int where_of(const cni_cmd_args *a, where *w, cni_error **err)
{
	json_t *root = json_loadb(a->stdin_data, a->stdin_len, 0, NULL);
	json_t *ipam = json_object_get(root, "ipam");
	json_t *s = json_object_get(ipam, "daemonSocket");
	json_t *t = json_object_get(ipam, "daemonTimeout");
	int r = 0;

	snprintf(w->socket, sizeof(w->socket), "%s", ETCD_IPAM_DEFAULT_SOCKET);
	w->wait_ms = ETCD_IPAM_DEFAULT_WAIT_S * 1000L;
	if (s && (!json_is_string(s) || json_string_length(s) == 0 ||
		  json_string_length(s) >= sizeof(w->socket)))
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "etcd-ipam: invalid daemonSocket \"%s\": not a socket path "
				  "shorter than %zu bytes",
				  json_is_string(s) ? json_string_value(s) : "", sizeof(w->socket));
	else if (s)
		snprintf(w->socket, sizeof(w->socket), "%s", json_string_value(s));
	if (r == 0 && t &&
	    (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 3600))
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "etcd-ipam: invalid daemonTimeout %lld: seconds, 1..3600",
				  json_is_integer(t) ? (long long)json_integer_value(t) : -1LL);
	else if (t)
		w->wait_ms = (long)json_integer_value(t) * 1000L;
	json_decref(root);
	return r;
}

static char *request_line(const cni_cmd_args *a, const char *verb)
{
	json_t *req = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s%}", "version",
				ETCD_IPAM_PROTO_VERSION, "command", verb, "containerID",
				a->container_id, "netns", a->netns, "ifname", a->ifname, "args",
				a->args, "path", a->path, "netnsOverride", a->netns_override,
				"config", a->stdin_data, a->stdin_len);
	char *line = req ? json_dumps(req, JSON_COMPACT) : NULL, *nl;

	json_decref(req);
	if (!line)
		return NULL;
	nl = realloc(line, strlen(line) + 2);
	if (!nl) {
		free(line);
		return NULL;
	}
	strcat(nl, "\n");
	return nl;
}

/* A daemon that closed without an answer, or whose answer is not of our version. */
static int no_valid_answer(const where *w, cni_error **err)
{
	return cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
			     "etcd-ipam: etcd-ipamd at %s gave no valid answer (closed the "
			     "connection, or a daemon of another version)",
			     w->socket);
}

/*
 * One request to the daemon. 1 with *ans set (new), 0 when no daemon listens there
 * (ENOENT, ECONNREFUSED: run it ourselves), <0 error (11 when the daemon does not answer
 * within w->wait_ms).
 */
static int ask_daemon(const where *w, const cni_cmd_args *a, const char *verb, json_t **ans,
		      cni_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *line = NULL;
	int fd, r;

	memcpy(sa.sun_path, w->socket, strlen(w->socket) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cni_error_set_errno(err, errno, CNI_ERR_IO_FAILURE,
					   "etcd-ipam: cannot make a unix socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return 0;
		return cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				     "etcd-ipam: cannot connect to etcd-ipamd at %s: %s", w->socket,
				     strerror(e));
	}
	line = request_line(a, verb);
	if (!line) {
		close(fd);
		return cni_error_oom(err);
	}
	r = pc_daemon_exchange(fd, line, w->wait_ms, ETCD_IPAM_MAX_ANSWER, ETCD_IPAM_PROTO_VERSION,
			       ans);
	if (r == -ETIMEDOUT) {
		r = cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				  "etcd-ipam: etcd-ipamd at %s did not answer within %ld ms",
				  w->socket, w->wait_ms);
		goto out;
	}
	if (r < 0) {
		r = no_valid_answer(w, err);
		goto out;
	}
	r = 1;
out:
	free(line);
	close(fd);
	return r;
}

/* The daemon's executable: beside our own (the multi-call binary's folder), else in
 * CNI_PATH. *out is new. */
static int find_daemon(const cni_cmd_args *a, char **out, cni_error **err)
{
	char self[PATH_MAX], **paths = NULL;
	char *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int r;

	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash && (size_t)(slash - self) + sizeof("/" DAEMON_NAME) <= sizeof(self)) {
			strcpy(slash + 1, DAEMON_NAME);
			if (access(self, X_OK) == 0) {
				*out = strdup(self);
				return *out ? 0 : cni_error_oom(err);
			}
		}
	}
	r = cni_split_path(a->path, &paths, err);
	if (r == 0)
		r = cni_find_in_path(DAEMON_NAME, (const char *const *)paths, out, err);
	cni_strv_free(paths);
	if (r < 0)
		cni_error_prefix(*err, "etcd-ipam: no etcd-ipamd listens and none to run: ");
	return r;
}

/* No daemon: etcd-ipamd runs the call as a one-shot plugin. *out is its stdout. */
static int run_oneshot(const cni_cmd_args *a, const char *verb, char **out, cni_error **err)
{
	cni_exec_args ea = CNI_EXEC_ARGS_INIT;
	char *exe = NULL, **env = NULL;
	int r;

	ea.command = verb;
	ea.container_id = a->container_id;
	ea.netns = a->netns;
	ea.ifname = a->ifname;
	ea.path = a->path;
	ea.plugin_args_str = a->args;
	r = find_daemon(a, &exe, err);
	if (r == 0)
		r = cni_exec_args_to_env(&ea, NULL, &env, err);
	if (r == 0)
		r = cni_exec_plugin_raw(exe, (const char *const *)env, a->stdin_data, a->stdin_len,
					NULL, out, NULL, err);
	cni_strv_free(env);
	cni_free(exe);
	return r;
}

/* How long the DEL that takes back an ADD of unknown outcome waits for a daemon. */
#define UNDO_WAIT_MS 3000

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * The daemon's answer: the exit code and output of its skel run on our input, which is
 * what the one-shot plugin would have printed. Unless undo, it is written out as it is
 * and the plugin exits with that code (so it returns only on failure: 0 from a DEL that
 * undoes, <0 with *err set). *answered says whether the outcome is known.
 */
static int answer(const where *w, json_t *ans, const char *verb, bool undo, bool *answered,
		  cni_error **err)
{
	json_t *code = json_object_get(ans, "code"), *out = json_object_get(ans, "stdout");
	json_t *errs = json_object_get(ans, "stderr");
	int r;

	if (!json_is_integer(code) || json_integer_value(code) < 0 ||
	    json_integer_value(code) > 255 || !json_is_string(out) ||
	    (errs && !json_is_string(errs)))
		return no_valid_answer(w, err);
	if (undo)
		return json_integer_value(code) == 0
			   ? 0
			   : cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					   "etcd-ipam: etcd-ipamd failed %s", verb);
	if (errs)
		(void)write_all(STDERR_FILENO, json_string_value(errs), json_string_length(errs));
	r = write_all(STDOUT_FILENO, json_string_value(out), json_string_length(out));
	if (r < 0) {
		/* as skel's own: the runtime does not learn of an ADD, which is taken back */
		*answered = json_integer_value(code) != 0;
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "error writing to stdout: %s",
				     strerror(-r));
	}
	exit((int)json_integer_value(code));
}

/* verb by the daemon or one-shot. With a daemon its answer is printed as it is (see
 * answer()); for a one-shot ADD *result from its output (parsed in the version it names:
 * the config's). undo (the DEL that takes back an ADD of unknown outcome) bounds the wait
 * for a daemon and prints nothing; *answered (optional) says whether a failure is the
 * daemon's own answer, whose outcome is known. */
static int forward(const cni_cmd_args *a, const char *verb, cni_result **result, bool undo,
		   bool *answered, cni_error **err)
{
	json_t *ans = NULL;
	char *out = NULL;
	bool known = false;
	where w;
	int r = where_of(a, &w, err);

	if (r == 0 && undo && w.wait_ms > UNDO_WAIT_MS)
		w.wait_ms = UNDO_WAIT_MS;
	if (r == 0)
		r = ask_daemon(&w, a, verb, &ans, err);
	if (r == 0) {
		r = run_oneshot(a, verb, &out, err);
		if (r == 0 && result)
			r = cni_result_from_json(result, NULL, out, strlen(out), err);
		cni_free(out);
	} else if (r > 0) {
		r = answer(&w, ans, verb, undo, &known, err);
		json_decref(ans);
	}
	if (answered)
		*answered = known;
	return r;
}

/* Set once an ADD's result is skel's to print: a DEL after it is skel's taking it back. */
static bool add_made;

static int cmd_add(const cni_cmd_args *a, cni_result **result, cni_error **err, void *ud)
{
	bool answered;
	int r;

	(void)ud;
	r = forward(a, "ADD", result, false, &answered, err);
	add_made = r == 0;
	if (r < 0 && !answered) {
		/* The ADD may have been made all the same: its answer lost on the way, or a
		 * one-shot run's output cut short. The runtime will not learn of it: take it
		 * back (a DEL of nothing changes nothing), with a bounded wait. */
		cni_error *ignored = NULL;
		(void)forward(a, "DEL", NULL, true, NULL, &ignored);
		cni_error_free(ignored);
	}
	return r;
}

/* DEL, CHECK, GC and STATUS: the command skel was run with (its undoing DEL of an ADD
 * whose result it could not write included: skel gives that one the command DEL, and a
 * daemon's answer to it is not this run's output). */
static int cmd_other(const cni_cmd_args *a, cni_error **err, void *ud)
{
	(void)ud;
	return forward(a, a->command, NULL, add_made, NULL, err);
}

CNI_PLUGIN_MAIN("CNI etcd-ipam plugin (libcni-c " LIBCNI_C_VERSION ")", .add = cmd_add,
		.del = cmd_other, .check = cmd_other, .gc = cmd_other, .status = cmd_other)
