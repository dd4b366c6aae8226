/* SPDX-License-Identifier: Apache-2.0 */
/* Ranges, range sets and the round-robin iterator (allocator/range*.go semantics). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "host-local.h"

static void format_ip(const cni_ipaddr *ip, char *buf, size_t len)
{
	if (!cni_ip_format(ip, buf, len))
		snprintf(buf, len, "<invalid>");
}

static void format_net(const cni_ipnet *n, char *buf, size_t len)
{
	if (!cni_ipnet_format(n, buf, len))
		snprintf(buf, len, "<invalid>");
}

/* Contains() as the reference uses it while canonicalising: start/end only when known. */
static bool contains_partial(const cni_ipnet *subnet, const cni_ipaddr *start,
			     const cni_ipaddr *end, const cni_ipaddr *ip)
{
	if (ip->family != subnet->ip.family || !cni_ipnet_contains(subnet, ip))
		return false;
	if (start && cni_ip_cmp(ip, start) < 0)
		return false;
	if (end && cni_ip_cmp(ip, end) > 0)
		return false;
	return true;
}

/* "<what> <ip> not in network <subnet>": a range's start or end outside its subnet */
static int not_in_network(cni_error **err, const char *what, const cni_ipaddr *ip,
			  const cni_ipnet *subnet)
{
	char a[CNI_IPNET_STRLEN], b[CNI_IPNET_STRLEN];

	format_ip(ip, a, sizeof(a));
	format_net(subnet, b, sizeof(b));
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "%s %s not in network %s",
			     what, a, b);
}

int hl_range_canonicalize(const hl_range_spec *spec, hl_range *out, cni_error **err)
{
	char a[CNI_IPNET_STRLEN];
	hl_range r;
	int bits = cni_ip_bits(&spec->subnet.ip);

	memset(&r, 0, sizeof(r));
	if (bits == 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "IP <nil> not v4 nor v6");
	if (spec->subnet.prefix > bits - 2) {
		/* printed as written, host bits included, as the reference does */
		format_net(&spec->subnet, a, sizeof(a));
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "Network %s too small to allocate from", a);
	}
	cni_ipnet_network(&spec->subnet, &r.subnet);
	if (!cni_ip_equal(&r.subnet.ip, &spec->subnet.ip)) {
		format_ip(&r.subnet.ip, a, sizeof(a));
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "Network has host bits set. For a subnet mask of length %d "
				     "the network address is %s",
				     spec->subnet.prefix, a);
	}

	if (spec->has_gateway)
		r.gateway = spec->gateway;
	else
		cni_ip_next(&r.subnet.ip, &r.gateway);

	if (spec->has_start) {
		if (!contains_partial(&r.subnet, NULL, spec->has_end ? &spec->end : NULL,
				      &spec->start))
			return not_in_network(err, "RangeStart", &spec->start, &r.subnet);
		r.start = spec->start;
	} else {
		cni_ip_next(&r.subnet.ip, &r.start);
	}

	if (spec->has_end) {
		if (!contains_partial(&r.subnet, &r.start, NULL, &spec->end))
			return not_in_network(err, "RangeEnd", &spec->end, &r.subnet);
		r.end = spec->end;
	} else {
		cni_ipnet_last(&r.subnet, &r.end);
		if (r.end.family == AF_INET)
			cni_ip_prev(&r.end, &r.end);
	}

	*out = r;
	return 0;
}

bool hl_range_contains(const hl_range *r, const cni_ipaddr *ip)
{
	return contains_partial(&r->subnet, &r->start, &r->end, ip);
}

bool hl_range_overlaps(const hl_range *a, const hl_range *b)
{
	if (a->start.family != b->start.family)
		return false;
	return hl_range_contains(a, &b->start) || hl_range_contains(a, &b->end) ||
	       hl_range_contains(b, &a->start) || hl_range_contains(b, &a->end);
}

bool hl_range_reserved_address(const hl_range *r, const cni_ipaddr *ip)
{
	cni_ipaddr last;

	if (cni_ip_equal(ip, &r->gateway) || cni_ip_equal(ip, &r->subnet.ip))
		return true;
	if (ip->family == AF_INET) {
		cni_ipnet_last(&r->subnet, &last);
		if (cni_ip_equal(ip, &last))
			return true;
	}
	return false;
}

int hl_range_format(const hl_range *r, char *buf, size_t len)
{
	char a[CNI_IP_STRLEN], b[CNI_IP_STRLEN];
	int n;

	format_ip(&r->start, a, sizeof(a));
	format_ip(&r->end, b, sizeof(b));
	n = snprintf(buf, len, "%s-%s", a, b);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int hl_rangeset_check(const hl_rangeset *s, cni_error **err)
{
	char a[2 * CNI_IP_STRLEN + 2], b[2 * CNI_IP_STRLEN + 2];

	if (s->n == 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "empty range set");
	for (size_t i = 1; i < s->n; i++)
		if (s->ranges[i].start.family != s->ranges[0].start.family)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "mixed address families");
	for (size_t i = 0; i + 1 < s->n; i++)
		for (size_t j = i + 1; j < s->n; j++)
			if (hl_range_overlaps(&s->ranges[i], &s->ranges[j])) {
				hl_range_format(&s->ranges[i], a, sizeof(a));
				hl_range_format(&s->ranges[j], b, sizeof(b));
				return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
						     "subnets %s and %s overlap", a, b);
			}
	return 0;
}

const hl_range *hl_rangeset_range_for(const hl_rangeset *s, const cni_ipaddr *ip)
{
	for (size_t i = 0; i < s->n; i++)
		if (hl_range_contains(&s->ranges[i], ip))
			return &s->ranges[i];
	return NULL;
}

bool hl_rangeset_overlaps(const hl_rangeset *a, const hl_rangeset *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (hl_range_overlaps(&a->ranges[i], &b->ranges[j]))
				return true;
	return false;
}

char *hl_rangeset_string(const hl_rangeset *s)
{
	size_t cap = s->n * (2 * CNI_IP_STRLEN + 2) + 1, len = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			out[len++] = ',';
		hl_range_format(&s->ranges[i], out + len, cap - len);
		len += strlen(out + len);
	}
	return out;
}

int hl_rangeset_family(const hl_rangeset *s)
{
	return s->n ? s->ranges[0].start.family : 0;
}

void hl_rangeset_clear(hl_rangeset *s)
{
	free(s->ranges);
	s->ranges = NULL;
	s->n = 0;
}

void hl_iter_init(hl_iter *it, const hl_rangeset *s, const cni_ipaddr *last)
{
	memset(it, 0, sizeof(*it));
	it->set = s;
	if (!last)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (hl_range_contains(&s->ranges[i], last)) {
			/* the first next() then yields last + 1 */
			it->idx = i;
			it->cur = *last;
			it->have_cur = true;
			return;
		}
}

bool hl_iter_next(hl_iter *it, cni_ipaddr *ip, const hl_range **range)
{
	const hl_rangeset *s = it->set;

	if (s->n == 0)
		return false;
	for (;;) {
		const hl_range *r = &s->ranges[it->idx];

		if (!it->have_cur) {
			it->cur = r->start;
			it->first = it->cur;
			it->have_cur = it->have_first = true;
		} else {
			if (cni_ip_equal(&it->cur, &r->end) || !cni_ip_next(&it->cur, &it->cur)) {
				it->idx = (it->idx + 1) % s->n;
				r = &s->ranges[it->idx];
				it->cur = r->start;
			}
			if (!it->have_first) {
				it->first = it->cur;
				it->have_first = true;
			} else if (cni_ip_equal(&it->cur, &it->first)) {
				return false;
			}
		}
		if (hl_range_reserved_address(r, &it->cur))
			continue;
		*ip = it->cur;
		if (range)
			*range = r;
		return true;
	}
}

uint64_t hl_rangeset_capacity(const hl_rangeset *s)
{
	uint64_t total = 0;

	for (size_t i = 0; i < s->n; i++) {
		const hl_range *r = &s->ranges[i];
		uint64_t n, span;
		cni_ipaddr last;

		if (cni_ip_cmp(&r->end, &r->start) < 0)
			continue;
		/* end - start + 1, saturated: a range that large never runs out */
		if (!cni_ip_diff(&r->end, &r->start, &span) || span == UINT64_MAX)
			return UINT64_MAX;
		n = span + 1;
		/* minus the addresses never handed out that fall inside */
		if (hl_range_contains(r, &r->gateway))
			n--;
		if (hl_range_contains(r, &r->subnet.ip) &&
		    !cni_ip_equal(&r->subnet.ip, &r->gateway))
			n--;
		if (r->start.family == AF_INET) {
			cni_ipnet_last(&r->subnet, &last);
			if (hl_range_contains(r, &last) && !cni_ip_equal(&last, &r->gateway))
				n--;
		}
		if (n > UINT64_MAX - total)
			return UINT64_MAX;
		total += n;
	}
	return total;
}
