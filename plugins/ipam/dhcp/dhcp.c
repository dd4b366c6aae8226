/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dhcp IPAM: the plugin asks the dhcp daemon (`dhcp daemon`, dhcp-daemon.c) over a unix
 * socket to acquire, check or release the lease of one attachment; the daemon runs the
 * DHCP client in the attachment's namespace and keeps the lease alive. The protocol is
 * one JSON object per line each way, {"version":1,"command":...}; see docs/plugins/dhcp.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cni/cni.h>

#include "dhcp-daemon.h"
#include "dhcp-packet.h"
#include "plugin-cleanup.h"
#include "plugin-daemon.h"

/* The longest answer we read from the daemon, with its terminator. */
#define DHCP_MAX_ANSWER 65536

/* How long a failed ADD waits for the daemon to take its lease back. */
#define DHCP_UNDO_TIMEOUT_MS 3000L

static const uint8_t default_request[] = {
    DHCP_OPT_SUBNET_MASK, DHCP_OPT_ROUTER,          DHCP_OPT_DNS,
    DHCP_OPT_DOMAIN,      DHCP_OPT_CLASSLESS_ROUTES, DHCP_OPT_STATIC_ROUTES,
    DHCP_OPT_LEASE_TIME,  DHCP_OPT_T1,              DHCP_OPT_T2,
};

struct dhcp_conf {
	json_t *root;
	const char *name, *socket;
	json_t *request;  /* [code...] */
	json_t *provide;  /* [{option, hex}] */
	int priority;
};

static int bad(cni_error **err, const char *fmt, const char *key, const char *val)
{
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, fmt, key, val);
}

static char *to_hex(const char *s, size_t n)
{
	char *h = malloc(n * 2 + 1);

	if (!h)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(h + 2 * i, 3, "%02x", (unsigned char)s[i]);
	h[2 * n] = 0;
	return h;
}

static int option_of(json_t *v, const char *where, cni_error **err)
{
	char num[32];
	const char *s = json_string_value(v);
	int c;

	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = num;
	}
	c = s ? dhcp_option_code(s) : -EINVAL;
	if (c < 0) {
		char *d = json_dumps(v, JSON_ENCODE_ANY);
		bad(err, "%s: unknown DHCP option %s (a name such as \"routers\" or a code 1..254)",
		    where, d ? d : "?");
		free(d);
	}
	return c;
}

static int load_conf(struct dhcp_conf *c, const cni_cmd_args *args, cni_error **err)
{
	json_error_t je;
	json_t *ipam, *v, *e;
	_cleanup_(pc_args_freep) cni_args *cargs = NULL;
	bool skip_default = false;
	uint8_t seen[256] = {0};
	size_t i;
	int r = 0;

	memset(c, 0, sizeof(*c));
	c->root = json_loadb(args->stdin_data, args->stdin_len, 0, &je);
	if (!json_is_object(c->root))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to load netconf: %s", je.text);
	c->name = json_string_value(json_object_get(c->root, "name"));
	ipam = json_object_get(c->root, "ipam");
	if (!c->name || !*c->name)
		return bad(err, "%s%s: the network needs a name", "name", "");
	if (!json_is_object(ipam))
		return bad(err, "%s%s: missing or not an object", "ipam", "");
	c->socket = DHCP_DEFAULT_SOCKET;
	v = json_object_get(ipam, "daemonSocketPath");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || !*json_string_value(v) ||
		    json_string_length(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return bad(err, "%s: invalid socket path %s", "ipam.daemonSocketPath",
				   json_string_value(v) ? json_string_value(v) : "(not a string)");
		c->socket = json_string_value(v);
	}
	v = json_object_get(ipam, "priority");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT32_MAX)
			return bad(err, "%s%s: must be an integer 0..2147483647", "ipam.priority", "");
		c->priority = (int)json_integer_value(v);
	}
	c->request = json_array();
	c->provide = json_array();
	v = json_object_get(ipam, "request");
	if (v && !json_is_null(v) && !json_is_array(v))
		return bad(err, "%s%s: must be an array", "ipam.request", "");
	json_array_foreach(v, i, e)
	{
		char where[64];
		int code;
		snprintf(where, sizeof(where), "ipam.request[%zu].option", i);
		if (!json_is_object(e))
			return bad(err, "%s%s: must be an object", where, "");
		if (json_is_true(json_object_get(e, "skipDefault")))
			skip_default = true;
		code = option_of(json_object_get(e, "option"), where, err);
		if (code < 0)
			return code;
		if (!seen[code]++)
			json_array_append_new(c->request, json_integer(code));
	}
	if (!skip_default)
		for (i = 0; i < sizeof(default_request); i++)
			if (!seen[default_request[i]]++)
				json_array_append_new(c->request, json_integer(default_request[i]));
	v = json_object_get(ipam, "provide");
	if (v && !json_is_null(v) && !json_is_array(v))
		return bad(err, "%s%s: must be an array", "ipam.provide", "");
	json_array_foreach(v, i, e)
	{
		char where[64];
		const char *val, *from;
		char *h;
		int code;
		snprintf(where, sizeof(where), "ipam.provide[%zu].option", i);
		if (!json_is_object(e))
			return bad(err, "%s%s: must be an object", where, "");
		code = option_of(json_object_get(e, "option"), where, err);
		if (code < 0)
			return code;
		val = json_string_value(json_object_get(e, "value"));
		from = json_string_value(json_object_get(e, "fromArg"));
		if (from && *from) {
			if (!cargs && (r = cni_args_parse(&cargs, args->args, err)) < 0)
				return r;
			val = cni_args_get(cargs, from);
			if (!val)
				return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
						     "ipam.provide[%zu].fromArg: CNI_ARGS has no %s",
						     i, from);
		}
		if (!val || strlen(val) > 255) {
			snprintf(where, sizeof(where), "ipam.provide[%zu].value", i);
			return bad(err, "%s%s: needs a value (or fromArg) of at most 255 bytes",
				   where, "");
		}
		h = to_hex(val, strlen(val));
		json_array_append_new(c->provide, json_pack("{s:i,s:s}", "option", code, "hex", h));
		free(h);
	}
	return 0;
}

static void conf_free(struct dhcp_conf *c)
{
	json_decref(c->request);
	json_decref(c->provide);
	json_decref(c->root);
}

/* One request, one answer within timeout_ms. A daemon that is not there (no socket,
 * refused) or does not answer in time is CNI_ERR_TRY_AGAIN_LATER. *reply is new. */
static int call_daemon_within(const char *sock, json_t *req, json_t **reply, long timeout_ms,
			      cni_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *out, *line;
	size_t olen;
	int fd, r;

	*reply = NULL;
	json_object_set_new(req, "version", json_integer(DHCP_PROTO_VERSION));
	out = json_dumps(req, JSON_COMPACT);
	if (!out)
		return cni_error_oom(err);
	/* the request is one line */
	olen = strlen(out);
	line = realloc(out, olen + 2);
	if (!line) {
		free(out);
		return cni_error_oom(err);
	}
	out = line;
	memcpy(out + olen, "\n", 2);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				  "the dhcp daemon is not running (cannot connect to %s: %s); "
				  "start it with 'dhcp daemon' or its systemd socket",
				  sock, strerror(errno));
		goto out;
	}
	r = pc_daemon_exchange(fd, out, timeout_ms, DHCP_MAX_ANSWER, DHCP_PROTO_VERSION, reply);
	if (r == -ETIMEDOUT) {
		r = cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				  "the dhcp daemon at %s did not answer within %ld ms", sock,
				  timeout_ms);
		goto out;
	}
	if (r < 0) {
		r = cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				  "the dhcp daemon at %s gave no valid answer (a daemon of "
				  "another version?)",
				  sock);
		goto out;
	}
	json_t *e = json_object_get(*reply, "error");
	if (e) {
		int code = (int)json_integer_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "msg"));
		r = cni_error_set(err, code > 0 && code < 1000 ? code : CNI_ERR_INTERNAL, NULL,
				  "%s", msg ? msg : "the dhcp daemon failed");
		json_decref(*reply);
		*reply = NULL;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(out);
	return r;
}

static int call_daemon(const char *sock, json_t *req, json_t **reply, cni_error **err)
{
	return call_daemon_within(sock, req, reply, DHCP_PLUGIN_TIMEOUT_MS, err);
}

static json_t *attachment_req(const char *cmd, const struct dhcp_conf *c,
			      const cni_cmd_args *args)
{
	json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s}", "command", cmd, "containerID",
				args->container_id, "network", c->name, "ifName", args->ifname,
				"netns", args->netns);
	char abs[4096];

	/* the daemon runs elsewhere: a relative path means nothing to it */
	if (req && args->netns[0] && args->netns[0] != '/' && realpath(args->netns, abs))
		json_object_set_new(req, "netns", json_string(abs));
	return req;
}

static int cmd_add(const cni_cmd_args *args, cni_result **out, cni_error **err, void *ud)
{
	struct dhcp_conf c;
	json_t *req, *reply = NULL;
	char *res = NULL;
	int r;

	(void)ud;
	r = load_conf(&c, args, err);
	if (r < 0)
		goto out;
	req = attachment_req("add", &c, args);
	json_object_set(req, "request", c.request);
	json_object_set(req, "provide", c.provide);
	json_object_set_new(req, "priority", json_integer(c.priority));
	r = call_daemon(c.socket, req, &reply, err);
	json_decref(req);
	if (r == 0) {
		res = json_dumps(json_object_get(reply, "result"), JSON_COMPACT);
		r = res ? cni_result_from_json(out, NULL, res, strlen(res), err)
			: cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					"the dhcp daemon sent no result");
	}
	if (r < 0) {
		/* a lease we cannot hand on is released rather than left to the daemon; so is
		 * one whose answer was lost (the daemon may have acquired it all the same) */
		json_t *del = attachment_req("del", &c, args), *ign = NULL;
		cni_error *e2 = NULL;
		/* (briefly: a daemon that did not answer the ADD in time releases a lease
		 * itself once it sees this plugin gone) */
		call_daemon_within(c.socket, del, &ign, DHCP_UNDO_TIMEOUT_MS, &e2);
		json_decref(del);
		json_decref(ign);
		cni_error_free(e2);
	}
out:
	free(res);
	json_decref(reply);
	conf_free(&c);
	return r;
}

static int simple(const char *cmd, const cni_cmd_args *args, cni_error **err, json_t **reply)
{
	struct dhcp_conf c;
	json_t *req;
	int r = load_conf(&c, args, err);

	if (r == 0) {
		req = attachment_req(cmd, &c, args);
		r = call_daemon(c.socket, req, reply, err);
		json_decref(req);
	}
	conf_free(&c);
	return r;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	json_t *reply = NULL;
	int r;

	(void)ud;
	r = simple("del", args, err, &reply);
	json_decref(reply);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	json_t *reply = NULL;
	cni_conf *conf = NULL;
	cni_result *prev = NULL;
	const char *want;
	int r;

	(void)ud;
	r = simple("check", args, err, &reply);
	if (r < 0)
		goto out;
	want = json_string_value(
	    json_object_get(json_array_get(json_object_get(json_object_get(reply, "result"), "ips"), 0),
			    "address"));
	r = cni_conf_from_bytes(&conf, args->stdin_data, args->stdin_len, err);
	if (r == 0)
		r = cni_conf_prev_result(conf, &prev, err);
	if (r < 0 || !prev)
		goto out; /* as an IPAM plugin run alone: the lease is there and kept */
	for (size_t i = 0; i < cni_result_ip_count(prev); i++) {
		cni_ip ip = CNI_IP_INIT;
		if (cni_result_get_ip(prev, i, &ip) == 0 && want && strcmp(ip.address, want) == 0)
			goto out;
	}
	r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
			  "dhcp: the lease of %s/%s is %s, which prevResult does not have",
			  args->container_id, args->ifname, want ? want : "(none)");
out:
	cni_result_free(prev);
	cni_conf_free(conf);
	json_decref(reply);
	return r;
}

static int cmd_status(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct dhcp_conf c;
	json_t *req, *reply = NULL;
	int r;

	(void)ud;
	r = load_conf(&c, args, err);
	if (r == 0) {
		req = json_pack("{s:s}", "command", "status");
		r = call_daemon(c.socket, req, &reply, err);
		if (r < 0) {
			/* the spec's code for "cannot serve ADD now"; the cause stays in the text */
			char *why = strdup(*err ? cni_error_msg(*err) : "");
			cni_error_free(*err);
			*err = NULL;
			cni_error_set(err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL, "%s",
				      why ? why : "the dhcp daemon is not available");
			free(why);
		}
		json_decref(req);
	}
	json_decref(reply);
	conf_free(&c);
	return r < 0 ? -CNI_ERR_PLUGIN_NOT_AVAILABLE : 0;
}

static int cmd_gc(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct dhcp_conf c;
	json_t *req, *valid, *reply = NULL, *att, *v;
	size_t i;
	int r;

	(void)ud;
	r = load_conf(&c, args, err);
	if (r < 0)
		goto out;
	valid = json_array();
	att = json_object_get(c.root, "cni.dev/valid-attachments");
	json_array_foreach(att, i, v)
		json_array_append_new(valid, json_pack("{s:s?,s:s,s:s?}", "containerID",
						       json_string_value(json_object_get(v, "containerID")),
						       "network", c.name, "ifName",
						       json_string_value(json_object_get(v, "ifname"))));
	req = json_pack("{s:s,s:s,s:o}", "command", "gc", "network", c.name, "valid", valid);
	r = call_daemon(c.socket, req, &reply, err);
	json_decref(req);
out:
	json_decref(reply);
	conf_free(&c);
	return r;
}

/* `dhcp daemon ...` (also `cni-plugins dhcp daemon ...`): argv from /proc, since a
 * plugin's main takes none in the multi-call binary. */
static int daemon_args(char ***argv_out)
{
	static char buf[65536];
	static char *argv[256];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC), argc = 0, start = -1;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (ssize_t i = 0; i < n && argc < 255; i += (ssize_t)strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	for (int i = 1; i < argc && i < 3; i++)
		if (strcmp(argv[i], "daemon") == 0) {
			start = i + 1;
			break;
		}
	if (start < 0)
		return -1;
	*argv_out = argv + start;
	return argc - start;
}

int main(void)
{
	cni_plugin_funcs funcs = CNI_PLUGIN_FUNCS_INIT;
	char **argv;
	int argc = daemon_args(&argv);

	if (argc >= 0)
		return dhcp_daemon_main(argc, argv);
	funcs.add = cmd_add;
	funcs.check = cmd_check;
	funcs.del = cmd_del;
	funcs.gc = cmd_gc;
	funcs.status = cmd_status;
	return cni_plugin_main(&funcs, NULL, "CNI dhcp plugin " LIBCNI_C_VERSION);
}
