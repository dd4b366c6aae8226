/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stale UDP conntrack entries: a flow to a host port that the kernel tracked before the
 * DNAT rule existed keeps its old translation, so ADD deletes the UDP entries whose
 * original destination port is the host port (as the reference's
 * DeleteConntrackEntriesForDstPort). Plain ctnetlink: dump the family's table, then
 * delete each match by its original tuple (and zone).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pm-backend.h"

#define NLA_ALIGN_(len) (((len) + 3u) & ~3u)
#define BUF_SIZE	65536

typedef struct ct_match {
	unsigned char tuple[256]; /* the CTA_TUPLE_ORIG attribute, header included */
	size_t tuple_len;
	unsigned char zone[8]; /* CTA_ZONE attribute or empty */
	size_t zone_len;
} ct_match;

static const struct nlattr *nla_next(const struct nlattr *a, size_t *rem)
{
	size_t l = NLA_ALIGN_(a->nla_len);
	*rem = *rem >= l ? *rem - l : 0;
	return (const struct nlattr *)((const char *)a + l);
}

static bool nla_ok(const struct nlattr *a, size_t rem)
{
	return rem >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= rem;
}

static const struct nlattr *nla_find(const void *data, size_t len, unsigned int type)
{
	const struct nlattr *a = data;
	size_t rem = len;
	for (; nla_ok(a, rem); a = nla_next(a, &rem))
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
	return NULL;
}

static const void *nla_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static size_t nla_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

/* Does this conntrack message describe a UDP flow to port (original direction)? */
static bool matches(const struct nlmsghdr *h, int port, ct_match *m)
{
	size_t off = NLMSG_LENGTH(sizeof(struct nfgenmsg));
	if (h->nlmsg_len < off)
		return false;
	const void *attrs = (const char *)h + NLMSG_ALIGN(off);
	size_t alen = h->nlmsg_len - NLMSG_ALIGN(off);
	const struct nlattr *orig = nla_find(attrs, alen, CTA_TUPLE_ORIG);
	if (!orig)
		return false;
	const struct nlattr *proto = nla_find(nla_data(orig), nla_len(orig), CTA_TUPLE_PROTO);
	if (!proto)
		return false;
	const struct nlattr *num = nla_find(nla_data(proto), nla_len(proto), CTA_PROTO_NUM);
	const struct nlattr *dport = nla_find(nla_data(proto), nla_len(proto), CTA_PROTO_DST_PORT);
	if (!num || !dport || nla_len(num) < 1 || nla_len(dport) < 2)
		return false;
	uint16_t p;
	memcpy(&p, nla_data(dport), 2);
	if (*(const uint8_t *)nla_data(num) != IPPROTO_UDP || ntohs(p) != port)
		return false;
	if (orig->nla_len > sizeof(m->tuple))
		return false;
	memcpy(m->tuple, orig, orig->nla_len);
	m->tuple_len = orig->nla_len;
	const struct nlattr *zone = nla_find(attrs, alen, CTA_ZONE);
	m->zone_len = 0;
	if (zone && zone->nla_len <= sizeof(m->zone)) {
		memcpy(m->zone, zone, zone->nla_len);
		m->zone_len = zone->nla_len;
	}
	return true;
}

static int send_req(int fd, uint16_t msg, uint16_t flags, int family, uint32_t seq,
		    const ct_match *m)
{
	unsigned char buf[512];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	memset(buf, 0, sizeof(buf));
	h->nlmsg_type = (uint16_t)((NFNL_SUBSYS_CTNETLINK << 8) | msg);
	h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	h->nlmsg_seq = seq;
	struct nfgenmsg *g = NLMSG_DATA(h);
	g->nfgen_family = (uint8_t)family;
	g->version = NFNETLINK_V0;
	size_t len = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(*g)));
	if (m) {
		memcpy(buf + len, m->tuple, m->tuple_len);
		len += NLA_ALIGN_(m->tuple_len);
		if (m->zone_len) {
			memcpy(buf + len, m->zone, m->zone_len);
			len += NLA_ALIGN_(m->zone_len);
		}
	}
	h->nlmsg_len = (uint32_t)len;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	return sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
}

/* Read answers to seq until DONE (dump) or the ACK; collect matches when asked. */
static int read_answers(int fd, uint32_t seq, bool dump, int port, ct_match **ms, size_t *n,
			size_t *cap)
{
	char *buf = malloc(BUF_SIZE);
	int r = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t got = recv(fd, buf, BUF_SIZE, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		size_t rem = (size_t)got;
		bool done = false;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, rem);
		     h = NLMSG_NEXT(h, rem)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				r = e->error;
				done = true;
				break;
			}
			if (!dump)
				continue;
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 16;
				ct_match *nm = realloc(*ms, nc * sizeof(ct_match));
				if (!nm) {
					r = -ENOMEM;
					done = true;
					break;
				}
				*ms = nm;
				*cap = nc;
			}
			if (matches(h, port, &(*ms)[*n]))
				(*n)++;
		}
		if (done)
			break;
	}
	free(buf);
	return r;
}

int pm_conntrack_delete_udp_dport(int family, int port, cni_error **err)
{
	ct_match *ms = NULL;
	size_t n = 0, cap = 0;
	uint32_t seq = 1;
	int r;

	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "ctnetlink socket: %s",
				     strerror(errno));
	if ((r = send_req(fd, IPCTNL_MSG_CT_GET, NLM_F_DUMP, family, seq, NULL)) == 0)
		r = read_answers(fd, seq, true, port, &ms, &n, &cap);
	for (size_t i = 0; r == 0 && i < n; i++) {
		seq++;
		if ((r = send_req(fd, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, family, seq, &ms[i])) == 0)
			r = read_answers(fd, seq, false, port, NULL, NULL, NULL);
		if (r == -ENOENT) /* already expired */
			r = 0;
	}
	close(fd);
	free(ms);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "conntrack delete for UDP port %d: %s", port, strerror(-r));
	return 0;
}
