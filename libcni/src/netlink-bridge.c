/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bridge VLANs over AF_BRIDGE rtnetlink (what `bridge vlan` does): vlan_filtering on the
 * bridge (IFLA_BR_VLAN_FILTERING), VLAN entries on a port (IFLA_BRIDGE_VLAN_INFO in
 * IFLA_AF_SPEC; RTM_SETLINK adds, RTM_DELLINK removes, a RTEXT_FILTER_BRVLAN dump lists).
 */
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <sys/socket.h>

#include "netlink-internal.h"
#include "error-internal.h"

#define VLAN_MAX 4094

int cni_bridge_set_vlan_filtering(cni_nl *nl, int bridge_ifindex, bool on, cni_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = bridge_ifindex};
	struct nlattr *li, *data;
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	if (!m)
		return cni_error_oom(err);
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(li = nla_nest_start(m, IFLA_LINKINFO)) ||
	    nla_put_string(m, IFLA_INFO_KIND, "bridge") < 0 ||
	    !(data = nla_nest_start(m, IFLA_INFO_DATA)) ||
	    nla_put_u8(m, IFLA_BR_VLAN_FILTERING, on ? 1 : 0) < 0 || nla_nest_end(m, data) < 0 ||
	    nla_nest_end(m, li) < 0) {
		nlmsg_free(m);
		return cni_error_oom(err);
	}
	int r = cni_nl_talk(nl, m, NULL, NULL);
	if (r < 0) {
		char name[IFNAMSIZ + 8];
		cni_nl_ifname(nl, bridge_ifindex, name, sizeof(name));
		return cni_nl_fail_errno(err, r, "failed to set vlan_filtering on bridge \"%s\"",
					 name);
	}
	return 0;
}

static int vlan_op(cni_nl *nl, int cmd, int ifindex, int vid, uint16_t flags, cni_error **err)
{
	if (vid < 1 || vid > VLAN_MAX)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "invalid VLAN id %d: must be 1 to %d", vid, VLAN_MAX);
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = ifindex};
	struct bridge_vlan_info info = {.flags = flags, .vid = (uint16_t)vid};
	struct nlattr *spec;
	struct nl_msg *m = nlmsg_alloc_simple(cmd, 0);
	if (!m)
		return cni_error_oom(err);
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(spec = nla_nest_start(m, IFLA_AF_SPEC)) ||
	    nla_put_u16(m, IFLA_BRIDGE_FLAGS, BRIDGE_FLAGS_MASTER) < 0 ||
	    nla_put(m, IFLA_BRIDGE_VLAN_INFO, sizeof(info), &info) < 0 ||
	    nla_nest_end(m, spec) < 0) {
		nlmsg_free(m);
		return cni_error_oom(err);
	}
	int r = cni_nl_talk(nl, m, NULL, NULL);
	if (r < 0) {
		char name[IFNAMSIZ + 8];
		cni_nl_ifname(nl, ifindex, name, sizeof(name));
		return cni_nl_fail_errno(err, r, "failed to %s VLAN %d on \"%s\"",
					 cmd == RTM_SETLINK ? "add" : "remove", vid, name);
	}
	return 0;
}

int cni_bridge_vlan_add(cni_nl *nl, int ifindex, int vid, unsigned int flags, cni_error **err)
{
	uint16_t f = ((flags & CNI_BRIDGE_VLAN_PVID) ? BRIDGE_VLAN_INFO_PVID : 0) |
		     ((flags & CNI_BRIDGE_VLAN_UNTAGGED) ? BRIDGE_VLAN_INFO_UNTAGGED : 0);
	return vlan_op(nl, RTM_SETLINK, ifindex, vid, f, err);
}

int cni_bridge_vlan_del(cni_nl *nl, int ifindex, int vid, cni_error **err)
{
	return vlan_op(nl, RTM_DELLINK, ifindex, vid, 0, err);
}

struct vlan_dump {
	int ifindex;
	int *vids;
	size_t n;
};

static int on_vlans(struct nlmsghdr *h, void *arg)
{
	struct vlan_dump *d = arg;
	struct ifinfomsg *ifi = nlmsg_data(h);
	struct nlattr *spec, *a;
	int rem;
	if (h->nlmsg_type != RTM_NEWLINK || ifi->ifi_index != d->ifindex)
		return 0;
	spec = nlmsg_find_attr(h, sizeof(*ifi), IFLA_AF_SPEC);
	if (!spec)
		return 0;
	nla_for_each_nested(a, spec, rem)
	{
		if (nla_type(a) != IFLA_BRIDGE_VLAN_INFO ||
		    nla_len(a) < (int)sizeof(struct bridge_vlan_info))
			continue;
		const struct bridge_vlan_info *info = nla_data(a);
		if (d->n < VLAN_MAX + 1)
			d->vids[d->n++] = info->vid;
	}
	return 0;
}

int cni_bridge_vlan_list(cni_nl *nl, int ifindex, int **out, size_t *count, cni_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE};
	struct vlan_dump d = {ifindex, calloc(VLAN_MAX + 1, sizeof(int)), 0};
	if (!d.vids)
		return cni_error_oom(err);
	struct nl_msg *m = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
	if (!m || nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(m, IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN) < 0) {
		nlmsg_free(m);
		free(d.vids);
		return cni_error_oom(err);
	}
	int r = cni_nl_talk(nl, m, on_vlans, &d);
	if (r < 0) {
		char name[IFNAMSIZ + 8];
		free(d.vids);
		cni_nl_ifname(nl, ifindex, name, sizeof(name));
		return cni_nl_fail_errno(err, r, "failed to list the VLANs of \"%s\"", name);
	}
	*out = d.vids;
	*count = d.n;
	return 0;
}
