/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink over libnl-route-3: one small function per kernel operation. Each validates
 * its input, makes one request and maps failures to a message naming the object and the
 * kernel's reason (errno is left holding that reason for callers that branch on it).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vrf.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <stdio.h>
#include <sys/random.h>

#include "netlink-internal.h"

/* How long a read waits for the kernel's answer (see open_here()). */
#define NL_RECV_TIMEOUT_S 5
#include "buf-internal.h"
#include "error-internal.h"

/*
 * libnl expects answers in step with its own count, which a failed request leaves behind
 * for good (a sendmsg() that failed, an answer that could not be read): every later
 * request would fail on the sequence number, the rollback's included. So the answer
 * expected is the one to the last request sent; an older one still queued is skipped.
 * Skipping is not enough for libnl's one-read pickups (a dump that reads a stale answer
 * first ends there, empty), so what is still queued when a request goes out is read away
 * first: rtnetlink answers a request before sendmsg() returns, so it is all stale.
 */
static void nl_drain(struct nl_sock *sk);

static int note_sent_seq(struct nl_msg *msg, void *arg)
{
	cni_nl *nl = arg;
	nl_drain(nl->sk);
	nl->sent_seq = nlmsg_hdr(msg)->nlmsg_seq;
	nl->kernel_errno = 0;
	return NL_OK;
}

/* The kernel refused a request read through libnl's own receive loop: keep its errno,
 * which libnl may fold into NLE_FAILURE, and stop as libnl would. */
static int note_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	(void)who;
	((cni_nl *)arg)->kernel_errno = -e->error;
	return NL_STOP;
}

static int check_seq(struct nl_msg *msg, void *arg)
{
	return nlmsg_hdr(msg)->nlmsg_seq == ((cni_nl *)arg)->sent_seq ? NL_OK : NL_SKIP;
}

/* libnl folds errno into its own codes; give the kernel's reason back its usual words. */
static int nle_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_EXIST: return EEXIST;
	case NLE_NODEV: return ENODEV;
	case NLE_OBJ_NOTFOUND: return ENOENT;
	case NLE_PERM: return EPERM;
	case NLE_BUSY: return EBUSY;
	case NLE_INVAL: return EINVAL;
	case NLE_RANGE: return ERANGE;
	case NLE_OPNOTSUPP: return EOPNOTSUPP;
	case NLE_NOADDR: return EADDRNOTAVAIL;
	case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
	case NLE_NOACCESS: return EACCES;
	case NLE_NOMEM: return ENOMEM;
	case NLE_AGAIN: return EAGAIN;
	case NLE_MSGSIZE: return EMSGSIZE;
	case NLE_MSG_TOOSHORT: return EMSGSIZE;
	case NLE_BAD_SOCK: return EBADF;
	case NLE_INTR: return EINTR;
	case NLE_DUMP_INTR: return EINTR;
	default: return EIO;
	}
}

/*
 * After a failed request, answers may still be queued on the socket (the request went
 * through but reading its answer failed); the next request would read them and fail on
 * the sequence number, or worse. rtnetlink answers are queued before sendmsg() returns,
 * so reading until the queue is empty puts the socket back in step.
 */
static void nl_drain(struct nl_sock *sk)
{
	char buf[8192];
	int fd = sk ? nl_socket_get_fd(sk) : -1;
	/* (bounded: a read that fails for another reason than an empty queue is retried) */
	for (int i = 0; fd >= 0 && i < 256; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN)
			break;
}

/* "<what>: <reason>" with the errno kept; -CNI_ERR_NOT_FOUND for ENODEV/ENOENT, else
 * -CNI_ERR_SYSTEM. reason NULL: strerror(e). */
static int failv(cni_error **err, int e, const char *reason, const char *fmt, va_list ap)
{
	_cleanup_free_ char *what = NULL;
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	int code = e == ENODEV || e == ENOENT ? CNI_ERR_NOT_FOUND : CNI_ERR_SYSTEM;
	return cni_error_set_errno(err, e, code, "%s: %s", what ? what : "netlink request failed",
				   reason ? reason : strerror(e));
}

int cni_nl_fail(cni_nl *nl, cni_error **err, int nle, const char *fmt, ...)
{
	int e = nle_to_errno(nle);
	if (e == EIO && nl && nl->kernel_errno > 0)
		e = nl->kernel_errno;
	if (nl) {
		nl->kernel_errno = 0;
		nl_drain(nl->sk);
	}
	va_list ap;
	va_start(ap, fmt);
	int r = failv(err, e, e == EIO ? nl_geterror(nle) : NULL, fmt, ap);
	va_end(ap);
	errno = e;
	return r;
}

int cni_nl_fail_errno(cni_error **err, int neg_errno, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = failv(err, neg_errno < 0 ? -neg_errno : EIO, NULL, fmt, ap);
	va_end(ap);
	return r;
}

struct talk {
	bool done;
	int error;	 /* the kernel's -errno */
	int reply_error; /* a reply valid() could not read */
	cni_nl_reply_fn valid;
	void *arg;
};

static int talk_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	(void)who;
	struct talk *t = arg;
	t->error = e->error;
	t->done = true;
	return NL_STOP;
}

static int talk_done(struct nl_msg *m, void *arg)
{
	(void)m;
	((struct talk *)arg)->done = true;
	return NL_STOP;
}

static int talk_valid(struct nl_msg *m, void *arg)
{
	struct talk *t = arg;
	int r = t->valid ? t->valid(nlmsg_hdr(m), t->arg) : 0;
	if (r < 0 && !t->reply_error)
		t->reply_error = r;
	return NL_OK;
}

int cni_nl_talk(cni_nl *nl, struct nl_msg *msg, cni_nl_reply_fn valid, void *arg)
{
	struct talk t = {false, 0, 0, valid, arg};
	/* a clone of the socket's callbacks keeps the sequence bookkeeping above */
	struct nl_cb *base = nl_socket_get_cb(nl->sk);
	struct nl_cb *cb = base ? nl_cb_clone(base) : NULL;
	int r;
	nl_cb_put(base);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, talk_error, &t);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, talk_done, &t);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, talk_done, &t);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, talk_valid, &t);
	nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	while (r >= 0 && !t.done)
		r = nl_recvmsgs(nl->sk, cb);
	nl_cb_put(cb);
	if (t.error < 0 || t.reply_error < 0 || r < 0)
		nl_drain(nl->sk);
	if (t.error < 0)
		return t.error;
	if (t.reply_error < 0)
		return t.reply_error;
	return r < 0 ? -EIO : 0;
}

int cni_nl_valid_ifname(const char *name, cni_error **err)
{
	if (isempty(name) || strlen(name) >= IFNAMSIZ)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "invalid interface name '%s': must be 1 to %d bytes", strempty(name),
				     IFNAMSIZ - 1);
	return 0;
}

struct open_ctx {
	struct nl_sock *sk;
};

static int open_here(void *userdata, cni_error **err)
{
	struct open_ctx *c = userdata;
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return cni_error_oom(err);
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return cni_nl_fail(NULL, err, r, "failed to open a netlink socket");
	}
	/* libnl may not ask for close-on-exec; make sure a plugin exec never inherits it */
	int fd = nl_socket_get_fd(sk);
	fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	nl_socket_set_buffer_size(sk, 1 << 20, 1 << 20);
	/*
	 * rtnetlink queues its answer before sendmsg() returns (and makes the rest of a dump
	 * while we read), so a read that finds nothing for seconds waits for an answer that
	 * will never come: libnl reads after a failed send of a cache dump. Bounded, that is
	 * an error instead of a plugin hanging until the runtime kills it.
	 */
	const struct timeval rcv_timeout = {NL_RECV_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv_timeout, sizeof(rcv_timeout));
	c->sk = sk;
	return 0;
}

int cni_nl_open(cni_nl **out, const cni_netns *ns, cni_error **err)
{
	struct open_ctx c = {NULL};
	/* a netlink socket stays bound to the namespace it was created in */
	int r = ns ? cni_netns_run(ns, open_here, &c, err) : open_here(&c, err);
	if (r < 0)
		return r;
	cni_nl *nl = calloc(1, sizeof(*nl));
	if (!nl) {
		nl_socket_free(c.sk);
		return cni_error_oom(err);
	}
	nl->sk = c.sk;
	nl_socket_modify_cb(nl->sk, NL_CB_MSG_OUT, NL_CB_CUSTOM, note_sent_seq, nl);
	nl_socket_modify_cb(nl->sk, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, check_seq, nl);
	nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, note_error, nl);
	*out = nl;
	return 0;
}

void cni_nl_close(cni_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

/*
 * What a listing keeps of one object of a cache: keep writes it to item (a zeroed slot
 * of the array) and returns true, or returns false, writing nothing, to pass the object
 * by. arg is the listing's filter.
 */
typedef bool (*cache_keep_fn)(struct nl_object *o, void *item, const void *arg);

/*
 * The objects of cache that keep takes, in cache order, into a new array of elem-sized
 * items (*out, free() it; room for every object, never NULL) and their number in
 * *count. Frees cache either way.
 */
static int cache_to_array(struct nl_cache *cache, size_t elem, cache_keep_fn keep, const void *arg,
			  void **out, size_t *count, cni_error **err)
{
	size_t n = (size_t)nl_cache_nitems(cache), i = 0;
	char *v = calloc(n ? n : 1, elem);

	if (!v) {
		nl_cache_free(cache);
		return cni_error_oom(err);
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o && i < n; o = nl_cache_get_next(o))
		if (keep(o, v + i * elem, arg))
			i++;
	nl_cache_free(cache);
	*out = v;
	*count = i;
	return 0;
}

/* ---- links ---- */

static void fill_link(struct rtnl_link *l, cni_link_info *out)
{
	struct nl_addr *a = rtnl_link_get_addr(l);
	const char *kind = rtnl_link_get_type(l);
	const char *alias = rtnl_link_get_ifalias(l);
	int32_t nsid = -1;

	memset(out, 0, sizeof(*out));
	out->version = CNI_LINK_INFO_VERSION;
	out->ifindex = rtnl_link_get_ifindex(l);
	snprintf(out->name, sizeof(out->name), "%s", strempty(rtnl_link_get_name(l)));
	snprintf(out->kind, sizeof(out->kind), "%s", strempty(kind));
	if (a && nl_addr_get_len(a) == 6) {
		const unsigned char *m = nl_addr_get_binary_addr(a);
		snprintf(out->mac, sizeof(out->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
			 m[2], m[3], m[4], m[5]);
	}
	out->mtu = rtnl_link_get_mtu(l);
	out->flags = rtnl_link_get_flags(l);
	out->oper_state = rtnl_link_get_operstate(l);
	out->master = rtnl_link_get_master(l);
	out->link = rtnl_link_get_link(l);
	if (rtnl_link_get_link_netnsid(l, &nsid) < 0)
		nsid = -1;
	out->link_netnsid = nsid;
	out->txqlen = rtnl_link_get_txqlen(l);
	snprintf(out->alias, sizeof(out->alias), "%s", strempty(alias));
}

/*
 * rtnl_link_get_kernel() succeeds without a link when what it read was not one: the
 * answer to an earlier request whose reading failed, still queued on the socket.
 */
static int link_no_answer(cni_nl *nl, cni_error **err, const char *name)
{
	nl_drain(nl->sk);
	errno = EIO;
	return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
			     "failed to look up link '%s': no link in the kernel's answer", name);
}

int cni_link_get(cni_nl *nl, const char *name, cni_link_info *out, cni_error **err)
{
	struct rtnl_link *l = NULL;
	int r = cni_nl_valid_ifname(name, err);
	if (r < 0)
		return r;
	r = rtnl_link_get_kernel(nl->sk, 0, name, &l);
	if (r < 0) {
		int e = nle_to_errno(r);
		if (e == ENODEV || e == ENOENT) {
			errno = ENODEV;
			return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "link '%s' not found", name);
		}
		return cni_nl_fail(nl, err, r, "failed to look up link '%s'", name);
	}
	if (!l)
		return link_no_answer(nl, err, name);
	fill_link(l, out);
	rtnl_link_put(l);
	return 0;
}

int cni_link_get_by_index(cni_nl *nl, int ifindex, cni_link_info *out, cni_error **err)
{
	struct rtnl_link *l = NULL;
	if (ifindex <= 0)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid ifindex %d", ifindex);
	int r = rtnl_link_get_kernel(nl->sk, ifindex, NULL, &l);
	if (r < 0) {
		int e = nle_to_errno(r);
		if (e == ENODEV || e == ENOENT) {
			errno = ENODEV;
			return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "link %d not found", ifindex);
		}
		return cni_nl_fail(nl, err, r, "failed to look up link %d", ifindex);
	}
	if (!l) {
		char name[16];
		snprintf(name, sizeof(name), "%d", ifindex);
		return link_no_answer(nl, err, name);
	}
	fill_link(l, out);
	rtnl_link_put(l);
	return 0;
}

static bool link_keep(struct nl_object *o, void *item, const void *arg)
{
	(void)arg;
	fill_link((struct rtnl_link *)o, item);
	return true;
}

int cni_link_list(cni_nl *nl, cni_link_info **out, size_t *count, cni_error **err)
{
	struct nl_cache *cache = NULL;
	void *v = NULL;
	int r = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &cache);
	if (r < 0)
		return cni_nl_fail(nl, err, r, "failed to list links");
	r = cache_to_array(cache, sizeof(**out), link_keep, NULL, &v, count, err);
	if (r == 0)
		*out = v;
	return r;
}

void cni_nl_ifname(cni_nl *nl, int ifindex, char *buf, size_t len)
{
	cni_link_info li;
	nl_drain(nl->sk); /* called after a failure */
	if (ifindex > 0 && cni_link_get_by_index(nl, ifindex, &li, NULL) == 0)
		snprintf(buf, len, "%s", li.name);
	else
		snprintf(buf, len, "%d", ifindex);
}

int cni_nl_parse_mac(const char *mac, struct nl_addr **out, cni_error **err)
{
	unsigned int b[6];
	char tail;
	if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6 || strlen(mac) != 17)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid MAC address %s", mac);
	unsigned char raw[6];
	for (int i = 0; i < 6; i++)
		raw[i] = (unsigned char)b[i];
	struct nl_addr *a = nl_addr_build(AF_LLC, raw, 6);
	if (!a)
		return cni_error_oom(err);
	*out = a;
	return 0;
}

static int set_link_mac(struct rtnl_link *l, const char *mac, cni_error **err)
{
	struct nl_addr *a = NULL;
	if (isempty(mac))
		return 0;
	int r = cni_nl_parse_mac(mac, &a, err);
	if (r < 0)
		return r;
	rtnl_link_set_addr(l, a);
	nl_addr_put(a);
	return 0;
}

int cni_veth_add(cni_nl *nl, const char *name, const char *peer, const cni_netns *peer_ns,
		 unsigned int mtu, const char *mac, const char *peer_mac, cni_error **err)
{
	int r = cni_nl_valid_ifname(name, err);
	if (r < 0 || (r = cni_nl_valid_ifname(peer, err)) < 0)
		return r;
	struct rtnl_link *l = rtnl_link_veth_alloc();
	if (!l)
		return cni_error_oom(err);
	struct rtnl_link *p = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(l, name);
	rtnl_link_set_name(p, peer);
	if (mtu) {
		rtnl_link_set_mtu(l, mtu);
		rtnl_link_set_mtu(p, mtu);
	}
	/* veths are noqueue devices; the reference (Go's netlink) creates them with a
	 * txqueuelen of 0 rather than the kernel's default 1000, and so do we */
	rtnl_link_set_txqlen(l, 0);
	rtnl_link_set_txqlen(p, 0);
	if ((r = set_link_mac(l, mac, err)) < 0 || (r = set_link_mac(p, peer_mac, err)) < 0)
		goto out;
	if (peer_ns)
		rtnl_link_set_ns_fd(p, cni_netns_fd(peer_ns));
	r = rtnl_link_add(nl->sk, l, NLM_F_CREATE | NLM_F_EXCL);
	if (r < 0)
		r = cni_nl_fail(nl, err, r, "failed to create veth pair '%s' / '%s'", name, peer);
out:
	rtnl_link_put(p);
	rtnl_link_veth_release(l);
	return r < 0 ? r : 0;
}

/* Create the link l describes under name (consumes l); "failed to create <what> '<name>'". */
static int link_create(cni_nl *nl, struct rtnl_link *l, const char *name, const char *what,
		       cni_error **err)
{
	int r = cni_nl_valid_ifname(name, err);
	if (r == 0) {
		rtnl_link_set_name(l, name);
		r = rtnl_link_add(nl->sk, l, NLM_F_CREATE | NLM_F_EXCL);
		if (r < 0)
			r = cni_nl_fail(nl, err, r, "failed to create %s '%s'", what, name);
	}
	rtnl_link_put(l);
	return r < 0 ? r : 0;
}

int cni_bridge_add(cni_nl *nl, const char *name, unsigned int mtu, cni_error **err)
{
	struct rtnl_link *l = rtnl_link_alloc();
	if (!l || rtnl_link_set_type(l, "bridge") < 0) {
		rtnl_link_put(l);
		return cni_error_oom(err);
	}
	if (mtu)
		rtnl_link_set_mtu(l, mtu);
	return link_create(nl, l, name, "bridge", err);
}

int cni_link_del(cni_nl *nl, int ifindex, cni_error **err)
{
	struct rtnl_link *l = rtnl_link_alloc();
	char name[IFNAMSIZ + 8];
	if (!l)
		return cni_error_oom(err);
	rtnl_link_set_ifindex(l, ifindex);
	cni_nl_ifname(nl, ifindex, name, sizeof(name));
	int r = rtnl_link_delete(nl->sk, l);
	rtnl_link_put(l);
	if (r < 0)
		return cni_nl_fail(nl, err, r, "failed to delete link '%s'", name);
	return 0;
}

/* Apply the attributes set in change to ifindex (RTM_NEWLINK, falling back to SETLINK). */
static int link_change(cni_nl *nl, int ifindex, struct rtnl_link *change, const char *what,
		       cni_error **err)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	char name[IFNAMSIZ + 8];
	if (!orig) {
		rtnl_link_put(change);
		return cni_error_oom(err);
	}
	rtnl_link_set_ifindex(orig, ifindex);
	int r = rtnl_link_change(nl->sk, orig, change, 0);
	rtnl_link_put(orig);
	rtnl_link_put(change);
	if (r < 0) {
		cni_nl_ifname(nl, ifindex, name, sizeof(name));
		return cni_nl_fail(nl, err, r, "failed to %s on '%s'", what, name);
	}
	return 0;
}

static struct rtnl_link *change_new(void)
{
	return rtnl_link_alloc();
}

int cni_link_set_up(cni_nl *nl, int ifindex, bool up, cni_error **err)
{
	struct rtnl_link *c = change_new();
	if (!c)
		return cni_error_oom(err);
	if (up)
		rtnl_link_set_flags(c, IFF_UP);
	else
		rtnl_link_unset_flags(c, IFF_UP);
	return link_change(nl, ifindex, c, up ? "set link up" : "set link down", err);
}

int cni_link_set_mtu(cni_nl *nl, int ifindex, unsigned int mtu, cni_error **err)
{
	char what[48];
	if (mtu < 68 || mtu > 65535)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid MTU %u", mtu);
	struct rtnl_link *c = change_new();
	if (!c)
		return cni_error_oom(err);
	rtnl_link_set_mtu(c, mtu);
	snprintf(what, sizeof(what), "set MTU %u", mtu);
	return link_change(nl, ifindex, c, what, err);
}

int cni_link_set_mac(cni_nl *nl, int ifindex, const char *mac, cni_error **err)
{
	char what[48];
	struct rtnl_link *c = change_new();
	if (!c)
		return cni_error_oom(err);
	int r = isempty(mac) ? cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "empty MAC address")
			     : set_link_mac(c, mac, err);
	if (r < 0) {
		rtnl_link_put(c);
		return r;
	}
	snprintf(what, sizeof(what), "set MAC %s", mac);
	return link_change(nl, ifindex, c, what, err);
}

int cni_link_set_name(cni_nl *nl, int ifindex, const char *name, cni_error **err)
{
	char what[48];
	int r = cni_nl_valid_ifname(name, err);
	if (r < 0)
		return r;
	struct rtnl_link *c = change_new();
	if (!c)
		return cni_error_oom(err);
	rtnl_link_set_name(c, name);
	snprintf(what, sizeof(what), "rename link to '%s'", name);
	return link_change(nl, ifindex, c, what, err);
}

int cni_link_set_alias(cni_nl *nl, int ifindex, const char *alias, cni_error **err)
{
	struct rtnl_link *c = change_new();
	if (!c)
		return cni_error_oom(err);
	rtnl_link_set_ifalias(c, strempty(alias));
	return link_change(nl, ifindex, c, "set alias", err);
}

int cni_link_set_master(cni_nl *nl, int ifindex, int master, cni_error **err)
{
	char what[48];
	struct rtnl_link *c = change_new();
	if (!c)
		return cni_error_oom(err);
	rtnl_link_set_master(c, master);
	if (master) {
		char m[IFNAMSIZ + 8];
		cni_nl_ifname(nl, master, m, sizeof(m));
		snprintf(what, sizeof(what), "attach to '%s'", m);
	} else {
		snprintf(what, sizeof(what), "release from master");
	}
	return link_change(nl, ifindex, c, what, err);
}

static int set_flag(cni_nl *nl, int ifindex, unsigned int flag, bool on, const char *what,
		    cni_error **err)
{
	struct rtnl_link *c = change_new();
	if (!c)
		return cni_error_oom(err);
	if (on)
		rtnl_link_set_flags(c, flag);
	else
		rtnl_link_unset_flags(c, flag);
	return link_change(nl, ifindex, c, what, err);
}

int cni_link_set_promisc(cni_nl *nl, int ifindex, bool on, cni_error **err)
{
	return set_flag(nl, ifindex, IFF_PROMISC, on, on ? "set promisc on" : "set promisc off", err);
}

int cni_link_set_allmulti(cni_nl *nl, int ifindex, bool on, cni_error **err)
{
	return set_flag(nl, ifindex, IFF_ALLMULTI, on, on ? "set allmulti on" : "set allmulti off",
			err);
}

int cni_link_set_txqlen(cni_nl *nl, int ifindex, unsigned int qlen, cni_error **err)
{
	struct rtnl_link *c = change_new();
	if (!c)
		return cni_error_oom(err);
	rtnl_link_set_txqlen(c, qlen);
	return link_change(nl, ifindex, c, "set txqueuelen", err);
}

int cni_link_set_netns(cni_nl *nl, int ifindex, const cni_netns *ns, cni_error **err)
{
	char what[300];
	struct rtnl_link *c = change_new();
	if (!c)
		return cni_error_oom(err);
	rtnl_link_set_ns_fd(c, cni_netns_fd(ns));
	snprintf(what, sizeof(what), "move link to netns %s", strempty(cni_netns_path(ns)));
	return link_change(nl, ifindex, c, what, err);
}

int cni_bridge_port_set(cni_nl *nl, int ifindex, int hairpin, int isolated, cni_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = ifindex};
	char name[IFNAMSIZ + 8];
	if (hairpin < 0 && isolated < 0)
		return 0;
	struct nl_msg *m = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
	if (!m)
		return cni_error_oom(err);
	struct nlattr *pi;
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(pi = nla_nest_start(m, IFLA_PROTINFO | NLA_F_NESTED)) ||
	    (hairpin >= 0 && nla_put_u8(m, IFLA_BRPORT_MODE, hairpin ? 1 : 0) < 0) ||
	    (isolated >= 0 && nla_put_u8(m, IFLA_BRPORT_ISOLATED, isolated ? 1 : 0) < 0)) {
		nlmsg_free(m);
		return cni_error_oom(err);
	}
	nla_nest_end(m, pi);
	int r = nl_send_sync(nl->sk, m); /* frees m */
	if (r < 0) {
		cni_nl_ifname(nl, ifindex, name, sizeof(name));
		return cni_nl_fail(nl, err, r, "failed to set bridge port flags on '%s'", name);
	}
	return 0;
}

/* ---- addresses ---- */

static struct nl_addr *nl_from_ip(const cni_ipaddr *ip, int prefix)
{
	struct nl_addr *a = nl_addr_build(ip->family, ip->addr, ip->family == AF_INET ? 4 : 16);
	if (a && prefix >= 0)
		nl_addr_set_prefixlen(a, prefix);
	return a;
}

static void ip_from_nl(struct nl_addr *a, cni_ipnet *out)
{
	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	out->ip.family = nl_addr_get_family(a);
	size_t len = nl_addr_get_len(a);
	if (len > 16)
		len = 16;
	memcpy(out->ip.addr, nl_addr_get_binary_addr(a), len);
	if (len == 0) /* a default route's dst has no bytes */
		memset(out->ip.addr, 0, sizeof(out->ip.addr));
	out->prefix = (int)nl_addr_get_prefixlen(a);
}

static int addr_op(cni_nl *nl, int ifindex, const cni_ipnet *addr, unsigned int flags, bool add,
		   cni_error **err)
{
	char txt[CNI_IPNET_STRLEN], name[IFNAMSIZ + 8];
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = nl_from_ip(&addr->ip, addr->prefix);
	int r;

	if (!a || !local) {
		rtnl_addr_put(a);
		nl_addr_put(local);
		return cni_error_oom(err);
	}
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_local(a, local);
	if (add) {
		unsigned int f = 0;
		if (flags & CNI_ADDR_NODAD)
			f |= IFA_F_NODAD;
		if (flags & CNI_ADDR_NOPREFIXRT)
			f |= IFA_F_NOPREFIXROUTE;
		if (f)
			rtnl_addr_set_flags(a, f);
		/* as iproute2 and Go's netlink do: an IPv4 address below /31 gets its broadcast */
		if (addr->ip.family == AF_INET && addr->prefix < 31) {
			cni_ipaddr last;
			cni_ipnet_last(addr, &last);
			struct nl_addr *b = nl_from_ip(&last, -1);
			if (b) {
				rtnl_addr_set_broadcast(a, b);
				nl_addr_put(b);
			}
		}
		r = rtnl_addr_add(nl->sk, a, NLM_F_EXCL);
	} else {
		r = rtnl_addr_delete(nl->sk, a, 0);
	}
	nl_addr_put(local);
	rtnl_addr_put(a);
	if (r < 0) {
		cni_nl_ifname(nl, ifindex, name, sizeof(name));
		return cni_nl_fail(nl, err, r, "failed to %s address %s on '%s'", add ? "add" : "delete",
			       strempty(cni_ipnet_format(addr, txt, sizeof(txt))), name);
	}
	return 0;
}

int cni_addr_add(cni_nl *nl, int ifindex, const cni_ipnet *addr, unsigned int flags,
		 cni_error **err)
{
	return addr_op(nl, ifindex, addr, flags, true, err);
}

int cni_addr_del(cni_nl *nl, int ifindex, const cni_ipnet *addr, cni_error **err)
{
	return addr_op(nl, ifindex, addr, 0, false, err);
}

/* Which addresses or routes a listing keeps: 0 is any ifindex (or family). */
struct list_filter {
	int ifindex;
	int family;
	unsigned int table;
};

static bool addr_keep(struct nl_object *o, void *item, const void *arg)
{
	const struct list_filter *f = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)o;
	cni_addr_info *ai = item;

	if (f->ifindex && rtnl_addr_get_ifindex(a) != f->ifindex)
		return false;
	if (f->family && rtnl_addr_get_family(a) != f->family)
		return false;
	ai->ifindex = rtnl_addr_get_ifindex(a);
	ip_from_nl(rtnl_addr_get_local(a), &ai->addr);
	ai->addr.prefix = rtnl_addr_get_prefixlen(a);
	ai->scope = rtnl_addr_get_scope(a);
	ai->flags = rtnl_addr_get_flags(a);
	return true;
}

int cni_addr_list(cni_nl *nl, int ifindex, int family, cni_addr_info **out, size_t *count,
		  cni_error **err)
{
	const struct list_filter f = {.ifindex = ifindex, .family = family};
	struct nl_cache *cache = NULL;
	void *v = NULL;
	int r = rtnl_addr_alloc_cache(nl->sk, &cache);
	if (r < 0)
		return cni_nl_fail(nl, err, r, "failed to list addresses");
	r = cache_to_array(cache, sizeof(**out), addr_keep, &f, &v, count, err);
	if (r == 0)
		*out = v;
	return r;
}

/* ---- routes ---- */

static int route_build(const cni_route_spec *s, bool for_delete, struct rtnl_route **out,
		       cni_error **err)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	if (!rt)
		return cni_error_oom(err);
	int family = s->dst.ip.family ? s->dst.ip.family : s->gw.family;
	if (family != AF_INET && family != AF_INET6) {
		rtnl_route_put(rt);
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "route without an address family");
	}
	struct nl_addr *dst = nl_from_ip(&s->dst.ip, s->dst.prefix);
	if (!dst) {
		rtnl_route_put(rt);
		return cni_error_oom(err);
	}
	rtnl_route_set_family(rt, (uint8_t)family);
	rtnl_route_set_dst(rt, dst);
	nl_addr_put(dst);
	rtnl_route_set_table(rt, s->table ? s->table : RT_TABLE_MAIN);
	if (for_delete) {
		/* unset protocol, type and scope are wildcards to the kernel: a delete finds
		 * the route whoever made it (kernel subnet routes are proto kernel, scope link) */
		rtnl_route_set_scope(rt, (uint8_t)(s->scope >= 0 ? s->scope : RT_SCOPE_NOWHERE));
		rtnl_route_set_protocol(rt, RTPROT_UNSPEC);
		rtnl_route_set_type(rt, (uint8_t)(s->type ? s->type : RTN_UNSPEC));
	} else {
		/* Go's netlink sends universe scope unless told otherwise */
		rtnl_route_set_scope(rt, (uint8_t)(s->scope >= 0 ? s->scope : RT_SCOPE_UNIVERSE));
		rtnl_route_set_protocol(rt, RTPROT_BOOT);
		rtnl_route_set_type(rt, (uint8_t)(s->type ? s->type : RTN_UNICAST));
	}
	if (s->priority)
		rtnl_route_set_priority(rt, s->priority);
	if (s->mtu)
		rtnl_route_set_metric(rt, RTAX_MTU, s->mtu);
	if (s->advmss)
		rtnl_route_set_metric(rt, RTAX_ADVMSS, s->advmss);
	if (s->has_src) {
		struct nl_addr *src = nl_from_ip(&s->src, -1);
		if (!src) {
			rtnl_route_put(rt);
			return cni_error_oom(err);
		}
		rtnl_route_set_pref_src(rt, src);
		nl_addr_put(src);
	}
	if (s->ifindex || s->has_gw) {
		struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
		if (!nh) {
			rtnl_route_put(rt);
			return cni_error_oom(err);
		}
		if (s->ifindex)
			rtnl_route_nh_set_ifindex(nh, s->ifindex);
		if (s->has_gw) {
			struct nl_addr *gw = nl_from_ip(&s->gw, -1);
			if (!gw) {
				rtnl_route_nh_free(nh);
				rtnl_route_put(rt);
				return cni_error_oom(err);
			}
			rtnl_route_nh_set_gateway(nh, gw);
			nl_addr_put(gw);
		}
		rtnl_route_add_nexthop(rt, nh);
	}
	*out = rt;
	return 0;
}

static int route_fail(cni_nl *nl, const cni_route_spec *s, int nle, const char *verb,
		      cni_error **err)
{
	char dst[CNI_IPNET_STRLEN], gw[CNI_IP_STRLEN], name[IFNAMSIZ + 8];
	cni_buf b = CNI_BUF_INIT;
	int r = cni_buf_printf(&b, "failed to %s route %s", verb,
			       strempty(cni_ipnet_format(&s->dst, dst, sizeof(dst))));
	if (r == 0 && s->has_gw)
		r = cni_buf_printf(&b, " via %s", strempty(cni_ip_format(&s->gw, gw, sizeof(gw))));
	if (r == 0 && s->ifindex) {
		cni_nl_ifname(nl, s->ifindex, name, sizeof(name));
		r = cni_buf_printf(&b, " on '%s'", name);
	}
	if (r == 0 && s->table && s->table != RT_TABLE_MAIN)
		r = cni_buf_printf(&b, " in table %u", s->table);
	r = cni_nl_fail(nl, err, nle, "%s", b.data ? b.data : "failed to change a route");
	cni_buf_free(&b);
	return r;
}

static int route_op(cni_nl *nl, const cni_route_spec *s, int op, int flags, cni_error **err)
{
	struct rtnl_route *rt = NULL;
	int r = cni_struct_check(err, op ? "cni_route_add" : "cni_route_del", "cni_route_spec",
				 s->version, CNI_ROUTE_SPEC_VERSION);
	if (r == 0)
		r = route_build(s, !op, &rt, err);
	if (r < 0)
		return r;
	r = op ? rtnl_route_add(nl->sk, rt, flags) : rtnl_route_delete(nl->sk, rt, 0);
	rtnl_route_put(rt);
	if (r < 0)
		return route_fail(nl, s, r, !op ? "delete" : (flags & NLM_F_REPLACE) ? "replace" : "add",
				  err);
	return 0;
}

int cni_route_add(cni_nl *nl, const cni_route_spec *r, bool append, cni_error **err)
{
	return route_op(nl, r, 1, append ? NLM_F_APPEND : NLM_F_EXCL, err);
}

int cni_route_replace(cni_nl *nl, const cni_route_spec *r, cni_error **err)
{
	return route_op(nl, r, 1, NLM_F_REPLACE, err);
}

int cni_route_del(cni_nl *nl, const cni_route_spec *r, cni_error **err)
{
	return route_op(nl, r, 0, 0, err);
}

/* The caller's view of a route the kernel reported. */
static void route_to_spec(struct rtnl_route *rt, cni_route_spec *s)
{
	struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
	*s = (cni_route_spec)CNI_ROUTE_SPEC_INIT;
	ip_from_nl(rtnl_route_get_dst(rt), &s->dst);
	s->dst.ip.family = rtnl_route_get_family(rt);
	s->dst.prefix = (int)nl_addr_get_prefixlen(rtnl_route_get_dst(rt));
	if (nh && rtnl_route_nh_get_gateway(nh)) {
		cni_ipnet g;
		ip_from_nl(rtnl_route_nh_get_gateway(nh), &g);
		s->has_gw = true;
		s->gw = g.ip;
	}
	if (rtnl_route_get_pref_src(rt)) {
		cni_ipnet p;
		ip_from_nl(rtnl_route_get_pref_src(rt), &p);
		s->has_src = true;
		s->src = p.ip;
	}
	s->ifindex = nh ? rtnl_route_nh_get_ifindex(nh) : 0;
	s->scope = rtnl_route_get_scope(rt);
	s->table = rtnl_route_get_table(rt);
	s->priority = rtnl_route_get_priority(rt);
	s->type = rtnl_route_get_type(rt);
	uint32_t m;
	if (rtnl_route_get_metric(rt, RTAX_MTU, &m) == 0)
		s->mtu = m;
	if (rtnl_route_get_metric(rt, RTAX_ADVMSS, &m) == 0)
		s->advmss = m;
}

static bool route_keep(struct nl_object *o, void *item, const void *arg)
{
	const struct list_filter *f = arg;
	struct rtnl_route *rt = (struct rtnl_route *)o;
	struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
	int nh_if = nh ? rtnl_route_nh_get_ifindex(nh) : 0;

	if (rtnl_route_get_table(rt) != f->table || (f->ifindex && nh_if != f->ifindex))
		return false;
	route_to_spec(rt, item);
	return true;
}

int cni_route_list(cni_nl *nl, int family, unsigned int table, int ifindex,
		   cni_route_spec **out, size_t *count, cni_error **err)
{
	const struct list_filter f = {.ifindex = ifindex, .table = table ? table : RT_TABLE_MAIN};
	struct nl_cache *cache = NULL;
	void *v = NULL;
	int r = rtnl_route_alloc_cache(nl->sk, family ? family : AF_UNSPEC, 0, &cache);
	if (r < 0)
		return cni_nl_fail(nl, err, r, "failed to list routes");
	r = cache_to_array(cache, sizeof(**out), route_keep, &f, &v, count, err);
	if (r == 0)
		*out = v;
	return r;
}

struct cni_route_snapshot {
	size_t n;
	struct rtnl_route **routes; /* references held */
};

void cni_route_snapshot_free(cni_route_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		rtnl_route_put(s->routes[i]);
	free(s->routes);
	free(s);
}

/* A snapshot keeps a reference to each route it takes. */
static bool snapshot_keep(struct nl_object *o, void *item, const void *arg)
{
	const struct list_filter *f = arg;
	struct rtnl_route *rt = (struct rtnl_route *)o;

	if ((rtnl_route_get_flags(rt) & RTM_F_CLONED) ||
	    (f->table != CNI_ROUTE_TABLE_ANY && rtnl_route_get_table(rt) != f->table))
		return false;
	if (f->ifindex && (rtnl_route_get_nnexthops(rt) != 1 ||
			   rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(rt, 0)) != f->ifindex))
		return false;
	nl_object_get(o);
	*(struct rtnl_route **)item = rt;
	return true;
}

int cni_route_snapshot_take(cni_nl *nl, int family, unsigned int table, int ifindex,
			    cni_route_snapshot **out, cni_error **err)
{
	const struct list_filter f = {.ifindex = ifindex, .table = table ? table : RT_TABLE_MAIN};
	struct nl_cache *cache = NULL;
	void *v = NULL;
	int r = rtnl_route_alloc_cache(nl->sk, family ? family : AF_UNSPEC, 0, &cache);
	if (r < 0)
		return cni_nl_fail(nl, err, r, "failed to list routes");
	cni_route_snapshot *s = calloc(1, sizeof(*s));
	if (!s) {
		nl_cache_free(cache);
		return cni_error_oom(err);
	}
	r = cache_to_array(cache, sizeof(*s->routes), snapshot_keep, &f, &v, &s->n, err);
	if (r < 0) {
		free(s);
		return r;
	}
	s->routes = v;
	*out = s;
	return 0;
}

size_t cni_route_snapshot_count(const cni_route_snapshot *s)
{
	return s ? s->n : 0;
}

int cni_route_snapshot_get(const cni_route_snapshot *s, size_t i, cni_route_spec *out)
{
	if (!s || i >= s->n || !out || !cni_struct_version_ok(out->version, CNI_ROUTE_SPEC_VERSION))
		return -CNI_ERR_INVALID_ARG;
	route_to_spec(s->routes[i], out);
	return 0;
}

int cni_route_snapshot_add(cni_nl *nl, const cni_route_snapshot *s, size_t i, unsigned int table,
			   unsigned int flags, cni_error **err)
{
	if (!s || i >= s->n)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "no route %zu in the snapshot", i);
	struct rtnl_route *copy = (struct rtnl_route *)nl_object_clone((struct nl_object *)s->routes[i]);
	if (!copy)
		return cni_error_oom(err);
	if (table)
		rtnl_route_set_table(copy, table);
	/* flags the kernel set on the original (RTNH_F_LINKDOWN ...) make an add fail */
	rtnl_route_unset_flags(copy, rtnl_route_get_flags(copy));
	struct rtnl_nexthop *nh = rtnl_route_nexthop_n(copy, 0);
	if (nh)
		rtnl_route_nh_unset_flags(nh, rtnl_route_nh_get_flags(nh));
	int nlflags = NLM_F_CREATE | ((flags & CNI_ROUTE_F_REPLACE) ? NLM_F_REPLACE : 0) |
		      ((flags & CNI_ROUTE_F_EXCL) ? NLM_F_EXCL : 0);
	int r = rtnl_route_add(nl->sk, copy, nlflags);
	cni_route_spec spec;
	if (r < 0)
		route_to_spec(copy, &spec);
	rtnl_route_put(copy);
	if (r < 0)
		return route_fail(nl, &spec, r, (flags & CNI_ROUTE_F_REPLACE) ? "replace" : "add",
				  err);
	return 0;
}

int cni_route_snapshot_del(cni_nl *nl, const cni_route_snapshot *s, size_t i, cni_error **err)
{
	if (!s || i >= s->n)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "no route %zu in the snapshot", i);
	int r = rtnl_route_delete(nl->sk, s->routes[i], 0);
	if (r < 0) {
		cni_route_spec spec;
		route_to_spec(s->routes[i], &spec);
		return route_fail(nl, &spec, r, "delete", err);
	}
	return 0;
}

/* ---- VRF devices ---- */

int cni_vrf_add(cni_nl *nl, const char *name, unsigned int table, cni_error **err)
{
	struct rtnl_link *l = rtnl_link_vrf_alloc();
	if (!l)
		return cni_error_oom(err);
	rtnl_link_vrf_set_tableid(l, table);
	rtnl_link_set_flags(l, IFF_UP);
	return link_create(nl, l, name, "VRF", err);
}

int cni_vrf_get_table(cni_nl *nl, int ifindex, unsigned int *table, cni_error **err)
{
	struct rtnl_link *l = NULL;
	int r = rtnl_link_get_kernel(nl->sk, ifindex, NULL, &l);
	if (r < 0)
		return cni_nl_fail(nl, err, r, "link %d not found", ifindex);
	uint32_t t = 0;
	if (!rtnl_link_is_vrf(l) || rtnl_link_vrf_get_tableid(l, &t) < 0) {
		r = cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "link '%s' is not a VRF",
				  strempty(rtnl_link_get_name(l)));
		rtnl_link_put(l);
		return r;
	}
	rtnl_link_put(l);
	*table = t;
	return 0;
}

int cni_link_get_alias(cni_nl *nl, int ifindex, char **out, cni_error **err)
{
	struct rtnl_link *l = NULL;
	int r = rtnl_link_get_kernel(nl->sk, ifindex, NULL, &l);
	if (r < 0)
		return cni_nl_fail(nl, err, r, "link %d not found", ifindex);
	const char *alias = rtnl_link_get_ifalias(l);
	*out = strdup(alias ? alias : "");
	rtnl_link_put(l);
	return *out ? 0 : cni_error_oom(err);
}

/* ---- rules ---- */

static int rule_build(const cni_rule_spec *s, struct rtnl_rule **out, cni_error **err)
{
	struct rtnl_rule *ru = rtnl_rule_alloc();
	if (!ru)
		return cni_error_oom(err);
	int family = s->family ? s->family : s->has_src ? s->src.ip.family : s->dst.ip.family;
	rtnl_rule_set_family(ru, family ? family : AF_INET);
	rtnl_rule_set_action(ru, FR_ACT_TO_TBL);
	rtnl_rule_set_table(ru, s->table ? s->table : RT_TABLE_MAIN);
	if (s->priority)
		rtnl_rule_set_prio(ru, s->priority);
	if (s->has_src) {
		struct nl_addr *a = nl_from_ip(&s->src.ip, s->src.prefix);
		if (!a || rtnl_rule_set_src(ru, a) < 0) {
			nl_addr_put(a);
			rtnl_rule_put(ru);
			return cni_error_oom(err);
		}
		nl_addr_put(a);
	}
	if (s->has_dst) {
		struct nl_addr *a = nl_from_ip(&s->dst.ip, s->dst.prefix);
		if (!a || rtnl_rule_set_dst(ru, a) < 0) {
			nl_addr_put(a);
			rtnl_rule_put(ru);
			return cni_error_oom(err);
		}
		nl_addr_put(a);
	}
	*out = ru;
	return 0;
}

static int rule_op(cni_nl *nl, const cni_rule_spec *s, bool add, cni_error **err)
{
	struct rtnl_rule *ru = NULL;
	char src[CNI_IPNET_STRLEN] = "all";
	int r = cni_struct_check(err, add ? "cni_rule_add" : "cni_rule_del", "cni_rule_spec",
				 s->version, CNI_RULE_SPEC_VERSION);
	if (r == 0)
		r = rule_build(s, &ru, err);
	if (r < 0)
		return r;
	r = add ? rtnl_rule_add(nl->sk, ru, NLM_F_EXCL) : rtnl_rule_delete(nl->sk, ru, 0);
	rtnl_rule_put(ru);
	if (r < 0) {
		if (s->has_src)
			cni_ipnet_format(&s->src, src, sizeof(src));
		return cni_nl_fail(nl, err, r, "failed to %s rule from %s lookup %u", add ? "add" : "delete",
			       src, s->table);
	}
	return 0;
}

int cni_rule_add(cni_nl *nl, const cni_rule_spec *r, cni_error **err)
{
	return rule_op(nl, r, true, err);
}

int cni_rule_del(cni_nl *nl, const cni_rule_spec *r, cni_error **err)
{
	return rule_op(nl, r, false, err);
}

static bool rule_keep(struct nl_object *o, void *item, const void *arg)
{
	struct rtnl_rule *ru = (struct rtnl_rule *)o;
	cni_rule_spec *s = item;

	(void)arg;
	*s = (cni_rule_spec)CNI_RULE_SPEC_INIT;
	s->family = rtnl_rule_get_family(ru);
	s->table = rtnl_rule_get_table(ru);
	s->priority = rtnl_rule_get_prio(ru);
	if (rtnl_rule_get_src(ru)) {
		s->has_src = true;
		ip_from_nl(rtnl_rule_get_src(ru), &s->src);
	}
	if (rtnl_rule_get_dst(ru)) {
		s->has_dst = true;
		ip_from_nl(rtnl_rule_get_dst(ru), &s->dst);
	}
	return true;
}

int cni_rule_list(cni_nl *nl, int family, cni_rule_spec **out, size_t *count, cni_error **err)
{
	struct nl_cache *cache = NULL;
	void *v = NULL;
	int r = rtnl_rule_alloc_cache(nl->sk, family ? family : AF_UNSPEC, &cache);
	if (r < 0)
		return cni_nl_fail(nl, err, r, "failed to list rules");
	r = cache_to_array(cache, sizeof(**out), rule_keep, NULL, &v, count, err);
	if (r == 0)
		*out = v;
	return r;
}

int cni_random_veth_name(char *buf, size_t len, cni_error **err)
{
	uint32_t v;
	if (len < CNI_IFNAMSIZ)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "buffer too small for a name");
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to get random bytes: %s",
				     strerror(errno));
	snprintf(buf, len, "veth%08x", v);
	return 0;
}
