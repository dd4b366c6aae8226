/* SPDX-License-Identifier: Apache-2.0 */
/* What the netlink modules (netlink.c, netlink-tc.c, netlink-bridge.c) share. Never
 * installed. */
#ifndef CNI_NETLINK_INTERNAL_H
#define CNI_NETLINK_INTERNAL_H

#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "internal.h"

struct cni_nl {
	struct nl_sock *sk;
	uint32_t sent_seq; /* sequence number of the last request sent */
};

/* Best-effort name of ifindex for messages ("<ifindex>" when it cannot be had). */
void cni_nl_ifname(cni_nl *nl, int ifindex, char *buf, size_t len);

/*
 * Send msg (freed here) and read the kernel's answer up to its ACK or the end of a dump;
 * each reply message goes to valid (may be NULL), which returns 0 or a negative errno
 * (a reply it could not read). Returns 0 or a negative errno: the kernel's own when it
 * refused the request, -EIO when the socket failed. Leaves the socket in step either way.
 */
typedef int (*cni_nl_reply_fn)(struct nlmsghdr *h, void *arg);
int cni_nl_talk(cni_nl *nl, struct nl_msg *msg, cni_nl_reply_fn valid, void *arg);

/* Fail with -CNI_ERR_SYSTEM (-CNI_ERR_NOT_FOUND for ENODEV/ENOENT), the kernel's errno
 * kept for cni_error_errno(): "<what>: <strerror>". neg_errno as cni_nl_talk returns it. */
int cni_nl_fail_errno(cni_error **err, int neg_errno, const char *fmt, ...) CNI_PRINTF(3, 4);

#endif
