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
		r = cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				  "etcd-ipam: etcd-ipamd at %s gave no valid answer (closed the "
				  "connection, or a daemon of another version)",
				  w->socket);
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

/* verb by the daemon or one-shot; for ADD *result from the answer (parsed in the version
 * it names: the daemon prints the newest, a one-shot run the config's). wait_cap_ms (0:
 * none) bounds the wait for a daemon; *answered (optional) says whether a failure is the
 * daemon's own answer, whose outcome is known. */
static int forward(const cni_cmd_args *a, const char *verb, cni_result **result,
		   long wait_cap_ms, bool *answered, cni_error **err)
{
	json_t *ans = NULL, *e;
	char *out = NULL, *js = NULL;
	where w;
	int r = where_of(a, &w, err);

	if (answered)
		*answered = false;
	if (r == 0 && wait_cap_ms > 0 && w.wait_ms > wait_cap_ms)
		w.wait_ms = wait_cap_ms;
	if (r == 0)
		r = ask_daemon(&w, a, verb, &ans, err);
	if (r == 0) {
		r = run_oneshot(a, verb, &out, err);
		if (r == 0 && result)
			r = cni_result_from_json(result, NULL, out, strlen(out), err);
		cni_free(out);
		return r;
	}
	if (r < 0)
		return r;
	e = json_object_get(ans, "error");
	if (e) {
		long long code = json_integer_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "msg"));

		r = cni_error_set(err, code > 0 && code < 1000 ? (int)code : CNI_ERR_INTERNAL,
				  json_string_value(json_object_get(e, "details")), "%s",
				  msg ? msg : "etcd-ipamd failed");
		if (answered)
			*answered = true;
	} else if (result) {
		js = json_dumps(json_object_get(ans, "result"), JSON_COMPACT);
		r = js ? cni_result_from_json(result, NULL, js, strlen(js), err)
		       : cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				       "etcd-ipam: etcd-ipamd at %s answered ADD without a result",
				       w.socket);
		free(js);
	}
	json_decref(ans);
	return r;
}

static int cmd_add(const cni_cmd_args *a, cni_result **result, cni_error **err, void *ud)
{
	bool answered;
	int r;

	(void)ud;
	r = forward(a, "ADD", result, 0, &answered, err);
	if (r < 0 && !answered) {
		/* The ADD may have been made all the same: its answer lost on the way, or a
		 * one-shot run's output cut short. The runtime will not learn of it: take it
		 * back (a DEL of nothing changes nothing), with a bounded wait. */
		cni_error *ignored = NULL;
		(void)forward(a, "DEL", NULL, UNDO_WAIT_MS, NULL, &ignored);
		cni_error_free(ignored);
	}
	return r;
}

/* DEL, CHECK, GC and STATUS: the command skel was run with (its undoing DEL of a failed
 * ADD included: skel gives that one the command DEL). */
static int cmd_other(const cni_cmd_args *a, cni_error **err, void *ud)
{
	(void)ud;
	return forward(a, a->command, NULL, 0, NULL, err);
}

CNI_PLUGIN_MAIN("CNI etcd-ipam plugin (libcni-c " LIBCNI_C_VERSION ")", .add = cmd_add,
		.del = cmd_other, .check = cmd_other, .gc = cmd_other, .status = cmd_other)
