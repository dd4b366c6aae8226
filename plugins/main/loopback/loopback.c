/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loopback: brings "lo" up in the container's namespace (whatever CNI_IFNAME says) and
 * reports its addresses; passes a prevResult through untouched when chained.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <cni/cni.h>

#include "plugin-util.h"

static bool is_loopback(const cni_ipaddr *ip)
{
	static const uint8_t v6lo[16] = {[15] = 1};
	if (ip->family == AF_INET)
		return ip->addr[0] == 127;
	return memcmp(ip->addr, v6lo, 16) == 0;
}

/* First address of family on lo, after checking that every one is a loopback address. */
static int first_loopback_addr(const cni_addr_info *addrs, size_t n, int family, int lo,
			       const cni_addr_info **out, cni_error **err)
{
	char txt[CNI_IP_STRLEN];
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (addrs[i].ifindex != lo || addrs[i].addr.ip.family != family)
			continue;
		if (!is_loopback(&addrs[i].addr.ip))
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "loopback interface found with non-loopback address \"%s\"",
					     cni_ip_format(&addrs[i].addr.ip, txt, sizeof(txt)));
		if (!*out)
			*out = &addrs[i];
	}
	return 0;
}

static int open_lo(const char *netns_path, cni_netns **ns, cni_nl **nl, cni_link_info *lo,
		   cni_error **err)
{
	int r = cni_netns_open(netns_path, ns, err);
	if (r < 0)
		return r;
	if ((r = cni_nl_open(nl, *ns, err)) < 0 || (r = cni_link_get(*nl, "lo", lo, err)) < 0) {
		cni_nl_close(*nl);
		cni_netns_close(*ns);
		*nl = NULL;
		*ns = NULL;
	}
	return r;
}

static int add_ip(cni_result *res, const cni_addr_info *a, cni_error **err)
{
	char txt[CNI_IPNET_STRLEN];
	cni_ip ip = CNI_IP_INIT;
	if (!a)
		return 0;
	ip.address = cni_ipnet_format(&a->addr, txt, sizeof(txt));
	ip.interface = 0;
	return cni_result_add_ip(res, &ip, err);
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	cni_conf *conf = NULL;
	cni_result *prev = NULL, *res = NULL;
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_link_info lo = CNI_LINK_INFO_INIT;
	cni_addr_info *addrs = NULL;
	const cni_addr_info *v4 = NULL, *v6 = NULL;
	size_t n = 0;
	int r;

	if ((r = cni_conf_from_bytes(&conf, args->stdin_data, args->stdin_len, err)) < 0)
		return r;
	if ((r = cni_conf_prev_result(conf, &prev, err)) < 0)
		goto out;
	if ((r = open_lo(args->netns, &ns, &nl, &lo, err)) < 0)
		goto out;
	if ((r = cni_link_set_up(nl, lo.ifindex, true, err)) < 0 ||
	    (r = cni_addr_list(nl, lo.ifindex, 0, &addrs, &n, err)) < 0 ||
	    (r = first_loopback_addr(addrs, n, AF_INET, lo.ifindex, &v4, err)) < 0 ||
	    (r = first_loopback_addr(addrs, n, AF_INET6, lo.ifindex, &v6, err)) < 0) {
		/* a failed ADD leaves lo as it found it (setting it up may have worked even
		 * when its answer did not arrive) */
		if (!(lo.flags & IFF_UP))
			cni_link_set_up(nl, lo.ifindex, false, NULL);
		goto out;
	}

	if (prev) {
		/* chained: hand the previous result on as it is */
		*result = prev;
		prev = NULL;
		goto out;
	}
	cni_interface iface = CNI_INTERFACE_INIT;
	iface.name = "lo";
	iface.mac = "00:00:00:00:00:00";
	iface.sandbox = args->netns;
	if ((r = cni_result_new(&res, cni_version_current(), err)) < 0 ||
	    (r = cni_result_add_interface(res, &iface, NULL, err)) < 0 ||
	    (r = add_ip(res, v4, err)) < 0 || (r = add_ip(res, v6, err)) < 0)
		goto out;
	*result = res;
	res = NULL;
out:
	cni_free(addrs);
	cni_result_free(res);
	cni_result_free(prev);
	cni_nl_close(nl);
	cni_netns_close(ns);
	cni_conf_free(conf);
	return r;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_link_info lo = CNI_LINK_INFO_INIT;
	cni_error *local = NULL;
	bool gone;

	if (!*args->netns)
		return 0;
	int r = open_lo(args->netns, &ns, &nl, &lo, &local);
	/* the namespace is already gone: nothing left to undo */
	if ((r = pc_gone_ok(r, local, &gone, err)) < 0 || gone)
		return r;
	r = cni_link_set_up(nl, lo.ifindex, false, err);
	cni_nl_close(nl);
	cni_netns_close(ns);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_link_info lo = CNI_LINK_INFO_INIT;
	int r = open_lo(args->netns, &ns, &nl, &lo, err);
	if (r < 0)
		return r;
	if (!(lo.flags & IFF_UP))
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "loopback interface is down");
	cni_nl_close(nl);
	cni_netns_close(ns);
	return r;
}

/* GC: loopback leaves nothing on the host; STATUS: always ready (NULL = success) */
CNI_PLUGIN_MAIN("CNI loopback plugin libcni-c " LIBCNI_C_VERSION, .add = cmd_add, .del = cmd_del,
		.check = cmd_check)
