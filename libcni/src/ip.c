/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "internal.h"

static const uint8_t v4_in_v6_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool family_ok(const cni_ipaddr *ip)
{
	return ip && (ip->family == AF_INET || ip->family == AF_INET6);
}

static size_t family_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool is_v4_mapped(const uint8_t a[16])
{
	return memcmp(a, v4_in_v6_prefix, sizeof(v4_in_v6_prefix)) == 0;
}

/*
 * inet_pton accepts exactly what Go's net.ParseIP does for both families (dotted quads
 * without leading zeros, no zones), so it is the parser; the literal is copied first
 * because callers may hand us a slice of a longer string.
 */
static int parse_addr(const char *s, size_t n, cni_ipaddr *out)
{
	char buf[INET6_ADDRSTRLEN];
	cni_ipaddr ip = {0};

	if (n == 0 || n >= sizeof(buf))
		return -CNI_ERR_INVALID_ARG;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (memchr(buf, '\0', n))
		return -CNI_ERR_INVALID_ARG;

	if (inet_pton(AF_INET, buf, ip.addr) == 1) {
		ip.family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, ip.addr) == 1) {
		ip.family = AF_INET6;
		/* Go's To4(): an IPv4-mapped literal is an IPv4 address */
		if (is_v4_mapped(ip.addr)) {
			memmove(ip.addr, ip.addr + 12, 4);
			memset(ip.addr + 4, 0, 12);
			ip.family = AF_INET;
		}
	} else {
		return -CNI_ERR_INVALID_ARG;
	}
	*out = ip;
	return 0;
}

/* The prefix as Go's ParseCIDR reads it: decimal digits only (leading zeros allowed). */
static int parse_prefix(const char *s, int max, int *out)
{
	int v = 0;

	if (!*s)
		return -CNI_ERR_INVALID_ARG;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -CNI_ERR_INVALID_ARG;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -CNI_ERR_INVALID_ARG;
	}
	*out = v;
	return 0;
}

int cni_ip_parse(const char *s, cni_ipaddr *out)
{
	cni_ipaddr ip;
	int r;

	if (!s || !out)
		return -CNI_ERR_INVALID_ARG;
	r = parse_addr(s, strlen(s), &ip);
	if (r < 0)
		return r;
	*out = ip;
	return 0;
}

static int parse_ipnet(const char *s, bool prefix_optional, cni_ipnet *out)
{
	const char *slash;
	cni_ipnet n = {0};
	int max, r;

	if (!s || !out)
		return -CNI_ERR_INVALID_ARG;
	slash = strchr(s, '/');
	if (!slash) {
		if (!prefix_optional)
			return -CNI_ERR_INVALID_ARG;
		r = parse_addr(s, strlen(s), &n.ip);
		if (r < 0)
			return r;
		n.prefix = -1;
		*out = n;
		return 0;
	}

	r = parse_addr(s, (size_t)(slash - s), &n.ip);
	if (r < 0)
		return r;
	/*
	 * The prefix is bounded by how the address was written: an IPv4-mapped IPv6
	 * literal takes an IPv6 prefix, and Go then keeps only the low 32 bits of the mask
	 * when it uses the network as IPv4, so /120 means /24 and anything below /96 /0.
	 */
	max = n.ip.family == AF_INET && memchr(s, ':', (size_t)(slash - s)) ? 128
									    : cni_ip_bits(&n.ip);
	r = parse_prefix(slash + 1, max, &n.prefix);
	if (r < 0)
		return r;
	if (max == 128 && n.ip.family == AF_INET)
		n.prefix = n.prefix > 96 ? n.prefix - 96 : 0;
	*out = n;
	return 0;
}

int cni_ipnet_parse(const char *s, cni_ipnet *out)
{
	return parse_ipnet(s, false, out);
}

int cni_ip_or_ipnet_parse(const char *s, cni_ipnet *out)
{
	return parse_ipnet(s, true, out);
}

/* IPv6 text as Go's IP.String writes it (RFC 5952: the first longest run of two or more
 * zero groups becomes "::"). glibc's inet_ntop differs: it prints ::a.b.c.d forms. */
static void format_v6(const uint8_t a[16], char *buf)
{
	int best = -1, best_len = 0;
	char *p = buf;

	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && a[2 * j] == 0 && a[2 * j + 1] == 0)
			j++;
		if (j - i > best_len && j - i >= 2) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}

	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			*p++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i > 0 && i != best + best_len)
			*p++ = ':';
		p += sprintf(p, "%x", (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
	}
	*p = '\0';
}

static void format_ip(const cni_ipaddr *ip, char *buf)
{
	const uint8_t *a = ip->addr;

	if (ip->family == AF_INET6 && is_v4_mapped(a))
		a += 12; /* Go prints IPv4-mapped addresses as IPv4 */
	else if (ip->family == AF_INET6) {
		format_v6(a, buf);
		return;
	}
	sprintf(buf, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

const char *cni_ip_format(const cni_ipaddr *ip, char *buf, size_t len)
{
	char tmp[CNI_IP_STRLEN];

	if (!family_ok(ip) || !buf)
		return NULL;
	format_ip(ip, tmp);
	if (strlen(tmp) >= len)
		return NULL;
	memcpy(buf, tmp, strlen(tmp) + 1);
	return buf;
}

const char *cni_ipnet_format(const cni_ipnet *n, char *buf, size_t len)
{
	char tmp[CNI_IPNET_STRLEN];
	int prefix;

	if (!n || !family_ok(&n->ip) || !buf || n->prefix < 0 || n->prefix > cni_ip_bits(&n->ip))
		return NULL;
	format_ip(&n->ip, tmp);
	prefix = n->prefix;
	/* printed as IPv4, so the prefix must be the IPv4 one as well */
	if (n->ip.family == AF_INET6 && is_v4_mapped(n->ip.addr))
		prefix = prefix > 96 ? prefix - 96 : 0;
	snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), "/%d", prefix);
	if (strlen(tmp) >= len)
		return NULL;
	memcpy(buf, tmp, strlen(tmp) + 1);
	return buf;
}

int cni_ip_bits(const cni_ipaddr *ip)
{
	if (!family_ok(ip))
		return 0;
	return ip->family == AF_INET ? 32 : 128;
}

int cni_ip_cmp(const cni_ipaddr *a, const cni_ipaddr *b)
{
	if (!a || !b) /* NULL first, so a sort never crashes */
		return (a != NULL) - (b != NULL);
	if (a->family != b->family)
		return a->family == AF_INET ? -1
					    : (b->family == AF_INET ? 1 : a->family - b->family);
	return memcmp(a->addr, b->addr, family_len(a->family));
}

bool cni_ip_equal(const cni_ipaddr *a, const cni_ipaddr *b)
{
	return a && b && family_ok(a) && cni_ip_cmp(a, b) == 0;
}

bool cni_ip_add(const cni_ipaddr *ip, uint64_t n, cni_ipaddr *out)
{
	cni_ipaddr r;
	size_t len;

	if (!family_ok(ip) || !out)
		return false;
	r = *ip;
	len = family_len(ip->family);
	for (size_t i = len; i-- > 0 && n;) {
		uint64_t sum = r.addr[i] + (n & 0xff);
		r.addr[i] = (uint8_t)sum;
		n = (n >> 8) + (sum >> 8);
	}
	if (n) /* carried out of the top byte */
		return false;
	*out = r;
	return true;
}

bool cni_ip_diff(const cni_ipaddr *hi, const cni_ipaddr *lo, uint64_t *out)
{
	uint8_t d[16];
	unsigned int borrow = 0;
	uint64_t v = 0;

	if (!out)
		return false;
	*out = UINT64_MAX;
	if (!family_ok(hi) || !lo || hi->family != lo->family)
		return false;
	size_t len = family_len(hi->family);
	for (size_t i = len; i-- > 0;) {
		int x = hi->addr[i] - lo->addr[i] - (int)borrow;
		borrow = x < 0;
		d[i] = (uint8_t)(x + (borrow ? 256 : 0));
	}
	if (borrow) /* hi < lo */
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i + 8 < len && d[i])
			return false;
		v = v << 8 | d[i];
	}
	*out = v;
	return true;
}

bool cni_ip_next(const cni_ipaddr *ip, cni_ipaddr *out)
{
	return cni_ip_add(ip, 1, out);
}

bool cni_ip_prev(const cni_ipaddr *ip, cni_ipaddr *out)
{
	cni_ipaddr r;
	size_t i;

	if (!family_ok(ip) || !out)
		return false;
	r = *ip;
	for (i = family_len(ip->family); i-- > 0;) {
		if (r.addr[i]-- != 0)
			break;
	}
	if (i == (size_t)-1) /* was all zeros */
		return false;
	*out = r;
	return true;
}

bool cni_ip_is_unspecified(const cni_ipaddr *ip)
{
	if (!family_ok(ip))
		return false;
	for (size_t i = 0; i < family_len(ip->family); i++)
		if (ip->addr[i])
			return false;
	return true;
}

/* Mask byte i for a prefix; prefix is clamped to the family's width by callers. */
static uint8_t mask_byte(int prefix, size_t i)
{
	int bits = prefix - (int)i * 8;

	if (bits >= 8)
		return 0xff;
	if (bits <= 0)
		return 0;
	return (uint8_t)(0xff << (8 - bits));
}

static int clamp_prefix(const cni_ipnet *n)
{
	int bits = cni_ip_bits(&n->ip);

	if (n->prefix < 0)
		return bits; /* a bare address (cni_ip_or_ipnet_parse) is a host route */
	return n->prefix > bits ? bits : n->prefix;
}

void cni_ipnet_mask(const cni_ipnet *n, cni_ipaddr *out)
{
	cni_ipaddr m = {0};
	int prefix;

	if (!n || !out || !family_ok(&n->ip))
		return;
	prefix = clamp_prefix(n);
	m.family = n->ip.family;
	for (size_t i = 0; i < family_len(m.family); i++)
		m.addr[i] = mask_byte(prefix, i);
	*out = m;
}

void cni_ipnet_network(const cni_ipnet *n, cni_ipnet *out)
{
	cni_ipnet r;
	int prefix;

	if (!n || !out || !family_ok(&n->ip))
		return;
	r = *n;
	prefix = clamp_prefix(n);
	for (size_t i = 0; i < family_len(r.ip.family); i++)
		r.ip.addr[i] &= mask_byte(prefix, i);
	*out = r;
}

void cni_ipnet_last(const cni_ipnet *n, cni_ipaddr *out)
{
	cni_ipaddr r;
	int prefix;

	if (!n || !out || !family_ok(&n->ip))
		return;
	r = n->ip;
	prefix = clamp_prefix(n);
	for (size_t i = 0; i < family_len(r.family); i++)
		r.addr[i] |= (uint8_t)~mask_byte(prefix, i);
	*out = r;
}

static bool contains_prefix(const cni_ipnet *n, int prefix, const cni_ipaddr *ip)
{
	for (size_t i = 0; i < family_len(ip->family); i++) {
		uint8_t m = mask_byte(prefix, i);
		if ((n->ip.addr[i] & m) != (ip->addr[i] & m))
			return false;
	}
	return true;
}

bool cni_ipnet_contains(const cni_ipnet *n, const cni_ipaddr *ip)
{
	if (!n || !family_ok(&n->ip) || !family_ok(ip) || n->ip.family != ip->family)
		return false;
	return contains_prefix(n, clamp_prefix(n), ip);
}

bool cni_ipnet_overlaps(const cni_ipnet *a, const cni_ipnet *b)
{
	int pa, pb;

	if (!a || !b || !family_ok(&a->ip) || !family_ok(&b->ip) || a->ip.family != b->ip.family)
		return false;
	pa = clamp_prefix(a);
	pb = clamp_prefix(b);
	/* two prefixes overlap exactly when they agree on the shorter one's bits */
	return contains_prefix(a, pa < pb ? pa : pb, &b->ip);
}
