/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_INPROC_INTERNAL_H
#define CNI_INPROC_INTERNAL_H

/*
 * Delegating to a plugin of the multi-call binary without exec'ing it. Never installed and
 * never exported: only the multi-call binary, which links the library's objects, can
 * reach these, and only it sets a lookup. Everywhere else delegation always execs.
 *
 * When a plugin of the multi-call binary delegates (ptp to its IPAM) and the plugin that
 * CNI_PATH names is a link to this very executable, the delegate's main runs in this
 * process, on this thread, through skel with explicit I/O: the same code, environment,
 * input and output as the exec would have had, without the process start.
 */

#include <stdbool.h>

#include "internal.h"

/* A plugin's main, as the multi-call binary renames it (cni_mc_main_<plugin>). */
typedef int (*cni_inproc_main)(void);
/* The main of the plugin run as name, when it may run in-process; NULL otherwise. */
typedef cni_inproc_main (*cni_inproc_lookup)(const char *name);

/* Set by the multi-call binary's main() before it dispatches. */
void cni_inproc_set_lookup(cni_inproc_lookup lookup);

/* One in-process run: the next cni_plugin_main() on this thread runs with io, sets ran,
 * and leaves cni_plugin_main_io()'s return value in r and its error in err. */
typedef struct cni_inproc_call {
	const cni_skel_io *io;
	cni_error *err;
	int r;
	bool ran;
} cni_inproc_call;

/* skel: arm (call) or disarm (NULL) this thread's next cni_plugin_main(). */
void cni_skel_set_inproc(cni_inproc_call *call);

#endif
