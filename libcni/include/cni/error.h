/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_ERROR_H
#define CNI_ERROR_H

/**
 * @file cni/error.h
 * @brief The spec's error codes and the error object (code, msg, details).
 *
 * Failing functions return the negated code. Codes below 1000 are the spec's and are
 * printed as they are; codes from CNI_ERR_LIB_BASE up are the library's own and are
 * printed as 999 (internal) in the spec's error JSON.
 *
 * An error read from a plugin's error JSON (by the invoke and runtime functions, or
 * cni_error_from_json()) keeps the plugin's own code, which the spec lets a plugin choose
 * from 100 up: it is printed as it is even from 1000 up, and a function failing with
 * such a code returns -CNI_ERR_EXEC, so it never reads as one of the library's codes.
 */

#include <stdarg.h>

#include "common.h"

CNI_BEGIN_DECL

typedef enum cni_errcode {
	CNI_ERR_UNKNOWN = 0,
	CNI_ERR_INCOMPATIBLE_CNI_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENVIRONMENT_VARIABLES = 4,
	CNI_ERR_IO_FAILURE = 5,
	CNI_ERR_DECODING_FAILURE = 6,
	CNI_ERR_INVALID_NETWORK_CONFIG = 7,
	CNI_ERR_INVALID_NETNS = 8,
	CNI_ERR_TRY_AGAIN_LATER = 11,
	CNI_ERR_PLUGIN_NOT_AVAILABLE = 50,
	CNI_ERR_PLUGIN_NOT_AVAILABLE_LIMITED = 51,
	CNI_ERR_INTERNAL = 999,

	/* Library-only codes; serialised as 999. */
	CNI_ERR_LIB_BASE = 1000,
	CNI_ERR_NOMEM = 1001,       /**< allocation failed */
	CNI_ERR_INVALID_ARG = 1002, /**< API misuse (NULL where not allowed, ...) */
	CNI_ERR_NOT_FOUND = 1003,   /**< plugin, network or cache entry not found */
	CNI_ERR_NO_CONFIGS = 1004,  /**< no configuration files in a directory */
	CNI_ERR_TIMEOUT = 1005,     /**< a plugin did not answer in time */
	CNI_ERR_EXEC = 1006,        /**< a plugin could not be run or failed without error JSON */
	CNI_ERR_SYSTEM = 1007,      /**< a system call failed (errno in the message) */
	CNI_ERR_UNSUPPORTED = 1008, /**< operation not supported by this config version */
} cni_errcode;

/** Opaque error object: code, msg and optional details. */
typedef struct cni_error cni_error;

/** New error; msg is printf-formatted; details may be NULL. Free with cni_error_free(). */
CNI_EXPORT cni_error *cni_error_new(int code, const char *details, const char *fmt, ...)
	CNI_PRINTF(3, 4);
CNI_EXPORT cni_error *cni_error_newv(int code, const char *details, const char *fmt, va_list ap)
	CNI_PRINTF(3, 0);

/**
 * Set *err (when err is not NULL and *err is NULL) to a new error and return -code.
 * The usual way to fail: `return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "...");`
 * An error already in *err is kept (the first error wins). Code 0 is kept in the object
 * but returns -CNI_ERR_INTERNAL, so a failure never reads as success.
 */
CNI_EXPORT int cni_error_set(cni_error **err, int code, const char *details, const char *fmt, ...)
	CNI_PRINTF(4, 5);

/** The one way to fail on a failed allocation: CNI_ERR_NOMEM, "out of memory" (*err set when
 * possible: the error object itself needs no more memory than a small allocation). */
CNI_EXPORT int cni_error_oom(cni_error **err);

/** Prepend context to the message: "<prefix>: <old msg>". Returns 0 or -CNI_ERR_NOMEM. */
CNI_EXPORT int cni_error_prefix(cni_error *e, const char *fmt, ...) CNI_PRINTF(2, 3);

/** The code as stored (may be a library code >= CNI_ERR_LIB_BASE). */
CNI_EXPORT int cni_error_code(const cni_error *e);
/** The code as printed in the spec's error JSON (library codes become 999; a code read
 * from a plugin's error JSON stays). */
CNI_EXPORT int cni_error_spec_code(const cni_error *e);
/**
 * The system's reason for the failure, an errno value (EEXIST, ENODEV, ...), where the
 * failing call had one (a netlink request the kernel refused, a system call), else 0.
 * Test this rather than the global errno, which later calls may have changed.
 */
CNI_EXPORT int cni_error_errno(const cni_error *e);
/**
 * As cni_error_set() without details, also recording errnum for cni_error_errno().
 */
CNI_EXPORT int cni_error_set_errno(cni_error **err, int errnum, int code, const char *fmt, ...)
	CNI_PRINTF(4, 5);
/** Borrowed message ("" if none). */
CNI_EXPORT const char *cni_error_msg(const cni_error *e);
/** Borrowed details or NULL. */
CNI_EXPORT const char *cni_error_details(const cni_error *e);
/** New copy of e, or NULL. */
CNI_EXPORT cni_error *cni_error_dup(const cni_error *e);
CNI_EXPORT void cni_error_free(cni_error *e);

/**
 * The spec's error JSON, formatted as the reference prints it: 4-space indented,
 * `{"code": N, "msg": "...", "details": "..."}` (details omitted when empty), no
 * trailing newline. When cni_version is not NULL a leading "cniVersion" key is added.
 * *out is new (cni_free()).
 */
CNI_EXPORT int cni_error_to_json(const cni_error *e, const char *cni_version, char **out);

/** Parse the spec's error JSON (as a plugin prints it). code must be a number; it is
 * kept as it is, also when printed again. */
CNI_EXPORT int cni_error_from_json(cni_error **out, const char *json, size_t len);

/** Static name of a code ("CNI_ERR_DECODING_FAILURE" style), "unknown" otherwise. */
CNI_EXPORT const char *cni_error_code_name(int code);

CNI_END_DECL

#endif
