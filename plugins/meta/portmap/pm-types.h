/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_PM_TYPES_H
#define CNI_PM_TYPES_H

/* The portmap plugin's parsed configuration, which portmap.c makes and its backends read. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <cni/cni.h>

enum pm_backend { PM_BACKEND_AUTO = 0, PM_BACKEND_IPTABLES, PM_BACKEND_NFTABLES };

typedef struct pm_mapping {
	int host_port;
	int container_port;
	char proto[8];	    /* "tcp", "udp" or "sctp" */
	char *host_ip_text; /* as configured (NULL = none) */
	bool has_host_ip;   /* host_ip parsed and not unspecified */
	bool host_ip_any;   /* given but unspecified (0.0.0.0 / ::) */
	cni_ipaddr host_ip;
} pm_mapping;

typedef struct pm_conf {
	char *name;
	const char *container_id; /* borrowed from the command */
	const char *ifname;
	bool snat;
	bool masq_all;
	bool mark_bit_set;
	int mark_bit;
	char *ext_mark_chain; /* NULL = ours (CNI-HOSTPORT-SETMARK) */
	char **cond[2];	      /* [0] v4, [1] v6; NULL-terminated, NULL = none */
	enum pm_backend backend;
	bool backend_given;
	pm_mapping *maps;
	size_t n_maps;
	bool has_ip[2];
	cni_ipnet ip[2]; /* container address per family (host bits kept) */
} pm_conf;

/* family index: 0 for AF_INET, 1 for AF_INET6 */
static inline int pm_fam_idx(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

#endif
