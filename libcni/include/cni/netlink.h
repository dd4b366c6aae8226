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

#include <stdint.h>

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

/* ---- since 0.2: what meta plugins need beyond links, addresses and routes ---- */

/** The whole alias (ifalias) of ifindex; *out new ("" when none). cni_link_info's alias
 * is cut at 63 bytes. */
CNI_EXPORT int cni_link_get_alias(cni_nl *nl, int ifindex, char **out, cni_error **err);

/**
 * Routes kept whole, as the kernel reported them (protocol, metrics, flags and all), so
 * that they can be added again elsewhere: into another table (sbr, vrf), or back where
 * they were when an operation is undone. Cache clones (RTM_F_CLONED) are left out.
 */
typedef struct cni_route_snapshot cni_route_snapshot;
#define CNI_ROUTE_TABLE_ANY 0xffffffffu
/** The routes of family (0 = both) in table (0 = main, CNI_ROUTE_TABLE_ANY = every
 * table); ifindex not 0 keeps only single-path routes leaving through ifindex. */
CNI_EXPORT int cni_route_snapshot_take(cni_nl *nl, int family, unsigned int table, int ifindex,
				       cni_route_snapshot **out, cni_error **err);
CNI_EXPORT size_t cni_route_snapshot_count(const cni_route_snapshot *s);
/** The i-th route as a spec; out->version must be set (CNI_ROUTE_SPEC_INIT).
 * -CNI_ERR_INVALID_ARG for an i out of range. */
CNI_EXPORT int cni_route_snapshot_get(const cni_route_snapshot *s, size_t i,
				      cni_route_spec *out);
#define CNI_ROUTE_F_REPLACE 0x1 /**< replace a route with the same key (NLM_F_REPLACE) */
#define CNI_ROUTE_F_EXCL    0x2 /**< fail with EEXIST when it is there (NLM_F_EXCL) */
/** Add the i-th route again, into table (0 = the table it came from), with the flags the
 * kernel had set on it cleared. */
CNI_EXPORT int cni_route_snapshot_add(cni_nl *nl, const cni_route_snapshot *s, size_t i,
				      unsigned int table, unsigned int flags, cni_error **err);
/** Delete the i-th route from where it was. */
CNI_EXPORT int cni_route_snapshot_del(cni_nl *nl, const cni_route_snapshot *s, size_t i,
				      cni_error **err);
CNI_EXPORT void cni_route_snapshot_free(cni_route_snapshot *s);

/** Create a VRF device bound to table, up. A kernel without VRF support fails with
 * EOPNOTSUPP; an existing name with EEXIST (both -CNI_ERR_SYSTEM, see cni_error_errno()). */
CNI_EXPORT int cni_vrf_add(cni_nl *nl, const char *name, unsigned int table, cni_error **err);
/** The table of the VRF device ifindex; -CNI_ERR_INVALID_ARG when it is not a VRF. */
CNI_EXPORT int cni_vrf_get_table(cni_nl *nl, int ifindex, unsigned int *table,
				 cni_error **err);

/* Traffic control (what `tc` does), one request per kernel operation. */

/** Create an ifb device (the target of a redirect), up, with mtu and txqueuelen 0. */
CNI_EXPORT int cni_ifb_add(cni_nl *nl, const char *name, unsigned int mtu, cni_error **err);

/** A token bucket as TCA_TBF_PARMS carries it: the kernel's units. */
typedef struct cni_tbf {
	uint64_t rate;	 /**< bytes per second */
	uint32_t buffer; /**< psched ticks */
	uint32_t limit;	 /**< bytes */
} cni_tbf;
/** Add a tbf as the root qdisc (handle 1:) of ifindex, sent as given: no rate table, no
 * link layer, so the kernel's own defaults apply (as `tc` from the Go netlink does). */
CNI_EXPORT int cni_qdisc_tbf_add(cni_nl *nl, int ifindex, const cni_tbf *tbf, cni_error **err);
/** The root qdisc of ifindex when it is a tbf (*found true), its parameters in *out. */
CNI_EXPORT int cni_qdisc_tbf_get(cni_nl *nl, int ifindex, bool *found, cni_tbf *out,
				 cni_error **err);
/** Add the ingress qdisc (ffff:) of ifindex. */
CNI_EXPORT int cni_qdisc_ingress_add(cni_nl *nl, int ifindex, cni_error **err);
/** Delete the root qdisc of ifindex, or (ingress) its ingress qdisc. */
CNI_EXPORT int cni_qdisc_del(cni_nl *nl, int ifindex, bool ingress, cni_error **err);
/** On the ingress qdisc of ifindex, a u32 filter matching every packet and redirecting it
 * to the egress of to_ifindex (mirred), as the reference's bandwidth plugin sets it. */
CNI_EXPORT int cni_filter_redirect_add(cni_nl *nl, int ifindex, int to_ifindex,
				       cni_error **err);

/* Bridge VLANs (what `bridge vlan` does). Kernels without CONFIG_BRIDGE_VLAN_FILTERING
 * refuse them with EOPNOTSUPP. */

/** Turn VLAN filtering of bridge bridge_ifindex on or off. */
CNI_EXPORT int cni_bridge_set_vlan_filtering(cni_nl *nl, int bridge_ifindex, bool on,
					     cni_error **err);
#define CNI_BRIDGE_VLAN_PVID	 0x1 /**< untagged frames coming in get this VLAN */
#define CNI_BRIDGE_VLAN_UNTAGGED 0x2 /**< frames of this VLAN leave untagged */
/** Add VLAN vid (1-4094) to bridge port ifindex, flags CNI_BRIDGE_VLAN_*. */
CNI_EXPORT int cni_bridge_vlan_add(cni_nl *nl, int ifindex, int vid, unsigned int flags,
				   cni_error **err);
CNI_EXPORT int cni_bridge_vlan_del(cni_nl *nl, int ifindex, int vid, cni_error **err);
/** The VLAN ids of bridge port ifindex; *out new (cni_free()). */
CNI_EXPORT int cni_bridge_vlan_list(cni_nl *nl, int ifindex, int **out, size_t *count,
				    cni_error **err);

/** Random veth name "veth" + 8 hex digits into buf (>= CNI_IFNAMSIZ). */
CNI_EXPORT int cni_random_veth_name(char *buf, size_t len, cni_error **err);

/* ======================================================================================
 * Interface links for plugin authors (since LIBCNI_C_0.2, src/netlink-link.c)
 *
 * What an interface plugin (macvlan, ipvlan, vlan, dummy, tap, host-device) needs from
 * the kernel, one request each: create a link of a kind, directly in the container's
 * namespace when asked, and read back the kind-specific attributes a CHECK compares.
 * Renaming (cni_link_set_name), moving (cni_link_set_netns), the alias
 * (cni_link_set_alias / cni_link_info.alias) and deleting (cni_link_del) are above.
 *
 * The usual pattern of a plugin: create under a temporary name (cni_random_veth_name) in
 * the container's namespace, then rename it to CNI_IFNAME there, so a name already taken
 * in either namespace never makes a half-done link. Errors name the link and its parent,
 * e.g. `failed to create macvlan 'veth1a2b3c4d' on 'eth0': Numerical result out of range`.
 * ====================================================================================== */

/** Where and how to create a link. name is required; the rest may stay as _INIT has it. */
#define CNI_LINK_SPEC_VERSION 1
typedef struct cni_link_spec {
	unsigned int version;
	const char *name;     /**< the new link's name (1-15 bytes) */
	int parent;           /**< lower device's ifindex in nl's namespace; 0 = none */
	const cni_netns *ns;  /**< create it directly in this namespace; NULL = nl's own */
	unsigned int mtu;     /**< 0 = the kernel's choice (a parent's MTU for stacked links) */
	const char *mac;      /**< "aa:bb:cc:dd:ee:ff"; NULL or "" = the kernel's choice */
	int txqlen;           /**< -1 = the kernel's default; the reference's links have 0 */
} cni_link_spec;
#define CNI_LINK_SPEC_INIT {CNI_LINK_SPEC_VERSION, NULL, 0, NULL, 0, NULL, -1}

/** macvlan modes, the kernel's MACVLAN_MODE_* values. */
typedef enum cni_macvlan_mode {
	CNI_MACVLAN_PRIVATE = 1,
	CNI_MACVLAN_VEPA = 2,
	CNI_MACVLAN_BRIDGE = 4,
	CNI_MACVLAN_PASSTHRU = 8,
} cni_macvlan_mode;

/** ipvlan modes, the kernel's IPVLAN_MODE_* values. */
typedef enum cni_ipvlan_mode {
	CNI_IPVLAN_L2 = 0,
	CNI_IPVLAN_L3 = 1,
	CNI_IPVLAN_L3S = 2,
} cni_ipvlan_mode;

/** "bridge", "private", "vepa", "passthru" into *out; anything else (NULL too) is
 * -CNI_ERR_INVALID_ARG `unknown macvlan mode: x`. */
CNI_EXPORT int cni_macvlan_mode_parse(const char *s, cni_macvlan_mode *out, cni_error **err);
/** The mode's name ("bridge"...); static string, "unknown" for another value. */
CNI_EXPORT const char *cni_macvlan_mode_name(cni_macvlan_mode mode);
/** "l2", "l3", "l3s" into *out; else -CNI_ERR_INVALID_ARG `unknown ipvlan mode: x`. */
CNI_EXPORT int cni_ipvlan_mode_parse(const char *s, cni_ipvlan_mode *out, cni_error **err);
CNI_EXPORT const char *cni_ipvlan_mode_name(cni_ipvlan_mode mode);

/**
 * Create a macvlan on s->parent (required). bcqueuelen: the broadcast queue length
 * (IFLA_MACVLAN_BC_QUEUE_LEN, kernels from 5.11), 0 = the kernel's default. The link is
 * created down. An existing name: -CNI_ERR_SYSTEM with EEXIST's text (errno EEXIST).
 */
CNI_EXPORT int cni_macvlan_add(cni_nl *nl, const cni_link_spec *s, cni_macvlan_mode mode,
			       unsigned int bcqueuelen, cni_error **err);
/** Create an ipvlan on s->parent (required); s->mac must be unset (ipvlan links share
 * their parent's). Needs CONFIG_IPVLAN: without it -CNI_ERR_SYSTEM, errno EOPNOTSUPP. */
CNI_EXPORT int cni_ipvlan_add(cni_nl *nl, const cni_link_spec *s, cni_ipvlan_mode mode,
			      cni_error **err);
/** Create an 802.1Q link with VLAN id vlan_id (0-4094) on s->parent (required). */
CNI_EXPORT int cni_vlan_add(cni_nl *nl, const cni_link_spec *s, unsigned int vlan_id,
			    cni_error **err);
/** Create a dummy link (s->parent must be 0). Needs CONFIG_DUMMY. */
CNI_EXPORT int cni_dummy_add(cni_nl *nl, const cni_link_spec *s, cni_error **err);

#define CNI_TAP_MULTI_QUEUE 0x1 /**< IFF_MULTI_QUEUE */
#define CNI_TAP_VNET_HDR    0x2 /**< IFF_VNET_HDR */
/**
 * Create a persistent tap device named name in ns (NULL: the calling thread's namespace)
 * through /dev/net/tun, with the flags above; owner and group (-1 = none) may use it
 * without CAP_NET_ADMIN. The device is created down with the kernel's MTU and a random
 * MAC: set them with cni_link_set_mtu() / cni_link_set_mac().
 */
CNI_EXPORT int cni_tap_add(const cni_netns *ns, const char *name, unsigned int flags,
			   long owner, long group, cni_error **err);

/** Kind-specific attributes of a link, for CHECK. Fields of other kinds stay -1. */
#define CNI_LINK_DETAILS_VERSION 1
typedef struct cni_link_details {
	unsigned int version;
	char kind[32];    /**< as cni_link_info.kind */
	int parent;       /**< IFLA_LINK (the lower device's ifindex), 0 = none */
	int parent_netnsid; /**< namespace id of the parent as seen from nl's, -1 = same */
	int macvlan_mode; /**< cni_macvlan_mode of a macvlan */
	int ipvlan_mode;  /**< cni_ipvlan_mode of an ipvlan */
	int vlan_id;      /**< VLAN id of an 802.1Q link */
} cni_link_details;
#define CNI_LINK_DETAILS_INIT {CNI_LINK_DETAILS_VERSION, {0}, 0, -1, -1, -1, -1}
/** Read them; missing link: -CNI_ERR_NOT_FOUND `link N not found`. */
CNI_EXPORT int cni_link_get_details(cni_nl *nl, int ifindex, cni_link_details *out,
				    cni_error **err);
/** The link with this MAC (case ignored); none: -CNI_ERR_NOT_FOUND naming the MAC. */
CNI_EXPORT int cni_link_get_by_mac(cni_nl *nl, const char *mac, cni_link_info *out,
				   cni_error **err);

CNI_END_DECL

#endif
