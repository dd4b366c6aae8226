/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ETCD_IPAM_IPAM_H
#define ETCD_IPAM_IPAM_H

/*
 * etcd-ipam's handlers (ADD, CHECK, DEL, GC, STATUS taking cni_cmd_args), shared by the
 * one-shot plugin (etcd-ipamd run as a plugin) and the resident daemon.
 */

#include <stdbool.h>

#include <cni/cni.h>

extern const cni_plugin_funcs etcd_ipam_funcs;

/*
 * Resident mode (the daemon): etcd connections are kept between requests (one per set of
 * endpoints, TLS files and credentials) and ADD remembers the free addresses of the
 * node's own blocks, so a steady-state ADD is one transaction.
 */
void etcd_ipam_set_resident(bool on);
/* The connection pool and the cache are per thread: a daemon with several threads calls
 * this in each (idx of n) so their picks in one cached block start apart. */
void etcd_ipam_set_worker(unsigned idx, unsigned n);
/* Drops the calling thread's kept connections and cache (at its exit). */
void etcd_ipam_forget(void);

#endif
