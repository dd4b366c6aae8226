/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_ARGS_H
#define CNI_ARGS_H

/**
 * @file cni/args.h
 * @brief CNI_ARGS ("K1=V1;K2=V2") parsing, as the reference's LoadArgs treats it.
 *
 * Split on ';', each pair must split on '=' into exactly two parts (so values cannot hold
 * '='; an empty segment is an error). Keys are case-sensitive. A plugin declares the keys
 * it knows; unknown keys fail with `ARGS: unknown args ["K=V" ...]` unless IgnoreUnknown is
 * a true value ("1"/"true", any case) anywhere in the string.
 */

#include "error.h"

CNI_BEGIN_DECL

typedef struct cni_args cni_args;

/** Parse str (NULL or "" gives an empty set). Errors name the bad pair. */
CNI_EXPORT int cni_args_parse(cni_args **out, const char *str, cni_error **err);

/**
 * Check every key against known (NULL-terminated; "IgnoreUnknown" is always known).
 * Fails (code 999, the reference's message) on unknown keys unless IgnoreUnknown is true,
 * and on an IgnoreUnknown value that is not a boolean.
 */
CNI_EXPORT int cni_args_check_known(const cni_args *args, const char *const *known,
				    cni_error **err);

/** Borrowed value of the last pair with this key, or NULL. */
CNI_EXPORT const char *cni_args_get(const cni_args *args, const char *key);
CNI_EXPORT size_t cni_args_count(const cni_args *args);
CNI_EXPORT const char *cni_args_key(const cni_args *args, size_t i);
CNI_EXPORT const char *cni_args_value(const cni_args *args, size_t i);

/**
 * Boolean value of key ("1"/"true"/"0"/"false", any case; UnmarshallableBool).
 * Absent key: *out = def, returns 0. Bad value: -CNI_ERR_DECODING_FAILURE naming it.
 */
CNI_EXPORT int cni_args_get_bool(const cni_args *args, const char *key, bool def, bool *out,
				 cni_error **err);

CNI_EXPORT void cni_args_free(cni_args *args);

CNI_END_DECL

#endif
