/* SPDX-License-Identifier: Apache-2.0 */
/* Rules our IPAM plugins share (internal, never installed). */
#ifndef CNI_PLUGIN_IPAM_H
#define CNI_PLUGIN_IPAM_H

#include <stddef.h>

#include <cni/cni.h>

/*
 * Results before 0.3.0 hold one ip4 and one ip6 address: with n4 IPv4 and n6 IPv6
 * addresses to give, fail (CNI_ERR_INVALID_NETWORK_CONFIG, naming cni_version) when
 * cni_version is older than 0.3.0 and a family has more than one. 0 otherwise.
 */
int pc_ipam_check_families(const char *cni_version, size_t n4, size_t n6, cni_error **err);

#endif
