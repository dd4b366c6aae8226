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

static inline void pc_error_freep(cni_error **e)
{
	cni_error_free(*e);
}

static inline void pc_json_decrefp(json_t **j)
{
	json_decref(*j);
}

static inline void pc_conf_freep(cni_conf **c)
{
	cni_conf_free(*c);
}

static inline void pc_result_freep(cni_result **r)
{
	cni_result_free(*r);
}

static inline void pc_args_freep(cni_args **a)
{
	cni_args_free(*a);
}

#define _cleanup_free_	_cleanup_(pc_freep)
#define _cleanup_close_ _cleanup_(pc_closep)
#define _cleanup_error_ _cleanup_(pc_error_freep)
#define _cleanup_json_	_cleanup_(pc_json_decrefp)

#endif
