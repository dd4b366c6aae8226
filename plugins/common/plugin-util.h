/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers our plugins share (internal, never installed). */
#ifndef CNI_PLUGIN_UTIL_H
#define CNI_PLUGIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <cni/cni.h>

/* Put context in front of the error in *err, when there is one (err may be NULL). */
#define PC_PREFIX(err, ...)                                                                        \
	do {                                                                                       \
		if ((err) && *(err))                                                               \
			cni_error_prefix(*(err), __VA_ARGS__);                                     \
	} while (0)

/* PC_PREFIX when r is an error; evaluates to r. */
#define PC_PREFIXED(r, err, ...)                                                                   \
	({                                                                                         \
		int _r = (r);                                                                      \
		if (_r < 0)                                                                        \
			PC_PREFIX(err, __VA_ARGS__);                                               \
		_r;                                                                                \
	})

/*
 * DEL's rule for the outcome of one call, r with its error e (taken: freed or handed on):
 * what is not found is gone already, which is success (0, *gone true). Another failure
 * returns r and hands e to *err (err may be NULL: e is freed). gone may be NULL.
 */
int pc_gone_ok(int r, cni_error *e, bool *gone, cni_error **err);

/*
 * The GC request's valid attachments as an array for cni_ipmasq_gc() and the like: *out
 * (new, free() it; NULL when there are none) borrows its strings from conf. *present says
 * whether the config had the list at all (without it nothing is known to be stale).
 */
int pc_valid_attachments(const cni_conf *conf, cni_gc_attachment **out, size_t *n, bool *present,
			 cni_error **err);

/* The prevResult of the config text (conf, len) as cni_conf_prev_result() gives it; its
 * errors are prefixed "could not parse prevResult", those of reading the config are not. */
int pc_prev_result(const char *conf, size_t len, cni_result **out, cni_error **err);

/*
 * Run fn(ud, err) in the network namespace at path, opened and closed here. With lock, it
 * runs under an exclusive flock on the namespace file, as the reference serialises the
 * work of plugins (ours and its own) on one namespace.
 */
int pc_netns_run_path(const char *path, bool lock, cni_netns_fn fn, void *ud, cni_error **err);

#endif
