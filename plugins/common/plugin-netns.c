/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin-netns.h"
#include "plugin-util.h"

int pc_netns_run_path_del(const char *path, bool lock, cni_netns_fn fn, void *ud, cni_error **err)
{
	cni_error *local = NULL;
	int r;

	if (!*path)
		return 0;
	r = pc_netns_run_path(path, lock, fn, ud, &local);
	return pc_gone_ok(r, local, NULL, err);
}

int pc_netns_open_del(const char *path, cni_netns **ns, cni_error **err)
{
	cni_error *local = NULL;
	int r;

	*ns = NULL;
	if (!path || !*path)
		return 0;
	r = cni_netns_open(path, ns, &local);
	return pc_gone_ok(r, local, NULL, err);
}
