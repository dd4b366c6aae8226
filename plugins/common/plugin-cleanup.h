/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scope-bound cleanup for plugins (internal, never installed), in systemd's manner:
 * `_cleanup_free_ char *s = strdup(...)` is freed when s goes out of scope. One set for
 * every plugin; a plugin adds `_cleanup_(its_type_freep)` for its own types.
 */
#ifndef CNI_PLUGIN_CLEANUP_H
#define CNI_PLUGIN_CLEANUP_H

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include <cni/cni.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void pc_freep(void *p)
{
	free(*(void **)p);
}

static inline void pc_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/* name(type *p), which calls func(*p) unless *p is NULL, for _cleanup_(name): systemd's
 * DEFINE_TRIVIAL_CLEANUP_FUNC, with the name spelt out (pc_ for the common ones). */
#define PC_DEFINE_CLEANUP(name, type, func)                                                        \
	static inline void name(type *p)                                                           \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

PC_DEFINE_CLEANUP(pc_error_freep, cni_error *, cni_error_free)
PC_DEFINE_CLEANUP(pc_json_decrefp, json_t *, json_decref)
PC_DEFINE_CLEANUP(pc_conf_freep, cni_conf *, cni_conf_free)
PC_DEFINE_CLEANUP(pc_result_freep, cni_result *, cni_result_free)
PC_DEFINE_CLEANUP(pc_args_freep, cni_args *, cni_args_free)

#define _cleanup_free_	_cleanup_(pc_freep)
#define _cleanup_close_ _cleanup_(pc_closep)
#define _cleanup_error_ _cleanup_(pc_error_freep)
#define _cleanup_json_	_cleanup_(pc_json_decrefp)

#endif
