/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin-linkdel.h"

static void *link_del_run(void *arg)
{
	pc_link_del *j = arg;
	j->r = cni_link_del(j->nl, j->ifindex, &j->err);
	return NULL;
}

void pc_link_del_start(pc_link_del *j, bool aside)
{
	j->started = aside && pthread_create(&j->thread, NULL, link_del_run, j) == 0;
	if (!j->started)
		link_del_run(j);
}

int pc_link_del_finish(pc_link_del *j, cni_error **err)
{
	int r;

	if (j->started)
		pthread_join(j->thread, NULL);
	j->started = false;
	r = j->r;
	j->r = 0;
	if (r >= 0 || r == -CNI_ERR_NOT_FOUND) {
		cni_error_free(j->err);
		j->err = NULL;
		return 0;
	}
	if (err)
		*err = j->err;
	else
		cni_error_free(j->err);
	j->err = NULL;
	return r;
}
