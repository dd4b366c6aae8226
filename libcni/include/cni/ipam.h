/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_IPAM_H
#define CNI_IPAM_H

/**
 * @file cni/ipam.h
 * @brief For interface plugins: run the configured IPAM plugin and apply its result to
 * an interface (addresses, routes with every 1.1.0 field, IPv6 without the DAD wait).
 */

#include "error.h"
#include "netlink.h"
#include "result.h"

CNI_BEGIN_DECL

/*
 * Run the IPAM plugin named by the config's ipam.type (found in $CNI_PATH) with the same
 * stdin and environment, CNI_COMMAND set to the verb. A config without ipam.type fails
 * with -CNI_ERR_INVALID_NETWORK_CONFIG.
 */
CNI_EXPORT int cni_ipam_exec_add(const char *conf, size_t len, cni_result **out,
				 cni_error **err);
CNI_EXPORT int cni_ipam_exec_check(const char *conf, size_t len, cni_error **err);
CNI_EXPORT int cni_ipam_exec_del(const char *conf, size_t len, cni_error **err);
CNI_EXPORT int cni_ipam_exec_gc(const char *conf, size_t len, cni_error **err);
CNI_EXPORT int cni_ipam_exec_status(const char *conf, size_t len, cni_error **err);

#define CNI_IPAM_CONFIGURE_OPTIONS_VERSION 1
typedef struct cni_ipam_configure_options {
	unsigned int version;
	/** Add IPv6 addresses with NODAD (no multi-second wait); false = wait for DAD. */
	bool ipv6_nodad;
	/** Bring the link up (default true). */
	bool link_up;
} cni_ipam_configure_options;
#define CNI_IPAM_CONFIGURE_OPTIONS_INIT {CNI_IPAM_CONFIGURE_OPTIONS_VERSION, true, true}

/**
 * Configure ifname (in nl's namespace) from result as the reference's ConfigureIface:
 * the result needs at least one interface; every IP with an interface index is added
 * (the index must name ifname; IPs without one are skipped, as the reference does);
 * IPv6 enabled on lo and the link when needed (disable_ipv6=0, keep_addr_on_down=1);
 * the link set up; every route added (NLM_F_APPEND) with its gateway, defaulting to the
 * first gateway of its family, and every 1.1.0 field (mtu, advmss, priority, table,
 * scope; the reference ignores mtu and advmss). opts NULL = defaults. Sysctls are written
 * through the calling thread, so call this from inside nl's namespace (cni_netns_run())
 * when it is not the caller's.
 */
CNI_EXPORT int cni_ipam_configure_iface(cni_nl *nl, const char *ifname, const cni_result *result,
					const cni_ipam_configure_options *opts, cni_error **err);

CNI_END_DECL

#endif
