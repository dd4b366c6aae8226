/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_PLUGIN_BANDWIDTH_H
#define CNI_PLUGIN_BANDWIDTH_H

#include <stdbool.h>
#include <stdint.h>

#include <cni/cni.h>

/* The reference shapes with a token bucket of 25 ms latency. */
#define BW_LATENCY_MS 25

/* "bwp" + hash, cut to an interface name's 15 characters. */
#define BW_IFB_PREFIX  "bwp"
#define BW_IFB_NAMELEN 15

/* Our side index for GC: the ifb's alias is "cni-bandwidth <network> <containerID> <ifname>". */
#define BW_ALIAS_PREFIX "cni-bandwidth "

/* tc.c: the reference's tbf arithmetic, on the values it would send (the kernel's units). */
int bw_tbf_params(uint64_t rate_bits, uint64_t burst_bits, cni_tbf *out, cni_error **err);

#endif
