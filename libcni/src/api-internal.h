/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_API_INTERNAL_H
#define CNI_API_INTERNAL_H

/*
 * Private parts of the runtime API shared by api.c (the verbs) and cache.c (the result
 * cache). Never installed; unit tests include it to reach the request builder and the
 * cache helpers directly.
 */

#include "internal.h"

struct cni_config {
	char **path;	   /* plugin dirs, NULL-terminated */
	char *path_joined; /* CNI_PATH */
	char *cache_dir;   /* NULL: take the runtime conf's, then the default */
	unsigned int timeout_ms;
	char **base_env; /* NULL: the process environment */
};

struct cni_attachment {
	char *container_id;
	char *network;
	char *ifname;
	char *netns;
	char *config; /* decoded bytes, NUL-terminated */
	size_t config_len;
	size_t n_args;
	char **arg_keys;       /* n_args entries */
	char **arg_values;     /* n_args entries */
	char *capability_args; /* compact JSON object or NULL */
	char *result;	       /* compact JSON object or NULL */
};

/* ---- requests (api.c) ---- */

/*
 * The stdin of one plugin call: net's bytes with name and cniVersion set, prevResult
 * (printed in its own version and key order) when prev is not NULL, runtimeConfig from
 * the capability args the plugin declares (cap_args may be NULL), and the GC keys when
 * gc_valid is not NULL (a JSON array). Top-level keys and every value taken from the
 * config are re-sorted as Go re-encodes a map. *out is new.
 */
int cni_api_build_request(const cni_conf *net, const char *name, const char *version,
			  const cni_result *prev, const json_t *cap_args, const json_t *gc_valid,
			  char **out, size_t *out_len, cni_error **err);

/* ---- cache (cache.c) ---- */

/* The cache dir in effect: the config's, else the runtime conf's, else the default. */
const char *cni_cache_dir(const cni_config *cfg, const cni_runtime_conf *rt);

/* `<dir>/results/<net>-<container id>-<ifname>`; all three non-empty and without '/'. */
int cni_cache_file_path(const cni_config *cfg, const char *net, const cni_runtime_conf *rt,
			char **out, cni_error **err);

/* Write the cniCacheV1 entry after a successful ADD (atomically, dir 0700, file 0600). */
int cni_cache_add(const cni_config *cfg, const cni_result *result, const char *config,
		  size_t config_len, const char *net, const cni_runtime_conf *rt,
		  const json_t *cap_args, cni_error **err);

/* Remove the entry; errors are ignored as the reference does. */
void cni_cache_del(const cni_config *cfg, const char *net, const cni_runtime_conf *rt);

/*
 * The cached result converted to version (cniCacheV1 or the legacy plain result).
 * *out = NULL and 0 when there is no entry.
 */
int cni_cache_get_result(const cni_config *cfg, const char *net, const char *version,
			 const cni_runtime_conf *rt, cni_result **out, cni_error **err);

/* The cached config and arguments; *out = NULL and 0 when there is no entry. */
int cni_cache_get_config(const cni_config *cfg, const char *net, const cni_runtime_conf *rt,
			 cni_attachment **out, cni_error **err);

#endif
