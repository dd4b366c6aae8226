/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin's work in the container's namespace at DEL (internal, never installed). */
#ifndef CNI_PLUGIN_NETNS_H
#define CNI_PLUGIN_NETNS_H

#include <stdbool.h>

#include <cni/cni.h>

/*
 * DEL's fn(ud, err) in the network namespace at path, as pc_netns_run_path() runs it
 * (lock: under the flock on the namespace file). No path (""), or -CNI_ERR_NOT_FOUND (a
 * namespace that is gone), is success: what DEL would undo in there went with it. Other
 * failures return their code with *err set (err may be NULL).
 */
int pc_netns_run_path_del(const char *path, bool lock, cni_netns_fn fn, void *ud, cni_error **err);

/*
 * DEL's open of the network namespace at path: 0 and *ns (new, cni_netns_close() it) when
 * it is there; 0 and *ns NULL when there is no path (NULL or "") or the namespace is gone,
 * and what DEL would undo in there with it. Other failures return their code with *err set
 * (err may be NULL).
 */
int pc_netns_open_del(const char *path, cni_netns **ns, cni_error **err);

#endif
