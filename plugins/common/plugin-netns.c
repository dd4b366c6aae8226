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
	if (r == -CNI_ERR_NOT_FOUND)
		r = 0;
	if (r < 0 && err)
		*err = local;
	else
		cni_error_free(local);
	return r;
}
