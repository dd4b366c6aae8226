/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bridge VLANs over AF_BRIDGE rtnetlink (what `bridge vlan` does): vlan_filtering on the
 * bridge (IFLA_BR_VLAN_FILTERING), VLAN entries on a port (IFLA_BRIDGE_VLAN_INFO in
 * IFLA_AF_SPEC, RTM_SETLINK to add, RTM_DELLINK to remove, a RTEXT_FILTER_BRVLAN dump to
 * list). Kernels built without CONFIG_BRIDGE_VLAN_FILTERING refuse these with
 * EOPNOTSUPP, which reaches the caller as the kernel's words.
 */
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include "bridge.h"
#include "plugin-nl.h"

/* Send m (freed) and wait for the kernel's answer; a libnl error code or 0. */
static int send_sync(struct nl_msg *m, cni_error **err)
{
	struct nl_sock *sk = NULL;
	int r = pc_nl_open(&sk, CNI_ERR_SYSTEM, err);
	if (r < 0) {
		nlmsg_free(m);
		return r;
	}
	r = nl_send_sync(sk, m);
	nl_socket_free(sk);
	return r < 0 ? r : 0;
}

int br_vlan_filtering_set(int bridge_ifindex, const char *bridge, bool on, cni_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = bridge_ifindex};
	struct nlattr *li, *data;
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
	if (!m)
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(li = nla_nest_start(m, IFLA_LINKINFO)) ||
	    nla_put_string(m, IFLA_INFO_KIND, "bridge") ||
	    !(data = nla_nest_start(m, IFLA_INFO_DATA)) ||
	    nla_put_u8(m, IFLA_BR_VLAN_FILTERING, on ? 1 : 0) < 0) {
		nlmsg_free(m);
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	}
	nla_nest_end(m, data);
	nla_nest_end(m, li);
	cni_error *local = NULL;
	int r = send_sync(m, &local);
	if (local) {
		*err = local;
		return r;
	}
	if (r < 0)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				     "failed to set vlan_filtering on bridge \"%s\": %s", bridge,
				     nl_geterror(r));
	return 0;
}

static int vlan_op(int cmd, int ifindex, const char *ifname, int vid, uint16_t flags,
		   cni_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = ifindex};
	struct bridge_vlan_info info = {.flags = flags, .vid = (uint16_t)vid};
	struct nlattr *spec;
	struct nl_msg *m = nlmsg_alloc_simple(cmd, NLM_F_REQUEST | NLM_F_ACK);
	if (!m)
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(spec = nla_nest_start(m, IFLA_AF_SPEC)) ||
	    nla_put_u16(m, IFLA_BRIDGE_FLAGS, BRIDGE_FLAGS_MASTER) < 0 ||
	    nla_put(m, IFLA_BRIDGE_VLAN_INFO, sizeof(info), &info) < 0) {
		nlmsg_free(m);
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	}
	nla_nest_end(m, spec);
	cni_error *local = NULL;
	int r = send_sync(m, &local);
	if (local) {
		*err = local;
		return r;
	}
	if (r < 0)
		return cni_error_set(
		    err, CNI_ERR_SYSTEM, NULL, "failed to %s VLAN %d on \"%s\": %s",
		    cmd == RTM_SETLINK ? "add" : "remove", vid, ifname, nl_geterror(r));
	return 0;
}

int br_vlan_add(int ifindex, const char *ifname, int vid, bool pvid, bool untagged, cni_error **err)
{
	uint16_t flags =
	    (pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0);
	return vlan_op(RTM_SETLINK, ifindex, ifname, vid, flags, err);
}

struct vlan_dump {
	int ifindex;
	int vids[BR_VLAN_MAX + 1];
	size_t n;
};

static int on_dump(struct nl_msg *m, void *arg)
{
	struct vlan_dump *d = arg;
	struct nlmsghdr *h = nlmsg_hdr(m);
	struct ifinfomsg *ifi = nlmsg_data(h);
	struct nlattr *spec, *a;
	int rem;
	if (h->nlmsg_type != RTM_NEWLINK || ifi->ifi_index != d->ifindex)
		return NL_OK;
	spec = nlmsg_find_attr(h, sizeof(*ifi), IFLA_AF_SPEC);
	if (!spec)
		return NL_OK;
	nla_for_each_nested(a, spec, rem)
	{
		if (nla_type(a) != IFLA_BRIDGE_VLAN_INFO ||
		    nla_len(a) < (int)sizeof(struct bridge_vlan_info))
			continue;
		const struct bridge_vlan_info *info = nla_data(a);
		if (d->n <= BR_VLAN_MAX)
			d->vids[d->n++] = info->vid;
	}
	return NL_OK;
}

int br_vlan_remove_all(int ifindex, const char *ifname, cni_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE};
	struct nl_sock *sk = NULL;
	struct vlan_dump *d = calloc(1, sizeof(*d));
	int r;
	if (!d)
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	d->ifindex = ifindex;
	if ((r = pc_nl_open(&sk, CNI_ERR_SYSTEM, err)) < 0)
		goto out;
	struct nl_msg *m = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
	if (!m || nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(m, IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN) < 0) {
		nlmsg_free(m);
		r = cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_dump, d);
	r = nl_send_auto(sk, m);
	nlmsg_free(m);
	if (r >= 0)
		r = nl_recvmsgs_default(sk);
	if (r < 0) {
		r = cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				  "failed to list the VLANs of \"%s\": %s", ifname, nl_geterror(r));
		goto out;
	}
	r = 0;
	for (size_t i = 0; i < d->n && r == 0; i++)
		r = vlan_op(RTM_DELLINK, ifindex, ifname, d->vids[i], 0, err);
out:
	nl_socket_free(sk);
	free(d);
	return r;
}
