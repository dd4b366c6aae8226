/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_VERSION_H
#define CNI_VERSION_H

/**
 * @file cni/version.h
 * @brief Spec versions, plugin info (the VERSION reply) and version negotiation.
 */

#include "error.h"

CNI_BEGIN_DECL

/** The newest spec version this library speaks. */
#define CNI_SPEC_VERSION "1.1.0"

/** Static string: CNI_SPEC_VERSION. */
CNI_EXPORT const char *cni_version_current(void);

/** Static NULL-terminated list of every known spec version, oldest first (0.1.0 .. 1.1.0). */
CNI_EXPORT const char *const *cni_version_all(void);

/** Static NULL-terminated list of the legacy versions (0.1.0, 0.2.0). */
CNI_EXPORT const char *const *cni_version_legacy(void);

/** True when v is one of cni_version_all() (exact string match). */
CNI_EXPORT bool cni_version_is_known(const char *v);

/**
 * Parse "X[.Y[.Z]]" (missing parts are 0; "" or NULL is 0.1.0) as the reference does.
 * Errors: -CNI_ERR_DECODING_FAILURE naming the version.
 */
CNI_EXPORT int cni_version_parse(const char *v, int *major, int *minor, int *micro,
				 cni_error **err);

/** *cmp = <0, 0, >0 as a is older, equal or newer than b. Parse errors as above. */
CNI_EXPORT int cni_version_compare(const char *a, const char *b, int *cmp, cni_error **err);

/** True when a >= b; false when either fails to parse. */
CNI_EXPORT bool cni_version_ge(const char *a, const char *b);

/** Opaque plugin info: the versions a plugin supports (VERSION reply). */
typedef struct cni_plugin_info cni_plugin_info;

/** New info listing the given versions (NULL-terminated; must not be empty). */
CNI_EXPORT int cni_plugin_info_new(cni_plugin_info **out, const char *const *versions,
				   cni_error **err);
/** New info listing every known version from min on (VersionsStartingFrom). */
CNI_EXPORT int cni_plugin_info_from(cni_plugin_info **out, const char *min, cni_error **err);
/** New info listing every known version (version.All). */
CNI_EXPORT int cni_plugin_info_all(cni_plugin_info **out, cni_error **err);

/**
 * Decode a VERSION reply (PluginDecoder): cniVersion is required; a missing
 * supportedVersions is accepted only with cniVersion "0.2.0" (then 0.1.0 and 0.2.0).
 */
CNI_EXPORT int cni_plugin_info_decode(cni_plugin_info **out, const char *json, size_t len,
				      cni_error **err);

/**
 * The VERSION reply, compact JSON plus "\n":
 * `{"cniVersion":"<cni_version>","supportedVersions":[...]}`. cni_version NULL means
 * cni_version_current(). *out is new (cni_free()).
 */
CNI_EXPORT int cni_plugin_info_encode(const cni_plugin_info *info, const char *cni_version,
				      char **out, cni_error **err);

/** The cniVersion of a decoded reply (borrowed; current version for built infos). */
CNI_EXPORT const char *cni_plugin_info_cni_version(const cni_plugin_info *info);
CNI_EXPORT size_t cni_plugin_info_count(const cni_plugin_info *info);
/** Borrowed i-th supported version, or NULL when out of range. */
CNI_EXPORT const char *cni_plugin_info_version(const cni_plugin_info *info, size_t i);
/** Exact membership (Reconciler.Check semantics). */
CNI_EXPORT bool cni_plugin_info_supports(const cni_plugin_info *info, const char *v);
CNI_EXPORT cni_plugin_info *cni_plugin_info_dup(const cni_plugin_info *info);
CNI_EXPORT void cni_plugin_info_free(cni_plugin_info *info);

/**
 * Reconcile a config version with a plugin: fails with -CNI_ERR_INCOMPATIBLE_CNI_VERSION,
 * msg "incompatible CNI versions", details `config is "x", plugin supports ["a" "b"]`
 * (the reference's text) when config_version ("" means 0.1.0) is not supported.
 */
CNI_EXPORT int cni_version_check(const char *config_version, const cni_plugin_info *info,
				 cni_error **err);

CNI_END_DECL

#endif
