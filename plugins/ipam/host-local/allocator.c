/* SPDX-License-Identifier: Apache-2.0 */
/* One address per range set (allocator.go semantics), on top of the store. */

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "host-local.h"

int hl_allocate(hl_store *s, const hl_rangeset *set, size_t idx, const char *id, const char *ifname,
		const cni_ipaddr *requested, cni_ipaddr *out_ip, const hl_range **out_range,
		cni_error **err)
{
	_cleanup_(pc_freep) char *setstr = hl_rangeset_string(set);
	char a[CNI_IP_STRLEN];
	bool reserved = false;
	int r;

	if (!setstr)
		return cni_error_oom(err);

	if (requested) {
		const hl_range *rg = hl_rangeset_range_for(set, requested);
		cni_ipaddr last;

		cni_ip_format(requested, a, sizeof(a));
		if (!rg)
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "%s not in range set %s",
					     a, setstr);
		if (cni_ip_equal(requested, &rg->gateway))
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "requested ip %s is subnet's gateway", a);
		/* beyond the reference: never the network or IPv4 broadcast address */
		cni_ipnet_last(&rg->subnet, &last);
		if (cni_ip_equal(requested, &rg->subnet.ip) ||
		    (requested->family == AF_INET && cni_ip_equal(requested, &last)))
			return cni_error_set(
			    err, CNI_ERR_INTERNAL, NULL, "requested ip %s is subnet's %s address",
			    a, cni_ip_equal(requested, &last) ? "broadcast" : "network");
		/* checked first: a claim that fails costs an inode created and freed */
		if (!hl_store_taken(s, requested)) {
			r = hl_store_reserve(s, id, ifname, requested, idx, &reserved, err);
			if (r < 0)
				return r;
		}
		if (!reserved)
			return cni_error_set(
			    err, CNI_ERR_INTERNAL, NULL,
			    "requested IP address %s is not available in range set %s", a, setstr);
		*out_ip = *requested;
		*out_range = rg;
		return 0;
	}

	{
		_cleanup_(pc_freep) cni_ipaddr *held = NULL;
		size_t nheld = 0;

		r = hl_store_get_by_id(s, id, ifname, &held, &nheld, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < nheld; i++)
			if (hl_rangeset_range_for(set, &held[i])) {
				cni_ip_format(&held[i], a, sizeof(a));
				return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
						     "%s has been allocated to %s, duplicate "
						     "allocation is not allowed",
						     a, id);
			}
	}

	{
		cni_ipaddr last, ip;
		bool have_last = false;
		const hl_range *rg;
		hl_iter it;

		hl_store_last_reserved(s, idx, &last, &have_last);
		hl_iter_init(&it, set, have_last ? &last : NULL);
		while (hl_iter_next(&it, &ip, &rg)) {
			if (hl_store_taken(s, &ip))
				continue;
			r = hl_store_reserve(s, id, ifname, &ip, idx, &reserved, err);
			if (r < 0)
				return r;
			if (reserved) {
				*out_ip = ip;
				*out_range = rg;
				return 0;
			}
		}
	}
	return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
			     "no IP addresses available in range set: %s", setstr);
}

uint64_t hl_rangeset_free_count(const hl_rangeset *set, const cni_ipaddr *reserved, size_t n)
{
	uint64_t cap = hl_rangeset_capacity(set), used = 0;

	for (size_t i = 0; i < n; i++) {
		const hl_range *rg = hl_rangeset_range_for(set, &reserved[i]);

		if (rg && !hl_range_reserved_address(rg, &reserved[i]))
			used++;
	}
	if (cap == UINT64_MAX)
		return cap;
	return used >= cap ? 0 : cap - used;
}
