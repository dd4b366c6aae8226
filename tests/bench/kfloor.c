/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel floor of the device work in tests/bench: what creating and deleting the
 * devices of an attachment costs when nothing else happens, so the report can put what
 * the kernel allows beside each ADD and DEL. Raw rtnetlink, one request at a time, each
 * timed from send to the kernel's acknowledgement. Built by run.sh with plain gcc.
 *
 *   kfloor -n COUNT -p PEER_NETNS_PATH
 *
 * Run inside the "host" namespace; per round: a veth pair with its peer in PEER (as ptp
 * and bridge create it), its deletion from the host side (deleting either end waits for
 * the same RCU barrier), an ifb (as bandwidth creates it) and its deletion, and
 * "nft_del": an nf_tables table with a chain and a rule is made, then deleted in one
 * transaction on a new socket, timed from the socket's creation until its close returns
 * (closing a netfilter socket waits for the grace period after which nf_tables frees
 * what a transaction deleted: the least a firewall teardown costs). One JSON line per
 * operation: {"op":"veth_add","us":812.3}. Exit status 1 when an operation fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	char attrs[512];
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static struct rtattr *put(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void end(struct nlmsghdr *nh, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)nh + nh->nlmsg_len - (char *)nest);
}

static void start(struct req *r, int type, int flags, unsigned int seq)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r->nh.nlmsg_type = (unsigned short)type;
	r->nh.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	r->nh.nlmsg_seq = seq;
	r->ifi.ifi_family = AF_UNSPEC;
}

/* Send, wait for the acknowledgement: the time it took, or a negative value on error. */
static double call(int fd, struct req *r, const char *what)
{
	char buf[4096];
	double t0 = now_us();

	if (send(fd, r, r->nh.nlmsg_len, 0) < 0) {
		fprintf(stderr, "kfloor: %s: send: %s\n", what, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "kfloor: %s: recv: %s\n", what, strerror(errno));
			return -1;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq != r->nh.nlmsg_seq)
				continue;
			int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (e) {
				fprintf(stderr, "kfloor: %s: %s\n", what, strerror(-e));
				return -1;
			}
			return now_us() - t0;
		}
	}
}

/* An nf_tables batch: begin, the messages nft_msg() appends, end. */
struct nbatch {
	char buf[1024];
	size_t len;
	unsigned int seq, acks;
};

static struct nlmsghdr *nft_msg(struct nbatch *b, int type, int flags, int family)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)(b->buf + b->len);
	struct nfgenmsg *g = NLMSG_DATA(nh);

	memset(nh, 0, NLMSG_SPACE(sizeof(*g)));
	nh->nlmsg_len = NLMSG_LENGTH(sizeof(*g));
	nh->nlmsg_type = (unsigned short)type;
	nh->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	nh->nlmsg_seq = b->seq++;
	g->nfgen_family = (unsigned char)family;
	g->version = NFNETLINK_V0;
	if (type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END)
		g->res_id = htons(NFNL_SUBSYS_NFTABLES);
	else
		b->acks++;
	return nh;
}

static void nft_done(struct nbatch *b, struct nlmsghdr *nh)
{
	b->len += NLMSG_ALIGN(nh->nlmsg_len);
}

/* One transaction on a socket of its own: 0 when every message was acknowledged. */
static int nft_txn(int (*fill)(struct nbatch *), const char *what)
{
	struct nbatch b = {.seq = 1};
	char rbuf[4096];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER), r = 0;

	if (fd < 0)
		return -1;
	nft_done(&b, nft_msg(&b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC));
	fill(&b);
	nft_done(&b, nft_msg(&b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC));
	if (send(fd, b.buf, b.len, 0) < 0)
		r = -1;
	while (r == 0 && b.acks > 0) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		if (n <= 0) {
			r = -1;
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			b.acks--;
			if (((struct nlmsgerr *)NLMSG_DATA(h))->error) {
				fprintf(stderr, "kfloor: %s: %s\n", what,
					strerror(-((struct nlmsgerr *)NLMSG_DATA(h))->error));
				r = -1;
			}
		}
	}
	close(fd);
	return r;
}

#define NFT(type) ((NFNL_SUBSYS_NFTABLES << 8) | (type))

static int fill_add(struct nbatch *b)
{
	struct nlmsghdr *nh = nft_msg(b, NFT(NFT_MSG_NEWTABLE), NLM_F_ACK | NLM_F_CREATE, NFPROTO_IPV4);
	put(nh, NFTA_TABLE_NAME, "kfloor", 7);
	nft_done(b, nh);
	nh = nft_msg(b, NFT(NFT_MSG_NEWCHAIN), NLM_F_ACK | NLM_F_CREATE, NFPROTO_IPV4);
	put(nh, NFTA_CHAIN_TABLE, "kfloor", 7);
	put(nh, NFTA_CHAIN_NAME, "c", 2);
	nft_done(b, nh);
	nh = nft_msg(b, NFT(NFT_MSG_NEWRULE), NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, NFPROTO_IPV4);
	put(nh, NFTA_RULE_TABLE, "kfloor", 7);
	put(nh, NFTA_RULE_CHAIN, "c", 2);
	nft_done(b, nh);
	return 0;
}

static int fill_del(struct nbatch *b)
{
	struct nlmsghdr *nh = nft_msg(b, NFT(NFT_MSG_DELTABLE), NLM_F_ACK, NFPROTO_IPV4);
	put(nh, NFTA_TABLE_NAME, "kfloor", 7);
	nft_done(b, nh);
	return 0;
}

static void report(const char *op, double us)
{
	printf("{\"op\":\"%s\",\"us\":%.1f}\n", op, us);
}

int main(int argc, char **argv)
{
	const char *peer = NULL;
	long count = 0;
	unsigned int seq = 1;
	int opt, pfd, fd;
	long k;
	struct req r;

	while ((opt = getopt(argc, argv, "n:p:")) != -1) {
		if (opt == 'n')
			count = strtol(optarg, NULL, 10);
		else if (opt == 'p')
			peer = optarg;
		else
			return 2;
	}
	if (count <= 0 || !peer) {
		fprintf(stderr, "usage: kfloor -n COUNT -p PEER_NETNS_PATH\n");
		return 2;
	}
	if ((pfd = open(peer, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) < 0) {
		perror("kfloor");
		return 1;
	}
	for (k = 0; k < count; k++) {
		double us;

		/* veth pair, peer "eth0" in the other namespace */
		start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq++);
		put(&r.nh, IFLA_IFNAME, "kfloor0", 8);
		struct rtattr *li = put(&r.nh, IFLA_LINKINFO, NULL, 0);
		put(&r.nh, IFLA_INFO_KIND, "veth", 5);
		struct rtattr *data = put(&r.nh, IFLA_INFO_DATA, NULL, 0);
		struct rtattr *pi = put(&r.nh, VETH_INFO_PEER, NULL, sizeof(struct ifinfomsg));
		memset(RTA_DATA(pi), 0, sizeof(struct ifinfomsg));
		put(&r.nh, IFLA_IFNAME, "eth0", 5);
		put(&r.nh, IFLA_NET_NS_FD, &pfd, sizeof(pfd));
		end(&r.nh, pi);
		end(&r.nh, data);
		end(&r.nh, li);
		if ((us = call(fd, &r, "veth add")) < 0)
			break;
		report("veth_add", us);
		start(&r, RTM_DELLINK, 0, seq++);
		put(&r.nh, IFLA_IFNAME, "kfloor0", 8);
		if ((us = call(fd, &r, "veth del")) < 0)
			break;
		report("veth_del", us);

		/* ifb */
		start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq++);
		put(&r.nh, IFLA_IFNAME, "kfloor1", 8);
		li = put(&r.nh, IFLA_LINKINFO, NULL, 0);
		put(&r.nh, IFLA_INFO_KIND, "ifb", 4);
		end(&r.nh, li);
		if ((us = call(fd, &r, "ifb add")) < 0)
			break;
		report("ifb_add", us);
		start(&r, RTM_DELLINK, 0, seq++);
		put(&r.nh, IFLA_IFNAME, "kfloor1", 8);
		if ((us = call(fd, &r, "ifb del")) < 0)
			break;
		report("ifb_del", us);

		/* nf_tables: a rule deleted, the socket closed */
		if (nft_txn(fill_add, "nft add") < 0)
			break;
		us = now_us();
		if (nft_txn(fill_del, "nft del") < 0)
			break;
		report("nft_del", now_us() - us);
	}
	return k == count ? 0 : 1;
}
