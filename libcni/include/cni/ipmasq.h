/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_IPMASQ_H
#define CNI_IPMASQ_H

/**
 * @file cni/ipmasq.h
 * @brief IP masquerade for container addresses (the reference's ipMasq), with the
 * reference's iptables and nftables rules, each setup or teardown one atomic change
 * (one iptables-restore per family, or one nftables transaction), in the calling
 * thread's network namespace.
 *
 * iptables: nat chain `CNI-<hash(network + container id)>` with `-d <subnet> -j ACCEPT`
 * and `! -d 224.0.0.0/4 -j MASQUERADE` (ff00::/8 for IPv6), entered from POSTROUTING by
 * `-s <ip> -j <chain>`, every rule commented `name: "<net>" id: "<cid>"`.
 * nftables: table `inet cni_plugins_masquerade` as the reference v1.6+ builds it.
 */

#include "conf.h"
#include "error.h"

CNI_BEGIN_DECL

typedef enum cni_ipmasq_backend {
	CNI_IPMASQ_AUTO = 0, /**< iptables when it works, else nftables (the reference's rule) */
	CNI_IPMASQ_IPTABLES = 1,
	CNI_IPMASQ_NFTABLES = 2,
} cni_ipmasq_backend;

/** "iptables", "nftables", or NULL/"" for auto; anything else fails naming the value. */
CNI_EXPORT int cni_ipmasq_backend_parse(const char *s, cni_ipmasq_backend *out, cni_error **err);

/**
 * Masquerade traffic from each container address (CIDR strings such as "10.22.0.5/16",
 * NULL-terminated) leaving its subnet. Re-running for the same attachment replaces its
 * rules rather than doubling them.
 */
CNI_EXPORT int cni_ipmasq_setup(cni_ipmasq_backend backend, const char *network,
				const char *ifname, const char *container_id,
				const char *const *addresses, cni_error **err);

/**
 * Remove an attachment's rules from both backends. Needs no addresses (rules are found
 * by their chain name and comment), so it works after the container's namespace is gone.
 * Nothing to remove is success.
 */
CNI_EXPORT int cni_ipmasq_teardown(const char *network, const char *ifname,
				   const char *container_id, cni_error **err);

/**
 * Remove the rules of every attachment of network that is not in valid (GC), in both
 * backends. Rules of other networks are never touched.
 */
CNI_EXPORT int cni_ipmasq_gc(const char *network, const cni_gc_attachment *valid,
			     size_t n_valid, cni_error **err);

CNI_END_DECL

#endif
