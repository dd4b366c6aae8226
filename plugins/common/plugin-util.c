/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "plugin-util.h"

int pc_valid_attachments(const cni_conf *conf, cni_gc_attachment **out, size_t *n, bool *present,
			 cni_error **err)
{
	cni_gc_attachment *valid = NULL;
	size_t count = 0;
	bool have = false;
	int r = cni_conf_valid_attachments(conf, &count, &have, err);

	if (r < 0)
		return r;
	if (count && !(valid = calloc(count, sizeof(*valid))))
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < count; i++) {
		valid[i].container_id = cni_conf_valid_attachment_container_id(conf, i);
		valid[i].ifname = cni_conf_valid_attachment_ifname(conf, i);
	}
	*out = valid;
	*n = count;
	*present = have;
	return 0;
}

int pc_prev_result(const char *conf, size_t len, cni_result **out, cni_error **err)
{
	cni_conf *cc = NULL;
	int r = cni_conf_from_bytes(&cc, conf, len, err);

	if (r < 0)
		return r;
	r = cni_conf_prev_result(cc, out, err);
	cni_conf_free(cc);
	return PC_PREFIXED(r, err, "could not parse prevResult");
}

int pc_netns_run_path(const char *path, bool lock, cni_netns_fn fn, void *ud, cni_error **err)
{
	cni_netns *ns = NULL;
	cni_filelock *fl = NULL;
	int r = cni_netns_open(path, &ns, err);

	if (r < 0)
		return r;
	if (!lock || ((r = cni_filelock_open(path, &fl, err)) == 0 &&
		      (r = cni_filelock_lock(fl, true, err)) == 0))
		r = cni_netns_run(ns, fn, ud, err);
	cni_filelock_close(fl);
	cni_netns_close(ns);
	return r;
}
