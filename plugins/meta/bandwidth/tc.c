/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traffic control for the bandwidth plugin: the ifb device, the tbf qdiscs, the ingress
 * qdisc and the u32 redirect filter, one request each.
 *
 * The messages are built attribute by attribute (libnl-3 core) rather than through
 * libnl-route's tbf/u32/mirred objects because they must carry exactly what the reference
 * sends: libnl-route would add a rate table, fill in cell_log/linklayer and recompute the
 * buffer with its own rounding, and `tc qdisc show` on a reference-made and an own-made
 * device would then differ.
 */
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <arpa/inet.h>

#include "bandwidth.h"
#include "plugin-nl.h"

/* ---- the reference's tbf arithmetic ------------------------------------------------ */

#define TIME_UNITS_PER_SEC 1000000.0

/*
 * Go's float64 -> uint32 conversion as compiled for amd64 (through int64, then the low
 * 32 bits; out-of-range and NaN give 0x8000000000000000, whose low half is 0). Large
 * bursts over small rates overflow in the reference; matching it keeps CHECK compatible
 * with qdiscs the reference made.
 */
static uint32_t go_f64_to_u32(double f)
{
	if (isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0)
		return 0;
	return (uint32_t)(uint64_t)(int64_t)f;
}

/*
 * Microseconds per psched tick from /proc/net/psched, read as the reference's netlink
 * library reads it (so 15.625 on today's kernels). 0 when the file is unusable, which
 * the reference also falls back to.
 */
static double tick_in_usec(void)
{
	char buf[128];
	unsigned long v[4];
	FILE *f = fopen("/proc/net/psched", "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = buf;
	for (int i = 0; i < 4; i++) {
		char *end;
		while (*p == ' ' || *p == '\n')
			p++;
		errno = 0;
		v[i] = strtoul(p, &end, 16);
		if (errno || end == p || v[i] > UINT32_MAX || (*end != ' ' && *end != '\n' && *end))
			return 0;
		p = end;
	}
	if (v[2] == 1000000000)
		v[0] = v[1];
	if (v[1] == 0)
		return 0;
	double clock_factor = (double)v[2] / TIME_UNITS_PER_SEC;
	return (double)v[0] / (double)v[1] * clock_factor;
}

int bw_tbf_params(uint64_t rate_bits, uint64_t burst_bits, struct bw_tbf *out, cni_error **err)
{
	if (rate_bits == 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "invalid rate: %llu",
				     (unsigned long long)rate_bits);
	if (burst_bits == 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "invalid burst: %llu",
				     (unsigned long long)burst_bits);
	uint64_t rate = rate_bits / 8;
	uint32_t burst = (uint32_t)(burst_bits / 8);
	double tick = tick_in_usec();
	double latency = TIME_UNITS_PER_SEC * (BW_LATENCY_MS / 1000.0);
	/* buffer: time to send the burst at rate, in ticks; limit: rate * latency + burst */
	uint32_t usec = go_f64_to_u32((double)burst * TIME_UNITS_PER_SEC / (double)rate);
	out->rate = rate;
	out->buffer = go_f64_to_u32((double)usec * tick);
	out->limit = go_f64_to_u32((double)rate * latency / TIME_UNITS_PER_SEC) + burst;
	return 0;
}

/* ---- talking to the kernel ----------------------------------------------------------- */

int bw_sock_open(struct nl_sock **out, cni_error **err)
{
	return pc_nl_open(out, CNI_ERR_INTERNAL, err);
}

void bw_sock_close(struct nl_sock *sk)
{
	nl_socket_free(sk);
}

struct talk {
	bool done;
	int error; /* the kernel's -errno */
	nl_recvmsg_msg_cb_t valid;
	void *arg;
	int cb_error; /* a parse failure inside valid */
};

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct talk *t = arg;
	t->error = e->error;
	t->done = true;
	return NL_STOP;
}

static int on_done(struct nl_msg *m, void *arg)
{
	struct talk *t = arg;
	t->done = true;
	return NL_STOP;
}

static int on_valid(struct nl_msg *m, void *arg)
{
	struct talk *t = arg;
	return t->valid ? t->valid(m, t) : NL_OK;
}

/*
 * Send msg (freed here) and wait for the kernel's answer; dump replies go to valid.
 * Returns 0 or a negative errno (the kernel's own when it refused) with errno set too.
 */
static int talk(struct nl_sock *sk, struct nl_msg *msg, nl_recvmsg_msg_cb_t valid, void *arg)
{
	struct talk t = {false, 0, valid, arg, 0};
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int r;
	if (!cb) {
		nlmsg_free(msg);
		return -(errno = ENOMEM);
	}
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &t);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_done, &t);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, &t);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &t);
	r = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	while (r >= 0 && !t.done)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	if (t.error < 0)
		return -(errno = -t.error);
	if (t.cb_error < 0)
		return -(errno = -t.cb_error);
	if (r < 0)
		return -(errno = EIO);
	return 0;
}

static int tc_fail(cni_error **err, int r, const char *fmt, const char *ifname)
{
	return cni_error_set(err, CNI_ERR_INTERNAL, NULL, fmt, ifname, strerror(-r));
}

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

static int oom(struct nl_msg *m, cni_error **err)
{
	nlmsg_free(m);
	return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory building a netlink message");
}

int bw_ifb_add(struct nl_sock *sk, const char *name, unsigned int mtu, cni_error **err)
{
	/* created up, with the host veth's MTU and txqueuelen 0, as the reference does */
	struct ifinfomsg ifi = {
	    .ifi_family = AF_UNSPEC,
	    .ifi_flags = IFF_UP,
	    .ifi_change = IFF_UP,
	};
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *li;
	if (!m)
		return oom(m, err);
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, IFLA_IFNAME, name) < 0 || nla_put_u32(m, IFLA_MTU, mtu) < 0 ||
	    nla_put_u32(m, IFLA_TXQLEN, 0) < 0 || !(li = nla_nest_start(m, IFLA_LINKINFO)) ||
	    nla_put_string(m, IFLA_INFO_KIND, "ifb") < 0 || nla_nest_end(m, li) < 0)
		return oom(m, err);
	int r = talk(sk, m, NULL, NULL);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "adding link: %s", strerror(-r));
	return 0;
}

int bw_tbf_add(struct nl_sock *sk, int ifindex, const char *ifname, const struct bw_tbf *tbf,
	       cni_error **err)
{
	struct tc_tbf_qopt q;
	struct nlattr *opts;
	struct nl_msg *m =
	    tc_msg(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex, 0x10000, TC_H_ROOT, 0);
	if (!m)
		return oom(m, err);
	/* no rate table and no linklayer: the kernel computes from the rate, as for the
	 * reference's qdiscs; rates from 4 GiB/s on travel in TCA_TBF_RATE64 */
	memset(&q, 0, sizeof(q));
	q.rate.rate = (uint32_t)tbf->rate;
	q.limit = tbf->limit;
	q.buffer = tbf->buffer;
	if (nla_put_string(m, TCA_KIND, "tbf") < 0 || !(opts = nla_nest_start(m, TCA_OPTIONS)) ||
	    nla_put(m, TCA_TBF_PARMS, sizeof(q), &q) < 0 ||
	    (tbf->rate >= (1ULL << 32) && nla_put_u64(m, TCA_TBF_RATE64, tbf->rate) < 0) ||
	    nla_nest_end(m, opts) < 0)
		return oom(m, err);
	int r = talk(sk, m, NULL, NULL);
	if (r < 0)
		return tc_fail(err, r, "create qdisc on '%s': %s", ifname);
	return 0;
}

int bw_ingress_qdisc_add(struct nl_sock *sk, int ifindex, const char *ifname, cni_error **err)
{
	struct nlattr *opts;
	struct nl_msg *m =
	    tc_msg(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex, 0xffff0000, TC_H_INGRESS, 0);
	if (!m)
		return oom(m, err);
	if (nla_put_string(m, TCA_KIND, "ingress") < 0 ||
	    !(opts = nla_nest_start(m, TCA_OPTIONS)) || nla_nest_end(m, opts) < 0)
		return oom(m, err);
	int r = talk(sk, m, NULL, NULL);
	if (r < 0)
		return tc_fail(err, r, "create ingress qdisc on '%s': %s", ifname);
	return 0;
}

int bw_qdisc_del(struct nl_sock *sk, int ifindex, bool ingress)
{
	struct nl_msg *m = ingress ? tc_msg(RTM_DELQDISC, 0, ifindex, 0xffff0000, TC_H_INGRESS, 0)
				   : tc_msg(RTM_DELQDISC, 0, ifindex, 0x10000, TC_H_ROOT, 0);
	if (!m)
		return -ENOMEM;
	return talk(sk, m, NULL, NULL);
}

static int put_mirred(struct nl_msg *m, int slot, int verdict, int ifb_index)
{
	struct tc_mirred p;
	struct nlattr *a, *o;
	memset(&p, 0, sizeof(p));
	p.action = verdict;
	p.eaction = TCA_EGRESS_REDIR;
	p.ifindex = (uint32_t)ifb_index;
	if (!(a = nla_nest_start(m, slot)) || nla_put_string(m, TCA_ACT_KIND, "mirred") < 0 ||
	    !(o = nla_nest_start(m, TCA_ACT_OPTIONS)) ||
	    nla_put(m, TCA_MIRRED_PARMS, sizeof(p), &p) < 0 || nla_nest_end(m, o) < 0 ||
	    nla_nest_end(m, a) < 0)
		return -1;
	return 0;
}

int bw_redirect_filter_add(struct nl_sock *sk, int ifindex, const char *ifname, int ifb_index,
			   cni_error **err)
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
	struct nl_msg *m = tc_msg(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex, 0, 0xffff0000,
				  (1u << 16) | htons(ETH_P_ALL));
	if (!m)
		return oom(m, err);
	/*
	 * Two redirects, the first stealing the packet and a second ("pass") that never runs:
	 * that is the filter the reference installs (its netlink library prepends a redirect
	 * of its own to the one the plugin asks for). Same rules, same `tc filter show`.
	 */
	if (nla_put_string(m, TCA_KIND, "u32") < 0 || !(opts = nla_nest_start(m, TCA_OPTIONS)) ||
	    nla_put(m, TCA_U32_SEL, sizeof(sel), sel) < 0 ||
	    nla_put_u32(m, TCA_U32_CLASSID, 0x10001) < 0 ||
	    !(acts = nla_nest_start(m, TCA_U32_ACT)) ||
	    put_mirred(m, 1, TC_ACT_STOLEN, ifb_index) < 0 ||
	    put_mirred(m, 2, TC_ACT_OK, ifb_index) < 0 || nla_nest_end(m, acts) < 0 ||
	    nla_nest_end(m, opts) < 0)
		return oom(m, err);
	int r = talk(sk, m, NULL, NULL);
	if (r < 0)
		return tc_fail(err, r, "add filter on '%s': %s", ifname);
	return 0;
}

struct tbf_dump {
	int ifindex;
	bool found;
	struct bw_tbf tbf;
};

static int on_qdisc(struct nl_msg *msg, void *arg)
{
	struct talk *t = arg;
	struct tbf_dump *d = t->arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[TCA_MAX + 1], *opt[TCA_TBF_MAX + 1];
	if (nlh->nlmsg_type != RTM_NEWQDISC ||
	    nlmsg_parse(nlh, sizeof(struct tcmsg), tb, TCA_MAX, NULL) < 0)
		return NL_OK;
	struct tcmsg *tcm = nlmsg_data(nlh);
	if (tcm->tcm_ifindex != d->ifindex || tcm->tcm_parent != TC_H_ROOT || !tb[TCA_KIND] ||
	    strcmp(nla_get_string(tb[TCA_KIND]), "tbf") != 0 || !tb[TCA_OPTIONS])
		return NL_OK;
	if (nla_parse_nested(opt, TCA_TBF_MAX, tb[TCA_OPTIONS], NULL) < 0 || !opt[TCA_TBF_PARMS] ||
	    nla_len(opt[TCA_TBF_PARMS]) < (int)sizeof(struct tc_tbf_qopt)) {
		t->cb_error = -EBADMSG;
		return NL_OK;
	}
	struct tc_tbf_qopt q;
	memcpy(&q, nla_data(opt[TCA_TBF_PARMS]), sizeof(q));
	d->found = true;
	d->tbf.rate = q.rate.rate;
	d->tbf.buffer = q.buffer;
	d->tbf.limit = q.limit;
	if (opt[TCA_TBF_RATE64] && nla_len(opt[TCA_TBF_RATE64]) >= (int)sizeof(uint64_t))
		d->tbf.rate = nla_get_u64(opt[TCA_TBF_RATE64]);
	return NL_OK;
}

int bw_root_tbf_get(struct nl_sock *sk, int ifindex, const char *ifname, bool *found,
		    struct bw_tbf *out, cni_error **err)
{
	struct tbf_dump d = {ifindex, false, {0, 0, 0}};
	struct nl_msg *m = tc_msg(RTM_GETQDISC, NLM_F_DUMP, ifindex, 0, 0, 0);
	if (!m)
		return oom(m, err);
	int r = talk(sk, m, on_qdisc, &d);
	if (r < 0)
		return tc_fail(err, r, "failed to list qdiscs of '%s': %s", ifname);
	*found = d.found;
	if (d.found)
		*out = d.tbf;
	return 0;
}

int bw_ifb_list(struct nl_sock *sk, struct bw_ifb **out, size_t *count, cni_error **err)
{
	struct nl_cache *cache = NULL;
	int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "failed to list links: %s",
				     nl_geterror(r));
	size_t n = 0, cap = (size_t)nl_cache_nitems(cache);
	struct bw_ifb *v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v) {
		nl_cache_free(cache);
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o && n < cap;
	     o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *kind = rtnl_link_get_type(l), *name = rtnl_link_get_name(l);
		const char *alias = rtnl_link_get_ifalias(l);
		if (!kind || strcmp(kind, "ifb") != 0 || !name)
			continue;
		v[n].ifindex = rtnl_link_get_ifindex(l);
		snprintf(v[n].name, sizeof(v[n].name), "%s", name);
		v[n].alias = strdup(alias ? alias : "");
		if (!v[n].alias) {
			bw_ifb_list_free(v, n);
			nl_cache_free(cache);
			return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
		}
		n++;
	}
	nl_cache_free(cache);
	*out = v;
	*count = n;
	return 0;
}

void bw_ifb_list_free(struct bw_ifb *v, size_t count)
{
	if (!v)
		return;
	for (size_t i = 0; i < count; i++)
		free(v[i].alias);
	free(v);
}
