/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime API (the reference's libcni/api.go): ADD/CHECK/DEL/GC/STATUS of network
 * lists and single networks, with prevResult chaining, capability injection and the
 * result cache (cache.c). Nothing here touches the calling thread's namespace; a
 * cni_config is immutable after creation, so one config serves many threads.
 */
#include <stdio.h>

#include "api-internal.h"
#include "conf-internal.h"
#include "result-internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

/* ---- config --------------------------------------------------------------------------- */

void cni_config_free(cni_config *cfg)
{
	if (!cfg)
		return;
	cni_strv_free(cfg->path);
	free(cfg->path_joined);
	free(cfg->cache_dir);
	cni_strv_free(cfg->base_env);
	free(cfg);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(cni_config *, cni_config_free)

int cni_config_new(cni_config **out, const cni_config_options *opts, cni_error **err)
{
	_cleanup_(cni_config_freep) cni_config *cfg = NULL;
	cni_buf b = CNI_BUF_INIT;

	if (!out || !opts)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_config_new: out and opts are required");
	int r = cni_struct_check(err, "cni_config_new", "cni_config_options", opts->version,
				 CNI_CONFIG_OPTIONS_VERSION);
	if (r < 0)
		return r;
	if (!opts->path)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_config_new: path (plugin directories) is required");
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return cni_error_oom(err);
	if (cni_strv_dup(opts->path, &cfg->path) < 0)
		return cni_error_oom(err);
	/* CNI_PATH is the dirs joined with ':' (the reference's strings.Join). */
	for (size_t i = 0; cfg->path[i]; i++) {
		if ((i && cni_buf_puts(&b, ":") < 0) || cni_buf_puts(&b, cfg->path[i]) < 0) {
			cni_buf_free(&b);
			return cni_error_oom(err);
		}
	}
	cfg->path_joined = cni_buf_steal(&b);
	if (!cfg->path_joined)
		return cni_error_oom(err);
	if (!isempty(opts->cache_dir) && !(cfg->cache_dir = strdup(opts->cache_dir)))
		return cni_error_oom(err);
	if (opts->base_env && cni_strv_dup(opts->base_env, &cfg->base_env) < 0)
		return cni_error_oom(err);
	cfg->timeout_ms = opts->timeout_ms;
	*out = TAKE_PTR(cfg);
	return 0;
}

/* ---- helpers -------------------------------------------------------------------------- */

static int check_rt(const cni_runtime_conf *rt, cni_error **err)
{
	if (!rt)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "runtime conf is required");
	int r = cni_struct_check(err, "runtime conf", "cni_runtime_conf", rt->version,
				 CNI_RUNTIME_CONF_VERSION);
	if (r < 0)
		return r;
	if (rt->n_args && !rt->args)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "runtime conf has n_args %zu but no args", rt->n_args);
	for (size_t i = 0; i < rt->n_args; i++)
		if (!rt->args[i][0] || !rt->args[i][1])
			return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
					     "runtime conf arg %zu has a NULL key or value", i);
	return 0;
}

/* check_rt() for the calls that hand something back through out. */
static int check_rt_out(const cni_runtime_conf *rt, const void *out, cni_error **err)
{
	int r = check_rt(rt, err);
	if (r < 0)
		return r;
	if (!out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "out is required");
	return 0;
}

static int parse_cap_args(const cni_runtime_conf *rt, json_t **out, cni_error **err)
{
	*out = NULL;
	if (!rt || !rt->capability_args)
		return 0;
	return cni_json_parse_object(rt->capability_args, strlen(rt->capability_args),
				     "invalid capability args", out, err);
}

static cni_exec_options exec_options(const cni_config *cfg)
{
	cni_exec_options o = CNI_EXEC_OPTIONS_INIT;
	o.timeout_ms = cfg->timeout_ms;
	o.base_env = (const char *const *)cfg->base_env;
	return o;
}

static cni_exec_args exec_args(const cni_config *cfg, const char *command,
			       const cni_runtime_conf *rt)
{
	cni_exec_args a = CNI_EXEC_ARGS_INIT;
	a.command = command;
	a.path = cfg->path_joined;
	if (rt) {
		a.container_id = rt->container_id;
		a.netns = rt->netns;
		a.ifname = rt->ifname;
		a.plugin_args = rt->args;
		a.n_plugin_args = rt->n_args;
	}
	return a;
}

static int find_plugin(const cni_config *cfg, const cni_conf *net, char **out, cni_error **err)
{
	return cni_find_in_path(cni_conf_type(net), (const char *const *)cfg->path, out, err);
}

/* Hand a local error to the caller, with "<prefix>: " in front of its message. */
static int pass_error(cni_error **err, cni_error **local, int r, const char *prefix)
{
	if (!*local)
		return r;
	if (prefix && cni_error_prefix(*local, "%s", prefix) < 0)
		return cni_error_oom(err);
	if (err && !*err)
		*err = TAKE_PTR(*local);
	return r;
}

/* Hand a cache error on as "failed to <verb> network "<name>" cached result: ...". */
static int cache_failed(cni_error **err, cni_error **local, int r, const char *verb,
			const char *name)
{
	_cleanup_free_ char *qn = cni_go_quote(strempty(name));
	_cleanup_free_ char *prefix =
	    qn ? cni_strdupf("failed to %s network %s cached result", verb, qn) : NULL;
	return prefix ? pass_error(err, local, r, prefix) : cni_error_oom(err);
}

static int cache_add_or_fail(const cni_config *cfg, const cni_result *result, const char *bytes,
			     size_t len, const char *name, const cni_runtime_conf *rt,
			     const json_t *cap_args, cni_error **err)
{
	_cleanup_error_ cni_error *e = NULL;
	int r = cni_cache_add(cfg, result, bytes, len, name, rt, cap_args, &e);
	return r < 0 ? cache_failed(err, &e, r, "set", name) : 0;
}

/* `type="t" name="n"` (name only when the plugin config has one), as the reference. */
static char *plugin_failed(const cni_conf *net, const char *verb)
{
	_cleanup_free_ char *qt = cni_go_quote(strempty(cni_conf_type(net)));
	_cleanup_free_ char *qn = NULL;
	const char *name = cni_conf_name(net);

	if (!qt)
		return NULL;
	if (!isempty(name)) {
		qn = cni_go_quote(name);
		if (!qn)
			return NULL;
		return cni_strdupf("plugin type=%s name=%s failed (%s)", qt, qn, verb);
	}
	return cni_strdupf("plugin type=%s failed (%s)", qt, verb);
}

static int version_at_least(const char *version, const char *min, bool *ge, cni_error **err)
{
	int cmp = 0;
	int r = cni_version_compare(strempty(version), min, &cmp, err);
	if (r < 0)
		return r;
	*ge = cmp >= 0;
	return 0;
}

static int check_not_supported(const char *version, cni_error **err)
{
	_cleanup_free_ char *qv = cni_go_quote(strempty(version));
	if (!qv)
		return cni_error_oom(err);
	return cni_error_set(err, CNI_ERR_INCOMPATIBLE_CNI_VERSION, NULL,
			     "configuration version %s does not support the CHECK command", qv);
}

/* ---- requests ------------------------------------------------------------------------- */

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int set_member(json_t *obj, const char *key, json_t *v, cni_error **err)
{
	if (!v || json_object_set_new(obj, key, v) < 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "failed to set %s in the plugin config", key);
	return 0;
}

int cni_api_build_request(const cni_conf *net, const char *name, const char *version,
			  const cni_result *prev, const json_t *cap_args, const json_t *gc_valid,
			  char **out, size_t *out_len, cni_error **err)
{
	_cleanup_json_ json_t *obj = NULL, *rc = NULL;
	_cleanup_free_ const char **keys = NULL;
	cni_buf b = CNI_BUF_INIT;
	bool prev_in_struct_order = false;
	const char *k;
	json_t *v;
	size_t n, i = 0;
	int r;

	/* The parsed config holds numbers as Go's float64 would (conf-internal.h). */
	obj = json_deep_copy(cni_conf_json(net));
	if (!obj)
		return cni_error_oom(err);
	if ((r = set_member(obj, "name", json_string(strempty(name)), err)) < 0 ||
	    (r = set_member(obj, "cniVersion", json_string(strempty(version)), err)) < 0)
		return r;
	if (prev) {
		/* In the result's own version and field order, as Go marshals the struct. */
		json_t *pj = cni_result_to_json_t(prev);
		if (!pj)
			return cni_error_oom(err);
		if ((r = set_member(obj, "prevResult", pj, err)) < 0)
			return r;
		prev_in_struct_order = true;
	}
	if (cap_args) {
		/* Only what the plugin declared: {"capabilities": {"portMappings": true}}. */
		rc = json_object();
		if (!rc)
			return cni_error_oom(err);
		json_object_foreach((json_t *)cap_args, k, v)
		{
			if (cni_conf_has_capability(net, k) && json_object_set(rc, k, v) < 0)
				return cni_error_oom(err);
		}
		if (json_object_size(rc) > 0) {
			if ((r = set_member(obj, "runtimeConfig", json_incref(rc), err)) < 0)
				return r;
			/* The reference injects runtimeConfig in a second decode/encode round,
			 * which turns prevResult into a map too. */
			prev_in_struct_order = false;
		}
	}
	if (gc_valid) {
		/* Both names: the spec-v1.1.0 text says cni.dev/attachments, later fixed to
		 * cni.dev/valid-attachments; the reference sends both. */
		if ((r = set_member(obj, "cni.dev/valid-attachments", json_deep_copy(gc_valid),
				    err)) < 0 ||
		    (r = set_member(obj, "cni.dev/attachments", json_deep_copy(gc_valid), err)) < 0)
			return r;
	}

	/* Go re-encodes the config as a map: keys sorted, recursively. */
	n = json_object_size(obj);
	keys = calloc(n ? n : 1, sizeof(char *));
	if (!keys)
		return cni_error_oom(err);
	json_object_foreach(obj, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(char *), cmp_key);
	r = cni_buf_puts(&b, "{");
	for (i = 0; r == 0 && i < n; i++) {
		bool sorted = !(prev_in_struct_order && streq(keys[i], "prevResult"));
		if (i)
			r = cni_buf_puts(&b, ",");
		if (r == 0)
			r = cni_json_append_go_string(&b, keys[i], strlen(keys[i]));
		if (r == 0)
			r = cni_buf_puts(&b, ":");
		if (r == 0)
			r = cni_json_append_go(&b, json_object_get(obj, keys[i]), sorted ? CNI_GOJSON_SORTED : 0);
	}
	if (r == 0)
		r = cni_buf_puts(&b, "}");
	if (r < 0) {
		cni_buf_free(&b);
		return r == -CNI_ERR_NOMEM
			   ? cni_error_oom(err)
			   : cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					   "failed to encode the config of plugin %s",
					   strempty(cni_conf_type(net)));
	}
	if (out_len)
		*out_len = b.len;
	*out = cni_buf_steal(&b);
	return 0;
}

/* ---- one plugin ----------------------------------------------------------------------- */

/* ADD one plugin (the reference's addNetwork): find it, validate the ids, run it. */
static int add_one(const cni_config *cfg, const char *name, const char *version,
		   const cni_conf *net, const cni_result *prev, const cni_runtime_conf *rt,
		   const json_t *cap_args, cni_result **out, cni_error **err)
{
	_cleanup_free_ char *path = NULL, *req = NULL;
	cni_exec_options opts = exec_options(cfg);
	cni_exec_args args = exec_args(cfg, "ADD", rt);
	size_t len = 0;
	int r;

	if ((r = find_plugin(cfg, net, &path, err)) < 0 ||
	    (r = cni_validate_container_id(strempty(rt->container_id), err)) < 0 ||
	    (r = cni_validate_network_name(strempty(name), err)) < 0 ||
	    (r = cni_validate_ifname(strempty(rt->ifname), err)) < 0)
		return r;
	r = cni_api_build_request(net, name, version, prev, cap_args, NULL, &req, &len, err);
	if (r < 0)
		return r;
	return cni_exec_plugin_with_result(path, req, len, &args, &opts, out, err);
}

/* CHECK, DEL, GC or STATUS of one plugin: no result. rt NULL for GC and STATUS. */
static int run_one(const cni_config *cfg, const char *command, const char *name,
		   const char *version, const cni_conf *net, const cni_result *prev,
		   const cni_runtime_conf *rt, const json_t *cap_args, const json_t *gc_valid,
		   cni_error **err)
{
	_cleanup_free_ char *path = NULL, *req = NULL;
	cni_exec_options opts = exec_options(cfg);
	cni_exec_args args = exec_args(cfg, command, rt);
	size_t len = 0;
	int r;

	r = find_plugin(cfg, net, &path, err);
	if (r < 0)
		return r;
	r = cni_api_build_request(net, name, version, prev, cap_args, gc_valid, &req, &len, err);
	if (r < 0)
		return r;
	return cni_exec_plugin_without_result(path, req, len, &args, &opts, err);
}

/* ---- lists ---------------------------------------------------------------------------- */

static int check_list_args(const cni_config *cfg, const cni_conflist *list, cni_error **err)
{
	if (!cfg || !list)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "config and list are required");
	return 0;
}

int cni_add_network_list(const cni_config *cfg, const cni_conflist *list,
			 const cni_runtime_conf *rt, cni_result **out, cni_error **err)
{
	_cleanup_json_ json_t *cap_args = NULL;
	cni_result *result = NULL;
	const char *name, *version;
	size_t n, len = 0;
	int r;

	if ((r = check_list_args(cfg, list, err)) < 0 || (r = check_rt_out(rt, out, err)) < 0)
		return r;
	if ((r = parse_cap_args(rt, &cap_args, err)) < 0)
		return r;
	name = cni_conflist_name(list);
	version = cni_conflist_cni_version(list);
	n = cni_conflist_plugin_count(list);
	if (n == 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "network list \"%s\" has no plugins", strempty(name));

	for (size_t i = 0; i < n; i++) {
		const cni_conf *net = cni_conflist_plugin(list, i);
		_cleanup_error_ cni_error *e = NULL;
		cni_result *next = NULL;

		/* Each plugin gets the previous one's result as it printed it. */
		r = add_one(cfg, name, version, net, result, rt, cap_args, &next, &e);
		cni_result_free(result);
		result = next;
		if (r < 0) {
			_cleanup_free_ char *prefix = plugin_failed(net, "add");
			return prefix ? pass_error(err, &e, r, prefix) : cni_error_oom(err);
		}
	}

	const char *bytes = cni_conflist_bytes(list, &len);
	r = cache_add_or_fail(cfg, result, bytes, len, name, rt, cap_args, err);
	if (r < 0) {
		cni_result_free(result);
		return r;
	}
	*out = result;
	return 0;
}

static int cached_result_or_fail(const cni_config *cfg, const char *name, const char *version,
				 const cni_runtime_conf *rt, cni_result **out, cni_error **err)
{
	_cleanup_error_ cni_error *e = NULL;
	int r = cni_cache_get_result(cfg, name, version, rt, out, &e);
	return r < 0 ? cache_failed(err, &e, r, "get", name) : 0;
}


/* A list, or one config taken as a list of one (list NULL, single set). */
typedef struct netlist {
	const cni_conflist *list;
	const cni_conf *single;
	const char *name, *version;
	size_t n;
} netlist;

static netlist netlist_of(const cni_conflist *list, const cni_conf *single)
{
	netlist l = {list, single, NULL, NULL, 1};
	l.name = list ? cni_conflist_name(list) : cni_conf_name(single);
	l.version = list ? cni_conflist_cni_version(list) : cni_conf_cni_version(single);
	if (list)
		l.n = cni_conflist_plugin_count(list);
	return l;
}

static const cni_conf *netlist_at(const netlist *l, size_t i)
{
	return l->list ? cni_conflist_plugin(l->list, i) : l->single;
}

/* What CHECK and DEL start with: the runtime config checked, and whether the version is
 * at least 0.4.0. */
static int begin_verb(const cni_runtime_conf *rt, const netlist *l, bool *ge, cni_error **err)
{
	int r = check_rt(rt, err);
	return r < 0 ? r : version_at_least(l->version, "0.4.0", ge, err);
}

/* CHECK of a list or of one config (list NULL, net set). */
static int check_common(const cni_config *cfg, const cni_conflist *list, const cni_conf *single,
			const cni_runtime_conf *rt, cni_error **err)
{
	_cleanup_json_ json_t *cap_args = NULL;
	_cleanup_result_ cni_result *cached = NULL;
	netlist l = netlist_of(list, single);
	bool ge = false;
	int r;

	if ((r = begin_verb(rt, &l, &ge, err)) < 0)
		return r;
	/* CHECK came with spec 0.4.0. */
	if (!ge)
		return check_not_supported(l.version, err);
	if (list && cni_conflist_disable_check(list))
		return 0;
	if ((r = parse_cap_args(rt, &cap_args, err)) < 0)
		return r;
	if ((r = cached_result_or_fail(cfg, l.name, l.version, rt, &cached, err)) < 0)
		return r;
	for (size_t i = 0; i < l.n; i++) {
		r = run_one(cfg, "CHECK", l.name, l.version, netlist_at(&l, i), cached, rt, cap_args,
			    NULL, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int cni_check_network_list(const cni_config *cfg, const cni_conflist *list,
			   const cni_runtime_conf *rt, cni_error **err)
{
	int r = check_list_args(cfg, list, err);
	return r < 0 ? r : check_common(cfg, list, NULL, rt, err);
}

/*
 * DEL of a list or of one config (list NULL, net set). A cache entry that cannot be read
 * or converted is dropped and DEL goes on without prevResult: a broken cache must not
 * make an attachment impossible to remove.
 */
static int del_common(const cni_config *cfg, const cni_conflist *list, const cni_conf *single,
		      const cni_runtime_conf *rt, cni_error **err)
{
	_cleanup_json_ json_t *cap_args = NULL;
	_cleanup_result_ cni_result *cached = NULL;
	netlist l = netlist_of(list, single);
	bool ge = false;
	int r;

	if ((r = begin_verb(rt, &l, &ge, err)) < 0 || (r = parse_cap_args(rt, &cap_args, err)) < 0)
		return r;
	/* DEL gets the cached result as prevResult since spec 0.4.0. */
	if (ge && cni_cache_get_result(cfg, l.name, l.version, rt, &cached, NULL) < 0) {
		cni_cache_del(cfg, l.name, rt);
		cached = NULL;
	}
	for (size_t i = l.n; i-- > 0;) {
		const cni_conf *net = netlist_at(&l, i);
		_cleanup_error_ cni_error *e = NULL;

		r = run_one(cfg, "DEL", l.name, l.version, net, cached, rt, cap_args, NULL, &e);
		if (r < 0) {
			if (!list)
				return pass_error(err, &e, r, NULL);
			_cleanup_free_ char *prefix = plugin_failed(net, "delete");
			return prefix ? pass_error(err, &e, r, prefix) : cni_error_oom(err);
		}
	}
	cni_cache_del(cfg, l.name, rt);
	return 0;
}

int cni_del_network_list(const cni_config *cfg, const cni_conflist *list,
			 const cni_runtime_conf *rt, cni_error **err)
{
	int r = check_list_args(cfg, list, err);
	return r < 0 ? r : del_common(cfg, list, NULL, rt, err);
}

static int gc_valid_json(const cni_gc_attachment *valid, size_t n_valid, json_t **out,
			 cni_error **err)
{
	_cleanup_json_ json_t *arr = json_array();

	if (!arr)
		return cni_error_oom(err);
	for (size_t i = 0; i < n_valid; i++) {
		json_t *o = json_object();
		json_t *cid = json_string(strempty(valid[i].container_id));
		json_t *ifn = json_string(strempty(valid[i].ifname));
		int bad = !o || !cid || !ifn;
		/* GCAttachment's field order. */
		if (!bad)
			bad = json_object_set(o, "containerID", cid) < 0 ||
			      json_object_set(o, "ifname", ifn) < 0 ||
			      json_array_append(arr, o) < 0;
		json_decref(o);
		json_decref(cid);
		json_decref(ifn);
		if (bad)
			return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
					     "invalid valid attachment %zu (not UTF-8?)", i);
	}
	*out = TAKE_PTR(arr);
	return 0;
}

static bool is_valid_attachment(const cni_attachment *a, const cni_gc_attachment *valid,
				size_t n_valid)
{
	for (size_t i = 0; valid && i < n_valid; i++)
		if (streq(strempty(valid[i].container_id), cni_attachment_container_id(a)) &&
		    streq(strempty(valid[i].ifname), cni_attachment_ifname(a)))
			return true;
	return false;
}

/* Collects every error of a GC (errors.Join): messages one per line, first code wins. */
struct joined {
	cni_buf msg;
	int code;
};

static void join_error(struct joined *j, cni_error *e, int r, const char *fmt_prefix)
{
	if (!j->code)
		j->code = -r;
	if (j->msg.len)
		(void)cni_buf_puts(&j->msg, "\n");
	(void)cni_buf_printf(&j->msg, "%s: %s", fmt_prefix, e ? cni_error_msg(e) : "unknown error");
}

static int del_stale(const cni_config *cfg, const cni_conflist *list, const cni_attachment *a,
		     struct joined *j)
{
	_cleanup_free_ const char *(*pairs)[2] = NULL;
	_cleanup_error_ cni_error *e = NULL;
	_cleanup_free_ char *prefix = NULL;
	cni_runtime_conf rt = CNI_RUNTIME_CONF_INIT;
	size_t n = cni_attachment_arg_count(a);
	int r;

	if (n) {
		pairs = calloc(n, sizeof(*pairs));
		if (!pairs)
			return -CNI_ERR_NOMEM;
		for (size_t i = 0; i < n; i++) {
			pairs[i][0] = cni_attachment_arg_key(a, i);
			pairs[i][1] = cni_attachment_arg_value(a, i);
		}
	}
	rt.container_id = cni_attachment_container_id(a);
	rt.ifname = cni_attachment_ifname(a);
	rt.netns = cni_attachment_netns(a);
	rt.args = (const char *const(*)[2])pairs;
	rt.n_args = n;
	rt.capability_args = cni_attachment_capability_args(a);
	r = cni_del_network_list(cfg, list, &rt, &e);
	if (r < 0) {
		prefix = cni_strdupf("failed to delete stale attachment %s %s", rt.container_id,
				     rt.ifname);
		if (!prefix)
			return -CNI_ERR_NOMEM;
		join_error(j, e, r, prefix);
	}
	return 0;
}

int cni_gc_network_list(const cni_config *cfg, const cni_conflist *list,
			const cni_gc_attachment *valid, size_t n_valid, cni_error **err)
{
	cni_attachment **cached = NULL;
	_cleanup_json_ json_t *valid_json = NULL;
	struct joined j = {CNI_BUF_INIT, 0};
	const char *name, *version;
	int r;

	if ((r = check_list_args(cfg, list, err)) < 0)
		return r;
	if (n_valid && !valid)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "n_valid is %zu but valid is NULL", n_valid);
	if (cni_conflist_disable_gc(list))
		return 0;
	name = cni_conflist_name(list);
	version = cni_conflist_cni_version(list);
	if (valid && (r = gc_valid_json(valid, n_valid, &valid_json, err)) < 0)
		return r;

	/* The reference gives up silently when the cache cannot be listed; we go on to
	 * the plugins' GC, which does not depend on the cache. */
	if (cni_get_cached_attachments(cfg, NULL, &cached, NULL, NULL) == 0) {
		for (cni_attachment **a = cached; *a; a++) {
			if (!streq(cni_attachment_network(*a), name) ||
			    is_valid_attachment(*a, valid, n_valid))
				continue;
			if (del_stale(cfg, list, *a, &j) < 0) {
				cni_attachments_free(cached);
				cni_buf_free(&j.msg);
				return cni_error_oom(err);
			}
		}
		cni_attachments_free(cached);
	}

	/* GC came with spec 1.1.0. */
	if (cni_version_ge(version, "1.1.0")) {
		for (size_t i = 0; i < cni_conflist_plugin_count(list); i++) {
			const cni_conf *net = cni_conflist_plugin(list, i);
			_cleanup_error_ cni_error *e = NULL;
			_cleanup_free_ char *prefix = NULL;

			r = run_one(cfg, "GC", name, version, net, NULL, NULL, NULL, valid_json,
				    &e);
			if (r < 0) {
				prefix = cni_strdupf("failed to GC plugin %s", cni_conf_type(net));
				if (!prefix) {
					cni_buf_free(&j.msg);
					return cni_error_oom(err);
				}
				join_error(&j, e, r, prefix);
			}
		}
	}
	if (!j.code) {
		cni_buf_free(&j.msg);
		return 0;
	}
	r = cni_error_set(err, j.code, NULL, "%s", j.msg.data ? j.msg.data : "out of memory");
	cni_buf_free(&j.msg);
	return r;
}

int cni_get_status_network_list(const cni_config *cfg, const cni_conflist *list, cni_error **err)
{
	const char *name, *version;
	int r;

	if ((r = check_list_args(cfg, list, err)) < 0)
		return r;
	name = cni_conflist_name(list);
	version = cni_conflist_cni_version(list);
	/* STATUS came with spec 1.1.0; older lists are taken as ready. */
	if (!cni_version_ge(version, "1.1.0"))
		return 0;
	for (size_t i = 0; i < cni_conflist_plugin_count(list); i++) {
		/* The first failure, untouched: its code (50, 51) is the answer. */
		r = run_one(cfg, "STATUS", name, version, cni_conflist_plugin(list, i), NULL, NULL,
			    NULL, NULL, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- single networks ------------------------------------------------------------------ */

static int check_net_args(const cni_config *cfg, const cni_conf *net, cni_error **err)
{
	if (!cfg || !net)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "config and network are required");
	return 0;
}

int cni_add_network(const cni_config *cfg, const cni_conf *net, const cni_runtime_conf *rt,
		    cni_result **out, cni_error **err)
{
	_cleanup_json_ json_t *cap_args = NULL;
	_cleanup_result_ cni_result *result = NULL;
	const char *name, *bytes;
	size_t len = 0;
	int r;

	if ((r = check_net_args(cfg, net, err)) < 0 || (r = check_rt_out(rt, out, err)) < 0)
		return r;
	if ((r = parse_cap_args(rt, &cap_args, err)) < 0)
		return r;
	name = cni_conf_name(net);
	r = add_one(cfg, name, cni_conf_cni_version(net), net, NULL, rt, cap_args, &result, err);
	if (r < 0)
		return r;
	bytes = cni_conf_bytes(net, &len);
	r = cache_add_or_fail(cfg, result, bytes, len, name, rt, cap_args, err);
	if (r < 0)
		return r;
	*out = TAKE_PTR(result);
	return 0;
}

int cni_check_network(const cni_config *cfg, const cni_conf *net, const cni_runtime_conf *rt,
		      cni_error **err)
{
	int r = check_net_args(cfg, net, err);
	return r < 0 ? r : check_common(cfg, NULL, net, rt, err);
}

int cni_del_network(const cni_config *cfg, const cni_conf *net, const cni_runtime_conf *rt,
		    cni_error **err)
{
	int r = check_net_args(cfg, net, err);
	return r < 0 ? r : del_common(cfg, NULL, net, rt, err);
}

/* ---- cache getters -------------------------------------------------------------------- */

int cni_get_network_list_cached_result(const cni_config *cfg, const cni_conflist *list,
				       const cni_runtime_conf *rt, cni_result **out,
				       cni_error **err)
{
	int r;

	if ((r = check_list_args(cfg, list, err)) < 0 || (r = check_rt_out(rt, out, err)) < 0)
		return r;
	return cni_cache_get_result(cfg, cni_conflist_name(list), cni_conflist_cni_version(list),
				    rt, out, err);
}

int cni_get_network_cached_result(const cni_config *cfg, const cni_conf *net,
				  const cni_runtime_conf *rt, cni_result **out, cni_error **err)
{
	int r;

	if ((r = check_net_args(cfg, net, err)) < 0 || (r = check_rt_out(rt, out, err)) < 0)
		return r;
	return cni_cache_get_result(cfg, cni_conf_name(net), cni_conf_cni_version(net), rt, out,
				    err);
}

int cni_get_network_list_cached_config(const cni_config *cfg, const cni_conflist *list,
				       const cni_runtime_conf *rt, cni_attachment **out,
				       cni_error **err)
{
	int r;

	if ((r = check_list_args(cfg, list, err)) < 0 || (r = check_rt_out(rt, out, err)) < 0)
		return r;
	return cni_cache_get_config(cfg, cni_conflist_name(list), rt, out, err);
}

int cni_get_network_cached_config(const cni_config *cfg, const cni_conf *net,
				  const cni_runtime_conf *rt, cni_attachment **out, cni_error **err)
{
	int r;

	if ((r = check_net_args(cfg, net, err)) < 0 || (r = check_rt_out(rt, out, err)) < 0)
		return r;
	return cni_cache_get_config(cfg, cni_conf_name(net), rt, out, err);
}

/* ---- validation and versions ---------------------------------------------------------- */

int cni_get_version_info_of(const cni_config *cfg, const char *plugin_type, cni_plugin_info **out,
			    cni_error **err)
{
	_cleanup_free_ char *path = NULL;
	cni_exec_options opts;
	int r;

	if (!cfg || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "config and out are required");
	opts = exec_options(cfg);
	r = cni_find_in_path(plugin_type, (const char *const *)cfg->path, &path, err);
	if (r < 0)
		return r;
	return cni_get_version_info(path, &opts, out, err);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(cni_plugin_info *, cni_plugin_info_free)

static int validate_plugin(const cni_config *cfg, const cni_conf *net, const char *version,
			   cni_error **err)
{
	_cleanup_(cni_plugin_info_freep) cni_plugin_info *info = NULL;
	const char *want = isempty(version) ? "0.1.0" : version;
	int r;

	r = cni_get_version_info_of(cfg, cni_conf_type(net), &info, err);
	if (r < 0)
		return r;
	if (!cni_plugin_info_supports(info, want)) {
		_cleanup_free_ char *qv = cni_go_quote(want);
		if (!qv)
			return cni_error_oom(err);
		return cni_error_set(err, CNI_ERR_INCOMPATIBLE_CNI_VERSION, NULL,
				     "plugin %s does not support config version %s",
				     cni_conf_type(net), qv);
	}
	return 0;
}

/* Add net's enabled capabilities to the sorted, duplicate-free *caps. */
static int merge_capabilities(const cni_conf *net, char ***caps, cni_error **err)
{
	_cleanup_strv_ char **mine = NULL;
	int r = cni_conf_capabilities(net, &mine, err);
	if (r < 0)
		return r;
	for (char **c = mine; c && *c; c++) {
		bool seen = false;
		for (char **o = *caps; o && *o && !seen; o++)
			seen = streq(*o, *c);
		if (!seen && cni_strv_push(caps, *c) < 0)
			return cni_error_oom(err);
	}
	qsort(*caps, cni_strv_length(*caps), sizeof(char *), cmp_key);
	return 0;
}

int cni_validate_network_list(const cni_config *cfg, const cni_conflist *list, char ***capabilities,
			      cni_error **err)
{
	_cleanup_strv_ char **caps = calloc(1, sizeof(char *));
	cni_buf msg = CNI_BUF_INIT;
	int code = 0, r;

	if ((r = check_list_args(cfg, list, err)) < 0)
		return r;
	if (!caps)
		return cni_error_oom(err);
	for (size_t i = 0; i < cni_conflist_plugin_count(list); i++) {
		const cni_conf *net = cni_conflist_plugin(list, i);
		_cleanup_error_ cni_error *e = NULL;

		r = validate_plugin(cfg, net, cni_conflist_cni_version(list), &e);
		if (r < 0) {
			/* Every plugin is checked; the errors are listed as Go prints an
			 * []error: "[first second]". */
			if (!code)
				code = -r;
			(void)cni_buf_printf(&msg, "%s%s", msg.len ? " " : "",
					     e ? cni_error_msg(e) : "unknown error");
		}
		if ((r = merge_capabilities(net, &caps, err)) < 0) {
			cni_buf_free(&msg);
			return r;
		}
	}
	if (code) {
		r = cni_error_set(err, code, NULL, "[%s]", msg.data ? msg.data : "");
		cni_buf_free(&msg);
		return r;
	}
	if (capabilities)
		*capabilities = TAKE_PTR(caps);
	return 0;
}

int cni_validate_network(const cni_config *cfg, const cni_conf *net, char ***capabilities,
			 cni_error **err)
{
	_cleanup_strv_ char **caps = calloc(1, sizeof(char *));
	int r;

	if ((r = check_net_args(cfg, net, err)) < 0)
		return r;
	if (!caps)
		return cni_error_oom(err);
	if ((r = merge_capabilities(net, &caps, err)) < 0)
		return r;
	if ((r = validate_plugin(cfg, net, cni_conf_cni_version(net), err)) < 0)
		return r;
	if (capabilities)
		*capabilities = TAKE_PTR(caps);
	return 0;
}
