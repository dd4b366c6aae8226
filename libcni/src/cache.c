/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The result cache, byte-compatible with the reference's libcni: runtimes using Go's
 * libcni and this library read each other's entries. Also the Go-style JSON printer
 * both the cache and the plugin requests use, so that what we write is what Go writes.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include "api-internal.h"
#include "result-internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

#define CACHE_KIND_V1 "cniCacheV1"

/* ---- paths ---------------------------------------------------------------------------- */

const char *cni_cache_dir(const cni_config *cfg, const cni_runtime_conf *rt)
{
	if (!isempty(cfg->cache_dir))
		return cfg->cache_dir;
	if (rt && !isempty(rt->cache_dir))
		return rt->cache_dir;
	return CNI_DEFAULT_CACHE_DIR;
}

static bool bad_component(const char *s)
{
	return strchr(s, '/') != NULL;
}

int cni_cache_file_path(const cni_config *cfg, const char *net, const cni_runtime_conf *rt,
			char **out, cni_error **err)
{
	const char *id = rt ? rt->container_id : NULL;
	const char *ifname = rt ? rt->ifname : NULL;

	if (isempty(net) || isempty(id) || isempty(ifname)) {
		_cleanup_free_ char *qn = cni_go_quote(strempty(net));
		_cleanup_free_ char *qi = cni_go_quote(strempty(id));
		_cleanup_free_ char *qf = cni_go_quote(strempty(ifname));
		if (!qn || !qi || !qf)
			return cni_error_oom(err);
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cache file path requires network name (%s), container ID "
				     "(%s), and interface name (%s)",
				     qn, qi, qf);
	}
	/* The reference joins the names unchecked; a '/' would leave the results dir. */
	if (bad_component(net) || bad_component(id) || bad_component(ifname))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cache file name %s-%s-%s must not contain '/'", net, id,
				     ifname);
	char *p = cni_strdupf("%s/results/%s-%s-%s", cni_cache_dir(cfg, rt), net, id, ifname);
	if (!p)
		return cni_error_oom(err);
	*out = p;
	return 0;
}

/* ---- writing -------------------------------------------------------------------------- */

static int append_member(cni_buf *b, bool *first, const char *key)
{
	int r = *first ? 0 : cni_buf_puts(b, ",");
	*first = false;
	if (r == 0)
		r = cni_json_append_go_string(b, key, strlen(key));
	return r ? r : cni_buf_puts(b, ":");
}

static int append_str_member(cni_buf *b, bool *first, const char *key, const char *val)
{
	int r = append_member(b, first, key);
	return r ? r : cni_json_append_go_string(b, strempty(val), strlen(strempty(val)));
}

/* The entry as Go marshals its cachedInfo struct: fields in declaration order,
 * omitempty ones left out when empty, maps (capability args, result) key-sorted. */
static int cache_entry_json(const cni_result *result, const char *config, size_t config_len,
			    const char *net, const cni_runtime_conf *rt, const json_t *cap_args,
			    char **out, size_t *out_len, cni_error **err)
{
	_cleanup_free_ char *b64 = cni_base64_encode(config, config_len);
	_cleanup_json_ json_t *rjson = NULL;
	cni_buf b = CNI_BUF_INIT;
	bool first = true;
	int r;

	if (!b64)
		return cni_error_oom(err);
	rjson = cni_result_to_json_t(result);
	if (!rjson)
		return cni_error_oom(err);

	r = cni_buf_puts(&b, "{");
	if (r == 0)
		r = append_str_member(&b, &first, "kind", CACHE_KIND_V1);
	if (r == 0)
		r = append_str_member(&b, &first, "containerId", rt->container_id);
	if (r == 0)
		r = append_str_member(&b, &first, "config", b64);
	if (r == 0)
		r = append_str_member(&b, &first, "ifName", rt->ifname);
	if (r == 0)
		r = append_str_member(&b, &first, "networkName", net);
	if (r == 0 && !isempty(rt->netns))
		r = append_str_member(&b, &first, "netns", rt->netns);
	if (r == 0 && rt->n_args > 0) {
		r = append_member(&b, &first, "cniArgs");
		if (r == 0)
			r = cni_buf_puts(&b, "[");
		for (size_t i = 0; r == 0 && i < rt->n_args; i++) {
			const char *k = strempty(rt->args[i][0]), *v = strempty(rt->args[i][1]);
			r = cni_buf_puts(&b, i ? ",[" : "[");
			if (r == 0)
				r = cni_json_append_go_string(&b, k, strlen(k));
			if (r == 0)
				r = cni_buf_puts(&b, ",");
			if (r == 0)
				r = cni_json_append_go_string(&b, v, strlen(v));
			if (r == 0)
				r = cni_buf_puts(&b, "]");
		}
		if (r == 0)
			r = cni_buf_puts(&b, "]");
	}
	if (r == 0 && cap_args && json_object_size(cap_args) > 0) {
		r = append_member(&b, &first, "capabilityArgs");
		if (r == 0)
			r = cni_json_append_go(&b, cap_args, CNI_GOJSON_SORTED);
	}
	if (r == 0) {
		r = append_member(&b, &first, "result");
		if (r == 0)
			r = cni_json_append_go(&b, rjson, CNI_GOJSON_SORTED);
	}
	if (r == 0)
		r = cni_buf_puts(&b, "}");
	if (r < 0) {
		cni_buf_free(&b);
		return r == -CNI_ERR_NOMEM
			   ? cni_error_oom(err)
			   : cni_error_set(err, -r, NULL, "failed to encode cache entry");
	}
	*out_len = b.len;
	*out = cni_buf_steal(&b);
	return 0;
}

int cni_cache_add(const cni_config *cfg, const cni_result *result, const char *config,
		  size_t config_len, const char *net, const cni_runtime_conf *rt,
		  const json_t *cap_args, cni_error **err)
{
	_cleanup_free_ char *path = NULL, *data = NULL, *dir = NULL;
	size_t len = 0;
	int r;

	r = cache_entry_json(result, config, config_len, net, rt, cap_args, &data, &len, err);
	if (r < 0)
		return r;
	r = cni_cache_file_path(cfg, net, rt, &path, err);
	if (r < 0)
		return r;
	dir = cni_strdupf("%s/results", cni_cache_dir(cfg, rt));
	if (!dir)
		return cni_error_oom(err);
	r = cni_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	/* Atomic replace: a concurrent reader sees the old entry or the new one. */
	/* Not durable, as the reference's isn't: an entry lost in a power cut reads as "no
	 * cached result", which DEL and CHECK already handle; an fsync would cost every ADD
	 * about 2 ms. The rename keeps concurrent readers from seeing half an entry. */
	return cni_file_write_atomic(path, data, len, 0600, 0, err);
}

void cni_cache_del(const cni_config *cfg, const char *net, const cni_runtime_conf *rt)
{
	_cleanup_free_ char *path = NULL;

	if (cni_cache_file_path(cfg, net, rt, &path, NULL) == 0)
		(void)cni_file_remove(path, NULL);
}

/* ---- reading -------------------------------------------------------------------------- */

void cni_attachment_free(cni_attachment *a)
{
	if (!a)
		return;
	free(a->container_id);
	free(a->network);
	free(a->ifname);
	free(a->netns);
	free(a->config);
	for (size_t i = 0; i < a->n_args; i++) {
		free(a->arg_keys[i]);
		free(a->arg_values[i]);
	}
	free(a->arg_keys);
	free(a->arg_values);
	free(a->capability_args);
	free(a->result);
	free(a);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(cni_attachment *, cni_attachment_free)
#define _cleanup_attachment_ _cleanup_(cni_attachment_freep)

void cni_attachments_free(cni_attachment **list)
{
	if (!list)
		return;
	for (cni_attachment **p = list; *p; p++)
		cni_attachment_free(*p);
	free(list);
}

const char *cni_attachment_container_id(const cni_attachment *a)
{
	return a ? strempty(a->container_id) : NULL;
}

const char *cni_attachment_network(const cni_attachment *a)
{
	return a ? strempty(a->network) : NULL;
}

const char *cni_attachment_ifname(const cni_attachment *a)
{
	return a ? strempty(a->ifname) : NULL;
}

const char *cni_attachment_netns(const cni_attachment *a)
{
	return a ? strempty(a->netns) : NULL;
}

const char *cni_attachment_config(const cni_attachment *a, size_t *len)
{
	if (len)
		*len = a && a->config ? a->config_len : 0;
	return a ? a->config : NULL;
}

size_t cni_attachment_arg_count(const cni_attachment *a)
{
	return a ? a->n_args : 0;
}

const char *cni_attachment_arg_key(const cni_attachment *a, size_t i)
{
	return a && i < a->n_args ? a->arg_keys[i] : NULL;
}

const char *cni_attachment_arg_value(const cni_attachment *a, size_t i)
{
	return a && i < a->n_args ? a->arg_values[i] : NULL;
}

const char *cni_attachment_capability_args(const cni_attachment *a)
{
	return a ? a->capability_args : NULL;
}

const char *cni_attachment_result(const cni_attachment *a)
{
	return a ? a->result : NULL;
}

/* A string field as Go decodes it into a string: absent or null is "", another type fails. */
static int get_str_field(const json_t *root, const char *key, char **out)
{
	const json_t *v = json_object_get(root, key);
	if (v && !json_is_null(v) && !json_is_string(v))
		return -CNI_ERR_DECODING_FAILURE;
	*out = strdup(v && json_is_string(v) ? json_string_value(v) : "");
	return *out ? 0 : -CNI_ERR_NOMEM;
}

static int dump_sorted(const json_t *v, char **out)
{
	cni_buf b = CNI_BUF_INIT;
	int r = cni_json_append_go(&b, v, CNI_GOJSON_SORTED);
	if (r < 0) {
		cni_buf_free(&b);
		return r;
	}
	*out = cni_buf_steal(&b);
	return *out ? 0 : -CNI_ERR_NOMEM;
}

/* An object member (a Go map) as sorted JSON text; absent or null leaves *out NULL. */
static int object_member(const json_t *root, const char *key, char **out)
{
	json_t *v = json_object_get(root, key);
	if (v && json_is_object(v))
		return dump_sorted(v, out);
	return v && !json_is_null(v) ? -CNI_ERR_DECODING_FAILURE : 0;
}

/*
 * Decode a cache file the way Go unmarshals it into its cachedInfo struct: fails where
 * Go's json.Unmarshal would (bad JSON, a field of the wrong type, config not base64).
 * *kind is borrowed from *root.
 */
static int parse_entry(const char *data, size_t len, json_t **root_out, const char **kind,
		       cni_attachment **out)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_attachment_ cni_attachment *a = NULL;
	const json_t *v;
	int r;

	root = json_loadb(data, len, 0, NULL);
	if (!root || !json_is_object(root))
		return -CNI_ERR_DECODING_FAILURE;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -CNI_ERR_NOMEM;

	v = json_object_get(root, "kind");
	if (v && !json_is_null(v) && !json_is_string(v))
		return -CNI_ERR_DECODING_FAILURE;
	if ((r = get_str_field(root, "containerId", &a->container_id)) < 0 ||
	    (r = get_str_field(root, "ifName", &a->ifname)) < 0 ||
	    (r = get_str_field(root, "networkName", &a->network)) < 0 ||
	    (r = get_str_field(root, "netns", &a->netns)) < 0)
		return r;

	v = json_object_get(root, "config");
	if (v && json_is_string(v)) {
		r = cni_base64_decode(json_string_value(v), &a->config, &a->config_len);
		if (r < 0)
			return r;
	} else if (v && !json_is_null(v)) {
		return -CNI_ERR_DECODING_FAILURE;
	}

	v = json_object_get(root, "cniArgs");
	if (v && json_is_array(v)) {
		size_t n = json_array_size(v);
		a->arg_keys = calloc(n ? n : 1, sizeof(char *));
		a->arg_values = calloc(n ? n : 1, sizeof(char *));
		if (!a->arg_keys || !a->arg_values)
			return -CNI_ERR_NOMEM;
		for (size_t i = 0; i < n; i++) {
			const json_t *pair = json_array_get(v, i);
			const char *kv[2] = {"", ""};
			if (!json_is_array(pair) && !json_is_null(pair))
				return -CNI_ERR_DECODING_FAILURE;
			/* Go fills a [2]string from the first two elements. */
			for (size_t k = 0; k < json_array_size(pair); k++) {
				const json_t *e = json_array_get(pair, k);
				if (!json_is_string(e) && !json_is_null(e))
					return -CNI_ERR_DECODING_FAILURE;
				if (k < 2 && json_is_string(e))
					kv[k] = json_string_value(e);
			}
			a->arg_keys[i] = strdup(kv[0]);
			a->arg_values[i] = strdup(kv[1]);
			a->n_args = i + 1;
			if (!a->arg_keys[i] || !a->arg_values[i])
				return -CNI_ERR_NOMEM;
		}
	} else if (v && !json_is_null(v)) {
		return -CNI_ERR_DECODING_FAILURE;
	}

	if ((r = object_member(root, "capabilityArgs", &a->capability_args)) < 0 ||
	    (r = object_member(root, "result", &a->result)) < 0)
		return r;

	*kind = cni_json_get_string(root, "kind");
	*root_out = TAKE_PTR(root);
	*out = TAKE_PTR(a);
	return 0;
}

static int convert_cached(cni_result *r, const char *version, cni_result **out, cni_error **err)
{
	_cleanup_error_ cni_error *e = NULL;
	_cleanup_free_ char *qv = cni_go_quote(strempty(version));
	int rc;

	if (!qv) {
		cni_result_free(r);
		return cni_error_oom(err);
	}
	rc = cni_result_convert(out, r, strempty(version), &e);
	cni_result_free(r);
	if (rc < 0)
		return cni_error_set(err, rc, NULL,
				     "failed to convert cached result to config version %s: %s", qv,
				     e ? cni_error_msg(e) : "unknown error");
	return 0;
}

/*
 * The entry's path and bytes: 1 when read, 0 when there is none. As the reference, an
 * entry that cannot be read is no entry.
 */
static int read_entry(const cni_config *cfg, const char *net, const cni_runtime_conf *rt,
		      char **path, char **data, size_t *len, cni_error **err)
{
	int r = cni_cache_file_path(cfg, net, rt, path, err);
	if (r < 0)
		return r;
	return cni_read_file(*path, 0, data, len, NULL) < 0 ? 0 : 1;
}

int cni_cache_get_result(const cni_config *cfg, const char *net, const char *version,
			 const cni_runtime_conf *rt, cni_result **out, cni_error **err)
{
	_cleanup_free_ char *path = NULL, *data = NULL;
	_cleanup_json_ json_t *root = NULL;
	_cleanup_attachment_ cni_attachment *a = NULL;
	const char *kind = NULL;
	cni_result *res = NULL;
	size_t len = 0;
	int r;

	r = read_entry(cfg, net, rt, &path, &data, &len, err);
	if (r <= 0) {
		if (r == 0)
			*out = NULL;
		return r;
	}
	if (parse_entry(data, len, &root, &kind, &a) < 0 || !kind || !streq(kind, CACHE_KIND_V1)) {
		/* Entries written before cniCacheV1 hold the plain result. */
		r = cni_result_from_json(&res, NULL, data, len, err);
		if (r < 0)
			return r;
		return convert_cached(res, version, out, err);
	}
	if (!a->result)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "cached network \"%s\" entry %s holds no result", net, path);
	r = cni_result_from_json(&res, NULL, a->result, strlen(a->result), err);
	if (r < 0)
		return r;
	return convert_cached(res, version, out, err);
}

static int fill_empty(char **field, const char *dflt)
{
	if (!isempty(*field) || isempty(dflt))
		return 0;
	char *s = strdup(dflt);
	if (!s)
		return -CNI_ERR_NOMEM;
	free(*field);
	*field = s;
	return 0;
}

int cni_cache_get_config(const cni_config *cfg, const char *net, const cni_runtime_conf *rt,
			 cni_attachment **out, cni_error **err)
{
	_cleanup_free_ char *path = NULL, *data = NULL, *qnet = NULL;
	_cleanup_json_ json_t *root = NULL;
	_cleanup_attachment_ cni_attachment *a = NULL;
	const char *kind = NULL;
	size_t len = 0;
	int r;

	r = read_entry(cfg, net, rt, &path, &data, &len, err);
	if (r <= 0) {
		if (r == 0)
			*out = NULL;
		return r;
	}
	qnet = cni_go_quote(net);
	if (!qnet)
		return cni_error_oom(err);
	r = parse_entry(data, len, &root, &kind, &a);
	if (r == -CNI_ERR_NOMEM)
		return cni_error_oom(err);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to unmarshal cached network %s config: %s is not a "
				     "valid cache entry",
				     qnet, path);
	if (!kind || !streq(kind, CACHE_KIND_V1))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "read cached network %s config has wrong kind: %s", qnet,
				     strempty(kind));

	/* Fields the entry leaves empty come from the caller's runtime conf, as the
	 * reference returns a copy of it with the cached args laid over. */
	if (fill_empty(&a->container_id, rt->container_id) < 0 ||
	    fill_empty(&a->ifname, rt->ifname) < 0 || fill_empty(&a->network, net) < 0 ||
	    fill_empty(&a->netns, rt->netns) < 0)
		return cni_error_oom(err);
	if (!json_is_array(json_object_get(root, "cniArgs")) && rt->n_args > 0) {
		free(a->arg_keys);
		free(a->arg_values);
		a->arg_keys = calloc(rt->n_args, sizeof(char *));
		a->arg_values = calloc(rt->n_args, sizeof(char *));
		if (!a->arg_keys || !a->arg_values)
			return cni_error_oom(err);
		for (size_t i = 0; i < rt->n_args; i++) {
			a->arg_keys[i] = strdup(strempty(rt->args[i][0]));
			a->arg_values[i] = strdup(strempty(rt->args[i][1]));
			a->n_args = i + 1;
			if (!a->arg_keys[i] || !a->arg_values[i])
				return cni_error_oom(err);
		}
	}
	*out = TAKE_PTR(a);
	return 0;
}

/* ---- listing -------------------------------------------------------------------------- */

static bool is_regular(int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_REG)
		return true;
	if (de->d_type != DT_UNKNOWN)
		return false;
	return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int cni_get_cached_attachments(const cni_config *cfg, const char *container_id,
			       cni_attachment ***out, size_t *count, cni_error **err)
{
	_cleanup_free_ char *dir = NULL, *part = NULL;
	_cleanup_strv_ char **names = NULL;
	_cleanup_(closedirp) DIR *d = NULL;
	cni_attachment **list = NULL;
	size_t n = 0;
	struct dirent *de;

	if (!cfg || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_get_cached_attachments: cfg and out are required");
	dir = cni_strdupf("%s/results", cni_cache_dir(cfg, NULL));
	if (!dir)
		return cni_error_oom(err);
	names = calloc(1, sizeof(char *));
	if (!names)
		return cni_error_oom(err);
	d = opendir(dir);
	if (!d && errno != ENOENT)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to read %s: %s", dir,
				     strerror(errno));
	/* No results dir yet means nothing is cached (the reference fails here). */
	while (d && (errno = 0, de = readdir(d))) {
		/* Only regular files: a FIFO planted there must not block us. */
		if (de->d_name[0] == '.' || !is_regular(dirfd(d), de))
			continue;
		if (cni_strv_push(&names, de->d_name) < 0)
			return cni_error_oom(err);
	}
	if (d && errno)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to read %s: %s", dir,
				     strerror(errno));
	qsort(names, cni_strv_length(names), sizeof(char *), cni_strcmp_ptr);

	if (!isempty(container_id)) {
		part = cni_strdupf("-%s-", container_id);
		if (!part)
			return cni_error_oom(err);
	}
	list = calloc(1, sizeof(*list));
	if (!list)
		return cni_error_oom(err);
	for (char **name = names; *name; name++) {
		_cleanup_free_ char *path = NULL, *data = NULL, *expect = NULL;
		_cleanup_json_ json_t *root = NULL;
		_cleanup_attachment_ cni_attachment *a = NULL;
		const char *kind = NULL;
		size_t len = 0;

		if (part) {
			const char *pos = strstr(*name, part);
			if (!pos || pos == *name || pos[strlen(part)] == '\0')
				continue;
		}
		path = cni_strdupf("%s/%s", dir, *name);
		if (!path)
			goto oom;
		if (cni_read_file(path, 0, &data, &len, NULL) < 0)
			continue;
		int r = parse_entry(data, len, &root, &kind, &a);
		if (r == -CNI_ERR_NOMEM)
			goto oom;
		if (r < 0 || !kind || !streq(kind, CACHE_KIND_V1))
			continue;
		if (!isempty(container_id) && !streq(a->container_id, container_id))
			continue;
		if (isempty(a->ifname) || isempty(a->network))
			continue;
		/* An entry's file name is derived from its fields; anything else (a temp file
		 * of a write in progress, a stray copy) is not an attachment. */
		expect = cni_strdupf("%s-%s-%s", a->network, a->container_id, a->ifname);
		if (!expect)
			goto oom;
		if (!streq(expect, *name))
			continue;
		cni_attachment **nl = realloc(list, (n + 2) * sizeof(*list));
		if (!nl)
			goto oom;
		list = nl;
		list[n++] = TAKE_PTR(a);
		list[n] = NULL;
	}
	*out = list;
	if (count)
		*count = n;
	return 0;
oom:
	cni_attachments_free(list);
	return cni_error_oom(err);
}
