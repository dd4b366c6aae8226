/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traffic control: the ifb device, tbf and ingress qdiscs and the u32 redirect filter,
 * one request each.
 *
 * The messages are built attribute by attribute (libnl core) rather than through
 * libnl-route's tbf/u32/mirred objects, so that they carry exactly what is asked for:
 * libnl-route would add a rate table, fill in cell_log and linklayer and recompute the
 * buffer with its own rounding, and `tc qdisc show` would then differ from what the Go
 * reference's plugins make.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <netlink/attr.h>

#include "netlink-internal.h"
#include "error-internal.h"

#define HANDLE_ROOT_TBF 0x10000u    /* 1: */
#define HANDLE_INGRESS	0xffff0000u /* ffff: */

static struct nl_msg *tc_msg(int type, int flags, int ifindex, uint32_t handle, uint32_t parent,
			     uint32_t info)
{
	struct tcmsg tcm = {
	    .tcm_family = AF_UNSPEC,
	    .tcm_ifindex = ifindex,
	    .tcm_handle = handle,
	    .tcm_parent = parent,
	    .tcm_info = info,
	};
	struct nl_msg *m = nlmsg_alloc_simple(type, flags);
	if (m && nlmsg_append(m, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(m);
		m = NULL;
	}
	return m;
}

static int msg_oom(struct nl_msg *m, cni_error **err)
{
	nlmsg_free(m);
	return cni_error_oom(err);
}

/* Send m; on failure "<what> on '<ifname>': <reason>". */
static int tc_send(cni_nl *nl, struct nl_msg *m, int ifindex, const char *what, cni_error **err)
{
	int r = cni_nl_talk(nl, m, NULL, NULL);
	if (r < 0) {
		char name[IFNAMSIZ + 8];
		cni_nl_ifname(nl, ifindex, name, sizeof(name));
		return cni_nl_fail_errno(err, r, "%s on '%s'", what, name);
	}
	return 0;
}

int cni_ifb_add(cni_nl *nl, const char *name, unsigned int mtu, cni_error **err)
{
	struct ifinfomsg ifi = {
	    .ifi_family = AF_UNSPEC,
	    .ifi_flags = IFF_UP,
	    .ifi_change = IFF_UP,
	};
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *li;
	if (!m)
		return cni_error_oom(err);
	if (isempty(name) || strlen(name) >= IFNAMSIZ) {
		nlmsg_free(m);
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid interface name '%s'",
				     strempty(name));
	}
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, IFLA_IFNAME, name) < 0 ||
	    (mtu && nla_put_u32(m, IFLA_MTU, mtu) < 0) || nla_put_u32(m, IFLA_TXQLEN, 0) < 0 ||
	    !(li = nla_nest_start(m, IFLA_LINKINFO)) ||
	    nla_put_string(m, IFLA_INFO_KIND, "ifb") < 0 || nla_nest_end(m, li) < 0)
		return msg_oom(m, err);
	int r = cni_nl_talk(nl, m, NULL, NULL);
	if (r < 0)
		return cni_nl_fail_errno(err, r, "failed to add ifb '%s'", name);
	return 0;
}

int cni_qdisc_tbf_add(cni_nl *nl, int ifindex, const cni_tbf *tbf, cni_error **err)
{
	struct tc_tbf_qopt q;
	struct nlattr *opts;
	struct nl_msg *m =
	    tc_msg(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex, HANDLE_ROOT_TBF, TC_H_ROOT, 0);
	if (!m)
		return cni_error_oom(err);
	/* rates from 4 GiB/s on travel in TCA_TBF_RATE64 */
	memset(&q, 0, sizeof(q));
	q.rate.rate = (uint32_t)tbf->rate;
	q.limit = tbf->limit;
	q.buffer = tbf->buffer;
	if (nla_put_string(m, TCA_KIND, "tbf") < 0 || !(opts = nla_nest_start(m, TCA_OPTIONS)) ||
	    nla_put(m, TCA_TBF_PARMS, sizeof(q), &q) < 0 ||
	    (tbf->rate >= (1ULL << 32) && nla_put_u64(m, TCA_TBF_RATE64, tbf->rate) < 0) ||
	    nla_nest_end(m, opts) < 0)
		return msg_oom(m, err);
	return tc_send(nl, m, ifindex, "create qdisc", err);
}

int cni_qdisc_ingress_add(cni_nl *nl, int ifindex, cni_error **err)
{
	struct nlattr *opts;
	struct nl_msg *m = tc_msg(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex, HANDLE_INGRESS,
				  TC_H_INGRESS, 0);
	if (!m)
		return cni_error_oom(err);
	if (nla_put_string(m, TCA_KIND, "ingress") < 0 ||
	    !(opts = nla_nest_start(m, TCA_OPTIONS)) || nla_nest_end(m, opts) < 0)
		return msg_oom(m, err);
	return tc_send(nl, m, ifindex, "create ingress qdisc", err);
}

int cni_qdisc_del(cni_nl *nl, int ifindex, bool ingress, cni_error **err)
{
	struct nl_msg *m = ingress
			       ? tc_msg(RTM_DELQDISC, 0, ifindex, HANDLE_INGRESS, TC_H_INGRESS, 0)
			       : tc_msg(RTM_DELQDISC, 0, ifindex, HANDLE_ROOT_TBF, TC_H_ROOT, 0);
	if (!m)
		return cni_error_oom(err);
	return tc_send(nl, m, ifindex, ingress ? "delete ingress qdisc" : "delete qdisc", err);
}

static int put_mirred(struct nl_msg *m, int slot, int verdict, int to_ifindex)
{
	struct tc_mirred p;
	struct nlattr *a, *o;
	memset(&p, 0, sizeof(p));
	p.action = verdict;
	p.eaction = TCA_EGRESS_REDIR;
	p.ifindex = (uint32_t)to_ifindex;
	if (!(a = nla_nest_start(m, slot)) || nla_put_string(m, TCA_ACT_KIND, "mirred") < 0 ||
	    !(o = nla_nest_start(m, TCA_ACT_OPTIONS)) ||
	    nla_put(m, TCA_MIRRED_PARMS, sizeof(p), &p) < 0 || nla_nest_end(m, o) < 0 ||
	    nla_nest_end(m, a) < 0)
		return -1;
	return 0;
}

int cni_filter_redirect_add(cni_nl *nl, int ifindex, int to_ifindex, cni_error **err)
{
	/* one all-zero key: matches every packet; terminal, so the walk stops there */
	unsigned char sel[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
	struct tc_u32_sel s;
	struct nlattr *opts, *acts;
	memset(sel, 0, sizeof(sel));
	memset(&s, 0, sizeof(s));
	s.flags = TC_U32_TERMINAL;
	s.nkeys = 1;
	memcpy(sel, &s, sizeof(s));

	/* prio 1, every protocol, on the ingress qdisc ffff: */
	struct nl_msg *m = tc_msg(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex, 0,
				  HANDLE_INGRESS, (1u << 16) | htons(ETH_P_ALL));
	if (!m)
		return cni_error_oom(err);
	/*
	 * Two redirects, the first stealing the packet and a second ("pass") that never runs:
	 * the filter the Go reference installs (its netlink library puts a redirect of its own
	 * before the one asked for). Same rules, same `tc filter show`.
	 */
	if (nla_put_string(m, TCA_KIND, "u32") < 0 || !(opts = nla_nest_start(m, TCA_OPTIONS)) ||
	    nla_put(m, TCA_U32_SEL, sizeof(sel), sel) < 0 ||
	    nla_put_u32(m, TCA_U32_CLASSID, 0x10001) < 0 ||
	    !(acts = nla_nest_start(m, TCA_U32_ACT)) ||
	    put_mirred(m, 1, TC_ACT_STOLEN, to_ifindex) < 0 ||
	    put_mirred(m, 2, TC_ACT_OK, to_ifindex) < 0 || nla_nest_end(m, acts) < 0 ||
	    nla_nest_end(m, opts) < 0)
		return msg_oom(m, err);
	return tc_send(nl, m, ifindex, "add filter", err);
}

struct tbf_dump {
	int ifindex;
	bool found;
	cni_tbf tbf;
};

static int on_qdisc(struct nlmsghdr *h, void *arg)
{
	struct tbf_dump *d = arg;
	struct nlattr *tb[TCA_MAX + 1], *opt[TCA_TBF_MAX + 1];
	if (h->nlmsg_type != RTM_NEWQDISC ||
	    nlmsg_parse(h, sizeof(struct tcmsg), tb, TCA_MAX, NULL) < 0)
		return 0;
	struct tcmsg *tcm = nlmsg_data(h);
	if (tcm->tcm_ifindex != d->ifindex || tcm->tcm_parent != TC_H_ROOT || !tb[TCA_KIND] ||
	    strcmp(nla_get_string(tb[TCA_KIND]), "tbf") != 0 || !tb[TCA_OPTIONS])
		return 0;
	if (nla_parse_nested(opt, TCA_TBF_MAX, tb[TCA_OPTIONS], NULL) < 0 || !opt[TCA_TBF_PARMS] ||
	    nla_len(opt[TCA_TBF_PARMS]) < (int)sizeof(struct tc_tbf_qopt))
		return -EBADMSG;
	struct tc_tbf_qopt q;
	memcpy(&q, nla_data(opt[TCA_TBF_PARMS]), sizeof(q));
	d->found = true;
	d->tbf.rate = q.rate.rate;
	d->tbf.buffer = q.buffer;
	d->tbf.limit = q.limit;
	if (opt[TCA_TBF_RATE64] && nla_len(opt[TCA_TBF_RATE64]) >= (int)sizeof(uint64_t))
		d->tbf.rate = nla_get_u64(opt[TCA_TBF_RATE64]);
	return 0;
}

int cni_qdisc_tbf_get(cni_nl *nl, int ifindex, bool *found, cni_tbf *out, cni_error **err)
{
	struct tbf_dump d = {ifindex, false, {0, 0, 0}};
	struct nl_msg *m = tc_msg(RTM_GETQDISC, NLM_F_DUMP, ifindex, 0, 0, 0);
	if (!m)
		return cni_error_oom(err);
	int r = cni_nl_talk(nl, m, on_qdisc, &d);
	if (r < 0) {
		char name[IFNAMSIZ + 8];
		cni_nl_ifname(nl, ifindex, name, sizeof(name));
		return cni_nl_fail_errno(err, r, "failed to list qdiscs of '%s'", name);
	}
	*found = d.found;
	if (d.found)
		*out = d.tbf;
	return 0;
}
