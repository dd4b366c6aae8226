/* SPDX-License-Identifier: Apache-2.0 */
/*
 * multus: attaches a container to several networks by delegating to one plugin per
 * network. The delegate marked "masterplugin" gets CNI_IFNAME and its result is ours;
 * the others get net0, net1, ... in order. What ADD ran is saved under dataDir, so DEL
 * undoes exactly that even when the config changed or is gone.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cni/cni.h>

#include "plugin-json.h"
#include "plugin-state.h"
#include "plugin-util.h"

#define DEFAULT_DATA_DIR "/var/lib/cni/multus"
#define STATE_VERSION	 1

struct mconf {
	json_t *root; /* the whole config */
	const char *name;
	const char *version;
	const char *data_dir;
	json_t *delegates; /* state entries: {type, ifname, master, conf[, result]} */
};

static void mconf_free(struct mconf *c)
{
	json_decref(c->root);
	json_decref(c->delegates);
	memset(c, 0, sizeof(*c));
}

static int bad(cni_error **err, const char *fmt, const char *a, const char *b)
{
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, fmt, a, b);
}

/* A string member, absent allowed. */
static int opt_string(const json_t *obj, const char *key, const char *where, const char **out,
		      cni_error **err)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "%s%s: expected string, got %s", where, key, pj_kind(v));
	*out = json_string_value(v);
	return 0;
}

/* The runtimeConfig entries the delegate declares in its capabilities. */
static int pass_capabilities(json_t *d, const json_t *rc, const char *where, cni_error **err)
{
	json_t *caps = json_object_get(d, "capabilities");
	if (!caps || !rc)
		return 0;
	if (!json_is_object(caps))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "%scapabilities: expected object, got %s", where,
				     pj_kind(caps));
	json_t *drc = json_object_get(d, "runtimeConfig");
	if (drc && !json_is_object(drc))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "%sruntimeConfig: expected object, got %s", where,
				     pj_kind(drc));
	const char *k;
	json_t *on;
	json_object_foreach(caps, k, on)
	{
		json_t *val = json_object_get(rc, k);
		if (!json_is_true(on) || !val)
			continue;
		if (!drc) {
			drc = json_object();
			if (!drc || json_object_set_new(d, "runtimeConfig", drc) < 0)
				return cni_error_oom(err);
		}
		if (json_object_set(drc, k, val) < 0)
			return cni_error_oom(err);
	}
	return 0;
}

/* Drop default routes (0.0.0.0/0, ::/0) from ipam.routes: only the master sets one. */
static void strip_default_routes(json_t *owner)
{
	json_t *routes = json_object_get(json_object_get(owner, "ipam"), "routes");
	for (size_t k = json_array_size(routes); k-- > 0;) {
		const char *dst =
		    json_string_value(json_object_get(json_array_get(routes, k), "dst"));
		cni_ipnet n;
		if (dst && cni_ipnet_parse(dst, &n) == 0 && n.prefix == 0)
			json_array_remove(routes, k);
	}
}

/* One delegates[i] as the config text it is run with, into a state entry. */
static int build_delegate(struct mconf *c, size_t i, json_t *src, const json_t *rc,
			  const char *ifname, size_t *n_other, int *master_at, cni_error **err)
{
	char where[48];
	snprintf(where, sizeof(where), "delegates[%zu].", i);
	if (!json_is_object(src))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "delegates[%zu]: expected object, got %s", i, pj_kind(src));
	const char *type = NULL;
	int r = opt_string(src, "type", where, &type, err);
	if (r < 0)
		return r;
	if (!type || !*type)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "delegates[%zu]: missing type", i);
	if (strchr(type, '/') || !strcmp(type, "multus"))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "delegates[%zu].type: invalid plugin %s", i, type);
	json_t *mp = json_object_get(src, "masterplugin");
	if (mp && !json_is_boolean(mp) && !json_is_null(mp))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "delegates[%zu].masterplugin: expected bool, got %s", i,
				     pj_kind(mp));
	bool master = json_is_true(mp);
	if (master && *master_at >= 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "delegates[%zu].masterplugin: delegates[%d] is already the "
				     "masterplugin; exactly one must be",
				     i, *master_at);
	if (!master) {
		/* Only the master may give the container its default route. */
		const json_t *inner = json_object_get(src, "delegate");
		if (json_is_true(json_object_get(src, "isDefaultGateway")) ||
		    (json_is_object(inner) &&
		     json_is_true(json_object_get(inner, "isDefaultGateway"))))
			return cni_error_set(
			    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			    "delegates[%zu].isDefaultGateway: true is only allowed "
			    "on the masterplugin",
			    i);
	}

	json_t *d = json_deep_copy(src);
	if (!d)
		return cni_error_oom(err);
	json_object_del(d, "masterplugin");
	if (!master) {
		strip_default_routes(d);
		strip_default_routes(json_object_get(d, "delegate")); /* a flannel delegate */
	}
	const char *v = NULL;
	r = opt_string(src, "cniVersion", where, &v, err);
	if (r == 0 && !v && c->version)
		json_object_set_new(d, "cniVersion", json_string(c->version));
	const char *name = NULL;
	if (r == 0)
		r = opt_string(src, "name", where, &name, err);
	if (r == 0 && !name) {
		/* Each network keeps its own IPAM store: never share the outer name. */
		char buf[256];
		snprintf(buf, sizeof(buf), "%s-%zu", c->name, i);
		json_object_set_new(d, "name", json_string(buf));
	}
	if (r == 0)
		r = pass_capabilities(d, rc, where, err);
	if (r < 0) {
		json_decref(d);
		return r;
	}

	char ifbuf[16];
	if (master) {
		*master_at = (int)i;
		snprintf(ifbuf, sizeof(ifbuf), "%s", ifname);
	} else {
		snprintf(ifbuf, sizeof(ifbuf), "net%zu", (*n_other)++);
	}
	json_t *e = json_pack("{s:s, s:s, s:b, s:o}", "type", type, "ifname", ifbuf, "master",
			      master, "conf", d);
	if (!e || json_array_append_new(c->delegates, e) < 0)
		return cni_error_oom(err);
	return 0;
}

static int mconf_load(const char *data, size_t len, const char *ifname, struct mconf *c,
		      cni_error **err)
{
	json_error_t je;
	memset(c, 0, sizeof(*c));
	c->root = json_loadb(data, len, 0, &je);
	if (!c->root)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to load netconf: %s", je.text);
	if (!json_is_object(c->root))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to load netconf: expected object, got %s",
				     pj_kind(c->root));
	c->name = "";
	c->data_dir = DEFAULT_DATA_DIR;
	int r = opt_string(c->root, "name", "", &c->name, err);
	if (r == 0)
		r = opt_string(c->root, "cniVersion", "", &c->version, err);
	if (r == 0)
		r = opt_string(c->root, "dataDir", "", &c->data_dir, err);
	if (r < 0)
		return r;
	if (!*c->data_dir)
		return bad(err, "dataDir: must not be empty%s%s", "", "");
	json_t *rc = json_object_get(c->root, "runtimeConfig");
	if (rc && !json_is_object(rc) && !json_is_null(rc))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "runtimeConfig: expected object, got %s", pj_kind(rc));
	if (!json_is_object(rc))
		rc = NULL;
	json_t *dl = json_object_get(c->root, "delegates");
	if (!dl)
		return bad(err,
			   "delegates: missing; multus needs a list of delegate "
			   "configs%s%s",
			   "", "");
	if (!json_is_array(dl))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "delegates: expected array, got %s", pj_kind(dl));
	if (json_array_size(dl) == 0)
		return bad(err, "delegates: empty list%s%s", "", "");
	c->delegates = json_array();
	if (!c->delegates)
		return cni_error_oom(err);
	size_t n_other = 0;
	int master_at = -1;
	for (size_t i = 0; i < json_array_size(dl); i++) {
		r = build_delegate(c, i, json_array_get(dl, i), rc, ifname, &n_other, &master_at,
				   err);
		if (r < 0)
			return r;
	}
	if (master_at < 0)
		return bad(err,
			   "delegates: no delegate has \"masterplugin\": true; exactly "
			   "one must%s%s",
			   "", "");
	return 0;
}

static int state_path(const char *dir, const cni_cmd_args *args, char *buf, size_t len,
		      cni_error **err)
{
	if (strchr(args->container_id, '/') || strchr(args->ifname, '/'))
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "invalid container ID or interface name: %s %s",
				     args->container_id, args->ifname);
	int n = snprintf(buf, len, "%s/%s-%s.json", dir, args->container_id, args->ifname);
	if (n < 0 || (size_t)n >= len)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "dataDir: path too long: %s", dir);
	return 0;
}

/* Run one delegate: verb with its ifname; prevResult from the entry when it has one. */
static int run_delegate(const cni_cmd_args *args, const char *verb, json_t *e, cni_result **out,
			cni_error **err)
{
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *ifname = json_string_value(json_object_get(e, "ifname"));
	json_t *conf = json_object_get(e, "conf");
	json_t *res = json_object_get(e, "result");
	if (!type || !ifname || !json_is_object(conf))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "saved delegate entry is malformed");
	json_t *send = json_copy(conf);
	if (!send)
		return cni_error_oom(err);
	if (res && strcmp(verb, "ADD") != 0)
		json_object_set(send, "prevResult", res);
	char *text = json_dumps(send, JSON_COMPACT);
	json_decref(send);
	if (!text)
		return cni_error_oom(err);

	char **paths = NULL, *plugin = NULL;
	int r = cni_split_path(args->path, &paths, err);
	if (r == 0)
		r = cni_find_in_path(type, (const char *const *)paths, &plugin, err);
	if (r == 0) {
		cni_exec_args ea = CNI_EXEC_ARGS_INIT;
		ea.command = verb;
		ea.container_id = args->container_id;
		ea.netns = args->netns;
		ea.ifname = ifname;
		ea.path = args->path;
		ea.plugin_args_str = args->args;
		if (out)
			r = cni_exec_plugin_with_result(plugin, text, strlen(text), &ea, NULL, out,
							err);
		else
			r = cni_exec_plugin_without_result(plugin, text, strlen(text), &ea, NULL,
							   err);
	}
	PC_PREFIX(err, "%s %s on %s", type, verb, ifname);
	free(plugin);
	cni_strv_free(paths);
	free(text);
	return r;
}

/* DEL entries [0, n) in reverse; all run, the first error is returned. */
static int del_all(const cni_cmd_args *args, json_t *delegates, size_t n, cni_error **err)
{
	int first = 0;
	for (size_t i = n; i-- > 0;) {
		cni_error *e = NULL;
		int r = run_delegate(args, "DEL", json_array_get(delegates, i), NULL, &e);
		if (r < 0 && first == 0) {
			first = r;
			if (err)
				*err = e;
			else
				cni_error_free(e);
		} else {
			cni_error_free(e);
		}
	}
	return first;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	(void)ud;
	struct mconf c;
	char path[4096];
	int r = mconf_load(args->stdin_data, args->stdin_len, args->ifname, &c, err);
	if (r == 0)
		r = state_path(c.data_dir, args, path, sizeof(path), err);
	json_t *state = NULL;
	if (r == 0) {
		state = json_pack("{s:i, s:s?, s:O}", "version", STATE_VERSION, "cniVersion",
				  c.version, "delegates", c.delegates);
		if (!state)
			r = cni_error_oom(err);
	}
	/* Saved first: a multus killed half-way still leaves DEL what it needs. */
	if (r == 0)
		r = ps_save(path, state, err);
	size_t i = 0;
	cni_result *master = NULL;
	for (; r == 0 && i < json_array_size(c.delegates); i++) {
		json_t *e = json_array_get(c.delegates, i);
		cni_result *res = NULL;
		r = run_delegate(args, "ADD", e, &res, err);
		if (r < 0)
			break;
		char *rj = NULL;
		r = cni_result_to_json(res, &rj, err);
		json_t *rv = rj ? json_loads(rj, 0, NULL) : NULL;
		free(rj);
		if (r == 0 && !rv)
			r = cni_error_oom(err);
		if (r == 0)
			json_object_set_new(e, "result", rv);
		if (r == 0)
			r = ps_save(path, state, err);
		if (r == 0 && json_is_true(json_object_get(e, "master")))
			master = res;
		else
			cni_result_free(res);
		if (r < 0) {
			i++; /* this one was added: undo it as well */
			break;
		}
	}
	if (r < 0 && state) {
		/* Undo what was added, the failing delegate included (its DEL is harmless and
		 * releases anything it left), newest first. When one of those DELs fails, the
		 * saved list stays: the runtime's DEL then undoes exactly what was added. */
		size_t n = i < json_array_size(c.delegates) ? i + 1 : i;
		if (del_all(args, c.delegates, n, NULL) == 0)
			ps_remove(path, NULL);
		cni_result_free(master);
		master = NULL;
	}
	json_decref(state);
	mconf_free(&c);
	if (r == 0)
		*result = master;
	return r;
}

/* The delegates DEL and CHECK work on: those saved at ADD, else the config's. */
static int load_saved(const cni_cmd_args *args, struct mconf *c, char *path, size_t len,
		      json_t **state, cni_error **err)
{
	cni_error *cerr = NULL;
	int cr = mconf_load(args->stdin_data, args->stdin_len, args->ifname, c, &cerr);
	const char *dir = DEFAULT_DATA_DIR;
	/* dataDir is read even from a config that is otherwise broken now. */
	if (c->root && json_is_string(json_object_get(c->root, "dataDir")))
		dir = json_string_value(json_object_get(c->root, "dataDir"));
	int r = state_path(dir, args, path, len, err);
	if (r == 0)
		r = ps_load(path, state, err);
	if (r == 0 && !*state && cr < 0) {
		*err = cerr;
		return cr;
	}
	cni_error_free(cerr);
	if (r == 0 && *state && !json_is_array(json_object_get(*state, "delegates"))) {
		json_decref(*state);
		*state = NULL;
		r = cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				  "%s: no delegate list in saved state", path);
	}
	return r;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	struct mconf c;
	char path[4096];
	json_t *state = NULL;
	int r = load_saved(args, &c, path, sizeof(path), &state, err);
	if (r == 0) {
		json_t *dl = state ? json_object_get(state, "delegates") : c.delegates;
		r = del_all(args, dl, json_array_size(dl), err);
	}
	/* Kept after a failure, so the runtime's retry undoes the rest; removed also when
	 * absent (what an ADD killed while writing it left). */
	if (r == 0)
		r = ps_remove(path, err);
	json_decref(state);
	mconf_free(&c);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	struct mconf c;
	char path[4096];
	json_t *state = NULL;
	int r = load_saved(args, &c, path, sizeof(path), &state, err);
	if (r == 0 && !state)
		r = cni_error_set(err, CNI_ERR_UNKNOWN_CONTAINER, NULL,
				  "no saved state for container %s interface %s (%s)",
				  args->container_id, args->ifname, path);
	json_t *dl = state ? json_object_get(state, "delegates") : NULL;
	for (size_t i = 0; r == 0 && i < json_array_size(dl); i++) {
		json_t *e = json_array_get(dl, i);
		const char *dv =
		    json_string_value(json_object_get(json_object_get(e, "conf"), "cniVersion"));
		/* Versions before 0.4.0 have no CHECK: nothing to ask those delegates. */
		if (dv && !cni_version_ge(dv, "0.4.0"))
			continue;
		r = run_delegate(args, "CHECK", e, NULL, err);
	}
	json_decref(state);
	mconf_free(&c);
	return r;
}

/*
 * GC and STATUS go to the delegates of the current config. For GC each delegate sees the
 * valid attachments under its own interface name: an attachment (cid, eth0) of ours is
 * (cid, net0) to the first non-master delegate, and must not look stale to its IPAM.
 */
static int pass_through(const cni_cmd_args *args, const char *verb, cni_error **err)
{
	struct mconf c;
	int r = mconf_load(args->stdin_data, args->stdin_len, args->ifname, &c, err);
	json_t *va = r == 0 ? json_object_get(c.root, "cni.dev/valid-attachments") : NULL;
	int first = 0;
	for (size_t i = 0; r == 0 && i < json_array_size(c.delegates); i++) {
		json_t *e = json_array_get(c.delegates, i);
		json_t *conf = json_object_get(e, "conf");
		bool master = json_is_true(json_object_get(e, "master"));
		const char *ifn = json_string_value(json_object_get(e, "ifname"));
		const char *dv = json_string_value(json_object_get(conf, "cniVersion"));
		/* Delegates on versions before GC and STATUS (1.1.0) have nothing to do. */
		if (!dv || !cni_version_ge(dv, "1.1.0"))
			continue;
		if (json_is_array(va)) {
			json_t *mine = json_array();
			size_t k;
			json_t *a;
			json_array_foreach(va, k, a)
			{
				json_t *b = json_copy(a);
				if (b && !master && json_is_object(b))
					json_object_set_new(b, "ifname", json_string(ifn));
				json_array_append_new(mine, b);
			}
			json_object_set_new(conf, "cni.dev/valid-attachments", mine);
		}
		cni_error *e1 = NULL;
		int rr = run_delegate(args, verb, e, NULL, &e1);
		if (rr < 0 && first == 0) {
			first = rr;
			*err = e1;
		} else {
			cni_error_free(e1);
		}
	}
	mconf_free(&c);
	return r < 0 ? r : first;
}

static int cmd_gc(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	return pass_through(args, "GC", err);
}

static int cmd_status(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	return pass_through(args, "STATUS", err);
}

CNI_PLUGIN_MAIN("CNI multus plugin (libcni-c)", .add = cmd_add, .del = cmd_del, .check = cmd_check,
		.gc = cmd_gc, .status = cmd_status)
