/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CNI results of every spec version.
 *
 * Three shapes exist: the 0.1.0/0.2.0 one (ip4 and ip6, each with its own routes), the
 * 0.3.x/0.4.0 one (interfaces, ips with a "version" string, routes) and the 1.x one
 * (no ips[].version, 1.1 interface and route fields). One model holds all three: 0.1.0/0.2.0
 * IPs remember their slot (ip4 or ip6) and their routes remember which IP they hang off.
 *
 * Decoding follows Go's encoding/json as the reference uses it: member names match
 * case-insensitively, unknown members are ignored, null leaves a field unset, a wrong
 * type fails. Addresses keep what Go's net package keeps (the 16-byte address, the mask
 * length in the family that was parsed) so that printing gives Go's canonical text.
 */
#include <limits.h>
#include <stdio.h>
#include <strings.h>

#include "conf-internal.h"
#include "internal.h"
#include "result-internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

enum family {
	FAM_020, /* 0.1.0, 0.2.0 */
	FAM_040, /* 0.3.0, 0.3.1, 0.4.0 */
	FAM_100, /* 1.0.0, 1.1.0 */
};

struct cidr {
	uint8_t ip[16]; /* IPv4 as ::ffff:a.b.c.d, as Go stores it */
	int bits;	/* 32 or 128: the family the text was parsed as */
	int prefix;
	char *text; /* canonical, as Go's IPNet.String() prints it */
};

struct addr {
	uint8_t ip[16];
	char *text; /* NULL = unset */
};

struct res_iface {
	char *name; /* never NULL: Go prints "name" even when empty */
	char *mac, *sandbox, *socket_path, *pci_id;
	int mtu;
};

struct res_ip {
	char *ver; /* 0.3.x/0.4.0 only: "version" as given (never NULL there) */
	int slot;  /* 0.1.0/0.2.0 only: 4 (ip4) or 6 (ip6) */
	bool has_iface;
	int iface;
	struct cidr address;
	struct addr gw;
};

struct res_route {
	int owner; /* 0.1.0/0.2.0 only: slot of the IP it belongs to */
	struct cidr dst;
	struct addr gw;
	int mtu, advmss, priority;
	bool has_table, has_scope;
	int table, scope;
};

struct res_dns {
	char **nameservers, **search, **options; /* NULL when empty */
	char *domain;				 /* NULL when empty */
};

struct cni_result {
	char *version;
	enum family fam;
	struct res_iface *ifaces;
	size_t n_ifaces;
	struct res_ip *ips;
	size_t n_ips;
	struct res_route *routes;
	size_t n_routes;
	struct res_dns dns;
};

static const char *const known_versions[] = {"0.1.0", "0.2.0", "0.3.0", "0.3.1",
					     "0.4.0", "1.0.0", "1.1.0"};

static int version_family(const char *v, enum family *fam)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_versions); i++) {
		if (streq(v, known_versions[i])) {
			*fam = i < 2 ? FAM_020 : i < 5 ? FAM_040 : FAM_100;
			return 0;
		}
	}
	return -1;
}

static int unsupported_version(cni_error **err, const char *v)
{
	_cleanup_free_ char *q = cni_go_quote(v);
	return cni_error_set(err, CNI_ERR_INCOMPATIBLE_CNI_VERSION, NULL,
			     "unsupported CNI result version %s", strempty(q));
}

/* ---- addresses, parsed and printed as Go's net package does ---------------------- */

/* Go's dtoi: at least one decimal digit, value kept below 0xFFFFFF; returns digits used. */
static size_t go_dtoi(const char *s, int *out)
{
	size_t i = 0;
	int n = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		n = n * 10 + (s[i] - '0');
		if (n >= 0xFFFFFF)
			return 0;
	}
	*out = n;
	return i;
}

static size_t go_xtoi(const char *s, int *out)
{
	size_t i = 0;
	int n = 0;
	for (;; i++) {
		char c = s[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		n = n * 16 + d;
		if (n >= 0xFFFFFF)
			return 0;
	}
	*out = n;
	return i;
}

/* Dotted quad over the whole of s (up to end); no leading zeros, as Go 1.17+. */
static bool parse_v4(const char *s, const char *end, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		if (s >= end)
			return false;
		if (i > 0) {
			if (*s != '.')
				return false;
			s++;
		}
		int n;
		size_t c = s < end ? go_dtoi(s, &n) : 0;
		if (c == 0 || s + c > end || n > 255 || (c > 1 && *s == '0'))
			return false;
		s += c;
		out[i] = (uint8_t)n;
	}
	return s == end;
}

static void v4_mapped(uint8_t ip[16], const uint8_t v4[4])
{
	memset(ip, 0, 10);
	ip[10] = ip[11] = 0xff;
	memcpy(ip + 12, v4, 4);
}

static bool parse_v6(const char *s, const char *end, uint8_t ip[16])
{
	int ellipsis = -1, i = 0;

	memset(ip, 0, 16);
	if (end - s >= 2 && s[0] == ':' && s[1] == ':') {
		ellipsis = 0;
		s += 2;
		if (s == end)
			return true;
	}
	while (i < 16) {
		int n;
		size_t c = go_xtoi(s, &n);
		if (c == 0 || s + c > end || n > 0xFFFF)
			return false;
		if (s + c < end && s[c] == '.') {
			uint8_t v4[4];
			if ((ellipsis < 0 && i != 12) || i + 4 > 16 || !parse_v4(s, end, v4))
				return false;
			memcpy(ip + i, v4, 4);
			i += 4;
			s = end;
			break;
		}
		ip[i] = (uint8_t)(n >> 8);
		ip[i + 1] = (uint8_t)n;
		i += 2;
		s += c;
		if (s == end)
			break;
		if (*s != ':' || s + 1 == end)
			return false;
		s++;
		if (*s == ':') {
			if (ellipsis >= 0)
				return false;
			ellipsis = i;
			if (++s == end)
				break;
		}
	}
	if (s != end)
		return false;
	if (i < 16) {
		if (ellipsis < 0)
			return false;
		int n = 16 - i;
		memmove(ip + ellipsis + n, ip + ellipsis, (size_t)(i - ellipsis));
		memset(ip + ellipsis, 0, (size_t)n);
	} else if (ellipsis >= 0) {
		return false;
	}
	return true;
}

static bool is_v4(const uint8_t ip[16])
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(ip, prefix, 12) == 0;
}

/* Go's net.ParseIP: the first '.' or ':' decides the family. */
static bool parse_ip(const char *s, uint8_t ip[16])
{
	const char *end = s + strlen(s);
	for (const char *p = s; p < end; p++) {
		if (*p == '.') {
			uint8_t v4[4];
			if (!parse_v4(s, end, v4))
				return false;
			v4_mapped(ip, v4);
			return true;
		}
		if (*p == ':')
			return parse_v6(s, end, ip);
	}
	return false;
}

static void format_ip(const uint8_t ip[16], char buf[CNI_IP_STRLEN])
{
	if (is_v4(ip)) {
		snprintf(buf, CNI_IP_STRLEN, "%u.%u.%u.%u", ip[12], ip[13], ip[14], ip[15]);
		return;
	}
	/* the first longest run of zero groups, if it spans two groups or more */
	int e0 = -1, e1 = -1;
	for (int i = 0; i < 16; i += 2) {
		int j = i;
		while (j < 16 && ip[j] == 0 && ip[j + 1] == 0)
			j += 2;
		if (j > i && j - i > e1 - e0) {
			e0 = i;
			e1 = j;
			i = j;
		}
	}
	if (e1 - e0 <= 2)
		e0 = e1 = -1;
	char *p = buf;
	for (int i = 0; i < 16; i += 2) {
		if (i == e0) {
			*p++ = ':';
			*p++ = ':';
			i = e1;
			if (i >= 16)
				break;
		} else if (i > 0) {
			*p++ = ':';
		}
		p += sprintf(p, "%x", (unsigned)(ip[i] << 8 | ip[i + 1]));
	}
	*p = '\0';
}

/* Go's net.ParseCIDR plus types.ParseCIDR (the host bits are kept). */
static bool parse_cidr(const char *s, uint8_t ip[16], int *bits, int *prefix)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return false;
	uint8_t v4[4];
	if (parse_v4(s, slash, v4)) {
		v4_mapped(ip, v4);
		*bits = 32;
	} else if (parse_v6(s, slash, ip)) {
		*bits = 128;
	} else {
		return false;
	}
	int n;
	size_t c = go_dtoi(slash + 1, &n);
	if (c == 0 || slash[1 + c] != '\0' || n > *bits)
		return false;
	*prefix = n;
	return true;
}

/* IPNet.String(): an IPv4(-mapped) address prints dotted with the mask cut to 32 bits. */
static char *format_cidr(const uint8_t ip[16], int bits, int prefix)
{
	char buf[CNI_IP_STRLEN];
	format_ip(ip, buf);
	if (is_v4(ip) && bits == 128)
		prefix = prefix > 96 ? prefix - 96 : 0;
	return cni_strdupf("%s/%d", buf, prefix);
}

static int cidr_set(struct cidr *c, const char *s)
{
	uint8_t ip[16];
	int bits, prefix;
	if (!parse_cidr(s, ip, &bits, &prefix))
		return -CNI_ERR_INVALID_ARG;
	char *text = format_cidr(ip, bits, prefix);
	if (!text)
		return -CNI_ERR_NOMEM;
	free(c->text);
	memcpy(c->ip, ip, 16);
	c->bits = bits;
	c->prefix = prefix;
	c->text = text;
	return 0;
}

/* "" unsets, as Go's net.IP does for empty text. */
static int addr_set(struct addr *a, const char *s)
{
	uint8_t ip[16];
	char buf[CNI_IP_STRLEN], *text = NULL;
	if (!isempty(s)) {
		if (!parse_ip(s, ip))
			return -CNI_ERR_INVALID_ARG;
		format_ip(ip, buf);
		text = strdup(buf);
		if (!text)
			return -CNI_ERR_NOMEM;
		memcpy(a->ip, ip, 16);
	}
	free(a->text);
	a->text = text;
	return 0;
}

/* ---- life cycle ------------------------------------------------------------------- */

static void iface_clear(struct res_iface *i)
{
	free(i->name);
	free(i->mac);
	free(i->sandbox);
	free(i->socket_path);
	free(i->pci_id);
}

static void ip_clear(struct res_ip *ip)
{
	free(ip->ver);
	free(ip->address.text);
	free(ip->gw.text);
}

static void route_clear(struct res_route *rt)
{
	free(rt->dst.text);
	free(rt->gw.text);
}

static void dns_clear(struct res_dns *d)
{
	cni_strv_free(d->nameservers);
	cni_strv_free(d->search);
	cni_strv_free(d->options);
	free(d->domain);
	memset(d, 0, sizeof(*d));
}

void cni_result_free(cni_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_ifaces; i++)
		iface_clear(&r->ifaces[i]);
	for (size_t i = 0; i < r->n_ips; i++)
		ip_clear(&r->ips[i]);
	for (size_t i = 0; i < r->n_routes; i++)
		route_clear(&r->routes[i]);
	free(r->ifaces);
	free(r->ips);
	free(r->routes);
	dns_clear(&r->dns);
	free(r->version);
	free(r);
}


static cni_result *result_alloc(const char *version, enum family fam)
{
	cni_result *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->version = strdup(version);
	if (!r->version) {
		free(r);
		return NULL;
	}
	r->fam = fam;
	return r;
}

int cni_result_new(cni_result **out, const char *version, cni_error **err)
{
	enum family fam;
	if (!out || !version)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_new: out and version are required");
	if (version_family(version, &fam) < 0)
		return unsupported_version(err, version);
	cni_result *r = result_alloc(version, fam);
	if (!r)
		return cni_error_oom(err);
	*out = r;
	return 0;
}

/* Grow an array by one zeroed element; returns it or NULL. */
static void *grow(void *arrp, size_t *n, size_t size)
{
	void **arr = arrp;
	char *na = realloc(*arr, (*n + 1) * size);
	if (!na)
		return NULL;
	*arr = na;
	memset(na + *n * size, 0, size);
	return na + (*n)++ * size;
}

static int strdup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (isempty(src))
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -CNI_ERR_NOMEM;
}

static int strv_dup_opt(char **const src, char ***dst)
{
	*dst = NULL;
	if (!src || !src[0])
		return 0;
	return cni_strv_dup((const char *const *)src, dst);
}

static int dns_copy(struct res_dns *to, const struct res_dns *from)
{
	struct res_dns d = {0};
	if (strv_dup_opt(from->nameservers, &d.nameservers) < 0 ||
	    strv_dup_opt(from->search, &d.search) < 0 ||
	    strv_dup_opt(from->options, &d.options) < 0 ||
	    strdup_opt(&d.domain, from->domain) < 0) {
		dns_clear(&d);
		return -CNI_ERR_NOMEM;
	}
	*to = d;
	return 0;
}

static int iface_copy(struct res_iface *to, const struct res_iface *from, bool v11)
{
	memset(to, 0, sizeof(*to));
	to->name = strdup(from->name);
	if (!to->name || strdup_opt(&to->mac, from->mac) < 0 ||
	    strdup_opt(&to->sandbox, from->sandbox) < 0)
		return -CNI_ERR_NOMEM;
	if (v11) {
		to->mtu = from->mtu;
		if (strdup_opt(&to->socket_path, from->socket_path) < 0 ||
		    strdup_opt(&to->pci_id, from->pci_id) < 0)
			return -CNI_ERR_NOMEM;
	}
	return 0;
}

static int cidr_copy(struct cidr *to, const struct cidr *from)
{
	*to = *from;
	to->text = strdup(from->text);
	return to->text ? 0 : -CNI_ERR_NOMEM;
}

static int addr_copy(struct addr *to, const struct addr *from)
{
	*to = *from;
	to->text = NULL;
	return strdup_opt(&to->text, from->text);
}

static int ip_copy(struct res_ip *to, const struct res_ip *from)
{
	*to = *from;
	to->ver = NULL;
	to->address.text = NULL;
	to->gw.text = NULL;
	if (strdup_opt(&to->ver, from->ver) < 0 || cidr_copy(&to->address, &from->address) < 0 ||
	    addr_copy(&to->gw, &from->gw) < 0)
		return -CNI_ERR_NOMEM;
	return 0;
}

/* full: keep the 1.1 fields (the 0.1.0/0.2.0 down-conversion keeps only dst and gw). */
static int route_copy(struct res_route *to, const struct res_route *from, bool full)
{
	*to = *from;
	to->dst.text = NULL;
	to->gw.text = NULL;
	if (!full) {
		to->mtu = to->advmss = to->priority = 0;
		to->has_table = to->has_scope = false;
		to->table = to->scope = 0;
	}
	if (cidr_copy(&to->dst, &from->dst) < 0 || addr_copy(&to->gw, &from->gw) < 0)
		return -CNI_ERR_NOMEM;
	return 0;
}

/* Copy with a new label in the same family. */
static cni_result *result_copy(const cni_result *r, const char *version)
{
	_cleanup_result_ cni_result *n = result_alloc(version, r->fam);
	if (!n)
		return NULL;
	for (size_t i = 0; i < r->n_ifaces; i++) {
		struct res_iface *to = grow(&n->ifaces, &n->n_ifaces, sizeof(*to));
		if (!to || iface_copy(to, &r->ifaces[i], true) < 0)
			return NULL;
	}
	for (size_t i = 0; i < r->n_ips; i++) {
		struct res_ip *to = grow(&n->ips, &n->n_ips, sizeof(*to));
		if (!to || ip_copy(to, &r->ips[i]) < 0)
			return NULL;
	}
	for (size_t i = 0; i < r->n_routes; i++) {
		struct res_route *to = grow(&n->routes, &n->n_routes, sizeof(*to));
		if (!to || route_copy(to, &r->routes[i], true) < 0)
			return NULL;
	}
	if (dns_copy(&n->dns, &r->dns) < 0)
		return NULL;
	return TAKE_PTR(n);
}

cni_result *cni_result_dup(const cni_result *r)
{
	return r ? result_copy(r, r->version) : NULL;
}

const char *cni_result_version(const cni_result *r)
{
	return r ? r->version : NULL;
}

int cni_result_set_version(cni_result *r, const char *version, cni_error **err)
{
	enum family fam;
	if (!r || !version)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_set_version: result and version are required");
	if (version_family(version, &fam) < 0)
		return unsupported_version(err, version);
	if (fam != r->fam)
		return cni_error_set(
		    err, CNI_ERR_INVALID_ARG, NULL,
		    "cannot relabel a %s result as %s: the shapes differ, convert it", r->version,
		    version);
	char *v = strdup(version);
	if (!v)
		return cni_error_oom(err);
	free(r->version);
	r->version = v;
	return 0;
}

/* ---- conversion ------------------------------------------------------------------- */

/* 0.1.0/0.2.0 -> 0.3.x/0.4.0 shape: ips labelled by slot, routes in slot order. */
static int up_from_020(cni_result *to, const cni_result *from)
{
	for (size_t i = 0; i < from->n_ips; i++) {
		struct res_ip *ip = grow(&to->ips, &to->n_ips, sizeof(*ip));
		if (!ip || ip_copy(ip, &from->ips[i]) < 0)
			return -CNI_ERR_NOMEM;
		ip->ver = strdup(from->ips[i].slot == 4 ? "4" : "6");
		if (!ip->ver)
			return -CNI_ERR_NOMEM;
		ip->slot = 0;
		ip->has_iface = false;
	}
	for (size_t i = 0; i < from->n_routes; i++) {
		struct res_route *rt = grow(&to->routes, &to->n_routes, sizeof(*rt));
		if (!rt || route_copy(rt, &from->routes[i], true) < 0)
			return -CNI_ERR_NOMEM;
		rt->owner = 0;
	}
	return 0;
}

/* Between the 0.3.x/0.4.0 and 1.x shapes: "version" recomputed or dropped. */
static int between_040_100(cni_result *to, const cni_result *from)
{
	bool to_100 = to->fam == FAM_100;
	for (size_t i = 0; i < from->n_ifaces; i++) {
		struct res_iface *f = grow(&to->ifaces, &to->n_ifaces, sizeof(*f));
		if (!f || iface_copy(f, &from->ifaces[i], false) < 0)
			return -CNI_ERR_NOMEM;
	}
	for (size_t i = 0; i < from->n_ips; i++) {
		struct res_ip *ip = grow(&to->ips, &to->n_ips, sizeof(*ip));
		if (!ip || ip_copy(ip, &from->ips[i]) < 0)
			return -CNI_ERR_NOMEM;
		free(ip->ver);
		ip->ver = NULL;
		if (!to_100) {
			ip->ver = strdup(is_v4(ip->address.ip) ? "4" : "6");
			if (!ip->ver)
				return -CNI_ERR_NOMEM;
		}
	}
	for (size_t i = 0; i < from->n_routes; i++) {
		struct res_route *rt = grow(&to->routes, &to->n_routes, sizeof(*rt));
		if (!rt || route_copy(rt, &from->routes[i], true) < 0)
			return -CNI_ERR_NOMEM;
	}
	return 0;
}

/* 0.3.x/0.4.0 -> 0.1.0/0.2.0: first IP labelled "4" and first labelled "6". */
static int down_to_020(cni_result *to, const cni_result *from, cni_error **err)
{
	const struct res_ip *ip4 = NULL, *ip6 = NULL;
	for (size_t i = 0; i < from->n_ips && !(ip4 && ip6); i++) {
		const struct res_ip *ip = &from->ips[i];
		if (!ip4 && streq(strempty(ip->ver), "4"))
			ip4 = ip;
		else if (!ip6 && streq(strempty(ip->ver), "6"))
			ip6 = ip;
	}
	if (!ip4 && !ip6)
		return cni_error_set(err, CNI_ERR_INCOMPATIBLE_CNI_VERSION, NULL,
				     "cannot convert: no valid IP addresses");
	const struct res_ip *slots[2] = {ip4, ip6};
	for (int s = 0; s < 2; s++) {
		if (!slots[s])
			continue;
		struct res_ip *ip = grow(&to->ips, &to->n_ips, sizeof(*ip));
		if (!ip || ip_copy(ip, slots[s]) < 0)
			return cni_error_oom(err);
		free(ip->ver);
		ip->ver = NULL;
		ip->has_iface = false;
		ip->slot = s == 0 ? 4 : 6;
		/* routes of this slot, in their order */
		for (size_t i = 0; i < from->n_routes; i++) {
			const struct res_route *fr = &from->routes[i];
			if (is_v4(fr->dst.ip) != (s == 0))
				continue;
			struct res_route *rt = grow(&to->routes, &to->n_routes, sizeof(*rt));
			if (!rt || route_copy(rt, fr, false) < 0)
				return cni_error_oom(err);
			rt->owner = ip->slot;
		}
	}
	return 0;
}

int cni_result_convert(cni_result **out, const cni_result *r, const char *version, cni_error **err)
{
	enum family fam;
	if (!out || !r)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_convert: out and result are required");
	/* the reference reads an empty target as 0.1.0 */
	if (isempty(version))
		version = "0.1.0";
	if (version_family(version, &fam) < 0)
		return cni_error_set(err, CNI_ERR_INCOMPATIBLE_CNI_VERSION, NULL,
				     "no converter for CNI result version %s to %s", r->version,
				     version);
	if (fam == r->fam) {
		cni_result *n = result_copy(r, version);
		if (!n)
			return cni_error_oom(err);
		*out = n;
		return 0;
	}

	_cleanup_result_ cni_result *n = result_alloc(version, fam);
	_cleanup_result_ cni_result *mid = NULL;
	int ret;
	if (!n || dns_copy(&n->dns, &r->dns) < 0)
		return cni_error_oom(err);
	if (r->fam == FAM_020) {
		if (fam == FAM_040) {
			ret = up_from_020(n, r);
		} else {
			mid = result_alloc("0.4.0", FAM_040);
			if (!mid)
				return cni_error_oom(err);
			ret = up_from_020(mid, r);
			if (ret == 0)
				ret = between_040_100(n, mid);
		}
		if (ret < 0)
			return cni_error_oom(err);
	} else if (fam == FAM_020) {
		const cni_result *src = r;
		if (r->fam == FAM_100) {
			mid = result_alloc("0.4.0", FAM_040);
			if (!mid || between_040_100(mid, r) < 0)
				return cni_error_oom(err);
			src = mid;
		}
		ret = down_to_020(n, src, err);
		if (ret < 0)
			return ret;
	} else {
		if (between_040_100(n, r) < 0)
			return cni_error_oom(err);
	}
	*out = TAKE_PTR(n);
	return 0;
}

/* ---- decoding --------------------------------------------------------------------- */


static int type_error(cni_error **err, const char *path, const char *want, const json_t *j)
{
	_cleanup_free_ char *val = NULL;
	if (!json_is_object(j) && !json_is_array(j) && !json_is_null(j))
		val = cni_json_dump_compact(j);
	return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL, "%s: expected %s, got %s%s%s",
			     path, want, cni_json_go_kind(j), val ? " " : "", val ? val : "");
}

/* Optional string; null or absent leaves *out NULL. keep_empty stores "" too. */
static int dec_string(const json_t *obj, const char *name, const char *path, bool keep_empty,
		      char **out, cni_error **err)
{
	json_t *v = cni_json_go_member(obj, name, false);
	*out = NULL;
	if (!v || json_is_null(v))
		return keep_empty ? (*out = strdup("")) ? 0 : cni_error_oom(err) : 0;
	if (!json_is_string(v))
		return type_error(err, path, "a string", v);
	if (!keep_empty && !*json_string_value(v))
		return 0;
	*out = strdup(json_string_value(v));
	return *out ? 0 : cni_error_oom(err);
}

static int dec_int(const json_t *obj, const char *name, const char *path, int *out, bool *present,
		   cni_error **err)
{
	json_t *v = cni_json_go_member(obj, name, false);
	*out = 0;
	if (present)
		*present = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return type_error(err, path, "an integer", v);
	json_int_t n = json_integer_value(v);
	if (n < INT_MIN || n > INT_MAX)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "%s: %" JSON_INTEGER_FORMAT " is out of range", path, n);
	*out = (int)n;
	if (present)
		*present = true;
	return 0;
}

static int dec_strv(const json_t *obj, const char *name, const char *path, char ***out,
		    cni_error **err)
{
	json_t *v = cni_json_go_member(obj, name, false), *e;
	_cleanup_strv_ char **sv = NULL;
	size_t i;
	char epath[128];

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return type_error(err, path, "an array of strings", v);
	json_array_foreach(v, i, e)
	{
		snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
		if (!json_is_string(e) && !json_is_null(e))
			return type_error(err, epath, "a string", e);
		if (cni_strv_push(&sv, json_is_string(e) ? json_string_value(e) : "") < 0)
			return cni_error_oom(err);
	}
	*out = TAKE_PTR(sv);
	return 0;
}

/* A CIDR is required: Go's IPNet decoder fails on null and on "". */
static int dec_cidr(const json_t *obj, const char *name, const char *path, struct cidr *out,
		    cni_error **err)
{
	json_t *v = cni_json_go_member(obj, name, false);
	if (!v)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "%s: missing CIDR address", path);
	if (!json_is_string(v) && !json_is_null(v))
		return type_error(err, path, "a string", v);
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	int r = cidr_set(out, s);
	if (r == -CNI_ERR_NOMEM)
		return cni_error_oom(err);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "%s: invalid CIDR address: %s", path, s);
	return 0;
}

static int dec_addr(const json_t *obj, const char *name, const char *path, struct addr *out,
		    cni_error **err)
{
	json_t *v = cni_json_go_member(obj, name, false);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return type_error(err, path, "a string", v);
	int r = addr_set(out, json_string_value(v));
	if (r == -CNI_ERR_NOMEM)
		return cni_error_oom(err);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "%s: invalid IP address: %s", path, json_string_value(v));
	return 0;
}

/* An array of objects; NULL *arr when absent or null. */
static int dec_array(const json_t *obj, const char *name, const char *path, json_t **arr,
		     cni_error **err)
{
	json_t *v = cni_json_go_member(obj, name, false);
	*arr = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return type_error(err, path, "an array", v);
	for (size_t i = 0; i < json_array_size(v); i++) {
		if (!json_is_object(json_array_get(v, i))) {
			char epath[128];
			snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
			return type_error(err, epath, "an object", json_array_get(v, i));
		}
	}
	*arr = v;
	return 0;
}

static int dec_route(const json_t *o, const char *path, struct res_route *rt, cni_error **err)
{
	char p[160];
	int r;
#define P(field) (snprintf(p, sizeof(p), "%s.%s", path, field), p)
	if ((r = dec_cidr(o, "dst", P("dst"), &rt->dst, err)) < 0 ||
	    (r = dec_addr(o, "gw", P("gw"), &rt->gw, err)) < 0 ||
	    (r = dec_int(o, "mtu", P("mtu"), &rt->mtu, NULL, err)) < 0 ||
	    (r = dec_int(o, "advmss", P("advmss"), &rt->advmss, NULL, err)) < 0 ||
	    (r = dec_int(o, "priority", P("priority"), &rt->priority, NULL, err)) < 0 ||
	    (r = dec_int(o, "table", P("table"), &rt->table, &rt->has_table, err)) < 0 ||
	    (r = dec_int(o, "scope", P("scope"), &rt->scope, &rt->has_scope, err)) < 0)
		return r;
#undef P
	return 0;
}

static int dec_routes(cni_result *res, const json_t *obj, const char *path, int owner,
		      cni_error **err)
{
	json_t *arr;
	int r = dec_array(obj, "routes", path, &arr, err);
	for (size_t i = 0; r == 0 && i < json_array_size(arr); i++) {
		char p[128];
		struct res_route *rt = grow(&res->routes, &res->n_routes, sizeof(*rt));
		if (!rt)
			return cni_error_oom(err);
		rt->owner = owner;
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		r = dec_route(json_array_get(arr, i), p, rt, err);
	}
	return r;
}

static int dec_dns(cni_result *res, const json_t *obj, cni_error **err)
{
	json_t *v = cni_json_go_member(obj, "dns", false);
	int r;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return type_error(err, "dns", "an object", v);
	if ((r = dec_strv(v, "nameservers", "dns.nameservers", &res->dns.nameservers, err)) < 0 ||
	    (r = dec_string(v, "domain", "dns.domain", false, &res->dns.domain, err)) < 0 ||
	    (r = dec_strv(v, "search", "dns.search", &res->dns.search, err)) < 0 ||
	    (r = dec_strv(v, "options", "dns.options", &res->dns.options, err)) < 0)
		return r;
	/* an empty array prints like an absent one: keep one representation */
	char ***arrs[] = {&res->dns.nameservers, &res->dns.search, &res->dns.options};
	for (size_t i = 0; i < ARRAY_SIZE(arrs); i++) {
		char ***a = arrs[i];
		if (*a && !**a) {
			free(*a);
			*a = NULL;
		}
	}
	return 0;
}

static int dec_020(cni_result *res, const json_t *j, cni_error **err)
{
	static const char *const slots[] = {"ip4", "ip6"};
	int r;
	for (int s = 0; s < 2; s++) {
		char p[32];
		json_t *v = cni_json_go_member(j, slots[s], false);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_object(v))
			return type_error(err, slots[s], "an object", v);
		struct res_ip *ip = grow(&res->ips, &res->n_ips, sizeof(*ip));
		if (!ip)
			return cni_error_oom(err);
		ip->slot = s == 0 ? 4 : 6;
		snprintf(p, sizeof(p), "%s.ip", slots[s]);
		if ((r = dec_cidr(v, "ip", p, &ip->address, err)) < 0)
			return r;
		snprintf(p, sizeof(p), "%s.gateway", slots[s]);
		if ((r = dec_addr(v, "gateway", p, &ip->gw, err)) < 0)
			return r;
		snprintf(p, sizeof(p), "%s.routes", slots[s]);
		if ((r = dec_routes(res, v, p, ip->slot, err)) < 0)
			return r;
	}
	return 0;
}

static int dec_040_100(cni_result *res, const json_t *j, cni_error **err)
{
	bool v11 = res->fam == FAM_100;
	json_t *arr;
	char p[128], q[160];
	int r;

	if ((r = dec_array(j, "interfaces", "interfaces", &arr, err)) < 0)
		return r;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *o = json_array_get(arr, i);
		struct res_iface *f = grow(&res->ifaces, &res->n_ifaces, sizeof(*f));
		if (!f)
			return cni_error_oom(err);
		snprintf(p, sizeof(p), "interfaces[%zu]", i);
#define Q(field) (snprintf(q, sizeof(q), "%s.%s", p, field), q)
		if ((r = dec_string(o, "name", Q("name"), true, &f->name, err)) < 0 ||
		    (r = dec_string(o, "mac", Q("mac"), false, &f->mac, err)) < 0 ||
		    (r = dec_string(o, "sandbox", Q("sandbox"), false, &f->sandbox, err)) < 0)
			return r;
		if (v11 && ((r = dec_int(o, "mtu", Q("mtu"), &f->mtu, NULL, err)) < 0 ||
			    (r = dec_string(o, "socketPath", Q("socketPath"), false,
					    &f->socket_path, err)) < 0 ||
			    (r = dec_string(o, "pciID", Q("pciID"), false, &f->pci_id, err)) < 0))
			return r;
	}

	if ((r = dec_array(j, "ips", "ips", &arr, err)) < 0)
		return r;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *o = json_array_get(arr, i);
		struct res_ip *ip = grow(&res->ips, &res->n_ips, sizeof(*ip));
		if (!ip)
			return cni_error_oom(err);
		snprintf(p, sizeof(p), "ips[%zu]", i);
		if (!v11 && (r = dec_string(o, "version", Q("version"), true, &ip->ver, err)) < 0)
			return r;
		if ((r = dec_int(o, "interface", Q("interface"), &ip->iface, &ip->has_iface, err)) <
			0 ||
		    (r = dec_cidr(o, "address", Q("address"), &ip->address, err)) < 0 ||
		    (r = dec_addr(o, "gateway", Q("gateway"), &ip->gw, err)) < 0)
			return r;
#undef Q
	}
	return dec_routes(res, j, "routes", 0, err);
}

static int family_mismatch(cni_error **err, enum family fam, const char *got)
{
	static const char *const supported[] = {"[ 0.1.0 0.2.0]", "[0.3.0 0.3.1 0.4.0]",
						"[1.0.0 1.1.0]"};
	_cleanup_free_ char *q = cni_go_quote(got);
	return cni_error_set(err, CNI_ERR_INCOMPATIBLE_CNI_VERSION, NULL,
			     "result type supports %s but unmarshalled CNIVersion is %s",
			     supported[fam], strempty(q));
}

int cni_result_from_json_t(cni_result **out, const char *version, const json_t *j, cni_error **err)
{
	enum family fam;
	_cleanup_free_ char *label = NULL;
	int r;

	if (!out || !j)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_from_json: out and json are required");
	if (!json_is_object(j))
		return type_error(err, "result", "an object", j);
	r = dec_string(j, "cniVersion", "cniVersion", false, &label, NULL);
	if (r < 0) {
		/* redo for the message, with the reference's context when version is NULL */
		r = dec_string(j, "cniVersion", "cniVersion", false, &label, err);
		if (!version && err && *err)
			cni_error_prefix(*err, "decoding version from network config");
		return r;
	}
	if (!version)
		version = label ? label : "0.1.0";
	if (version_family(version, &fam) < 0)
		return unsupported_version(err, version);

	const char *got = label ? label : "";
	enum family got_fam;
	if (fam == FAM_020 && !*got)
		got = "0.1.0";
	if (version_family(got, &got_fam) < 0 || got_fam != fam)
		return family_mismatch(err, fam, label ? label : "");

	_cleanup_result_ cni_result *res = result_alloc(got, fam);
	if (!res)
		return cni_error_oom(err);
	r = fam == FAM_020 ? dec_020(res, j, err) : dec_040_100(res, j, err);
	if (r < 0)
		return r;
	if ((r = dec_dns(res, j, err)) < 0)
		return r;
	*out = TAKE_PTR(res);
	return 0;
}

int cni_result_from_json(cni_result **out, const char *version, const char *json, size_t len,
			 cni_error **err)
{
	json_error_t jerr;
	if (!out || !json)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_from_json: out and json are required");
	/* duplicates allowed: Go's decoder lets the last one win */
	_cleanup_json_ json_t *j = json_loadb(json, len, 0, &jerr);
	if (!j)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to decode result: %s (line %d, column %d)", jerr.text,
				     jerr.line, jerr.column);
	return cni_result_from_json_t(out, version, j, err);
}

/* ---- encoding --------------------------------------------------------------------- */

static int set_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, json_string(v));
}

static int set_int(json_t *o, const char *k, int v)
{
	return json_object_set_new(o, k, json_integer(v));
}

static int set_strv(json_t *o, const char *k, char **v)
{
	json_t *a = json_array();
	if (!a)
		return -1;
	for (; v && *v; v++)
		if (json_array_append_new(a, json_string(*v)) < 0) {
			json_decref(a);
			return -1;
		}
	return json_object_set_new(o, k, a);
}

static json_t *route_json(const struct res_route *rt)
{
	_cleanup_json_ json_t *o = json_object();
	if (!o || set_str(o, "dst", rt->dst.text) < 0 ||
	    (rt->gw.text && set_str(o, "gw", rt->gw.text) < 0) ||
	    (rt->mtu && set_int(o, "mtu", rt->mtu) < 0) ||
	    (rt->advmss && set_int(o, "advmss", rt->advmss) < 0) ||
	    (rt->priority && set_int(o, "priority", rt->priority) < 0) ||
	    (rt->has_table && set_int(o, "table", rt->table) < 0) ||
	    (rt->has_scope && set_int(o, "scope", rt->scope) < 0))
		return NULL;
	return TAKE_PTR(o);
}

/* Routes of one owner (0.1.0/0.2.0 slot) or all (owner 0); NULL result = none. */
static int routes_json(const cni_result *r, int owner, json_t **out)
{
	_cleanup_json_ json_t *a = NULL;
	*out = NULL;
	for (size_t i = 0; i < r->n_routes; i++) {
		if (r->routes[i].owner != owner)
			continue;
		if (!a && !(a = json_array()))
			return -1;
		if (json_array_append_new(a, route_json(&r->routes[i])) < 0)
			return -1;
	}
	*out = TAKE_PTR(a);
	return 0;
}

static bool dns_empty(const struct res_dns *d)
{
	return !d->nameservers && !d->domain && !d->search && !d->options;
}

static json_t *dns_json(const struct res_dns *d)
{
	_cleanup_json_ json_t *o = json_object();
	if (!o || (d->nameservers && set_strv(o, "nameservers", d->nameservers) < 0) ||
	    (d->domain && set_str(o, "domain", d->domain) < 0) ||
	    (d->search && set_strv(o, "search", d->search) < 0) ||
	    (d->options && set_strv(o, "options", d->options) < 0))
		return NULL;
	return TAKE_PTR(o);
}

static int ip_slot_json(const cni_result *r, json_t *top, int slot)
{
	for (size_t i = 0; i < r->n_ips; i++) {
		const struct res_ip *ip = &r->ips[i];
		if (ip->slot != slot)
			continue;
		_cleanup_json_ json_t *o = json_object(), *routes = NULL;
		if (!o || set_str(o, "ip", ip->address.text) < 0 ||
		    (ip->gw.text && set_str(o, "gateway", ip->gw.text) < 0) ||
		    routes_json(r, slot, &routes) < 0 ||
		    (routes && json_object_set(o, "routes", routes) < 0))
			return -1;
		return json_object_set(top, slot == 4 ? "ip4" : "ip6", o);
	}
	return 0;
}

json_t *cni_result_to_json_t(const cni_result *r)
{
	if (!r)
		return NULL;
	bool v11 = r->fam == FAM_100;
	_cleanup_json_ json_t *top = json_object(), *routes = NULL;

	if (!top || set_str(top, "cniVersion", r->version) < 0)
		return NULL;
	if (r->fam == FAM_020) {
		if (ip_slot_json(r, top, 4) < 0 || ip_slot_json(r, top, 6) < 0)
			return NULL;
	} else {
		if (r->n_ifaces) {
			json_t *a = json_array();
			if (json_object_set_new(top, "interfaces", a) < 0)
				return NULL;
			for (size_t i = 0; i < r->n_ifaces; i++) {
				const struct res_iface *f = &r->ifaces[i];
				json_t *o = json_object();
				if (json_array_append_new(a, o) < 0 ||
				    set_str(o, "name", f->name) < 0 ||
				    (f->mac && set_str(o, "mac", f->mac) < 0) ||
				    (v11 && f->mtu && set_int(o, "mtu", f->mtu) < 0) ||
				    (f->sandbox && set_str(o, "sandbox", f->sandbox) < 0) ||
				    (v11 && f->socket_path &&
				     set_str(o, "socketPath", f->socket_path) < 0) ||
				    (v11 && f->pci_id && set_str(o, "pciID", f->pci_id) < 0))
					return NULL;
			}
		}
		if (r->n_ips) {
			json_t *a = json_array();
			if (json_object_set_new(top, "ips", a) < 0)
				return NULL;
			for (size_t i = 0; i < r->n_ips; i++) {
				const struct res_ip *ip = &r->ips[i];
				json_t *o = json_object();
				if (json_array_append_new(a, o) < 0 ||
				    (!v11 && set_str(o, "version", strempty(ip->ver)) < 0) ||
				    (ip->has_iface && set_int(o, "interface", ip->iface) < 0) ||
				    set_str(o, "address", ip->address.text) < 0 ||
				    (ip->gw.text && set_str(o, "gateway", ip->gw.text) < 0))
					return NULL;
			}
		}
		if (routes_json(r, 0, &routes) < 0 ||
		    (routes && json_object_set(top, "routes", routes) < 0))
			return NULL;
	}
	/* Debian's reference (1.1.x) always prints "dns"; the one that knows 1.1.0 drops it
	 * when empty */
	if (!(streq(r->version, "1.1.0") && dns_empty(&r->dns)) &&
	    json_object_set_new(top, "dns", dns_json(&r->dns)) < 0)
		return NULL;
	return TAKE_PTR(top);
}

int cni_result_to_json(const cni_result *r, char **out, cni_error **err)
{
	if (!r || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_to_json: result and out are required");
	_cleanup_json_ json_t *j = cni_result_to_json_t(r);
	cni_buf b = CNI_BUF_INIT;
	if (!j)
		return cni_error_oom(err);
	/* the newest reference prints 1.x results through a Go map: keys sorted at every
	 * level. Only 1.1.0 follows it, 1.0.0 matches Debian's 1.1.x (struct order). */
	unsigned int flags = CNI_GOJSON_INDENT | (streq(r->version, "1.1.0") ? CNI_GOJSON_SORTED : 0);
	if (cni_json_append_go(&b, j, flags) < 0) {
		cni_buf_free(&b);
		return cni_error_oom(err);
	}
	char *s = cni_buf_steal(&b);
	if (!s)
		return cni_error_oom(err);
	*out = s;
	return 0;
}

int cni_result_to_json_as(const cni_result *r, const char *version, char **out, cni_error **err)
{
	_cleanup_result_ cni_result *c = NULL;
	if (!r || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_to_json_as: result and out are required");
	int ret = cni_result_convert(&c, r, version, err);
	return ret < 0 ? ret : cni_result_to_json(c, out, err);
}

/* ---- reading ---------------------------------------------------------------------- */

size_t cni_result_interface_count(const cni_result *r)
{
	return r ? r->n_ifaces : 0;
}

int cni_result_get_interface(const cni_result *r, size_t i, cni_interface *out)
{
	if (!r || !out || i >= r->n_ifaces)
		return -CNI_ERR_INVALID_ARG;
	const struct res_iface *f = &r->ifaces[i];
	*out = (cni_interface)CNI_INTERFACE_INIT;
	out->name = f->name;
	out->mac = f->mac;
	out->sandbox = f->sandbox;
	out->mtu = f->mtu;
	out->socket_path = f->socket_path;
	out->pci_id = f->pci_id;
	return 0;
}

size_t cni_result_ip_count(const cni_result *r)
{
	return r ? r->n_ips : 0;
}

int cni_result_get_ip(const cni_result *r, size_t i, cni_ip *out)
{
	if (!r || !out || i >= r->n_ips)
		return -CNI_ERR_INVALID_ARG;
	const struct res_ip *ip = &r->ips[i];
	*out = (cni_ip)CNI_IP_INIT;
	out->address = ip->address.text;
	out->gateway = ip->gw.text;
	out->interface = ip->has_iface && ip->iface >= 0 ? ip->iface : -1;
	return 0;
}

size_t cni_result_route_count(const cni_result *r)
{
	return r ? r->n_routes : 0;
}

int cni_result_get_route(const cni_result *r, size_t i, cni_route *out)
{
	if (!r || !out || i >= r->n_routes)
		return -CNI_ERR_INVALID_ARG;
	const struct res_route *rt = &r->routes[i];
	*out = (cni_route)CNI_ROUTE_INIT;
	out->dst = rt->dst.text;
	out->gw = rt->gw.text;
	out->mtu = rt->mtu;
	out->advmss = rt->advmss;
	out->priority = rt->priority;
	out->has_table = rt->has_table;
	out->table = rt->table;
	out->has_scope = rt->has_scope;
	out->scope = rt->scope;
	return 0;
}

int cni_result_get_dns(const cni_result *r, cni_dns *out)
{
	if (!r || !out)
		return -CNI_ERR_INVALID_ARG;
	*out = (cni_dns)CNI_DNS_INIT;
	out->nameservers = (const char *const *)r->dns.nameservers;
	out->domain = r->dns.domain;
	out->search = (const char *const *)r->dns.search;
	out->options = (const char *const *)r->dns.options;
	return 0;
}

/* ---- building --------------------------------------------------------------------- */

/* Strings end up in JSON: refuse what jansson (and the spec's UTF-8 JSON) cannot hold. */
static bool utf8_ok(const char *s)
{
	if (!s)
		return true;
	json_t *t = json_string(s);
	json_decref(t);
	return t != NULL;
}

static bool strv_utf8_ok(const char *const *v)
{
	for (; v && *v; v++)
		if (!utf8_ok(*v))
			return false;
	return true;
}

static int not_in_version(cni_error **err, const cni_result *r, const char *field)
{
	return cni_error_set(err, CNI_ERR_UNSUPPORTED, NULL, "a CNI %s result cannot carry %s",
			     r->version, field);
}

/* Validate iface for r and copy it into *f (fn names the caller in errors). */
static int iface_build(const cni_result *r, const cni_interface *iface, const char *fn,
		       struct res_iface *f, cni_error **err)
{
	if (!r || !iface || !iface->name)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "%s: result and interface name are required", fn);
	int rc = cni_struct_check(err, fn, "cni_interface", iface->version, CNI_INTERFACE_VERSION);
	if (rc < 0)
		return rc;
	if (r->fam == FAM_020)
		return not_in_version(err, r, "interfaces");
	if (r->fam == FAM_040 && (iface->mtu || iface->socket_path || iface->pci_id))
		return not_in_version(err, r, "interface mtu, socketPath or pciID");
	if (!utf8_ok(iface->name) || !utf8_ok(iface->mac) || !utf8_ok(iface->sandbox) ||
	    !utf8_ok(iface->socket_path) || !utf8_ok(iface->pci_id))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "%s: strings must be UTF-8",
				     fn);
	if (iface->mtu < 0)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "interface %s: invalid mtu %d",
				     iface->name, iface->mtu);

	*f = (struct res_iface){0};
	f->name = strdup(iface->name);
	f->mtu = iface->mtu;
	if (!f->name || strdup_opt(&f->mac, iface->mac) < 0 ||
	    strdup_opt(&f->sandbox, iface->sandbox) < 0 ||
	    strdup_opt(&f->socket_path, iface->socket_path) < 0 ||
	    strdup_opt(&f->pci_id, iface->pci_id) < 0) {
		iface_clear(f);
		return cni_error_oom(err);
	}
	return 0;
}

int cni_result_add_interface(cni_result *r, const cni_interface *iface, size_t *idx,
			     cni_error **err)
{
	struct res_iface f;
	int ret = iface_build(r, iface, "cni_result_add_interface", &f, err);
	if (ret < 0)
		return ret;
	struct res_iface *slot = grow(&r->ifaces, &r->n_ifaces, sizeof(*slot));
	if (!slot) {
		iface_clear(&f);
		return cni_error_oom(err);
	}
	*slot = f;
	if (idx)
		*idx = r->n_ifaces - 1;
	return 0;
}

int cni_result_set_interface(cni_result *r, size_t i, const cni_interface *iface,
			     cni_error **err)
{
	struct res_iface f;
	if (!r || i >= r->n_ifaces)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_set_interface: no interface %zu", i);
	int ret = iface_build(r, iface, "cni_result_set_interface", &f, err);
	if (ret < 0)
		return ret;
	iface_clear(&r->ifaces[i]);
	r->ifaces[i] = f;
	return 0;
}

static int set_cidr_field(struct cidr *c, const char *what, const char *s, cni_error **err)
{
	int ret = s ? cidr_set(c, s) : -CNI_ERR_INVALID_ARG;
	if (ret == -CNI_ERR_NOMEM)
		return cni_error_oom(err);
	if (ret < 0)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "%s: invalid CIDR address: %s",
				     what, strempty(s));
	return 0;
}

static int set_addr_field(struct addr *a, const char *what, const char *s, cni_error **err)
{
	int ret = addr_set(a, s);
	if (ret == -CNI_ERR_NOMEM)
		return cni_error_oom(err);
	if (ret < 0)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "%s: invalid IP address: %s",
				     what, s);
	return 0;
}

int cni_result_add_ip(cni_result *r, const cni_ip *ip, cni_error **err)
{
	struct res_ip n = {0};
	int ret;

	if (!r || !ip)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_add_ip: result and ip are required");
	int rc = cni_struct_check(err, "cni_result_add_ip", "cni_ip", ip->version, CNI_IP_VERSION);
	if (rc < 0)
		return rc;
	if (ip->interface < -1 || (ip->interface >= 0 && (size_t)ip->interface >= r->n_ifaces))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "ip %s: interface index %d out of range (%zu interfaces)",
				     strempty(ip->address), ip->interface, r->n_ifaces);
	if ((ret = set_cidr_field(&n.address, "ip address", ip->address, err)) < 0 ||
	    (ret = set_addr_field(&n.gw, "ip gateway", ip->gateway, err)) < 0) {
		ip_clear(&n);
		return ret;
	}
	n.has_iface = ip->interface >= 0;
	n.iface = n.has_iface ? ip->interface : 0;
	bool v4 = is_v4(n.address.ip);
	if (r->fam == FAM_020) {
		n.slot = v4 ? 4 : 6;
		for (size_t i = 0; i < r->n_ips; i++)
			if (r->ips[i].slot == n.slot) {
				ip_clear(&n);
				return cni_error_set(err, CNI_ERR_UNSUPPORTED, NULL,
						     "a CNI %s result holds one IPv%d address: "
						     "cannot add %s",
						     r->version, v4 ? 4 : 6, ip->address);
			}
	} else if (r->fam == FAM_040) {
		n.ver = strdup(v4 ? "4" : "6");
		if (!n.ver) {
			ip_clear(&n);
			return cni_error_oom(err);
		}
	}
	struct res_ip *slot = grow(&r->ips, &r->n_ips, sizeof(*slot));
	if (!slot) {
		ip_clear(&n);
		return cni_error_oom(err);
	}
	*slot = n;
	/* 0.1.0/0.2.0: ip4 before ip6 */
	if (r->fam == FAM_020 && r->n_ips == 2 && r->ips[0].slot == 6) {
		struct res_ip t = r->ips[0];
		r->ips[0] = r->ips[1];
		r->ips[1] = t;
	}
	return 0;
}

int cni_result_add_route(cni_result *r, const cni_route *route, cni_error **err)
{
	struct res_route n = {0};
	int ret;

	if (!r || !route)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_add_route: result and route are required");
	int rc = cni_struct_check(err, "cni_result_add_route", "cni_route", route->version, CNI_ROUTE_VERSION);
	if (rc < 0)
		return rc;
	if ((ret = set_cidr_field(&n.dst, "route dst", route->dst, err)) < 0 ||
	    (ret = set_addr_field(&n.gw, "route gw", route->gw, err)) < 0) {
		route_clear(&n);
		return ret;
	}
	if (route->mtu < 0 || route->advmss < 0 || route->priority < 0 ||
	    (route->has_table && route->table < 0) || (route->has_scope && route->scope < 0)) {
		route_clear(&n);
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "route %s: mtu, advmss, priority, table and scope must not be "
				     "negative",
				     route->dst);
	}
	n.mtu = route->mtu;
	n.advmss = route->advmss;
	n.priority = route->priority;
	n.has_table = route->has_table;
	n.table = route->has_table ? route->table : 0;
	n.has_scope = route->has_scope;
	n.scope = route->has_scope ? route->scope : 0;

	size_t pos = r->n_routes;
	if (r->fam == FAM_020) {
		n.owner = is_v4(n.dst.ip) ? 4 : 6;
		bool found = false;
		for (size_t i = 0; i < r->n_ips; i++)
			found |= r->ips[i].slot == n.owner;
		if (!found) {
			route_clear(&n);
			return cni_error_set(err, CNI_ERR_UNSUPPORTED, NULL,
					     "route %s: a CNI %s result has no IPv%d address to "
					     "attach it to",
					     route->dst, r->version, n.owner);
		}
		/* ip4's routes stay before ip6's */
		if (n.owner == 4)
			for (pos = 0; pos < r->n_routes && r->routes[pos].owner == 4; pos++)
				;
	}
	struct res_route *slot = grow(&r->routes, &r->n_routes, sizeof(*slot));
	if (!slot) {
		route_clear(&n);
		return cni_error_oom(err);
	}
	memmove(&r->routes[pos + 1], &r->routes[pos], (r->n_routes - 1 - pos) * sizeof(*slot));
	r->routes[pos] = n;
	return 0;
}

int cni_result_set_dns(cni_result *r, const cni_dns *dns, cni_error **err)
{
	struct res_dns d = {0}, from;
	if (!r || !dns)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_set_dns: result and dns are required");
	int rc = cni_struct_check(err, "cni_result_set_dns", "cni_dns", dns->version, CNI_DNS_VERSION);
	if (rc < 0)
		return rc;
	if (!strv_utf8_ok(dns->nameservers) || !strv_utf8_ok(dns->search) ||
	    !strv_utf8_ok(dns->options) || !utf8_ok(dns->domain))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_set_dns: strings must be UTF-8");
	from.nameservers = (char **)dns->nameservers;
	from.search = (char **)dns->search;
	from.options = (char **)dns->options;
	from.domain = (char *)dns->domain;
	if (dns_copy(&d, &from) < 0)
		return cni_error_oom(err);
	dns_clear(&r->dns);
	r->dns = d;
	return 0;
}

int cni_result_set_interface_mac(cni_result *r, size_t i, const char *mac, cni_error **err)
{
	char *m;
	if (!r || i >= r->n_ifaces)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_set_interface_mac: no interface %zu", i);
	if (!utf8_ok(mac))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_result_set_interface_mac: mac must be UTF-8");
	if (strdup_opt(&m, mac) < 0)
		return cni_error_oom(err);
	free(r->ifaces[i].mac);
	r->ifaces[i].mac = m;
	return 0;
}
