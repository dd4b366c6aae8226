/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "plugin-util.h"

int pc_gone_ok(int r, cni_error *e, bool *gone, cni_error **err)
{
	bool is_gone = r == -CNI_ERR_NOT_FOUND;

	if (gone)
		*gone = is_gone;
	if (r >= 0 || is_gone) {
		cni_error_free(e);
		return 0;
	}
	if (err)
		*err = e;
	else
		cni_error_free(e);
	return r;
}

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
		return cni_error_oom(err);
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

/*
 * The exclusive flock on the namespace itself: its open file is the nsfs inode whichever
 * path named it (a /run/netns bind mount or the /proc/<pid>/ns/net magic link, which a
 * lock file opened with O_NOFOLLOW could not follow), the same inode the reference's
 * filemutex locks. Released when the namespace is closed.
 */
static int netns_lock(const cni_netns *ns, const char *path, cni_error **err)
{
	int r;

	do
		r = flock(cni_netns_fd(ns), LOCK_EX);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to lock %s: %s", path,
				     strerror(errno));
	return 0;
}

int pc_netns_run_path(const char *path, bool lock, cni_netns_fn fn, void *ud, cni_error **err)
{
	cni_netns *ns = NULL;
	int r = cni_netns_open(path, &ns, err);

	if (r < 0)
		return r;
	if (!lock || (r = netns_lock(ns, path, err)) == 0)
		r = cni_netns_run(ns, fn, ud, err);
	cni_netns_close(ns);
	return r;
}
