/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_IP_H
#define CNI_IP_H

/**
 * @file cni/ip.h
 * @brief IP and CIDR maths for both families: parse, format, next/prev, compare,
 * contains, overlaps, network/broadcast. Plain value types, no allocation.
 *
 * IPv4 addresses are kept as 4 bytes (family AF_INET), IPv6 as 16 (AF_INET6). An
 * IPv4-mapped IPv6 literal ("::ffff:1.2.3.4") parses as IPv4, as Go's net.ParseIP + To4
 * treats it.
 */

#include "error.h"

CNI_BEGIN_DECL

/** Long enough for any formatted address / CIDR, NUL included. */
#define CNI_IP_STRLEN    46
#define CNI_IPNET_STRLEN 50

typedef struct cni_ipaddr {
	int family;       /**< AF_INET or AF_INET6 */
	uint8_t addr[16]; /**< network byte order; IPv4 uses the first 4 bytes */
} cni_ipaddr;

typedef struct cni_ipnet {
	cni_ipaddr ip; /**< as written (host bits kept, like Go's ParseCIDR IP + mask) */
	int prefix;    /**< 0..32 or 0..128 */
} cni_ipnet;

/** Parse an address. Fails with -CNI_ERR_INVALID_ARG (no error object: callers name the field). */
CNI_EXPORT int cni_ip_parse(const char *s, cni_ipaddr *out);
/**
 * Parse "addr/prefix" keeping host bits. The prefix is decimal digits (leading zeros allowed,
 * as Go's ParseCIDR). An IPv4-mapped literal takes an IPv6 prefix and becomes IPv4 with
 * prefix-96 (0 below /96), which is how Go then uses such a network.
 */
CNI_EXPORT int cni_ipnet_parse(const char *s, cni_ipnet *out);
/** Parse "addr" or "addr/prefix" (prefix -1 when absent), as CNI_ARGS IP= allows. */
CNI_EXPORT int cni_ip_or_ipnet_parse(const char *s, cni_ipnet *out);

/**
 * Canonical text as Go's IP.String writes it (RFC 5952; IPv4-mapped IPv6 printed as
 * IPv4) into buf; returns buf, or NULL when len is too small or the value is invalid.
 */
CNI_EXPORT const char *cni_ip_format(const cni_ipaddr *ip, char *buf, size_t len);
CNI_EXPORT const char *cni_ipnet_format(const cni_ipnet *n, char *buf, size_t len);

/** Number of address bits: 32 or 128 (0 for an unknown family). */
CNI_EXPORT int cni_ip_bits(const cni_ipaddr *ip);
/** <0, 0, >0; addresses of different families order IPv4 first (NULL before all). */
CNI_EXPORT int cni_ip_cmp(const cni_ipaddr *a, const cni_ipaddr *b);
CNI_EXPORT bool cni_ip_equal(const cni_ipaddr *a, const cni_ipaddr *b);
/** ip + 1 / ip - 1; false (out untouched) on wrap-around. */
CNI_EXPORT bool cni_ip_next(const cni_ipaddr *ip, cni_ipaddr *out);
CNI_EXPORT bool cni_ip_prev(const cni_ipaddr *ip, cni_ipaddr *out);
/** ip + n (n may be large for IPv6: 64-bit step); false on wrap-around. */
CNI_EXPORT bool cni_ip_add(const cni_ipaddr *ip, uint64_t n, cni_ipaddr *out);
/** hi - lo into *out, for hi >= lo of one family (the count of addresses from lo up to,
 * not including, hi). false, with *out UINT64_MAX, when the difference needs more than
 * 64 bits, hi < lo or the families differ. */
CNI_EXPORT bool cni_ip_diff(const cni_ipaddr *hi, const cni_ipaddr *lo, uint64_t *out);
/** True for 0.0.0.0 / ::. */
CNI_EXPORT bool cni_ip_is_unspecified(const cni_ipaddr *ip);

/** The network address with host bits cleared, same prefix. */
CNI_EXPORT void cni_ipnet_network(const cni_ipnet *n, cni_ipnet *out);
/** The last address of the network (IPv4 broadcast, IPv6 all-ones host part). */
CNI_EXPORT void cni_ipnet_last(const cni_ipnet *n, cni_ipaddr *out);
/** True when ip is in n (same family, network bits equal). */
CNI_EXPORT bool cni_ipnet_contains(const cni_ipnet *n, const cni_ipaddr *ip);
/** True when the two networks share any address. */
CNI_EXPORT bool cni_ipnet_overlaps(const cni_ipnet *a, const cni_ipnet *b);
/** The netmask as an address (255.255.255.0 ...). */
CNI_EXPORT void cni_ipnet_mask(const cni_ipnet *n, cni_ipaddr *out);

CNI_END_DECL

#endif
