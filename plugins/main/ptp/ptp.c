/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ptp: a veth pair per container, routed rather than bridged. The container end gets the
 * IPAM addresses with all traffic for the subnet sent via the gateway; the host end gets
 * the gateway as a /32 (/128) and a host route back to the container. Optional IP
 * masquerade. Drop-in for the reference ptp, plus GC and STATUS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cni/cni.h>

#include "plugin-json.h"
#include "plugin-linkdel.h"
#include "plugin-netns.h"
#include "plugin-util.h"

#define VETH_TRIES 10

typedef struct ptp_conf {
	cni_conf *conf;
	const char *name;
	bool ipmasq;
	cni_ipmasq_backend backend;
	unsigned int mtu;
	bool dns_set;
	char **dns_nameservers, **dns_search, **dns_options;
	char *dns_domain;
} ptp_conf;

static void ptp_conf_done(ptp_conf *c)
{
	cni_conf_free(c->conf);
	cni_strv_free(c->dns_nameservers);
	cni_strv_free(c->dns_search);
	cni_strv_free(c->dns_options);
	free(c->dns_domain);
	memset(c, 0, sizeof(*c));
}

static const pj_go GO = {.what = "failed to load netconf", .type = "NetConf.", .get = pj_get_first};

/* A []string member; absent or null leaves *out NULL, [] gives an empty array. */
static int string_list(json_t *obj, const char *key, const char *field, char ***out,
		       cni_error **err)
{
	json_t *v = pj_get_first(obj, key), *it;
	size_t i;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return pj_go_type_error(err, &GO, v, field, "[]string");
	char **l = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!l)
		return cni_error_oom(err);
	json_array_foreach(v, i, it)
	{
		/* a null entry decodes as "" in Go, as in the reference */
		if (!json_is_string(it) && !json_is_null(it)) {
			cni_strv_free(l);
			return pj_go_type_error(err, &GO, it, field, "string");
		}
		if (!(l[i] = strdup(json_is_null(it) ? "" : json_string_value(it)))) {
			cni_strv_free(l);
			return cni_error_oom(err);
		}
	}
	*out = l;
	return 0;
}

static int load_conf(const cni_cmd_args *args, ptp_conf *c, cni_error **err)
{
	json_t *root, *v;
	json_error_t je;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = cni_conf_from_bytes(&c->conf, args->stdin_data, args->stdin_len, err)) < 0)
		return r;
	c->name = cni_conf_name(c->conf);
	root = json_loadb(args->stdin_data, args->stdin_len, 0, &je);
	if (!json_is_object(root)) {
		json_decref(root);
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to load netconf: %s", je.text);
	}
	const char *backend = NULL;
	if ((r = pj_go_bool(&GO, root, "ipMasq", "ipMasq", &c->ipmasq, NULL, err)) < 0)
		goto out;
	r = pj_go_string(&GO, root, "ipMasqBackend", "ipMasqBackend", &backend, NULL, err);
	if (r < 0 || (backend && (r = cni_ipmasq_backend_parse(backend, &c->backend, err)) < 0))
		goto out;
	if ((v = pj_get_first(root, "mtu"))) {
		if (!json_is_integer(v)) {
			r = pj_go_type_error(err, &GO, v, "mtu", "int");
			goto out;
		}
		json_int_t m = json_integer_value(v);
		if (m < 0 || m > 65535) {
			r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					  "invalid mtu %lld: must be between 0 and 65535",
					  (long long)m);
			goto out;
		}
		c->mtu = (unsigned int)m;
	}
	if ((v = pj_get_first(root, "dns"))) {
		if (!json_is_object(v)) {
			r = pj_go_type_error(err, &GO, v, "dns", "types.DNS");
			goto out;
		}
		if ((r = string_list(v, "nameservers", "dns.nameservers", &c->dns_nameservers,
				     err)) < 0 ||
		    (r = string_list(v, "search", "dns.search", &c->dns_search, err)) < 0 ||
		    (r = string_list(v, "options", "dns.options", &c->dns_options, err)) < 0)
			goto out;
		const char *d = NULL;
		if ((r = pj_go_string(&GO, v, "domain", "dns.domain", &d, NULL, err)) < 0)
			goto out;
		if (d && *d && !(c->dns_domain = strdup(d))) {
			r = cni_error_oom(err);
			goto out;
		}
		/* the reference overrides IPAM's DNS when any field is given (an empty list too) */
		c->dns_set = c->dns_nameservers || c->dns_search || c->dns_options || c->dns_domain;
	}
	r = 0;
out:
	json_decref(root);
	return r;
}

/* Enable forwarding for every family the result has addresses of (host namespace). */
static int enable_forward(const cni_result *res, cni_error **err)
{
	bool v4 = false, v6 = false;
	for (size_t i = 0; i < cni_result_ip_count(res); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_ipnet n;
		if (cni_result_get_ip(res, i, &ip) == 0 && cni_ipnet_parse(ip.address, &n) == 0) {
			v4 |= n.ip.family == AF_INET;
			v6 |= n.ip.family == AF_INET6;
		}
	}
	const char *keys[2] = {v4 ? "net/ipv4/ip_forward" : NULL,
			       v6 ? "net/ipv6/conf/all/forwarding" : NULL};
	for (int i = 0; i < 2; i++) {
		char *cur = NULL;
		if (!keys[i])
			continue;
		if (cni_sysctl_get(keys[i], &cur, NULL) == 0 && strcmp(cur, "1") == 0) {
			cni_free(cur);
			continue;
		}
		cni_free(cur);
		int r = cni_sysctl_set(keys[i], "1", err);
		if (r < 0) {
			PC_PREFIX(err, "Could not enable IP forwarding");
			return r;
		}
	}
	return 0;
}

/* ---- ADD ---- */

typedef struct add_ctx {
	const cni_cmd_args *args;
	ptp_conf *conf;
	cni_netns *host_ns, *cont_ns;
	cni_nl *host_nl, *cont_nl;
	cni_result *res; /* what we print */
	char host_name[CNI_IFNAMSIZ];
	cni_link_info host_li, cont_li; /* both ends as made: index, name, MAC */
	bool veth_created, masq_done;
} add_ctx;

static int create_veth(add_ctx *x, cni_error **err)
{
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_error *e = NULL;
	int r;

	if (cni_link_get(x->cont_nl, x->args->ifname, &li, NULL) == 0)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				     "container veth name provided (%s) already exists",
				     x->args->ifname);
	for (int i = 0; i < VETH_TRIES; i++) {
		if ((r = cni_random_veth_name(x->host_name, sizeof(x->host_name), err)) < 0)
			return r;
		/* container end and its peer in the host namespace in one request: no move */
		r = cni_veth_add(x->cont_nl, x->args->ifname, x->host_name, x->host_ns,
				 x->conf->mtu, NULL, NULL, &e);
		if (r == 0) {
			x->veth_created = true;
			cni_error_free(e);
			return 0;
		}
		/* made after all (only its answer was lost): ours to delete on the way out */
		if (cni_error_errno(e) != EEXIST && cni_link_get(x->cont_nl, x->args->ifname, &li, NULL) == 0) {
			x->veth_created = true;
			*err = e;
			return r;
		}
		/* a host name already taken: try another one */
		if (cni_link_get(x->host_nl, x->host_name, &li, NULL) == 0) {
			cni_error_free(e);
			e = NULL;
			continue;
		}
		*err = e;
		return r;
	}
	return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
			     "failed to find a free name for the host veth after %d tries",
			     VETH_TRIES);
}


/* Routes of one container address: the gateway on-link, the subnet via the gateway. */
static int container_routes(add_ctx *x, const cni_ipnet *addr, const cni_ipaddr *gw,
			    cni_error **err)
{
	cni_route_spec link = CNI_ROUTE_SPEC_INIT, net = CNI_ROUTE_SPEC_INIT;
	int bits = addr->ip.family == AF_INET ? 32 : 128;
	cni_ipnet subnet;
	int r;

	/* the kernel's subnet route would reach neighbours directly; everything goes via
	 * the gateway instead */
	cni_ipnet_network(addr, &subnet);
	cni_route_spec kernel = CNI_ROUTE_SPEC_INIT;
	kernel.dst = subnet;
	kernel.ifindex = x->cont_li.ifindex;
	if ((r = cni_route_del(x->cont_nl, &kernel, err)) < 0)
		return r;

	link.dst.ip = *gw;
	link.dst.prefix = bits;
	link.ifindex = x->cont_li.ifindex;
	link.scope = RT_SCOPE_LINK;
	link.has_src = true;
	link.src = addr->ip;
	if ((r = cni_route_add(x->cont_nl, &link, false, err)) < 0)
		return r;

	cni_ipnet_network(addr, &net.dst);
	net.ifindex = x->cont_li.ifindex;
	net.scope = RT_SCOPE_UNIVERSE;
	net.has_gw = true;
	net.gw = *gw;
	net.has_src = true;
	net.src = addr->ip;
	return cni_route_add(x->cont_nl, &net, false, err);
}

/* In the container's namespace: addresses, routes, link up. */
static int configure_container(void *ud, cni_error **err)
{
	add_ctx *x = ud;
	cni_ipam_configure_options opts = CNI_IPAM_CONFIGURE_OPTIONS_INIT;
	int r;

	/* IPv6 without the DAD wait: the peer is ours, nothing else can hold the address */
	opts.ipv6_nodad = true;
	if ((r = cni_ipam_configure_iface(x->cont_nl, x->args->ifname, x->res, &opts, err)) < 0)
		return r;
	for (size_t i = 0; i < cni_result_ip_count(x->res); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_ipnet addr;
		cni_ipaddr gw;
		cni_result_get_ip(x->res, i, &ip);
		if (cni_ipnet_parse(ip.address, &addr) < 0 || !ip.gateway ||
		    cni_ip_parse(ip.gateway, &gw) < 0)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "IPAM result for %s has no gateway: ptp needs one",
					     ip.address);
		if ((r = container_routes(x, &addr, &gw, err)) < 0)
			return r;
	}
	return 0;
}

/* The host end, as soon as it exists: up, no router advertisements (the reference's
 * SetupVeth does both before the container end is configured). Both ends are looked up
 * once, here: nothing renames them or changes their MACs later. */
static int host_link_up(add_ctx *x, cni_error **err)
{
	char key[96];
	int r;

	if ((r = cni_link_get(x->host_nl, x->host_name, &x->host_li, err)) < 0 ||
	    (r = cni_link_get(x->cont_nl, x->args->ifname, &x->cont_li, err)) < 0 ||
	    (r = cni_link_set_up(x->host_nl, x->host_li.ifindex, true, err)) < 0)
		return r;
	/* best effort, as without IPv6 the key does not exist */
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_ra", x->host_name);
	cni_sysctl_set(key, "0", NULL);
	return 0;
}

/* The host end: the gateways, host routes. */
static int configure_host(add_ctx *x, cni_error **err)
{
	const cni_link_info *li = &x->host_li;
	int r;

	for (size_t i = 0; i < cni_result_ip_count(x->res); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_ipnet addr, gwnet;
		cni_route_spec rt = CNI_ROUTE_SPEC_INIT;
		cni_error *e = NULL;
		cni_result_get_ip(x->res, i, &ip);
		if (cni_ipnet_parse(ip.address, &addr) < 0 || !ip.gateway ||
		    cni_ip_parse(ip.gateway, &gwnet.ip) < 0)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "IPAM result for %s has no gateway: ptp needs one",
					     ip.address);
		int bits = addr.ip.family == AF_INET ? 32 : 128;
		gwnet.prefix = bits;
		r = cni_addr_add(x->host_nl, li->ifindex, &gwnet,
				 addr.ip.family == AF_INET6 ? CNI_ADDR_NODAD : 0, err);
		if (r < 0)
			return r;
		rt.dst.ip = addr.ip;
		rt.dst.prefix = bits;
		rt.ifindex = li->ifindex;
		rt.scope = RT_SCOPE_HOST;
		r = cni_route_add(x->host_nl, &rt, false, &e);
		if (r < 0 && !(e && strstr(cni_error_msg(e), "File exists"))) {
			*err = e;
			return r;
		}
		cni_error_free(e);
	}
	return 0;
}

/* The printed result: host veth, container veth, IPAM's IPs on the container veth. */
static int build_result(add_ctx *x, const cni_result *ipam, cni_error **err)
{
	cni_interface hi = CNI_INTERFACE_INIT, ci = CNI_INTERFACE_INIT;
	int r;

	if ((r = cni_result_new(&x->res, cni_version_current(), err)) < 0)
		return r;
	hi.name = x->host_li.name;
	hi.mac = x->host_li.mac;
	ci.name = x->cont_li.name;
	ci.mac = x->cont_li.mac;
	ci.sandbox = x->args->netns;
	if ((r = cni_result_add_interface(x->res, &hi, NULL, err)) < 0 ||
	    (r = cni_result_add_interface(x->res, &ci, NULL, err)) < 0)
		return r;
	for (size_t i = 0; i < cni_result_ip_count(ipam); i++) {
		cni_ip ip = CNI_IP_INIT;
		if ((r = cni_result_get_ip(ipam, i, &ip)) < 0)
			return cni_error_set(err, -r, NULL, "failed to read IPAM result");
		ip.interface = 1;
		if ((r = cni_result_add_ip(x->res, &ip, err)) < 0)
			return r;
	}
	for (size_t i = 0; i < cni_result_route_count(ipam); i++) {
		cni_route rt = CNI_ROUTE_INIT;
		if ((r = cni_result_get_route(ipam, i, &rt)) < 0)
			return cni_error_set(err, -r, NULL, "failed to read IPAM result");
		if ((r = cni_result_add_route(x->res, &rt, err)) < 0)
			return r;
	}
	cni_dns dns = CNI_DNS_INIT;
	if (x->conf->dns_set) {
		dns.nameservers = (const char *const *)x->conf->dns_nameservers;
		dns.domain = x->conf->dns_domain;
		dns.search = (const char *const *)x->conf->dns_search;
		dns.options = (const char *const *)x->conf->dns_options;
	} else {
		cni_result_get_dns(ipam, &dns);
	}
	return cni_result_set_dns(x->res, &dns, err);
}

/* NULL-terminated CIDR strings of the result's IPs (pointers borrowed from it). */
static const char **result_addresses(const cni_result *res)
{
	size_t n = cni_result_ip_count(res);
	const char **v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_result_get_ip(res, i, &ip);
		v[i] = ip.address;
	}
	return v;
}

static void add_ctx_done(add_ctx *x)
{
	cni_nl_close(x->cont_nl);
	cni_nl_close(x->host_nl);
	cni_netns_close(x->cont_ns);
	cni_netns_close(x->host_ns);
	cni_result_free(x->res);
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	ptp_conf conf;
	add_ctx x = {.args = args, .conf = &conf};
	cni_result *ipam = NULL;
	size_t len = 0;
	const char *bytes;
	int r;

	if ((r = load_conf(args, &conf, err)) < 0) {
		ptp_conf_done(&conf);
		return r;
	}
	/* a netns that cannot be opened fails before IPAM hands out anything */
	if ((r = cni_netns_open(args->netns, &x.cont_ns, err)) < 0)
		goto out;
	bytes = cni_conf_bytes(conf.conf, &len);
	if ((r = cni_ipam_exec_add(bytes, len, &ipam, err)) < 0)
		goto out;

	/* from here on, a failure undoes everything, IPAM included */
	if (cni_result_ip_count(ipam) == 0) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "IPAM plugin returned missing IP config");
		goto fail;
	}
	if ((r = enable_forward(ipam, err)) < 0)
		goto fail;
	if ((r = cni_netns_open_current(&x.host_ns, err)) < 0 ||
	    (r = cni_nl_open(&x.cont_nl, x.cont_ns, err)) < 0 ||
	    (r = cni_nl_open(&x.host_nl, NULL, err)) < 0 || (r = create_veth(&x, err)) < 0 ||
	    (r = host_link_up(&x, err)) < 0 || (r = build_result(&x, ipam, err)) < 0 ||
	    (r = cni_netns_run(x.cont_ns, configure_container, &x, err)) < 0 ||
	    (r = configure_host(&x, err)) < 0)
		goto fail;
	if (conf.ipmasq) {
		const char **addrs = result_addresses(x.res);
		if (!addrs) {
			r = cni_error_oom(err);
			goto fail;
		}
		x.masq_done = true; /* partial rules are removed on failure too */
		r = cni_ipmasq_setup(conf.backend, conf.name, args->ifname, args->container_id,
				     addrs, err);
		free(addrs);
		if (r < 0)
			goto fail;
	}
	*result = x.res;
	x.res = NULL;
	r = 0;
	goto out;

fail:
	if (x.masq_done)
		cni_ipmasq_teardown(conf.name, args->ifname, args->container_id, NULL);
	if (x.veth_created) {
		cni_link_info li = CNI_LINK_INFO_INIT;
		/* deleting one end removes the pair, and the host routes with it */
		if (cni_link_get(x.cont_nl, args->ifname, &li, NULL) == 0)
			cni_link_del(x.cont_nl, li.ifindex, NULL);
	}
	cni_ipam_exec_del(bytes, len, NULL);
out:
	add_ctx_done(&x);
	cni_result_free(ipam);
	ptp_conf_done(&conf);
	return r;
}

/* ---- DEL ---- */

/* Find the container end and start deleting it (on a thread when aside: with ipMasq the
 * veth's RCU wait overlaps the masquerade chain's); job->nl is left NULL when there is
 * nothing to delete (no namespace, no link). */
static int start_container_link_del(const cni_cmd_args *args, bool aside, cni_netns **ns,
				    pc_link_del *job, cni_error **err)
{
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_error *e = NULL;
	bool gone;
	int r;

	/* no namespace, or one that is gone, and the veth with it */
	if ((r = pc_netns_open_del(args->netns, ns, err)) < 0 || !*ns)
		return r;
	if ((r = cni_nl_open(&job->nl, *ns, err)) < 0)
		return r;
	r = cni_link_get(job->nl, args->ifname, &li, &e);
	if ((r = pc_gone_ok(r, e, &gone, err)) < 0)
		return r;
	if (gone) {
		cni_nl_close(job->nl);
		job->nl = NULL;
		return 0;
	}
	job->ifindex = li.ifindex;
	pc_link_del_start(job, aside);
	return 0;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	ptp_conf conf;
	cni_netns *ns = NULL;
	pc_link_del job = {0};
	cni_error *link_err = NULL, *masq_err = NULL;
	size_t len = 0;
	int r, r_link, r_masq = 0;

	if ((r = load_conf(args, &conf, err)) < 0)
		goto out;
	const char *bytes = cni_conf_bytes(conf.conf, &len);
	if ((r = cni_ipam_exec_del(bytes, len, err)) < 0 ||
	    (r = start_container_link_del(args, conf.ipmasq, &ns, &job, err)) < 0)
		goto out;
	/* rules are found by name and comment, so this works without the namespace */
	if (conf.ipmasq)
		r_masq =
		    cni_ipmasq_teardown(conf.name, args->ifname, args->container_id, &masq_err);
	/* the link's failure first, as it comes first in the reference */
	if ((r_link = pc_link_del_finish(&job, &link_err)) < 0 || r_masq < 0) {
		cni_error **pick = r_link < 0 ? &link_err : &masq_err;
		r = r_link < 0 ? r_link : r_masq;
		*err = *pick;
		*pick = NULL;
	}
out:
	cni_error_free(masq_err);
	cni_error_free(link_err);
	cni_nl_close(job.nl);
	cni_netns_close(ns);
	ptp_conf_done(&conf);
	return r;
}

/* ---- CHECK ---- */

typedef struct check_ctx {
	const cni_cmd_args *args;
	const cni_result *prev;
	cni_interface cont;
	cni_nl *nl;
} check_ctx;

static bool same_ipnet(const cni_ipnet *a, const cni_ipnet *b)
{
	return a->prefix == b->prefix && cni_ip_equal(&a->ip, &b->ip);
}

static int check_container(void *ud, cni_error **err)
{
	check_ctx *c = ud;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_addr_info *addrs = NULL;
	cni_route_spec *routes = NULL;
	size_t na = 0, nr = 0;
	int r;

	if (cni_link_get(c->nl, c->cont.name, &li, NULL) < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "ptp: Container Interface name in prevResult: %s not found",
				     c->cont.name);
	if (strcmp(li.kind, "veth") != 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Error: Container interface %s not of type veth/p2p", li.name);
	if (c->cont.mac && *c->cont.mac && strcasecmp(c->cont.mac, li.mac) != 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "ptp: Interface %s Mac %s doesn't match container Mac: %s",
				     c->cont.name, c->cont.mac, li.mac);
	if ((r = cni_addr_list(c->nl, li.ifindex, 0, &addrs, &na, err)) < 0)
		return r;
	for (size_t i = 0; i < cni_result_ip_count(c->prev); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_interface owner = CNI_INTERFACE_INIT;
		cni_ipnet want;
		bool found = false;
		cni_result_get_ip(c->prev, i, &ip);
		if (ip.interface < 0 ||
		    cni_result_get_interface(c->prev, (size_t)ip.interface, &owner) < 0 ||
		    !owner.name || strcmp(owner.name, c->cont.name) != 0 ||
		    cni_ipnet_parse(ip.address, &want) < 0)
			continue;
		for (size_t k = 0; k < na && !found; k++)
			found = same_ipnet(&addrs[k].addr, &want);
		if (!found) {
			cni_free(addrs);
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "Failed to match addr %s on interface %s", ip.address,
					     c->cont.name);
		}
	}
	cni_free(addrs);

	if ((r = cni_route_list(c->nl, 0, 0, 0, &routes, &nr, err)) < 0)
		return r;
	for (size_t i = 0; i < cni_result_route_count(c->prev); i++) {
		cni_route rt = CNI_ROUTE_INIT;
		cni_ipnet dst;
		cni_ipaddr gw;
		bool found = false;
		cni_result_get_route(c->prev, i, &rt);
		if (cni_ipnet_parse(rt.dst, &dst) < 0)
			continue;
		cni_ipnet_network(&dst, &dst);
		bool has_gw = rt.gw && cni_ip_parse(rt.gw, &gw) == 0;
		for (size_t k = 0; k < nr && !found; k++) {
			const cni_route_spec *s = &routes[k];
			found = same_ipnet(&s->dst, &dst) &&
				(!has_gw || (s->has_gw && cni_ip_equal(&s->gw, &gw)));
		}
		if (!found) {
			cni_free(routes);
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "Failed to match route %s%s%s in the container",
					     rt.dst, has_gw ? " via " : "", has_gw ? rt.gw : "");
		}
	}
	cni_free(routes);
	return 0;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	ptp_conf conf;
	cni_netns *ns = NULL;
	cni_result *prev = NULL;
	check_ctx c = {.args = args};
	size_t len = 0;
	int r;

	if ((r = load_conf(args, &conf, err)) < 0)
		goto out;
	if ((r = cni_netns_open(args->netns, &ns, err)) < 0)
		goto out;
	const char *bytes = cni_conf_bytes(conf.conf, &len);
	if ((r = cni_ipam_exec_check(bytes, len, err)) < 0)
		goto out;
	if ((r = cni_conf_prev_result(conf.conf, &prev, err)) < 0)
		goto out;
	if (!prev) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "ptp: Required prevResult missing");
		goto out;
	}
	c.prev = prev;
	for (size_t i = 0; i < cni_result_interface_count(prev); i++) {
		cni_interface it = CNI_INTERFACE_INIT;
		cni_result_get_interface(prev, i, &it);
		if (it.name && strcmp(it.name, args->ifname) == 0 && it.sandbox &&
		    strcmp(it.sandbox, args->netns) == 0)
			c.cont = it;
	}
	if (!c.cont.sandbox || strcmp(c.cont.sandbox, args->netns) != 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "Sandbox in prevResult %s doesn't match configured netns: %s",
				  c.cont.sandbox ? c.cont.sandbox : "", args->netns);
		goto out;
	}
	if ((r = cni_nl_open(&c.nl, ns, err)) < 0)
		goto out;
	r = cni_netns_run(ns, check_container, &c, err);
out:
	cni_nl_close(c.nl);
	cni_result_free(prev);
	cni_netns_close(ns);
	ptp_conf_done(&conf);
	return r;
}

/* ---- GC, STATUS (the reference has neither for ptp in 1.1.1) ---- */

static int cmd_gc(const cni_cmd_args *args, cni_error **err, void *ud)
{
	ptp_conf conf;
	cni_gc_attachment *valid = NULL;
	size_t len = 0, n = 0;
	bool present = false;
	int r;

	if ((r = load_conf(args, &conf, err)) < 0)
		goto out;
	const char *bytes = cni_conf_bytes(conf.conf, &len);
	if (cni_conf_ipam_type(conf.conf) && *cni_conf_ipam_type(conf.conf) &&
	    (r = cni_ipam_exec_gc(bytes, len, err)) < 0)
		goto out;
	if ((r = pc_valid_attachments(conf.conf, &valid, &n, &present, err)) < 0)
		goto out;
	/* without the list nothing can be told stale */
	if (!present)
		goto out;
	r = cni_ipmasq_gc(conf.name, valid, n, err);
out:
	free(valid);
	ptp_conf_done(&conf);
	return r;
}

static int cmd_status(const cni_cmd_args *args, cni_error **err, void *ud)
{
	ptp_conf conf;
	size_t len = 0;
	int r = load_conf(args, &conf, err);
	if (r == 0) {
		const char *bytes = cni_conf_bytes(conf.conf, &len);
		r = cni_ipam_exec_status(bytes, len, err);
	}
	ptp_conf_done(&conf);
	return r;
}

CNI_PLUGIN_MAIN("CNI ptp plugin libcni-c " LIBCNI_C_VERSION, .add = cmd_add, .del = cmd_del,
		.check = cmd_check, .gc = cmd_gc, .status = cmd_status)
