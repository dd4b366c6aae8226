/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "internal.h"
#include "error-internal.h"
#include "json-internal.h"

static int ipam_type(const char *conf, size_t len, char **out, cni_error **err)
{
	_cleanup_json_ json_t *o = NULL;
	int r = cni_json_parse_object(conf, len, "failed to parse network config", &o, err);
	if (r < 0)
		return r;
	const char *t = cni_json_get_string(json_object_get(o, "ipam"), "type");
	if (isempty(t))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "no IPAM plugin configured: ipam.type is missing");
	if (!(*out = strdup(t)))
		return cni_error_oom(err);
	return 0;
}

int cni_ipam_exec_add(const char *conf, size_t len, cni_result **out, cni_error **err)
{
	_cleanup_free_ char *t = NULL;
	int r = ipam_type(conf, len, &t, err);
	return r < 0 ? r : cni_delegate_add(t, conf, len, out, err);
}

#define IPAM_VERB(fn, delegate)                                                                    \
	int fn(const char *conf, size_t len, cni_error **err)                                      \
	{                                                                                          \
		_cleanup_free_ char *t = NULL;                                                     \
		int r = ipam_type(conf, len, &t, err);                                             \
		return r < 0 ? r : delegate(t, conf, len, err);                                    \
	}

IPAM_VERB(cni_ipam_exec_check, cni_delegate_check)
IPAM_VERB(cni_ipam_exec_del, cni_delegate_del)
IPAM_VERB(cni_ipam_exec_gc, cni_delegate_gc)
IPAM_VERB(cni_ipam_exec_status, cni_delegate_status)

static int enable_ipv6(const char *ifname, cni_error **err)
{
	static const char *const ifaces[] = {"lo", NULL};
	char key[128];

	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? ifaces[0] : ifname;
		_cleanup_free_ char *cur = NULL;
		/* '/' separators keep dotted interface names intact */
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", name);
		int r = cni_sysctl_get(key, &cur, NULL);
		if (r == -CNI_ERR_NOT_FOUND)
			return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
					     "failed to enable IPv6 for interface '%s': IPv6 is not available",
					     name);
		if (r == 0 && !streq(cur, "0") &&
		    (r = cni_sysctl_set(key, "0", err)) < 0)
			return r;
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/keep_addr_on_down", name);
		cni_sysctl_set(key, "1", NULL); /* best effort: older kernels lack it */
	}
	return 0;
}

int cni_ipam_configure_iface(cni_nl *nl, const char *ifname, const cni_result *result,
			     const cni_ipam_configure_options *opts, cni_error **err)
{
	cni_ipam_configure_options defaults = CNI_IPAM_CONFIGURE_OPTIONS_INIT;
	cni_link_info link = CNI_LINK_INFO_INIT;
	cni_ipaddr v4gw = {0}, v6gw = {0};
	bool v6_enabled = false;
	int r;

	if (!opts)
		opts = &defaults;
	if ((r = cni_struct_check(err, "cni_ipam_configure_iface", "cni_ipam_configure_options",
				  opts->version, CNI_IPAM_CONFIGURE_OPTIONS_VERSION)) < 0)
		return r;
	if (cni_result_interface_count(result) == 0)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "no interfaces to configure");
	if ((r = cni_link_get(nl, ifname, &link, err)) < 0)
		return r;

	for (size_t i = 0; i < cni_result_ip_count(result); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_interface iface = CNI_INTERFACE_INIT;
		cni_ipnet addr;
		if ((r = cni_result_get_ip(result, i, &ip)) < 0)
			return cni_error_set(err, -r, NULL, "failed to read IP %zu of the result", i);
		if (ip.interface < 0)
			continue;
		if (cni_result_get_interface(result, (size_t)ip.interface, &iface) < 0 ||
		    !streq(strempty(iface.name), ifname))
			return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
					     "failed to add IP addr %s to '%s': invalid interface index %d",
					     ip.address, ifname, ip.interface);
		if (cni_ipnet_parse(ip.address, &addr) < 0)
			return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
					     "failed to add IP addr %s to '%s': invalid address",
					     ip.address, ifname);
		if (addr.ip.family == AF_INET6 && !v6_enabled) {
			if ((r = enable_ipv6(ifname, err)) < 0)
				return r;
			v6_enabled = true;
		}
		unsigned int flags = addr.ip.family == AF_INET6 && opts->ipv6_nodad ? CNI_ADDR_NODAD : 0;
		if ((r = cni_addr_add(nl, link.ifindex, &addr, flags, err)) < 0)
			return r;
		cni_ipaddr gw;
		if (ip.gateway && cni_ip_parse(ip.gateway, &gw) == 0) {
			cni_ipaddr *slot = gw.family == AF_INET ? &v4gw : &v6gw;
			if (!slot->family)
				*slot = gw;
		}
	}

	if (opts->link_up && (r = cni_link_set_up(nl, link.ifindex, true, err)) < 0)
		return r;

	for (size_t i = 0; i < cni_result_route_count(result); i++) {
		cni_route route = CNI_ROUTE_INIT;
		cni_route_spec spec = CNI_ROUTE_SPEC_INIT;
		if ((r = cni_result_get_route(result, i, &route)) < 0)
			return cni_error_set(err, -r, NULL, "failed to read route %zu of the result", i);
		if (cni_ipnet_parse(route.dst, &spec.dst) < 0)
			return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid route destination %s",
					     route.dst);
		cni_ipnet_network(&spec.dst, &spec.dst);
		if (route.gw) {
			if (cni_ip_parse(route.gw, &spec.gw) < 0)
				return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
						     "invalid route gateway %s", route.gw);
			spec.has_gw = true;
		} else {
			const cni_ipaddr *def = spec.dst.ip.family == AF_INET ? &v4gw : &v6gw;
			if (def->family) {
				spec.gw = *def;
				spec.has_gw = true;
			}
		}
		spec.ifindex = link.ifindex;
		spec.priority = route.priority > 0 ? (unsigned int)route.priority : 0;
		spec.mtu = route.mtu > 0 ? (unsigned int)route.mtu : 0;
		spec.advmss = route.advmss > 0 ? (unsigned int)route.advmss : 0;
		if (route.has_table)
			spec.table = (unsigned int)route.table;
		if (route.has_scope)
			spec.scope = route.scope;
		if ((r = cni_route_add(nl, &spec, true, err)) < 0)
			return r;
	}
	return 0;
}
