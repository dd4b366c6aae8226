/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin-linkdel.h"
#include "plugin-util.h"

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
	r = pc_gone_ok(j->r, j->err, NULL, err);
	j->r = 0;
	j->err = NULL;
	return r;
}
