/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deleting a link, optionally on a thread of its own (internal, never installed).
 *
 * Deleting a veth sleeps in the kernel for an RCU grace period (netdev_run_todo's
 * rcu_barrier(), 15-20 ms whoever asks), and so does removing nftables-backed chains
 * (nf_tables frees them after one, when the socket that removed them closes). A plugin
 * with both to do starts the deletion aside, does the rest, and collects the outcome, so
 * the two waits overlap. With nothing to overlap, it deletes in place: a thread beside an
 * exec only makes the grace period longer.
 */
#ifndef CNI_PLUGIN_LINKDEL_H
#define CNI_PLUGIN_LINKDEL_H

#include <pthread.h>
#include <stdbool.h>

#include <cni/cni.h>

typedef struct pc_link_del {
	cni_nl *nl; /* the caller's; it stays open until pc_link_del_finish() */
	int ifindex;
	int r;
	cni_error *err;
	pthread_t thread;
	bool started; /* running on its thread */
} pc_link_del;

/* Delete j->ifindex through j->nl: on a thread when aside (and one can be started), else
 * here and now. Either way pc_link_del_finish() gives the outcome. */
void pc_link_del_start(pc_link_del *j, bool aside);

/* Wait for the deletion; its error in *err. A link already gone is no error. */
int pc_link_del_finish(pc_link_del *j, cni_error **err);

#endif
