/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interface links for plugin authors: creating macvlan, ipvlan, 802.1Q, dummy and tap
 * links, and reading back their kind-specific attributes. One request per function, as
 * in netlink.c. The RTM_NEWLINK requests are built here rather than through libnl's
 * per-kind objects, so every attribute the kernel knows (the macvlan broadcast queue
 * length, which libnl 3.7 lacks) is available and one builder serves every kind.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <netlink/route/link/ipvlan.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/vlan.h>
#include <stdio.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "netlink-internal.h"
#include "error-internal.h"

#ifndef IFLA_MACVLAN_BC_QUEUE_LEN
#define IFLA_MACVLAN_BC_QUEUE_LEN 7
#endif

static const struct {
	cni_macvlan_mode mode;
	const char *name;
} macvlan_modes[] = {
    {CNI_MACVLAN_BRIDGE, "bridge"},
    {CNI_MACVLAN_PRIVATE, "private"},
    {CNI_MACVLAN_VEPA, "vepa"},
    {CNI_MACVLAN_PASSTHRU, "passthru"},
};

static const char *const ipvlan_modes[] = {"l2", "l3", "l3s"};

int cni_macvlan_mode_parse(const char *s, cni_macvlan_mode *out, cni_error **err)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(macvlan_modes); i++)
		if (strcmp(s, macvlan_modes[i].name) == 0) {
			*out = macvlan_modes[i].mode;
			return 0;
		}
	return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "unknown macvlan mode: %s",
			     strempty(s));
}

const char *cni_macvlan_mode_name(cni_macvlan_mode mode)
{
	for (size_t i = 0; i < ARRAY_SIZE(macvlan_modes); i++)
		if (macvlan_modes[i].mode == mode)
			return macvlan_modes[i].name;
	return "unknown";
}

int cni_ipvlan_mode_parse(const char *s, cni_ipvlan_mode *out, cni_error **err)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(ipvlan_modes); i++)
		if (strcmp(s, ipvlan_modes[i]) == 0) {
			*out = (cni_ipvlan_mode)i;
			return 0;
		}
	return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "unknown ipvlan mode: %s",
			     strempty(s));
}

const char *cni_ipvlan_mode_name(cni_ipvlan_mode mode)
{
	return (unsigned int)mode < ARRAY_SIZE(ipvlan_modes) ? ipvlan_modes[mode] : "unknown";
}

/* One kind's IFLA_INFO_DATA, written into the open nest. */
typedef int (*info_data_fn)(struct nl_msg *m, const void *arg);

/*
 * RTM_NEWLINK for a new link of kind, as spec says; data (may be NULL) adds the kind's
 * attributes. what names the link in errors ("macvlan", "vlan 100"...).
 */
static int link_create(cni_nl *nl, const cni_link_spec *s, const char *kind, bool need_parent,
		       info_data_fn data, const void *arg, const char *what, cni_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nl_addr *mac = NULL;
	char parent[IFNAMSIZ + 8] = "";
	int r;

	if (!nl || !s || s->version != CNI_LINK_SPEC_VERSION)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid link spec for %s",
				     what);
	if ((r = cni_nl_valid_ifname(s->name, err)) < 0)
		return r;
	if (need_parent != (s->parent > 0))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     need_parent ? "%s '%s' needs a parent link"
						 : "%s '%s' takes no parent link",
				     what, s->name);
	if (s->mtu && (s->mtu < 68 || s->mtu > 65535))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid MTU %u for %s '%s'",
				     s->mtu, what, s->name);
	if (!isempty(s->mac) && (r = cni_nl_parse_mac(s->mac, &mac, err)) < 0)
		return r;
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *li, *d;
	if (!m) {
		nl_addr_put(mac);
		return cni_error_oom(err);
	}
	r = nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, IFLA_IFNAME, s->name) < 0 ||
	    (s->mtu && nla_put_u32(m, IFLA_MTU, s->mtu) < 0) ||
	    (s->txqlen >= 0 && nla_put_u32(m, IFLA_TXQLEN, (uint32_t)s->txqlen) < 0) ||
	    (mac && nla_put_addr(m, IFLA_ADDRESS, mac) < 0) ||
	    (s->parent && nla_put_u32(m, IFLA_LINK, (uint32_t)s->parent) < 0) ||
	    (s->ns && nla_put_u32(m, IFLA_NET_NS_FD, (uint32_t)cni_netns_fd(s->ns)) < 0) ||
	    !(li = nla_nest_start(m, IFLA_LINKINFO)) ||
	    nla_put_string(m, IFLA_INFO_KIND, kind) < 0;
	if (!r && data) {
		r = !(d = nla_nest_start(m, IFLA_INFO_DATA)) || data(m, arg) < 0;
		if (!r)
			nla_nest_end(m, d);
	}
	nl_addr_put(mac);
	if (r) {
		nlmsg_free(m);
		return cni_error_oom(err);
	}
	nla_nest_end(m, li);
	r = nl_send_sync(nl->sk, m); /* frees m */
	if (r < 0) {
		if (s->parent)
			cni_nl_ifname(nl, s->parent, parent, sizeof(parent));
		return cni_nl_fail(nl, err, r, "failed to create %s '%s'%s%s%s", what, s->name,
			       *parent ? " on '" : "", parent, *parent ? "'" : "");
	}
	return 0;
}

struct macvlan_arg {
	cni_macvlan_mode mode;
	unsigned int bcqueuelen;
};

static int macvlan_data(struct nl_msg *m, const void *arg)
{
	const struct macvlan_arg *a = arg;
	if (nla_put_u32(m, IFLA_MACVLAN_MODE, (uint32_t)a->mode) < 0)
		return -1;
	return a->bcqueuelen ? nla_put_u32(m, IFLA_MACVLAN_BC_QUEUE_LEN, a->bcqueuelen) : 0;
}

int cni_macvlan_add(cni_nl *nl, const cni_link_spec *s, cni_macvlan_mode mode,
		    unsigned int bcqueuelen, cni_error **err)
{
	struct macvlan_arg a = {mode, bcqueuelen};
	if (strcmp(cni_macvlan_mode_name(mode), "unknown") == 0)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "unknown macvlan mode %d",
				     (int)mode);
	return link_create(nl, s, "macvlan", true, macvlan_data, &a, "macvlan", err);
}

static int ipvlan_data(struct nl_msg *m, const void *arg)
{
	return nla_put_u16(m, IFLA_IPVLAN_MODE, (uint16_t)*(const cni_ipvlan_mode *)arg);
}

int cni_ipvlan_add(cni_nl *nl, const cni_link_spec *s, cni_ipvlan_mode mode, cni_error **err)
{
	if ((unsigned int)mode >= ARRAY_SIZE(ipvlan_modes))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "unknown ipvlan mode %d",
				     (int)mode);
	if (s && !isempty(s->mac))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "ipvlan '%s' cannot have its own MAC address", s->name);
	return link_create(nl, s, "ipvlan", true, ipvlan_data, &mode, "ipvlan", err);
}

static int vlan_data(struct nl_msg *m, const void *arg)
{
	return nla_put_u16(m, IFLA_VLAN_ID, (uint16_t)*(const unsigned int *)arg);
}

int cni_vlan_add(cni_nl *nl, const cni_link_spec *s, unsigned int vlan_id, cni_error **err)
{
	char what[24];
	if (vlan_id > 4094)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "invalid VLAN id %u: must be between 0 and 4094", vlan_id);
	snprintf(what, sizeof(what), "vlan %u", vlan_id);
	return link_create(nl, s, "vlan", true, vlan_data, &vlan_id, what, err);
}

int cni_dummy_add(cni_nl *nl, const cni_link_spec *s, cni_error **err)
{
	return link_create(nl, s, "dummy", false, NULL, NULL, "dummy link", err);
}

/* ---- tap (/dev/net/tun, not netlink: the kernel makes tun devices only through it) ---- */

struct tap_ctx {
	const char *name;
	unsigned int flags;
	long owner, group;
};

static int tap_here(void *ud, cni_error **err)
{
	const struct tap_ctx *c = ud;
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				     "failed to create tap '%s': cannot open /dev/net/tun: %s",
				     c->name, strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (c->flags & CNI_TAP_MULTI_QUEUE)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (c->flags & CNI_TAP_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	const char *step = "TUNSETIFF";
	/* the tun driver attaches to an existing device of that name: refuse it as EEXIST */
	if (if_nametoindex(c->name) != 0) {
		errno = EEXIST;
		goto fail;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	step = "TUNSETOWNER";
	if (c->owner >= 0 && ioctl(fd, TUNSETOWNER, (unsigned long)c->owner) < 0)
		goto undo;
	step = "TUNSETGROUP";
	if (c->group >= 0 && ioctl(fd, TUNSETGROUP, (unsigned long)c->group) < 0)
		goto undo;
	step = "TUNSETPERSIST";
	if (ioctl(fd, TUNSETPERSIST, 1L) < 0)
		goto undo;
	close(fd);
	return 0;
undo:
	/* not persistent yet: closing the descriptor removes the device */
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to create tap '%s' (%s): %s",
			     c->name, step, strerror(e));
}

int cni_tap_add(const cni_netns *ns, const char *name, unsigned int flags, long owner,
		long group, cni_error **err)
{
	struct tap_ctx c = {name, flags, owner, group};
	int r = cni_nl_valid_ifname(name, err);
	if (r < 0)
		return r;
	if (flags & ~(unsigned int)(CNI_TAP_MULTI_QUEUE | CNI_TAP_VNET_HDR))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "unknown tap flags 0x%x",
				     flags);
	if (owner > (long)UINT32_MAX - 1 || group > (long)UINT32_MAX - 1)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "invalid tap owner %ld or group %ld", owner, group);
	return ns ? cni_netns_run(ns, tap_here, &c, err) : tap_here(&c, err);
}

/* ---- reading ---- */

int cni_link_get_details(cni_nl *nl, int ifindex, cni_link_details *out, cni_error **err)
{
	struct rtnl_link *l = NULL;
	cni_link_details d = CNI_LINK_DETAILS_INIT;
	int32_t nsid = -1;

	if (ifindex <= 0)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid ifindex %d", ifindex);
	int r = rtnl_link_get_kernel(nl->sk, ifindex, NULL, &l);
	if (r < 0 || !l) {
		if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND) {
			errno = ENODEV;
			return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "link %d not found",
					     ifindex);
		}
		return cni_nl_fail(nl, err, r < 0 ? r : -NLE_FAILURE,
			       "failed to look up link %d", ifindex);
	}
	const char *kind = rtnl_link_get_type(l);
	snprintf(d.kind, sizeof(d.kind), "%s", strempty(kind));
	d.parent = rtnl_link_get_link(l);
	if (rtnl_link_get_link_netnsid(l, &nsid) == 0)
		d.parent_netnsid = nsid;
	if (rtnl_link_is_macvlan(l))
		d.macvlan_mode = (int)rtnl_link_macvlan_get_mode(l);
	if (rtnl_link_is_vlan(l))
		d.vlan_id = rtnl_link_vlan_get_id(l);
	uint16_t mode;
	if (rtnl_link_is_ipvlan(l) && rtnl_link_ipvlan_get_mode(l, &mode) == 0)
		d.ipvlan_mode = mode;
	rtnl_link_put(l);
	*out = d;
	return 0;
}

int cni_link_get_by_mac(cni_nl *nl, const char *mac, cni_link_info *out, cni_error **err)
{
	cni_link_info *v = NULL;
	size_t n = 0;
	struct nl_addr *a = NULL;
	int r = isempty(mac) ? cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "empty MAC address")
			     : cni_nl_parse_mac(mac, &a, err);
	if (r < 0)
		return r;
	nl_addr_put(a); /* only checked */
	if ((r = cni_link_list(nl, &v, &n, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].mac, mac) == 0) {
			*out = v[i];
			free(v);
			return 0;
		}
	free(v);
	errno = ENODEV;
	return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "no link with MAC address %s", mac);
}
