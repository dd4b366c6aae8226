/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bridge: attaches a container to a Linux bridge in the host namespace through a veth
 * pair (container end CNI_IFNAME, host end vethXXXXXXXX), optionally as its gateway, with
 * IPAM, masquerade, hairpin, promiscuous mode, port isolation, VLANs and MAC spoof check.
 * Behaves as the reference plugin (plugins/main/bridge) on the wire; beyond it: GC and
 * STATUS, an ADD that undoes all of its work when it fails, a DEL that releases IPAM,
 * masquerade and spoof-check state even when the namespace is gone, IPv6 without the DAD
 * wait unless enabledad, and a CHECK that works without IPAM. docs/plugins/bridge.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "plugin-linkdel.h"
#include "plugin-netns.h"
#include "plugin-util.h"

#define BR_PLUGIN_ABOUT "CNI bridge plugin libcni-c " LIBCNI_C_VERSION

static const char *oper_state_name(unsigned int s)
{
	static const char *const names[] = {"unknown", "not-present", "down", "lower-layer-down",
					    "testing", "dormant",     "up"};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void ref_id(char *buf, size_t len, const cni_cmd_args *args)
{
	snprintf(buf, len, "%s-%s", args->container_id, args->ifname);
}

/* ---- bridge ------------------------------------------------------------------------- */

/*
 * Create the bridge or reuse it (it must really be a bridge), then promiscuous mode,
 * accept_ra=0 (we own its routes) and up. *created tells whether this call made it.
 */
static int ensure_bridge(cni_nl *nl, const struct br_conf *c, cni_link_info *out, bool *created,
			 cni_error **err)
{
	cni_link_info br = CNI_LINK_INFO_INIT;
	cni_error *local = NULL;
	char key[96];
	int r;

	*created = false;
	r = cni_link_get(nl, c->br_name, &br, &local);
	if (r == -CNI_ERR_NOT_FOUND) {
		cni_error_free(local);
		local = NULL;
		r = cni_bridge_add(nl, c->br_name, (unsigned int)c->mtu, &local);
		if (r < 0 && cni_error_errno(local) == EEXIST) {
			/* someone else made it meanwhile: reuse theirs */
			cni_error_free(local);
			local = NULL;
		} else if (r < 0) {
			*err = local;
			return PC_PREFIXED(r, err, "failed to create bridge \"%s\"", c->br_name);
		} else {
			*created = true;
		}
		r = cni_link_get(nl, c->br_name, &br, &local);
	}
	if (r < 0) {
		*err = local;
		return PC_PREFIXED(r, err, "failed to create bridge \"%s\"", c->br_name);
	}
	if (strcmp(br.kind, "bridge") != 0)
		return cni_error_set(
		    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
		    "failed to create bridge \"%s\": \"%s\" already exists but is not "
		    "a bridge",
		    c->br_name, c->br_name);
	if (*created && (c->vlan || c->n_trunk) &&
	    (r = cni_bridge_set_vlan_filtering(nl, br.ifindex, true, err)) < 0)
		goto undo;
	if (c->promisc && (r = cni_link_set_promisc(nl, br.ifindex, true, err)) < 0) {
		PC_PREFIXED(r, err, "could not set promiscuous mode on \"%s\"", c->br_name);
		goto undo;
	}
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_ra", c->br_name);
	cni_sysctl_set(key, "0", NULL); /* best effort, as the reference: IPv6 may be off */
	if ((r = cni_link_set_up(nl, br.ifindex, true, err)) < 0)
		goto undo;
	if ((r = cni_link_get_by_index(nl, br.ifindex, out, err)) < 0)
		goto undo;
	return 0;
undo:
	if (*created)
		cni_link_del(nl, br.ifindex, NULL);
	*created = false;
	return PC_PREFIXED(r, err, "failed to create bridge \"%s\"", c->br_name);
}

/* Delete a bridge this ADD created, unless something else got attached meanwhile. */
static void drop_bridge_if_unused(cni_nl *nl, int ifindex)
{
	cni_link_info *links = NULL;
	size_t n = 0;
	if (cni_link_list(nl, &links, &n, NULL) < 0)
		return;
	bool used = false;
	for (size_t i = 0; i < n; i++)
		used |= links[i].master == ifindex;
	cni_free(links);
	if (!used)
		cni_link_del(nl, ifindex, NULL);
}

/* ---- veth --------------------------------------------------------------------------- */

struct veth_out {
	char host[CNI_IFNAMSIZ];
	char host_mac[18];
	int host_ifindex;
	char cont_mac[18];
};

/*
 * Create a veth pair: `ifname` in the namespace of cont_nl, a random vethXXXXXXXX peer
 * in the host namespace (host_ns NULL: the two are the same), set the host end up and
 * make it a port of the bridge with its flags and VLANs.
 */

#define ACCESS (CNI_BRIDGE_VLAN_PVID | CNI_BRIDGE_VLAN_UNTAGGED)

/* Drop every VLAN of a bridge port (the default one included). */
static int vlan_remove_all(cni_nl *nl, int ifindex, cni_error **err)
{
	int *vids = NULL;
	size_t n = 0;
	int r = cni_bridge_vlan_list(nl, ifindex, &vids, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = cni_bridge_vlan_del(nl, ifindex, vids[i], err);
	cni_free(vids);
	return r;
}

static int setup_veth(cni_nl *cont_nl, cni_nl *host_nl, const cni_netns *host_ns,
		      const cni_link_info *br, const char *ifname, const struct br_conf *c,
		      unsigned int mtu, bool hairpin, int vlan, const char *mac, bool isolated,
		      struct veth_out *out, cni_error **err)
{
	cni_link_info cl = CNI_LINK_INFO_INIT, hl = CNI_LINK_INFO_INIT;
	cni_error *local = NULL;
	int r = -CNI_ERR_INTERNAL;
	bool existed = cni_link_get(cont_nl, ifname, &cl, NULL) == 0;

	for (int attempt = 0; attempt < 10; attempt++) {
		if ((r = cni_random_veth_name(out->host, sizeof(out->host), err)) < 0)
			return PC_PREFIXED(r, err, "failed to generate random veth name");
		cni_error_free(local);
		local = NULL;
		r = cni_veth_add(cont_nl, ifname, out->host, host_ns, mtu, mac, NULL, &local);
		if (r == 0 || cni_error_errno(local) != EEXIST)
			break;
		if (cni_link_get(cont_nl, ifname, &cl, NULL) == 0) {
			cni_error_free(local);
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "container veth name provided (%s) already exists",
					     ifname);
		}
		/* the random host name was taken: try another one */
	}
	if (r < 0) {
		/* made after all (only its answer was lost): take it back */
		if (cni_error_errno(local) != EEXIST && !existed && cni_link_get(cont_nl, ifname, &cl, NULL) == 0)
			cni_link_del(cont_nl, cl.ifindex, NULL);
		*err = local;
		return PC_PREFIXED(r, err, "failed to make veth pair");
	}
	cni_error_free(local);
	if ((r = cni_link_get(cont_nl, ifname, &cl, err)) < 0 ||
	    (r = cni_link_get(host_nl, out->host, &hl, err)) < 0)
		goto fail;
	if ((r = cni_link_set_up(host_nl, hl.ifindex, true, err)) < 0)
		goto fail;
	if ((r = cni_link_set_master(host_nl, hl.ifindex, br->ifindex, err)) < 0) {
		PC_PREFIXED(r, err, "failed to connect \"%s\" to bridge %s", out->host, br->name);
		goto fail;
	}
	if ((r = cni_bridge_port_set(host_nl, hl.ifindex, hairpin, -1, err)) < 0) {
		PC_PREFIXED(r, err, "failed to setup hairpin mode for %s", out->host);
		goto fail;
	}
	if (isolated && (r = cni_bridge_port_set(host_nl, hl.ifindex, -1, 1, err)) < 0) {
		PC_PREFIXED(r, err, "failed to set isolated on %s", out->host);
		goto fail;
	}
	if ((vlan || c->n_trunk) && !c->preserve_default_vlan &&
	    (r = vlan_remove_all(host_nl, hl.ifindex, err)) < 0) {
		PC_PREFIXED(r, err, "failed to remove default vlan on interface \"%s\"", out->host);
		goto fail;
	}
	if (vlan) {
		r = cni_bridge_vlan_add(host_nl, hl.ifindex, vlan, ACCESS, err);
	} else if (c->n_trunk) {
		/* a trunk port without an access VLAN carries VLAN 1 untagged as its native one */
		r = cni_bridge_vlan_add(host_nl, hl.ifindex, 1, ACCESS, err);
		for (size_t i = 0; r == 0 && i < c->n_trunk; i++)
			r = cni_bridge_vlan_add(host_nl, hl.ifindex, c->trunk[i], 0, err);
	}
	if (r < 0) {
		PC_PREFIXED(r, err, "failed to setup vlan tag on interface \"%s\"", out->host);
		goto fail;
	}
	if ((r = cni_link_get_by_index(host_nl, hl.ifindex, &hl, err)) < 0)
		goto fail;
	snprintf(out->host_mac, sizeof(out->host_mac), "%s", hl.mac);
	snprintf(out->cont_mac, sizeof(out->cont_mac), "%s", cl.mac);
	out->host_ifindex = hl.ifindex;
	return 0;
fail:
	/* (by name when the lookup of the new link is what failed) */
	if (cl.ifindex || cni_link_get(cont_nl, ifname, &cl, NULL) == 0)
		cni_link_del(cont_nl, cl.ifindex, NULL);
	return r;
}

/* ---- gateways ----------------------------------------------------------------------- */

struct gw_list {
	cni_ipnet gws[16];
	size_t n;
};

/*
 * Put gw on the link: nothing to do when it is there; an IPv4 bridge holds one address
 * (another one fails, or is replaced with forceAddress); IPv6 addresses may coexist
 * unless their subnets overlap. Then pin the link's MAC (pin_mac, NULL: its current one)
 * so a bridge stops following its lowest-numbered port.
 */
static int ensure_addr(cni_nl *nl, int ifindex, const char *ifname, const cni_ipnet *gw, bool force,
		       const char *pin_mac, cni_error **err)
{
	cni_addr_info *addrs = NULL;
	cni_link_info li = CNI_LINK_INFO_INIT;
	char txt[CNI_IPNET_STRLEN];
	size_t n = 0;
	int r = cni_addr_list(nl, ifindex, gw->ip.family, &addrs, &n, err);
	if (r < 0)
		return PC_PREFIXED(r, err, "could not get list of IP addresses");
	cni_ipnet_format(gw, txt, sizeof(txt));
	for (size_t i = 0; i < n; i++) {
		const cni_ipnet *a = &addrs[i].addr;
		if (a->prefix == gw->prefix && cni_ip_equal(&a->ip, &gw->ip))
			goto out; /* already there */
		if (gw->ip.family == AF_INET || cni_ipnet_contains(a, &gw->ip) ||
		    cni_ipnet_contains(gw, &a->ip)) {
			if (!force) {
				r = cni_error_set(
				    err, CNI_ERR_INTERNAL, NULL,
				    "\"%s\" already has an IP address different from %s", ifname,
				    txt);
				goto out;
			}
			if ((r = cni_addr_del(nl, ifindex, a, err)) < 0) {
				PC_PREFIXED(r, err, "could not remove IP address from \"%s\"",
					    ifname);
				goto out;
			}
		}
	}
	r = cni_addr_add(nl, ifindex, gw, 0, err);
	if (r < 0 && cni_error_errno(err ? *err : NULL) != EEXIST) {
		PC_PREFIXED(r, err, "could not add IP address to \"%s\"", ifname);
		goto out;
	}
	if (r < 0 && err && *err) {
		cni_error_free(*err);
		*err = NULL;
	}
	/* a bridge whose last port left has an all-zero MAC, which cannot be set: then it
	 * keeps the one it took from its new port */
	if (pin_mac && (!*pin_mac || strcmp(pin_mac, "00:00:00:00:00:00") == 0))
		pin_mac = NULL;
	r = pin_mac ? 0 : cni_link_get_by_index(nl, ifindex, &li, err);
	if (r == 0 && (r = cni_link_set_mac(nl, ifindex, pin_mac ? pin_mac : li.mac, err)) < 0)
		PC_PREFIXED(r, err, "could not set bridge's mac");
out:
	cni_free(addrs);
	return r;
}

/* ---- ADD ---------------------------------------------------------------------------- */

struct add_ctx {
	const cni_cmd_args *args;
	struct br_conf *c;
	cni_netns *cont_ns;
	cni_netns *host_ns;
	cni_nl *host_nl;
	cni_nl *cont_nl;
	cni_link_info br;
	bool br_created;
	struct veth_out veth;
	bool veth_created;
	bool spoof_set;
	bool ipam_done;
	bool masq_set;
	cni_result *res;
};

static void add_ctx_undo(struct add_ctx *x)
{
	char ref[512];
	ref_id(ref, sizeof(ref), x->args);
	if (x->masq_set)
		cni_ipmasq_teardown(x->c->name, x->args->ifname, x->args->container_id, NULL);
	if (x->veth_created) {
		cni_link_info cl = CNI_LINK_INFO_INIT;
		if (cni_link_get(x->cont_nl, x->args->ifname, &cl, NULL) == 0)
			cni_link_del(x->cont_nl, cl.ifindex, NULL);
	}
	if (x->ipam_done)
		cni_ipam_exec_del(x->args->stdin_data, x->args->stdin_len, NULL);
	if (x->spoof_set)
		br_spoofcheck_teardown(ref, NULL);
	if (x->br_created)
		drop_bridge_if_unused(x->host_nl, x->br.ifindex);
}

struct cont_cfg {
	struct add_ctx *x;
};

/* Runs inside the container's namespace: sysctls, then addresses, link up and routes. */
static int configure_container(void *userdata, cni_error **err)
{
	struct add_ctx *x = ((struct cont_cfg *)userdata)->x;
	const char *ifname = x->args->ifname;
	char key[96];

	if (x->c->enable_dad) {
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/enhanced_dad", ifname);
		cni_sysctl_set(key, "1", NULL);
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_dad", ifname);
		cni_sysctl_set(key, "1", NULL);
	} else {
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_dad", ifname);
		cni_sysctl_set(key, "0", NULL);
	}
	snprintf(key, sizeof(key), "net/ipv4/conf/%s/arp_notify", ifname);
	cni_sysctl_set(key, "1", NULL);

	cni_ipam_configure_options o = CNI_IPAM_CONFIGURE_OPTIONS_INIT;
	/* without enabledad nothing would answer DAD anyway: skip its multi-second wait */
	o.ipv6_nodad = !x->c->enable_dad;
	return cni_ipam_configure_iface(x->cont_nl, ifname, x->res, &o, err);
}

static bool is_default_dst(const char *dst, int family)
{
	cni_ipnet n;
	return dst && cni_ipnet_parse(dst, &n) == 0 && n.ip.family == family && n.prefix == 0;
}

/*
 * Copy the IPAM result's IPs (interface 2, the gateway filled in for isGateway), routes
 * (plus a default route per family for isDefaultGateway) and DNS into x->res, and collect
 * the bridge's gateway addresses per family.
 */
static int merge_ipam(struct add_ctx *x, const cni_result *ipam, struct gw_list gws[2],
		      cni_error **err)
{
	const struct br_conf *c = x->c;
	bool default_found[2] = {false, false};
	size_t nips = cni_result_ip_count(ipam), nroutes = cni_result_route_count(ipam);
	int r;

	if (nips == 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "IPAM plugin returned missing IP config");
	for (size_t i = 0; i < nroutes; i++) {
		cni_route rt = CNI_ROUTE_INIT;
		if ((r = cni_result_get_route(ipam, i, &rt)) < 0 ||
		    (r = cni_result_add_route(x->res, &rt, err)) < 0)
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "invalid route in the IPAM result");
	}
	for (size_t i = 0; i < nips; i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_ipnet addr;
		char gwtxt[CNI_IP_STRLEN];
		cni_ipaddr gw = {0};
		bool has_gw = false;
		if ((r = cni_result_get_ip(ipam, i, &ip)) < 0 ||
		    cni_ipnet_parse(ip.address, &addr) < 0)
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "Unknown IP object in the IPAM result");
		int fi = addr.ip.family == AF_INET ? 0 : 1;
		if (ip.gateway && cni_ip_parse(ip.gateway, &gw) == 0)
			has_gw = true;
		if (!has_gw && c->is_gw) {
			cni_ipnet net;
			cni_ipnet_network(&addr, &net);
			cni_ip_next(&net.ip, &gw);
			has_gw = true;
		}
		if (has_gw)
			cni_ip_format(&gw, gwtxt, sizeof(gwtxt));
		if (c->is_default_gw && !default_found[fi]) {
			for (size_t k = 0; k < cni_result_route_count(x->res); k++) {
				cni_route rt = CNI_ROUTE_INIT;
				cni_result_get_route(x->res, k, &rt);
				if (rt.gw && is_default_dst(rt.dst, addr.ip.family))
					default_found[fi] = true;
			}
			if (!default_found[fi]) {
				cni_route rt = CNI_ROUTE_INIT;
				rt.dst = fi == 0 ? "0.0.0.0/0" : "::/0";
				rt.gw = has_gw ? gwtxt : NULL;
				if ((r = cni_result_add_route(x->res, &rt, err)) < 0)
					return r;
				default_found[fi] = true;
			}
		}
		if (c->is_gw && gws[fi].n < sizeof(gws[fi].gws) / sizeof(gws[fi].gws[0])) {
			gws[fi].gws[gws[fi].n].ip = gw;
			gws[fi].gws[gws[fi].n].prefix = addr.prefix;
			gws[fi].n++;
		}
		ip.interface = 2;
		ip.gateway = has_gw ? gwtxt : NULL;
		if ((r = cni_result_add_ip(x->res, &ip, err)) < 0)
			return r;
	}
	if (c->dns_set)
		return cni_result_set_dns(x->res, &c->dns, err);
	cni_dns dns = CNI_DNS_INIT;
	cni_result_get_dns(ipam, &dns);
	return cni_result_set_dns(x->res, &dns, err);
}

/* The `<bridge>.<vlan>` gateway veth of a VLAN network, created on first use. */
static int ensure_vlan_gateway(struct add_ctx *x, cni_link_info *out, cni_error **err)
{
	char name[64];
	struct veth_out v;
	memset(&v, 0, sizeof(v));
	int r;
	snprintf(name, sizeof(name), "%s.%d", x->br.name, x->c->vlan);
	if (strlen(name) >= CNI_IFNAMSIZ)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "failed to create vlan gateway \"%s\": name too long", name);
	if (cni_link_get(x->host_nl, name, out, NULL) == 0)
		return 0;
	r = setup_veth(x->host_nl, x->host_nl, NULL, &x->br, name, x->c, x->br.mtu, false,
		       x->c->vlan, NULL, false, &v, err);
	if (r < 0)
		return PC_PREFIXED(r, err, "faild to create vlan gateway \"%s\"", name);
	if ((r = cni_link_get(x->host_nl, name, out, err)) < 0 ||
	    (r = cni_link_set_up(x->host_nl, out->ifindex, true, err)) < 0)
		return r;
	return cni_link_get(x->host_nl, name, out, err);
}

static int setup_gateways(struct add_ctx *x, struct gw_list gws[2], cni_error **err)
{
	bool vlan_iface_listed = false;
	int r;
	for (int fi = 0; fi < 2; fi++) {
		for (size_t i = 0; i < gws[fi].n; i++) {
			if (x->c->vlan) {
				cni_link_info vl = CNI_LINK_INFO_INIT;
				if ((r = ensure_vlan_gateway(x, &vl, err)) < 0)
					return PC_PREFIXED(r, err,
							   "failed to create vlan interface");
				if (!vlan_iface_listed) {
					cni_interface vi = CNI_INTERFACE_INIT;
					vi.name = vl.name;
					vi.mac = vl.mac;
					if ((r = cni_result_add_interface(x->res, &vi, NULL, err)) <
					    0)
						return r;
					vlan_iface_listed = true;
				}
				r = ensure_addr(x->host_nl, vl.ifindex, vl.name, &gws[fi].gws[i],
						x->c->force_address, NULL, err);
				if (r < 0)
					return PC_PREFIXED(
					    r, err,
					    "failed to set vlan interface for bridge with "
					    "addr");
			} else {
				/* the MAC the bridge had before this port joined, as the
				 * reference pins it */
				r = ensure_addr(x->host_nl, x->br.ifindex, x->br.name,
						&gws[fi].gws[i], x->c->force_address, x->br.mac,
						err);
				if (r < 0)
					return PC_PREFIXED(r, err, "failed to set bridge addr");
			}
		}
		if (gws[fi].n) {
			r = cni_sysctl_set(fi == 0 ? "net/ipv4/ip_forward"
						   : "net/ipv6/conf/all/forwarding",
					   "1", err);
			if (r < 0)
				return PC_PREFIXED(r, err, "failed to enable forwarding");
		}
	}
	return 0;
}

static int setup_masq(struct add_ctx *x, cni_error **err)
{
	size_t n = cni_result_ip_count(x->res);
	const char **addrs = calloc(n + 1, sizeof(*addrs));
	if (!addrs)
		return cni_error_oom(err);
	for (size_t i = 0; i < n; i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_result_get_ip(x->res, i, &ip);
		addrs[i] = ip.address;
	}
	int r = cni_ipmasq_setup(x->c->masq_backend, x->c->name ? x->c->name : "", x->args->ifname,
				 x->args->container_id, addrs, err);
	free(addrs);
	return r;
}

/*
 * Wait for the host end to be operationally up, 2.5 s at most as the reference (which
 * looks at 0, 50, 500, 1500 and 2500 ms). The kernel moves the state up to a second after
 * the carrier, usually within a few milliseconds: looking again soon at first means a
 * port that comes up 2 ms late costs 2 ms, not 50.
 */
static int wait_port_up(struct add_ctx *x, cni_error **err)
{
	static const long waits[] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 500, 1000, 500};
	cni_link_info hl = CNI_LINK_INFO_INIT;
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		sleep_ms(waits[i]);
		int r = cni_link_get(x->host_nl, x->veth.host, &hl, err);
		if (r < 0)
			return r;
		if (hl.oper_state == IF_OPER_UP)
			return 0;
	}
	return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "bridge port in error state: %s",
			     oper_state_name(hl.oper_state));
}

static int open_netns(const char *path, cni_netns **ns, cni_error **err)
{
	int r = cni_netns_open(path, ns, err);
	return PC_PREFIXED(r, err, "failed to open netns \"%s\"", path);
}

static int do_add(struct add_ctx *x, cni_error **err)
{
	const cni_cmd_args *args = x->args;
	struct br_conf *c = x->c;
	cni_link_info li = CNI_LINK_INFO_INIT;
	struct gw_list gws[2];
	unsigned char macbytes[6];
	char ref[512];
	int r;

	memset(gws, 0, sizeof(gws));
	/* every check that needs no change comes first, so a refusal leaves nothing behind */
	if (c->hairpin && c->promisc)
		return cni_error_set(
		    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
		    "cannot set hairpin mode and promiscuous mode at the same time");
	if (c->ipam_type && c->disable_container_iface)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "cannot use IPAM when DisableContainerInterface flag is set");
	if (c->mac && br_parse_mac(c->mac, macbytes) < 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "invalid container MAC address \"%s\"", c->mac);
	if ((r = open_netns(args->netns, &x->cont_ns, err)) < 0 ||
	    (r = cni_netns_open_current(&x->host_ns, err)) < 0 ||
	    (r = cni_nl_open(&x->host_nl, NULL, err)) < 0 ||
	    (r = cni_nl_open(&x->cont_nl, x->cont_ns, err)) < 0)
		return r;
	if (cni_link_get(x->cont_nl, args->ifname, &li, NULL) == 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "container veth name provided (%s) already exists",
				     args->ifname);

	if ((r = ensure_bridge(x->host_nl, c, &x->br, &x->br_created, err)) < 0)
		return r;
	r = setup_veth(x->cont_nl, x->host_nl, x->host_ns, &x->br, args->ifname, c,
		       (unsigned int)c->mtu, c->hairpin, c->vlan, c->mac, c->port_isolation,
		       &x->veth, err);
	if (r < 0)
		return r;
	x->veth_created = true;

	if ((r = cni_result_new(&x->res, cni_version_current(), err)) < 0)
		return r;
	cni_interface bi = CNI_INTERFACE_INIT, hi = CNI_INTERFACE_INIT, ci = CNI_INTERFACE_INIT;
	bi.name = x->br.name;
	bi.mac = x->br.mac;
	hi.name = x->veth.host;
	hi.mac = x->veth.host_mac;
	ci.name = args->ifname;
	ci.mac = x->veth.cont_mac;
	ci.sandbox = args->netns;
	if ((r = cni_result_add_interface(x->res, &bi, NULL, err)) < 0 ||
	    (r = cni_result_add_interface(x->res, &hi, NULL, err)) < 0 ||
	    (r = cni_result_add_interface(x->res, &ci, NULL, err)) < 0)
		return r;

	if (c->macspoofchk) {
		ref_id(ref, sizeof(ref), args);
		x->spoof_set = true; /* a half-done setup is torn down too */
		if ((r = br_spoofcheck_setup(x->veth.host, x->veth.cont_mac, ref, err)) < 0)
			return r;
	}

	if (c->ipam_type) {
		cni_result *ipam = NULL, *cur = NULL;
		if ((r = cni_ipam_exec_add(args->stdin_data, args->stdin_len, &ipam, err)) < 0)
			return r;
		x->ipam_done = true;
		r = cni_result_convert(&cur, ipam, cni_version_current(), err);
		cni_result_free(ipam);
		if (r < 0)
			return r;
		r = merge_ipam(x, cur, gws, err);
		cni_result_free(cur);
		if (r < 0)
			return r;
		struct cont_cfg cc = {x};
		if ((r = cni_netns_run(x->cont_ns, configure_container, &cc, err)) < 0)
			return r;
		if (c->is_gw && (r = setup_gateways(x, gws, err)) < 0)
			return r;
		if (c->ip_masq) {
			x->masq_set = true;
			if ((r = setup_masq(x, err)) < 0)
				return r;
		}
	} else {
		if (c->dns_set && (r = cni_result_set_dns(x->res, &c->dns, err)) < 0)
			return r;
		cni_link_info cl = CNI_LINK_INFO_INIT;
		if ((r = cni_link_get(x->cont_nl, args->ifname, &cl, err)) < 0)
			return PC_PREFIXED(r, err, "failed to retrieve link");
		if (!c->disable_container_iface &&
		    (r = cni_link_set_up(x->cont_nl, cl.ifindex, true, err)) < 0)
			return PC_PREFIXED(r, err, "failed to set \"%s\" up", args->ifname);
	}

	/* a port whose peer is kept down never comes up: nothing to wait for then */
	if (!c->disable_container_iface && (r = wait_port_up(x, err)) < 0)
		return r;

	/* both MACs may have changed: the host end's, and the bridge's as ports come and go */
	cni_link_info hl = CNI_LINK_INFO_INIT, br = CNI_LINK_INFO_INIT;
	if ((r = cni_link_get(x->host_nl, x->veth.host, &hl, err)) < 0 ||
	    (r = cni_link_get(x->host_nl, c->br_name, &br, err)) < 0)
		return r;
	if ((r = cni_result_set_interface_mac(x->res, 1, hl.mac, err)) < 0 ||
	    (r = cni_result_set_interface_mac(x->res, 0, br.mac, err)) < 0)
		return r;
	return 0;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	struct br_conf c;
	struct add_ctx x;
	int r = br_conf_load(&c, args->stdin_data, args->stdin_len, args->args, err);
	if (r < 0)
		return r;
	memset(&x, 0, sizeof(x));
	x.args = args;
	x.c = &c;
	r = do_add(&x, err);
	if (r < 0) {
		add_ctx_undo(&x);
		cni_result_free(x.res);
	} else {
		*result = x.res;
	}
	cni_nl_close(x.cont_nl);
	cni_nl_close(x.host_nl);
	cni_netns_close(x.host_ns);
	cni_netns_close(x.cont_ns);
	br_conf_clear(&c);
	return r;
}

/* ---- DEL ---------------------------------------------------------------------------- */

/* What needs no namespace: IPAM, spoof check and masquerade. */
static int release_host_state(const cni_cmd_args *args, const struct br_conf *c, cni_error **err)
{
	char ref[512];
	int r;
	if (c->ipam_type && (r = cni_ipam_exec_del(args->stdin_data, args->stdin_len, err)) < 0)
		return r;
	if (c->macspoofchk) {
		cni_error *local = NULL;
		ref_id(ref, sizeof(ref), args);
		/* as the reference: a failed spoof-check teardown is reported, not fatal */
		if (br_spoofcheck_teardown(ref, &local) < 0)
			fprintf(stderr, "%s\n", cni_error_msg(local));
		cni_error_free(local);
	}
	if (c->ip_masq && (r = cni_ipmasq_teardown(c->name ? c->name : "", args->ifname,
						   args->container_id, err)) < 0)
		return r;
	return 0;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct br_conf c;
	cni_netns *ns = NULL;
	pc_link_del job = {0};
	cni_error *local = NULL;
	cni_link_info cl = CNI_LINK_INFO_INIT;
	bool gone;
	int r = br_conf_load(&c, args->stdin_data, args->stdin_len, args->args, err);
	if (r < 0)
		return r;
	if ((r = pc_netns_open_del(args->netns, &ns, err)) < 0) {
		r = PC_PREFIXED(r, err, "failed to open netns \"%s\"", args->netns);
		goto out;
	}
	/* no namespace, or one that is gone and took the veth with it: release the rest */
	if (!ns)
		goto release;
	if ((r = cni_nl_open(&job.nl, ns, err)) < 0)
		goto out;
	r = cni_link_get(job.nl, args->ifname, &cl, &local);
	/* gone: DEL may come more than once */
	if ((r = pc_gone_ok(r, local, &gone, err)) < 0)
		goto out;
	if (!gone) {
		/* with masquerade or spoof-check chains to remove, the two RCU waits overlap */
		job.ifindex = cl.ifindex;
		pc_link_del_start(&job, c.ip_masq || c.macspoofchk);
		/* done here already, and failed: nothing is released, as before */
		if (!job.started && (r = pc_link_del_finish(&job, err)) < 0)
			goto out;
	}
release:
	local = NULL;
	r = release_host_state(args, &c, &local);
	/* a link that could not go is the answer, as it comes first in the reference */
	cni_error *link_err = NULL;
	int r_link = pc_link_del_finish(&job, &link_err);
	if (r_link < 0) {
		cni_error_free(local);
		local = link_err;
		r = r_link;
	}
	if (r < 0)
		*err = local;
	else
		cni_error_free(local);
out:
	cni_nl_close(job.nl);
	cni_netns_close(ns);
	br_conf_clear(&c);
	return r;
}

/* ---- CHECK -------------------------------------------------------------------------- */

struct found_if {
	bool found;
	int ifindex;
	int peer;
	int master;
};

static int check_fail(cni_error **err, const char *fmt, const char *a, const char *b)
{
	return cni_error_set(err, CNI_ERR_INTERNAL, NULL, fmt, a, b);
}

static int check_bridge(cni_nl *nl, const cni_interface *bi, const struct br_conf *c,
			struct found_if *out, cni_error **err)
{
	cni_link_info li = CNI_LINK_INFO_INIT;
	if (!bi->name || !*bi->name)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "CNI created bridge %s in host namespace was not found",
				     c->br_name);
	if (cni_link_get(nl, bi->name, &li, NULL) < 0)
		return check_fail(err, "Interface name %s not found", bi->name, NULL);
	if (bi->sandbox && *bi->sandbox)
		return check_fail(err, "Interface %s should not be in sandbox", bi->name, NULL);
	if (strcmp(li.kind, "bridge") != 0)
		return check_fail(err, "Interface %s does not have link type of bridge", bi->name,
				  NULL);
	if (bi->mac && *bi->mac && strcasecmp(bi->mac, li.mac) != 0)
		return check_fail(err, "Bridge interface %s Mac doesn't match: %s", bi->name,
				  bi->mac);
	bool promisc = (li.flags & IFF_PROMISC) != 0;
	if (promisc != c->promisc)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Bridge interface %s configured Promisc Mode %s doesn't match "
				     "current state: %s",
				     bi->name, c->promisc ? "true" : "false",
				     promisc ? "true" : "false");
	out->found = true;
	out->ifindex = li.ifindex;
	out->master = li.master;
	return 0;
}

struct cont_check {
	const cni_cmd_args *args;
	cni_nl *nl;
	const cni_result *res;
	const cni_interface *ci;
	struct found_if *out;
};

static int check_container(void *userdata, cni_error **err)
{
	struct cont_check *k = userdata;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_addr_info *addrs = NULL;
	cni_route_spec *routes = NULL;
	size_t na = 0, nr = 0;
	int r = 0;

	if (cni_link_get(k->nl, k->ci->name, &li, NULL) < 0)
		return check_fail(err, "Interface name %s not found", k->ci->name, NULL);
	if (strcmp(li.kind, "veth") != 0)
		return check_fail(err, "Error: Container interface %s not of type veth", li.name,
				  NULL);
	if (k->ci->mac && *k->ci->mac && strcasecmp(k->ci->mac, li.mac) != 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Interface %s Mac %s doesn't match container Mac: %s",
				     k->ci->name, k->ci->mac, li.mac);
	k->out->found = true;
	k->out->ifindex = li.ifindex;
	k->out->peer = li.link;

	/* every IP of the result on the interface, every route in the main table */
	if ((r = cni_addr_list(k->nl, li.ifindex, 0, &addrs, &na, err)) < 0 ||
	    (r = cni_route_list(k->nl, 0, 0, 0, &routes, &nr, err)) < 0)
		goto out;
	for (size_t i = 0; i < cni_result_ip_count(k->res); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_ipnet want;
		bool ok = false;
		cni_result_get_ip(k->res, i, &ip);
		if (cni_ipnet_parse(ip.address, &want) < 0)
			continue;
		for (size_t j = 0; j < na && !ok; j++)
			ok = addrs[j].addr.prefix == want.prefix &&
			     cni_ip_equal(&addrs[j].addr.ip, &want.ip);
		if (!ok) {
			r = check_fail(err, "Failed to match addr %s on interface %s", ip.address,
				       k->args->ifname);
			goto out;
		}
	}
	for (size_t i = 0; i < cni_result_route_count(k->res); i++) {
		cni_route rt = CNI_ROUTE_INIT;
		cni_ipnet dst;
		cni_ipaddr gw;
		bool ok = false, has_gw;
		cni_result_get_route(k->res, i, &rt);
		if (cni_ipnet_parse(rt.dst, &dst) < 0)
			continue;
		cni_ipnet_network(&dst, &dst);
		has_gw = rt.gw && cni_ip_parse(rt.gw, &gw) == 0;
		for (size_t j = 0; j < nr && !ok; j++) {
			const cni_route_spec *s = &routes[j];
			ok = s->dst.prefix == dst.prefix && cni_ip_equal(&s->dst.ip, &dst.ip) &&
			     (!has_gw || (s->has_gw && cni_ip_equal(&s->gw, &gw)));
		}
		if (!ok) {
			r = cni_error_set(
			    err, CNI_ERR_INTERNAL, NULL,
			    "Expected Route {Dst:%s GW:%s} not found in routing table", rt.dst,
			    rt.gw ? rt.gw : "<nil>");
			goto out;
		}
	}
out:
	cni_free(addrs);
	cni_free(routes);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct br_conf c;
	cni_conf *conf = NULL;
	cni_result *prev = NULL, *res = NULL;
	cni_netns *ns = NULL;
	cni_nl *host = NULL, *cont = NULL;
	struct found_if brf = {0}, contf = {0}, vethf = {0};
	int r = br_conf_load(&c, args->stdin_data, args->stdin_len, args->args, err);
	if (r < 0)
		return r;
	if ((r = open_netns(args->netns, &ns, err)) < 0)
		goto out;
	/* the reference runs IPAM CHECK even without IPAM (and so always fails); we skip it */
	if (c.ipam_type && (r = cni_ipam_exec_check(args->stdin_data, args->stdin_len, err)) < 0)
		goto out;
	if ((r = cni_conf_from_bytes(&conf, args->stdin_data, args->stdin_len, err)) < 0 ||
	    (r = cni_conf_prev_result(conf, &prev, err)) < 0)
		goto out;
	if (!prev) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "Required prevResult missing");
		goto out;
	}
	if ((r = cni_result_convert(&res, prev, cni_version_current(), err)) < 0)
		goto out;

	cni_interface bi = CNI_INTERFACE_INIT, ci = CNI_INTERFACE_INIT;
	size_t nif = cni_result_interface_count(res);
	for (size_t i = 0; i < nif; i++) {
		cni_interface it = CNI_INTERFACE_INIT;
		cni_result_get_interface(res, i, &it);
		if (it.name && strcmp(it.name, c.br_name) == 0)
			bi = it;
		else if (it.name && strcmp(it.name, args->ifname) == 0 && it.sandbox &&
			 strcmp(it.sandbox, args->netns) == 0)
			ci = it;
	}
	if ((r = cni_nl_open(&host, NULL, err)) < 0 || (r = cni_nl_open(&cont, ns, err)) < 0 ||
	    (r = check_bridge(host, &bi, &c, &brf, err)) < 0)
		goto out;
	if (!ci.sandbox || strcmp(ci.sandbox, args->netns) != 0) {
		r = check_fail(err, "Sandbox in prevResult %s doesn't match configured netns: %s",
			       ci.sandbox ? ci.sandbox : "", args->netns);
		goto out;
	}
	struct cont_check k = {args, cont, res, &ci, &contf};
	if ((r = cni_netns_run(ns, check_container, &k, err)) < 0)
		goto out;

	/* the host end: a veth whose peer is the container's interface and whose master is
	 * the bridge; other interfaces are not ours and are skipped */
	for (size_t i = 0; i < nif && !vethf.found; i++) {
		cni_interface it = CNI_INTERFACE_INIT;
		cni_link_info li = CNI_LINK_INFO_INIT;
		cni_result_get_interface(res, i, &it);
		if (!it.name || strcmp(it.name, bi.name) == 0 || strcmp(it.name, ci.name) == 0)
			continue;
		if (it.sandbox && *it.sandbox) {
			r = check_fail(err, "Interface %s should not be in sandbox", it.name, NULL);
			goto out;
		}
		if (cni_link_get(host, it.name, &li, NULL) < 0) {
			r = check_fail(err, "Interface name %s not found", it.name, NULL);
			goto out;
		}
		if (strcmp(li.kind, "veth") != 0 || li.ifindex != contf.peer ||
		    li.link != contf.ifindex || li.master != brf.ifindex)
			continue;
		if (it.mac && *it.mac && strcasecmp(it.mac, li.mac) != 0) {
			r = check_fail(err, "Interface %s Mac doesn't match: %s not found", it.name,
				       it.mac);
			goto out;
		}
		vethf.found = true;
	}
	if (!contf.found)
		r = check_fail(err, "CNI created interface in container %s not found", args->ifname,
			       NULL);
	else if (!vethf.found)
		r = check_fail(err, "CNI veth created for bridge %s was not found", c.br_name,
			       NULL);
out:
	cni_nl_close(cont);
	cni_nl_close(host);
	cni_netns_close(ns);
	cni_result_free(res);
	cni_result_free(prev);
	cni_conf_free(conf);
	br_conf_clear(&c);
	return r;
}

/* ---- GC and STATUS ------------------------------------------------------------------ */

static int cmd_gc(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct br_conf c;
	cni_conf *conf = NULL;
	cni_gc_attachment *valid = NULL;
	cni_nl *host = NULL;
	cni_link_info br = CNI_LINK_INFO_INIT;
	size_t n = 0;
	bool present = false;
	int r = br_conf_load(&c, args->stdin_data, args->stdin_len, args->args, err);
	if (r < 0)
		return r;
	if ((r = cni_conf_from_bytes(&conf, args->stdin_data, args->stdin_len, err)) < 0 ||
	    (r = pc_valid_attachments(conf, &valid, &n, &present, err)) < 0)
		goto out;
	/* the spec: GC goes to the IPAM plugin as well */
	if (c.ipam_type && (r = cni_ipam_exec_gc(args->stdin_data, args->stdin_len, err)) < 0)
		goto out;
	if (!present)
		goto out; /* without the list nothing is known to be stale */
	if (c.ip_masq && (r = cni_ipmasq_gc(c.name ? c.name : "", valid, n, err)) < 0)
		goto out;
	if ((r = cni_nl_open(&host, NULL, err)) < 0)
		goto out;
	if (cni_link_get(host, c.br_name, &br, NULL) < 0)
		br.ifindex = -1;
	r = br_spoofcheck_gc(valid, n, host, br.ifindex, err);
out:
	cni_nl_close(host);
	free(valid);
	cni_conf_free(conf);
	br_conf_clear(&c);
	return r;
}

static int cmd_status(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct br_conf c;
	int r = br_conf_load(&c, args->stdin_data, args->stdin_len, args->args, err);
	if (r < 0)
		return r;
	if (c.ipam_type)
		r = cni_ipam_exec_status(args->stdin_data, args->stdin_len, err);
	br_conf_clear(&c);
	return r;
}

CNI_PLUGIN_MAIN(BR_PLUGIN_ABOUT, .add = cmd_add, .check = cmd_check, .del = cmd_del, .gc = cmd_gc,
		.status = cmd_status)
