/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_CONF_H
#define CNI_CONF_H

/**
 * @file cni/conf.h
 * @brief Network configurations: one plugin's config and config lists (.conflist),
 * from bytes, files and directories, as the reference's libcni/conf.go reads them.
 *
 * Both objects keep the exact bytes they were made from (cni_conf_bytes()) and read the
 * well-known keys out of them; unknown keys are preserved.
 */

#include "error.h"
#include "result.h"

CNI_BEGIN_DECL

/** A (container id, ifname) pair: an attachment GC must keep (cni_gc_network_list(),
 * cni_ipmasq_gc(), "cni.dev/valid-attachments"). */
typedef struct cni_gc_attachment {
	const char *container_id;
	const char *ifname;
} cni_gc_attachment;

/** One plugin's config (the reference's PluginConfig / NetworkConfig). */
typedef struct cni_conf cni_conf;
/** A config list (NetworkConfigList). */
typedef struct cni_conflist cni_conflist;

/* ---- one plugin config -------------------------------------------------------------- */

/**
 * Parse one plugin config object (NetworkPluginConfFromBytes / ConfFromBytes): valid JSON
 * object with a non-empty "type" (`missing 'type'`). Also serves plugins reading stdin.
 */
CNI_EXPORT int cni_conf_from_bytes(cni_conf **out, const char *data, size_t len,
				   cni_error **err);
/** Read a file and parse it as above; errors name the file. */
CNI_EXPORT int cni_conf_from_file(cni_conf **out, const char *path, cni_error **err);

/** Borrowed exact bytes (NUL-terminated too) and their length (len may be NULL). */
CNI_EXPORT const char *cni_conf_bytes(const cni_conf *c, size_t *len);
/** Borrowed well-known fields; NULL when absent (cni_version "" when absent). */
CNI_EXPORT const char *cni_conf_name(const cni_conf *c);
CNI_EXPORT const char *cni_conf_type(const cni_conf *c);
CNI_EXPORT const char *cni_conf_cni_version(const cni_conf *c);
/** ipam.type or NULL. */
CNI_EXPORT const char *cni_conf_ipam_type(const cni_conf *c);
/** True when "capabilities" has name set to true. */
CNI_EXPORT bool cni_conf_has_capability(const cni_conf *c, const char *name);
/** New NULL-terminated array of the enabled capability names (cni_strv_free()). */
CNI_EXPORT int cni_conf_capabilities(const cni_conf *c, char ***out, cni_error **err);

/**
 * The top-level value of key as JSON text (new, cni_free()), or *out = NULL when absent.
 * Lets plugins read their own keys with any JSON library.
 */
CNI_EXPORT int cni_conf_get_json(const cni_conf *c, const char *key, char **out,
				 cni_error **err);

/*
 * Typed reads of a plugin's own top-level keys (since 0.2). The key is matched exactly;
 * absent and null both give the default (NULL for the string and the array) and 0. A
 * value of another JSON type fails with -CNI_ERR_INVALID_NETWORK_CONFIG
 * (`'mtu' must be an integer, not a string`), which a plugin can return as it is. out may
 * be NULL to only check the type. Nested values: cni_conf_get_json().
 */
/** String value, borrowed from c. */
CNI_EXPORT int cni_conf_get_string(const cni_conf *c, const char *key, const char **out,
				   cni_error **err);
/** true or false. */
CNI_EXPORT int cni_conf_get_bool(const cni_conf *c, const char *key, bool def, bool *out,
				 cni_error **err);
/** A whole number in int64 range (1500, also written 1500.0 or 1.5e3; 1.5 fails). */
CNI_EXPORT int cni_conf_get_int(const cni_conf *c, const char *key, int64_t def, int64_t *out,
				cni_error **err);
/** Any JSON number. */
CNI_EXPORT int cni_conf_get_double(const cni_conf *c, const char *key, double def,
				   double *out, cni_error **err);
/**
 * An array of strings as a new NULL-terminated array (cni_strv_free()); *out = NULL when
 * absent. An element that is not a string fails (`'dns[1]' must be a string, not a number`).
 */
CNI_EXPORT int cni_conf_get_strv(const cni_conf *c, const char *key, char ***out,
				 cni_error **err);

/**
 * The prevResult, parsed with the config's version family as the reference's
 * ParsePrevResult does (a 1.x config takes a 1.x prevResult, ...), converted to the
 * config's cniVersion. *out = NULL (and 0 returned) when there is no prevResult.
 */
CNI_EXPORT int cni_conf_prev_result(const cni_conf *c, cni_result **out, cni_error **err);

/**
 * GC's "cni.dev/valid-attachments": count and pairs (borrowed). Absent key: count 0 and
 * *present false.
 */
CNI_EXPORT int cni_conf_valid_attachments(const cni_conf *c, size_t *count, bool *present,
					  cni_error **err);
CNI_EXPORT const char *cni_conf_valid_attachment_container_id(const cni_conf *c, size_t i);
CNI_EXPORT const char *cni_conf_valid_attachment_ifname(const cni_conf *c, size_t i);

/**
 * New config with key set to the JSON value json_value (InjectConf). Empty key or NULL
 * value fails. Keys are re-serialised sorted, as the reference re-encodes a map.
 */
CNI_EXPORT int cni_conf_inject(cni_conf **out, const cni_conf *c, const char *key,
			       const char *json_value, cni_error **err);

CNI_EXPORT cni_conf *cni_conf_dup(const cni_conf *c);
CNI_EXPORT void cni_conf_free(cni_conf *c);

/* ---- config lists ------------------------------------------------------------------- */

/**
 * Parse a config list (NetworkConfFromBytes / ConfListFromBytes): "name" required
 * (`error parsing configuration list: no name`), name syntax checked, "cniVersion" merged
 * with "cniVersions" (entries newer than this library skipped, highest chosen),
 * disableCheck/disableGC/loadOnlyInlinedPlugins as booleans or "true"/"false" strings,
 * "plugins" a non-empty array of objects each with a "type".
 */
CNI_EXPORT int cni_conflist_from_bytes(cni_conflist **out, const char *data, size_t len,
				       cni_error **err);
/**
 * Read a file as a list; unless loadOnlyInlinedPlugins, plugins from
 * `<dir of file>/<network name>/` *.conf files are appended. No plugin at all:
 * `no plugin configs found`.
 */
CNI_EXPORT int cni_conflist_from_file(cni_conflist **out, const char *path, cni_error **err);
/** Promote a single plugin config to a list of one (ConfListFromConf). */
CNI_EXPORT int cni_conflist_from_conf(cni_conflist **out, const cni_conf *c, cni_error **err);
/**
 * Find network name in dir (LoadNetworkConf): *.conflist in lexical order first (a parse
 * error in an earlier file aborts), then *.conf and *.json promoted to lists.
 * -CNI_ERR_NO_CONFIGS when the dir has no config file, -CNI_ERR_NOT_FOUND
 * (`no net configuration with name "x" in dir`) when none matches.
 */
CNI_EXPORT int cni_conflist_load(cni_conflist **out, const char *dir, const char *name,
				 cni_error **err);

/** Borrowed fields. */
CNI_EXPORT const char *cni_conflist_name(const cni_conflist *l);
CNI_EXPORT const char *cni_conflist_cni_version(const cni_conflist *l);
CNI_EXPORT bool cni_conflist_disable_check(const cni_conflist *l);
CNI_EXPORT bool cni_conflist_disable_gc(const cni_conflist *l);
CNI_EXPORT bool cni_conflist_load_only_inlined_plugins(const cni_conflist *l);
CNI_EXPORT size_t cni_conflist_plugin_count(const cni_conflist *l);
/** Borrowed i-th plugin config, NULL when out of range. */
CNI_EXPORT const cni_conf *cni_conflist_plugin(const cni_conflist *l, size_t i);
/** Borrowed exact bytes of the list as read (a promoted .conf: the reference's rebuilt list). */
CNI_EXPORT const char *cni_conflist_bytes(const cni_conflist *l, size_t *len);
CNI_EXPORT cni_conflist *cni_conflist_dup(const cni_conflist *l);
CNI_EXPORT void cni_conflist_free(cni_conflist *l);

/**
 * Files in dir (not recursive) whose names end in one of exts (NULL-terminated, e.g.
 * {".conf", ".json", NULL}), sorted, as full paths; directories skipped. A missing dir
 * gives an empty array. *out is new (cni_strv_free()).
 */
CNI_EXPORT int cni_conf_files(const char *dir, const char *const *exts, char ***out,
			      cni_error **err);

/** Check a name (network or container id) against ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$. */
CNI_EXPORT bool cni_valid_name(const char *name);
/** Check an interface name as the reference does (1..15 bytes, not . or .., no / : or space). */
CNI_EXPORT int cni_validate_ifname(const char *ifname, cni_error **err);
/** Container id: empty => code 3 `missing containerID`; bad characters => code 4. */
CNI_EXPORT int cni_validate_container_id(const char *id, cni_error **err);
/** Network name: empty => 7 `missing network name`; bad characters => 7. */
CNI_EXPORT int cni_validate_network_name(const char *name, cni_error **err);

CNI_END_DECL

#endif
