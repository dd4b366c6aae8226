/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_NETNS_H
#define CNI_NETNS_H

/**
 * @file cni/netns.h
 * @brief Network namespaces: open by path, compare, and run work inside one.
 *
 * cni_netns_run() never leaves another thread of the caller in a foreign namespace: in a
 * process with threads (a runtime) it runs the function on a short-lived thread that
 * enters the namespace and exits afterwards; a process whose only thread is the caller (a
 * plugin) switches that thread there and back, which saves a thread start and two
 * wake-ups per call. Safe in multithreaded runtimes as well as in plugins.
 */

#include "error.h"

CNI_BEGIN_DECL

typedef struct cni_netns cni_netns;

/**
 * Open a namespace by path (a bind mount under /run/netns, /proc/<pid>/ns/net, ...).
 * Missing path: -CNI_ERR_NOT_FOUND; a path that is not a network namespace:
 * -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES naming it. Free with cni_netns_close().
 */
CNI_EXPORT int cni_netns_open(const char *path, cni_netns **out, cni_error **err);
/** The calling thread's namespace. */
CNI_EXPORT int cni_netns_open_current(cni_netns **out, cni_error **err);
/** Borrowed O_CLOEXEC descriptor of the namespace. */
CNI_EXPORT int cni_netns_fd(const cni_netns *ns);
/** Borrowed path it was opened from. */
CNI_EXPORT const char *cni_netns_path(const cni_netns *ns);
/** True when both are the same namespace (device and inode). */
CNI_EXPORT bool cni_netns_same(const cni_netns *a, const cni_netns *b);
CNI_EXPORT void cni_netns_close(cni_netns *ns);

typedef int (*cni_netns_fn)(void *userdata, cni_error **err);

/**
 * Run fn(userdata, err) inside ns and return what fn returned. When the calling thread is
 * the process's only one, fn runs on it, and it is back in its own namespace when this
 * returns (a thread that cannot get back aborts the process rather than go on in the
 * wrong namespace); otherwise fn runs on a new thread that exits when fn returns. Either
 * way fn must not create threads of its own that outlive it.
 */
CNI_EXPORT int cni_netns_run(const cni_netns *ns, cni_netns_fn fn, void *userdata,
			     cni_error **err);

CNI_END_DECL

#endif
