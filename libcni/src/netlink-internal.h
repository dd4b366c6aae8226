/* SPDX-License-Identifier: Apache-2.0 */
/* What the netlink layer's source files share (netlink.c, netlink-link.c). */
#ifndef CNI_NETLINK_INTERNAL_H
#define CNI_NETLINK_INTERNAL_H

#include <netlink/addr.h>
#include <netlink/netlink.h>

#include "internal.h"

struct cni_nl {
	struct nl_sock *sk;
	uint32_t sent_seq; /* sequence number of the last request sent */
};

/* Fail with "<fmt...>: <kernel's reason>" (-CNI_ERR_NOT_FOUND for ENODEV/ENOENT, else
 * -CNI_ERR_SYSTEM); errno is left holding the reason, the socket is drained. */
int nl_fail(struct nl_sock *sk, cni_error **err, int nle, const char *fmt, ...) CNI_PRINTF(4, 5);
/* 1 to IFNAMSIZ-1 bytes, else -CNI_ERR_INVALID_ARG naming it. */
int valid_ifname(const char *name, cni_error **err);
/* Best-effort name of ifindex for messages (its number when it cannot be found). */
void ifname_of(cni_nl *nl, int ifindex, char *buf, size_t len);
/* "aa:bb:cc:dd:ee:ff" into a new AF_LLC address. */
int parse_mac(const char *mac, struct nl_addr **out, cni_error **err);

#endif
