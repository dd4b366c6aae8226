/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_NETLINK_H
#define CNI_NETLINK_H

/**
 * @file cni/netlink.h
 * @brief Links, addresses and routes over rtnetlink, one small function per kernel
 * operation. Errors name the object and carry the kernel's reason, e.g.
 * `failed to add route 10.1.0.0/16 via 10.1.0.1 on 'eth0': File exists`.
 *
 * A cni_nl is a netlink socket opened inside one network namespace; every call made with
 * it acts in that namespace, whatever namespace the calling thread is in. A handle is not
 * thread-safe: use one per thread. The socket holds the namespace itself, so the cni_nl
 * may outlive the cni_netns it was opened with (closing that does not affect it).
 */

#include "error.h"
#include "ip.h"
#include "netns.h"

CNI_BEGIN_DECL

typedef struct cni_nl cni_nl;

/** Open a socket in ns (NULL: the calling thread's namespace). */
CNI_EXPORT int cni_nl_open(cni_nl **out, const cni_netns *ns, cni_error **err);
CNI_EXPORT void cni_nl_close(cni_nl *nl);

#define CNI_IFNAMSIZ 16

#define CNI_LINK_INFO_VERSION 1
typedef struct cni_link_info {
	unsigned int version;
	int ifindex;
	char name[CNI_IFNAMSIZ];
	char kind[32];     /**< "veth", "bridge", ... ("" for a plain device) */
	char mac[18];      /**< "aa:bb:cc:dd:ee:ff" or "" */
	unsigned int mtu;
	unsigned int flags; /**< IFF_UP, IFF_PROMISC, ... */
	unsigned int oper_state; /**< IF_OPER_* */
	int master;         /**< ifindex of the master, 0 = none */
	int link;           /**< IFLA_LINK: a veth's peer ifindex, 0 = none */
	int link_netnsid;   /**< namespace id of the peer, -1 = same namespace */
	unsigned int txqlen;
	char alias[64];
} cni_link_info;
#define CNI_LINK_INFO_INIT \
	{CNI_LINK_INFO_VERSION, 0, {0}, {0}, {0}, 0, 0, 0, 0, 0, 0, 0, {0}}

/** Look up a link; missing: -CNI_ERR_NOT_FOUND `link 'x' not found`. */
CNI_EXPORT int cni_link_get(cni_nl *nl, const char *name, cni_link_info *out, cni_error **err);
CNI_EXPORT int cni_link_get_by_index(cni_nl *nl, int ifindex, cni_link_info *out,
				     cni_error **err);
/** All links; *out is new (cni_free()). */
CNI_EXPORT int cni_link_list(cni_nl *nl, cni_link_info **out, size_t *count, cni_error **err);

/**
 * Create a veth pair: name in nl's namespace, peer in peer_ns (NULL: the same one), in
 * one request (no move afterwards). mtu 0 = default; macs NULL = random. Both ends are
 * created down, with txqueuelen 0 as the reference's are. An existing name fails with
 * -CNI_ERR_SYSTEM carrying EEXIST's text.
 */
CNI_EXPORT int cni_veth_add(cni_nl *nl, const char *name, const char *peer,
			    const cni_netns *peer_ns, unsigned int mtu, const char *mac,
			    const char *peer_mac, cni_error **err);
/** Create a bridge (down). EEXIST is returned as -CNI_ERR_SYSTEM with errno text. */
CNI_EXPORT int cni_bridge_add(cni_nl *nl, const char *name, unsigned int mtu, cni_error **err);
CNI_EXPORT int cni_link_del(cni_nl *nl, int ifindex, cni_error **err);
CNI_EXPORT int cni_link_set_up(cni_nl *nl, int ifindex, bool up, cni_error **err);
CNI_EXPORT int cni_link_set_mtu(cni_nl *nl, int ifindex, unsigned int mtu, cni_error **err);
CNI_EXPORT int cni_link_set_mac(cni_nl *nl, int ifindex, const char *mac, cni_error **err);
/** Rename a link. Kernels before 6.2 refuse to rename a link that is up (EBUSY, returned
 * as -CNI_ERR_SYSTEM): set it down first where such kernels matter. */
CNI_EXPORT int cni_link_set_name(cni_nl *nl, int ifindex, const char *name, cni_error **err);
CNI_EXPORT int cni_link_set_alias(cni_nl *nl, int ifindex, const char *alias, cni_error **err);
/** master 0 = release from its master. */
CNI_EXPORT int cni_link_set_master(cni_nl *nl, int ifindex, int master, cni_error **err);
CNI_EXPORT int cni_link_set_promisc(cni_nl *nl, int ifindex, bool on, cni_error **err);
CNI_EXPORT int cni_link_set_allmulti(cni_nl *nl, int ifindex, bool on, cni_error **err);
CNI_EXPORT int cni_link_set_txqlen(cni_nl *nl, int ifindex, unsigned int qlen,
				   cni_error **err);
/** Move a link to another namespace. */
CNI_EXPORT int cni_link_set_netns(cni_nl *nl, int ifindex, const cni_netns *ns,
				  cni_error **err);
/** Bridge port flags; -1 leaves a flag as it is. */
CNI_EXPORT int cni_bridge_port_set(cni_nl *nl, int ifindex, int hairpin, int isolated,
				   cni_error **err);

#define CNI_ADDR_NODAD      0x1 /**< IFA_F_NODAD: no duplicate address detection wait */
#define CNI_ADDR_NOPREFIXRT 0x2 /**< IFA_F_NOPREFIXROUTE: no automatic subnet route */

typedef struct cni_addr_info {
	int ifindex;
	cni_ipnet addr;
	int scope;
	unsigned int flags; /**< IFA_F_* as the kernel reports them */
} cni_addr_info;

CNI_EXPORT int cni_addr_add(cni_nl *nl, int ifindex, const cni_ipnet *addr, unsigned int flags,
			    cni_error **err);
CNI_EXPORT int cni_addr_del(cni_nl *nl, int ifindex, const cni_ipnet *addr, cni_error **err);
/** Addresses of ifindex (0 = all) and family (0 = both); *out new (cni_free()). */
CNI_EXPORT int cni_addr_list(cni_nl *nl, int ifindex, int family, cni_addr_info **out,
			     size_t *count, cni_error **err);

#define CNI_ROUTE_SPEC_VERSION 1
typedef struct cni_route_spec {
	unsigned int version;
	cni_ipnet dst;      /**< prefix 0 = default route */
	bool has_gw;
	cni_ipaddr gw;
	bool has_src;
	cni_ipaddr src;
	int ifindex;        /**< 0 = none */
	int scope;          /**< RT_SCOPE_*; -1 = the kernel's choice from the route */
	unsigned int table; /**< 0 = main */
	unsigned int priority;
	unsigned int mtu;    /**< RTAX_MTU, 0 = unset */
	unsigned int advmss; /**< RTAX_ADVMSS, 0 = unset */
	int type;           /**< RTN_*; 0 = unicast */
} cni_route_spec;
#define CNI_ROUTE_SPEC_INIT {CNI_ROUTE_SPEC_VERSION, {{0, {0}}, 0}, false, {0, {0}}, false, \
			     {0, {0}}, 0, -1, 0, 0, 0, 0, 0}

/** Add a route; append = NLM_F_APPEND (ECMP-style add next to an existing one). */
CNI_EXPORT int cni_route_add(cni_nl *nl, const cni_route_spec *r, bool append, cni_error **err);
CNI_EXPORT int cni_route_replace(cni_nl *nl, const cni_route_spec *r, cni_error **err);
/** Delete a route: protocol, and type and scope when unset (0 / -1), match any route, so
 * kernel-made routes (proto kernel) can be deleted too. */
CNI_EXPORT int cni_route_del(cni_nl *nl, const cni_route_spec *r, cni_error **err);
/** Routes of family (0 = both) in table (0 = main, RT_TABLE_UNSPEC... use 255 for local);
 * ifindex 0 = any. *out new (cni_free()). */
CNI_EXPORT int cni_route_list(cni_nl *nl, int family, unsigned int table, int ifindex,
			      cni_route_spec **out, size_t *count, cni_error **err);

/** Policy routing rule: from src lookup table, with priority (0 = kernel's). */
#define CNI_RULE_SPEC_VERSION 1
typedef struct cni_rule_spec {
	unsigned int version;
	int family;
	bool has_src;
	cni_ipnet src;
	bool has_dst;
	cni_ipnet dst;
	unsigned int table;
	unsigned int priority;
} cni_rule_spec;
#define CNI_RULE_SPEC_INIT {CNI_RULE_SPEC_VERSION, 0, false, {{0, {0}}, 0}, false, {{0, {0}}, 0}, 0, 0}
CNI_EXPORT int cni_rule_add(cni_nl *nl, const cni_rule_spec *r, cni_error **err);
CNI_EXPORT int cni_rule_del(cni_nl *nl, const cni_rule_spec *r, cni_error **err);
CNI_EXPORT int cni_rule_list(cni_nl *nl, int family, cni_rule_spec **out, size_t *count,
			     cni_error **err);

/** Random veth name "veth" + 8 hex digits into buf (>= CNI_IFNAMSIZ). */
CNI_EXPORT int cni_random_veth_name(char *buf, size_t len, cni_error **err);

CNI_END_DECL

#endif
