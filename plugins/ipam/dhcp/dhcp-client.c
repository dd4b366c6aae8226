/* SPDX-License-Identifier: Apache-2.0 */
#include "dhcp-client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cni/cni.h>

_Thread_local int dhcp_cancel_fd = -1;

struct sock_job {
	const struct dhcp_params *p;
	bool probe_only;
	int fd;
	uint8_t mac[6];
};

/* Runs in the attachment's namespace: the socket stays in it after we leave. */
static int open_in_ns(void *userdata, cni_error **err)
{
	struct sock_job *j = userdata;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(DHCP_CLIENT_PORT)};
	struct ifreq ifr;
	int one = 1, fd;

	(void)err;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", j->p->ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		goto fail;
	memcpy(j->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (j->probe_only) {
		close(fd);
		return 0;
	}
	/* a link still down (a main plugin may set it up only after IPAM) sends nothing:
	 * bring it up, as the reference's daemon does */
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, j->p->ifname, strlen(j->p->ifname)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	j->fd = fd;
	return 0;
fail:
	one = -errno;
	close(fd);
	return one;
}

static int run_in_ns(struct sock_job *j)
{
	cni_netns *ns = NULL;
	cni_error *e = NULL;
	int r;

	r = cni_netns_open(j->p->netns, &ns, &e);
	if (r < 0) {
		/* callers speak errno: a library code would print as "Unknown error 1003" */
		r = r == -CNI_ERR_NOT_FOUND ? -ENOENT : -EINVAL;
	} else {
		r = cni_netns_run(ns, open_in_ns, j, &e);
	}
	cni_netns_close(ns);
	cni_error_free(e);
	return r < 0 ? r : 0;
}

int dhcp_client_socket(const struct dhcp_params *p, uint8_t mac[6])
{
	struct sock_job j = {.p = p, .fd = -1};
	int r = run_in_ns(&j);

	if (r < 0)
		return r;
	memcpy(mac, j.mac, 6);
	return j.fd;
}

bool dhcp_link_present(const struct dhcp_params *p)
{
	struct sock_job j = {.p = p, .probe_only = true, .fd = -1};

	return run_in_ns(&j) == 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

/* The options every message of ours carries: client id, parameter request list and the
 * provided options. Returns their count in o (room for DHCP_MAX_PROVIDE + 6). */
static size_t common_opts(const struct dhcp_params *p, struct dhcp_opt *o, uint8_t *cid,
			  uint8_t *prl, bool with_prl)
{
	size_t n = 0, cl = strlen(p->client_id);
	bool have_cid = false;

	for (size_t i = 0; i < p->n_provide; i++)
		if (p->provide[i].code == DHCP_OPT_CLIENT_ID)
			have_cid = true;
	if (!have_cid) {
		/* type 0: not a hardware address (RFC 2132 9.14) */
		cid[0] = 0;
		memcpy(cid + 1, p->client_id, cl);
		o[n++] = (struct dhcp_opt){DHCP_OPT_CLIENT_ID, cl + 1, cid};
	}
	if (with_prl && p->n_request) {
		memcpy(prl, p->request, p->n_request);
		o[n++] = (struct dhcp_opt){DHCP_OPT_PARAM_LIST, p->n_request, prl};
	}
	for (size_t i = 0; i < p->n_provide; i++)
		o[n++] = (struct dhcp_opt){p->provide[i].code, p->provide[i].len,
					   p->provide[i].data};
	return n;
}

static bool cancelled(void)
{
	struct pollfd p = {.fd = dhcp_cancel_fd, .events = POLLIN};

	return dhcp_cancel_fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Sends m to dst and waits for an answer of one of the wanted types with our xid,
 * retransmitting with a doubling interval (1 s first, capped at resendmax) until
 * deadline (monotonic ms). */
static int exchange(const struct dhcp_params *p, int fd, const uint8_t *pkt, size_t len,
		    uint32_t dst, uint32_t xid, const uint8_t mac[6], int want1, int want2,
		    int64_t deadline, struct dhcp_msg *reply, uint8_t *raw, size_t *raw_len)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(DHCP_SERVER_PORT),
				 .sin_addr.s_addr = dst};
	int64_t interval = 1000, next = 0;

	for (;;) {
		int64_t now = now_ms();
		struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
					{.fd = dhcp_cancel_fd, .events = POLLIN}};
		ssize_t n;
		int wait;

		if (cancelled())
			return -ECANCELED;
		if (now >= deadline)
			return -ETIMEDOUT;
		if (now >= next) {
			if (sendto(fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 &&
			    errno != ENETUNREACH && errno != ENETDOWN)
				return -errno;
			next = now + interval;
			interval *= 2;
			if (interval > p->resendmax_ms)
				interval = p->resendmax_ms;
		}
		wait = (int)((next < deadline ? next : deadline) - now);
		/* the cancel descriptor ends the wait; the check above then returns */
		if (poll(pfd, 2, wait) <= 0)
			continue;
		n = recv(fd, raw, DHCP_MAX_LEN, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		/* anything that is not an answer to this very message is ignored */
		if (dhcp_decode(reply, raw, (size_t)n) < 0 || reply->op != 2 || reply->xid != xid ||
		    memcmp(reply->chaddr, mac, 6) != 0)
			continue;
		int t = dhcp_msg_type(reply);
		if (t == DHCP_NAK && want2 == DHCP_NAK)
			return -ECONNREFUSED;
		if (t != want1 && t != want2)
			continue;
		*raw_len = (size_t)n;
		return 0;
	}
}

static uint32_t new_xid(void)
{
	uint32_t x = 0;

	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		x = (uint32_t)now_ms() ^ (uint32_t)getpid();
	return x;
}

int dhcp_lease_from_ack(struct dhcp_lease *l, const uint8_t *raw, size_t len, int64_t acquired)
{
	uint32_t v;

	if (len > sizeof(l->raw) || dhcp_decode(&l->ack, raw, len) < 0 ||
	    dhcp_msg_type(&l->ack) != DHCP_ACK || l->ack.yiaddr == 0)
		return -EBADMSG;
	memmove(l->raw, raw, len);
	l->raw_len = len;
	l->acquired = acquired;
	l->server = dhcp_msg_u32(&l->ack, DHCP_OPT_SERVER_ID, &v) ? htonl(v) : l->ack.siaddr;
	l->lease_time = dhcp_msg_u32(&l->ack, DHCP_OPT_LEASE_TIME, &v) ? v : 3600;
	if (l->lease_time == 0)
		l->lease_time = 1;
	l->t1 = dhcp_msg_u32(&l->ack, DHCP_OPT_T1, &v) && v < l->lease_time ? v : l->lease_time / 2;
	l->t2 = dhcp_msg_u32(&l->ack, DHCP_OPT_T2, &v) && v < l->lease_time && v >= l->t1
		    ? v
		    : (uint32_t)((uint64_t)l->lease_time * 7 / 8);
	if (l->t2 < l->t1)
		l->t2 = l->t1;
	return 0;
}

/* One DISCOVER/OFFER/REQUEST/ACK round with a fresh xid. */
static int acquire_once(const struct dhcp_params *p, int fd, const uint8_t mac[6],
			int64_t deadline, struct dhcp_msg *offer, uint8_t *raw, size_t *raw_len)
{
	uint8_t cid[256], prl[DHCP_MAX_REQUEST], pkt[DHCP_MAX_LEN];
	struct dhcp_opt o[DHCP_MAX_PROVIDE + 8];
	uint32_t xid = new_xid(), req_ip, server;
	size_t n = common_opts(p, o, cid, prl, true);
	struct dhcp_out m = {.xid = xid, .flags = DHCP_FLAG_BROADCAST, .type = DHCP_DISCOVER,
			     .opts = o, .n_opts = n};
	int len, r;

	memcpy(m.chaddr, mac, 6);
	len = dhcp_encode(pkt, sizeof(pkt), &m);
	r = len < 0 ? len
		    : exchange(p, fd, pkt, (size_t)len, INADDR_BROADCAST, xid, mac, DHCP_OFFER, 0,
			       deadline, offer, raw, raw_len);
	if (r < 0)
		return r;
	if (!dhcp_msg_u32(offer, DHCP_OPT_SERVER_ID, &server))
		return -EBADMSG;
	server = htonl(server);
	req_ip = offer->yiaddr;
	o[n++] = (struct dhcp_opt){DHCP_OPT_REQUESTED_IP, 4, &req_ip};
	o[n++] = (struct dhcp_opt){DHCP_OPT_SERVER_ID, 4, &server};
	m.type = DHCP_REQUEST;
	m.n_opts = n;
	len = dhcp_encode(pkt, sizeof(pkt), &m);
	return len < 0 ? len
		       : exchange(p, fd, pkt, (size_t)len, INADDR_BROADCAST, xid, mac, DHCP_ACK,
				  DHCP_NAK, deadline, offer, raw, raw_len);
}

/* A client socket (its MAC in mac) and the message an exchange decodes into (*msg, new):
 * the socket, or a negative errno. */
static int client_open(const struct dhcp_params *p, uint8_t mac[6], struct dhcp_msg **msg)
{
	int fd = dhcp_client_socket(p, mac);

	if (fd < 0)
		return fd;
	*msg = malloc(sizeof(**msg));
	if (!*msg) {
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

int dhcp_acquire(const struct dhcp_params *p, struct dhcp_lease *out)
{
	uint8_t mac[6], raw[DHCP_MAX_LEN];
	struct dhcp_msg *offer;
	int64_t deadline = now_ms() + p->timeout_ms;
	size_t raw_len;
	int fd, r;

	fd = client_open(p, mac, &offer);
	if (fd < 0)
		return fd;
	/* a NAK to our REQUEST (the offered address went to another client meanwhile, as
	 * happens when many clients start at once) sends us back to DISCOVER, RFC 2131 3.1 */
	do {
		r = acquire_once(p, fd, mac, deadline, offer, raw, &raw_len);
	} while (r == -ECONNREFUSED && now_ms() < deadline);
	if (r == 0)
		r = dhcp_lease_from_ack(out, raw, raw_len, wall_s());
	free(offer);
	close(fd);
	return r;
}

int dhcp_extend(const struct dhcp_params *p, struct dhcp_lease *l, bool rebind,
		unsigned timeout_ms)
{
	uint8_t mac[6], cid[256], prl[DHCP_MAX_REQUEST], pkt[DHCP_MAX_LEN], raw[DHCP_MAX_LEN];
	struct dhcp_opt o[DHCP_MAX_PROVIDE + 8];
	struct dhcp_msg *ack;
	uint32_t xid = new_xid();
	size_t raw_len;
	int fd, len, r;

	fd = client_open(p, mac, &ack);
	if (fd < 0)
		return fd;
	/* RENEWING/REBINDING (RFC 2131 4.3.2): ciaddr set, no server id or requested ip;
	 * the broadcast flag because the address may not be configured on the link */
	struct dhcp_out m = {.xid = xid, .flags = DHCP_FLAG_BROADCAST, .type = DHCP_REQUEST,
			     .ciaddr = l->ack.yiaddr, .opts = o,
			     .n_opts = common_opts(p, o, cid, prl, true)};
	memcpy(m.chaddr, mac, 6);
	len = dhcp_encode(pkt, sizeof(pkt), &m);
	r = len < 0 ? len
		    : exchange(p, fd, pkt, (size_t)len,
			       rebind || !l->server ? INADDR_BROADCAST : l->server, xid, mac,
			       DHCP_ACK, DHCP_NAK, now_ms() + timeout_ms, ack, raw, &raw_len);
	if (r == 0)
		r = dhcp_lease_from_ack(l, raw, raw_len, wall_s());
	free(ack);
	close(fd);
	return r;
}

/* The link is gone when a main plugin deletes it before calling IPAM DEL (the
 * reference's bridge does, and so does ours): the release then goes from the daemon's
 * own namespace, unicast to the server, which identifies the lease by ciaddr, chaddr and
 * client id, not by where the message comes from. */
static int host_socket(void)
{
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	return fd < 0 ? -errno : fd;
}

int dhcp_release(const struct dhcp_params *p, const struct dhcp_lease *l)
{
	uint8_t mac[6], cid[256], prl[DHCP_MAX_REQUEST], pkt[DHCP_MAX_LEN];
	struct dhcp_opt o[DHCP_MAX_PROVIDE + 8];
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(DHCP_SERVER_PORT)};
	uint32_t server = l->server;
	bool in_ns = true;
	size_t n;
	int fd, len, r = 0;

	fd = dhcp_client_socket(p, mac);
	if (fd < 0) {
		in_ns = false;
		memcpy(mac, l->ack.chaddr, 6);
		fd = host_socket();
		if (fd < 0 || !server) {
			if (fd >= 0)
				close(fd);
			return fd < 0 ? fd : -ENETUNREACH;
		}
	}
	n = common_opts(p, o, cid, prl, false);
	o[n++] = (struct dhcp_opt){DHCP_OPT_SERVER_ID, 4, &server};
	struct dhcp_out m = {.xid = new_xid(), .type = DHCP_RELEASE, .ciaddr = l->ack.yiaddr,
			     .opts = o, .n_opts = n};
	memcpy(m.chaddr, mac, 6);
	len = dhcp_encode(pkt, sizeof(pkt), &m);
	/* unicast to the server (RFC 2131 4.4.6); on the link a broadcast follows, as the
	 * address may not be there (gone already, or never set: an ADD taken back before the
	 * main plugin configured it), and then the unicast is accepted by sendto() and lost
	 * waiting for an ARP answer (fault sweep, bridge+dhcp). The server id option keeps
	 * other servers from acting on it; a second release of a lease is ignored. */
	to.sin_addr.s_addr = server ? server : INADDR_BROADCAST;
	if (len < 0)
		r = len;
	else if (sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 || in_ns) {
		r = in_ns ? 0 : -errno;
		to.sin_addr.s_addr = INADDR_BROADCAST;
		if (in_ns && sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
			r = 0;
	}
	close(fd);
	return r;
}
