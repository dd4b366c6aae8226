/* SPDX-License-Identifier: Apache-2.0 */
/* What the netlink modules (netlink.c, netlink-link.c, netlink-tc.c, netlink-bridge.c)
 * share. Never installed. */
#ifndef CNI_NETLINK_INTERNAL_H
#define CNI_NETLINK_INTERNAL_H

#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "internal.h"

struct cni_nl {
	struct nl_sock *sk;
	uint32_t sent_seq; /* sequence number of the last request sent */
	int kernel_errno;  /* the kernel's reason when it refused that request, else 0 */
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

/* Fail with "<fmt...>: <kernel's reason>" for libnl's error nle on nl's socket (nl may be
 * NULL) (-CNI_ERR_NOT_FOUND for ENODEV/ENOENT, else -CNI_ERR_SYSTEM); errno and
 * cni_error_errno() hold the reason, the socket is drained. Where libnl folded the
 * kernel's errno into a catch-all code (ENETDOWN and others become "Unspecific
 * failure"), the errno the kernel sent is used. */
int cni_nl_fail(cni_nl *nl, cni_error **err, int nle, const char *fmt, ...)
    CNI_PRINTF(4, 5);
/* 1 to IFNAMSIZ-1 bytes, else -CNI_ERR_INVALID_ARG naming it. */
int cni_nl_valid_ifname(const char *name, cni_error **err);
/* "aa:bb:cc:dd:ee:ff" into a new AF_LLC address. */
int cni_nl_parse_mac(const char *mac, struct nl_addr **out, cni_error **err);

#endif
