/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_API_H
#define CNI_API_H

/**
 * @file cni/api.h
 * @brief The runtime API (the reference's libcni): add, check, delete, garbage-collect and
 * query the status of networks and network lists, with the result cache.
 *
 * A cni_config holds the plugin search path, the cache directory and the exec timeout.
 * It is immutable after creation and may be shared between threads. No call changes the
 * calling thread's namespace; plugins do the namespace work in their own process.
 *
 * The cache is the reference's: `<cache dir>/results/<network>-<container id>-<ifname>`,
 * `{"kind":"cniCacheV1", ...}` with the config base64-encoded, dir 0700, file 0600, so
 * runtimes using Go's libcni and this library read each other's entries.
 */

#include "conf.h"
#include "error.h"
#include "result.h"
#include "version.h"

CNI_BEGIN_DECL

#define CNI_DEFAULT_CACHE_DIR "/var/lib/cni"

typedef struct cni_config cni_config;

#define CNI_CONFIG_OPTIONS_VERSION 1
typedef struct cni_config_options {
	unsigned int version;
	const char *const *path; /**< plugin dirs, NULL-terminated (required) */
	const char *cache_dir;   /**< NULL = CNI_DEFAULT_CACHE_DIR */
	unsigned int timeout_ms; /**< per plugin exec; 0 = no limit */
	const char *const *base_env; /**< environment for plugins; NULL = the process's */
} cni_config_options;
#define CNI_CONFIG_OPTIONS_INIT {CNI_CONFIG_OPTIONS_VERSION, NULL, NULL, 0, NULL}

/**
 * New config (NewCNIConfigWithCacheDir). Every string and array of opts is copied: opts
 * and what it points to may be freed or changed as soon as this returns. Free with
 * cni_config_free().
 */
CNI_EXPORT int cni_config_new(cni_config **out, const cni_config_options *opts,
			      cni_error **err);
CNI_EXPORT void cni_config_free(cni_config *cfg);

/** One attachment (RuntimeConf). Transparent input struct. */
#define CNI_RUNTIME_CONF_VERSION 1
typedef struct cni_runtime_conf {
	unsigned int version;
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *const (*args)[2]; /**< CNI_ARGS pairs */
	size_t n_args;
	/** JSON object of capability args, e.g. {"portMappings":[...]}; NULL = none. */
	const char *capability_args;
	/** Deprecated per-call cache dir; used only when the config has none set. */
	const char *cache_dir;
} cni_runtime_conf;
#define CNI_RUNTIME_CONF_INIT {CNI_RUNTIME_CONF_VERSION, NULL, NULL, NULL, NULL, 0, NULL, NULL}


/*
 * Lists. An error from a plugin keeps its code and message. On ADD and DEL the message is
 * prefixed, as the reference does, with `plugin type="t" failed (add): ` or
 * `plugin type="t" failed (delete): ` (`plugin type="t" name="n" failed (...)` when that
 * plugin's own config object has a "name"; in a list it usually has none); CHECK, GC and
 * STATUS errors are the plugin's as it returned them. ADD does not undo earlier plugins
 * on failure (as the reference); the caller runs DEL.
 *
 * Threads: these calls only read cfg and list, so one cni_config and one const
 * cni_conflist may be used by several threads at once (attachments of one container id
 * and ifname still need the caller's own serialisation, as with the reference). A
 * cni_result returned here belongs to the caller; reading one (the const getters,
 * cni_result_to_json) from several threads at once is safe, changing it is not.
 */
CNI_EXPORT int cni_add_network_list(const cni_config *cfg, const cni_conflist *list,
				    const cni_runtime_conf *rt, cni_result **out,
				    cni_error **err);
CNI_EXPORT int cni_check_network_list(const cni_config *cfg, const cni_conflist *list,
				      const cni_runtime_conf *rt, cni_error **err);
CNI_EXPORT int cni_del_network_list(const cni_config *cfg, const cni_conflist *list,
				    const cni_runtime_conf *rt, cni_error **err);
/**
 * GC (GCNetworkList): DEL every cached attachment of this network not in valid, then
 * (config >= 1.1.0) send GC to each plugin with cni.dev/valid-attachments. valid == NULL
 * means "no args" (every cached attachment is removed and the key is not sent).
 */
CNI_EXPORT int cni_gc_network_list(const cni_config *cfg, const cni_conflist *list,
				   const cni_gc_attachment *valid, size_t n_valid,
				   cni_error **err);
CNI_EXPORT int cni_get_status_network_list(const cni_config *cfg, const cni_conflist *list,
					   cni_error **err);

/* Single plugin config (cached under the config's name). */
CNI_EXPORT int cni_add_network(const cni_config *cfg, const cni_conf *net,
			       const cni_runtime_conf *rt, cni_result **out, cni_error **err);
CNI_EXPORT int cni_check_network(const cni_config *cfg, const cni_conf *net,
				 const cni_runtime_conf *rt, cni_error **err);
CNI_EXPORT int cni_del_network(const cni_config *cfg, const cni_conf *net,
			       const cni_runtime_conf *rt, cni_error **err);

/** The cached result converted to the list's / config's version; *out NULL if none. */
CNI_EXPORT int cni_get_network_list_cached_result(const cni_config *cfg,
						  const cni_conflist *list,
						  const cni_runtime_conf *rt, cni_result **out,
						  cni_error **err);
CNI_EXPORT int cni_get_network_cached_result(const cni_config *cfg, const cni_conf *net,
					     const cni_runtime_conf *rt, cni_result **out,
					     cni_error **err);

/** A cache entry read back (NetworkAttachment). Opaque; read with the accessors. */
typedef struct cni_attachment cni_attachment;
CNI_EXPORT const char *cni_attachment_container_id(const cni_attachment *a);
CNI_EXPORT const char *cni_attachment_network(const cni_attachment *a);
CNI_EXPORT const char *cni_attachment_ifname(const cni_attachment *a);
CNI_EXPORT const char *cni_attachment_netns(const cni_attachment *a);
/** Borrowed config bytes (decoded from base64). */
CNI_EXPORT const char *cni_attachment_config(const cni_attachment *a, size_t *len);
CNI_EXPORT size_t cni_attachment_arg_count(const cni_attachment *a);
CNI_EXPORT const char *cni_attachment_arg_key(const cni_attachment *a, size_t i);
CNI_EXPORT const char *cni_attachment_arg_value(const cni_attachment *a, size_t i);
/** Borrowed capability args JSON or NULL. */
CNI_EXPORT const char *cni_attachment_capability_args(const cni_attachment *a);
/** Borrowed raw cached result JSON or NULL. */
CNI_EXPORT const char *cni_attachment_result(const cni_attachment *a);
CNI_EXPORT void cni_attachment_free(cni_attachment *a);

/** The cached config of an attachment (GetNetworkListCachedConfig); *out NULL if none. */
CNI_EXPORT int cni_get_network_list_cached_config(const cni_config *cfg,
						  const cni_conflist *list,
						  const cni_runtime_conf *rt, cni_attachment **out,
						  cni_error **err);
CNI_EXPORT int cni_get_network_cached_config(const cni_config *cfg, const cni_conf *net,
					     const cni_runtime_conf *rt, cni_attachment **out,
					     cni_error **err);

/**
 * Every cached attachment of container_id (GetCachedAttachments), sorted by file name;
 * container_id NULL or "" lists every container's. No results dir yet gives an empty
 * list. *out is a new NULL-terminated array; free with cni_attachments_free(); *count
 * (may be NULL) receives its length.
 */
CNI_EXPORT int cni_get_cached_attachments(const cni_config *cfg, const char *container_id,
					  cni_attachment ***out, size_t *count, cni_error **err);
CNI_EXPORT void cni_attachments_free(cni_attachment **list);

/**
 * Validate (ValidateNetworkList): every plugin found and supporting the list's version.
 * *capabilities (may be NULL) receives the enabled capability names (cni_strv_free()).
 */
CNI_EXPORT int cni_validate_network_list(const cni_config *cfg, const cni_conflist *list,
					 char ***capabilities, cni_error **err);
CNI_EXPORT int cni_validate_network(const cni_config *cfg, const cni_conf *net,
				    char ***capabilities, cni_error **err);

/** A plugin's VERSION reply (GetVersionInfo). */
CNI_EXPORT int cni_get_version_info_of(const cni_config *cfg, const char *plugin_type,
				       cni_plugin_info **out, cni_error **err);

CNI_END_DECL

#endif
