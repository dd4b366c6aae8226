/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_COMMON_H
#define CNI_COMMON_H

/**
 * @file cni/common.h
 * @brief Export macro, library version and the conventions every module follows.
 *
 * Conventions (all modules):
 * - Functions that can fail return `int`: 0 on success or a negative error code
 *   (`-CNI_ERR_*`, see cni/error.h). They take a trailing `cni_error **err`; when it is not
 *   NULL and the call fails, `*err` receives a new error object the caller frees with
 *   cni_error_free(). Output parameters are written only on success.
 * - "new" results belong to the caller and name their destructor; "borrowed" results live
 *   as long as the object they were read from. Every destructor accepts NULL.
 * - Strings are NUL-terminated UTF-8; byte buffers come with a length.
 * - The library never prints, logs or exits, keeps no global mutable state and never
 *   moves the calling thread into another network namespace.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) && !defined(CNI_STATIC_BUILD)
#define CNI_EXPORT __attribute__((visibility("default")))
#else
#define CNI_EXPORT
#endif

#if defined(__GNUC__)
#define CNI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CNI_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
#define CNI_BEGIN_DECL extern "C" {
#define CNI_END_DECL   }
#else
#define CNI_BEGIN_DECL
#define CNI_END_DECL
#endif

#define LIBCNI_C_VERSION_MAJOR 0
#define LIBCNI_C_VERSION_MINOR 1
#define LIBCNI_C_VERSION_PATCH 0
#define LIBCNI_C_VERSION       "0.1.0"

CNI_BEGIN_DECL

/** The library's release version, e.g. "0.1.0" (static string). */
CNI_EXPORT const char *cni_library_version(void);

/** Free a NULL-terminated array of strings (and the strings). Accepts NULL. */
CNI_EXPORT void cni_strv_free(char **strv);

/** Free memory the library handed out as a plain buffer (char *, etc.). Accepts NULL. */
CNI_EXPORT void cni_free(void *ptr);

CNI_END_DECL

#endif
