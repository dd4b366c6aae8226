/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vrf: puts CNI_IFNAME into a VRF device ("vrfname") in the container's namespace,
 * creating the VRF with "table" (or the first table id no VRF there uses) when needed.
 * Enslaving drops the interface's IPv6 addresses (unless keep_addr_on_down) and its
 * gateway routes, so both are put back: the addresses as they were, the routes in the
 * VRF's table. DEL releases the interface and removes the VRF once it has no member.
 */
#include <errno.h>
#include <jansson.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vrf.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cni/cni.h>

#include "plugin-json.h"
#include "plugin-nl.h"
#include "plugin-util.h"

struct vrf_conf {
	json_t *root;
	const char *vrfname;
	unsigned int table;
	cni_result *prev;
};

static void conf_free(struct vrf_conf *c)
{
	json_decref(c->root);
	cni_result_free(c->prev);
	memset(c, 0, sizeof(*c));
}

static const pj_go GO = {.what = "failed to load netconf", .type = "VRFNetConf."};

static int conf_load(struct vrf_conf *c, const cni_cmd_args *args, cni_error **err)
{
	json_t *v;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = pj_go_load(&GO, args->stdin_data, args->stdin_len, "main.VRFNetConf", &c->root,
			    err)) < 0)
		return r;
	if ((r = pj_go_string(&GO, c->root, "vrfname", "vrfname", &c->vrfname, NULL, err)) < 0)
		return r;
	if ((v = pj_get(c->root, "table"))) {
		double d;
		if (!pj_number(v, &d))
			return pj_go_type_error(err, &GO, v, "table", "uint32");
		/* (the range first: converting an out-of-range double is undefined) */
		if (d < 0 || d > 4294967295.0 || d != (double)(long long)d)
			return pj_go_number_error(err, &GO, d, "table", "uint32");
		c->table = (unsigned int)d;
	}
	if (!c->vrfname || !*c->vrfname)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "configuration is expected to have a valid vrf name");
	if (strlen(c->vrfname) >= CNI_IFNAMSIZ || strchr(c->vrfname, '/'))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "invalid vrfname \"%s\": not a valid interface name",
				     c->vrfname);
	return pc_prev_result(args->stdin_data, args->stdin_len, &c->prev, err);
}

/* ---- libnl: VRF links carry their table, which cni_link_info does not ---- */

struct nl {
	struct nl_sock *sk;
	struct nl_cache *links;
};

static void nl_done(struct nl *n)
{
	nl_cache_free(n->links);
	nl_socket_free(n->sk);
	memset(n, 0, sizeof(*n));
}

static int nl_start(struct nl *n, cni_error **err)
{
	int r;
	memset(n, 0, sizeof(*n));
	if ((r = pc_nl_open(&n->sk, CNI_ERR_INTERNAL, err)) < 0)
		return r;
	if ((r = rtnl_link_alloc_cache(n->sk, AF_UNSPEC, &n->links)) < 0) {
		nl_done(n);
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "failed to list links: %s",
				     nl_geterror(r));
	}
	return 0;
}

static int nl_refill(struct nl *n, cni_error **err)
{
	int r = nl_cache_refill(n->sk, n->links);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "failed to list links: %s",
				     nl_geterror(r));
	return 0;
}

/* The VRF named name: 0 and *out (a reference), -CNI_ERR_NOT_FOUND, or another error. */
static int find_vrf(struct nl *n, const char *name, struct rtnl_link **out, cni_error **err)
{
	struct rtnl_link *l = rtnl_link_get_by_name(n->links, name);
	if (!l)
		return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "Link not found");
	if (!rtnl_link_is_vrf(l)) {
		rtnl_link_put(l);
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "Netlink %s is not a VRF", name);
	}
	*out = l;
	return 0;
}

static unsigned int vrf_table(struct rtnl_link *l)
{
	uint32_t t = 0;
	if (rtnl_link_vrf_get_tableid(l, &t) < 0)
		t = 0;
	return t;
}

/* The first table id from 1 on that no VRF in the namespace uses. */
static unsigned int free_table(struct nl *n)
{
	for (unsigned int t = 1; t != 0; t++) {
		bool used = false;
		for (struct nl_object *o = nl_cache_get_first(n->links); o && !used;
		     o = nl_cache_get_next(o)) {
			struct rtnl_link *l = (struct rtnl_link *)o;
			used = rtnl_link_is_vrf(l) && vrf_table(l) == t;
		}
		if (!used)
			return t;
	}
	return 0;
}

static int create_vrf(struct nl *n, const char *name, unsigned int table, cni_error **err)
{
	struct rtnl_link *l = rtnl_link_vrf_alloc();
	int r;
	if (!l)
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	if (!table && !(table = free_table(n))) {
		rtnl_link_put(l);
		return cni_error_set(
		    err, CNI_ERR_INTERNAL, NULL,
		    "findFreeRoutingTableID: Failed to find an available routing id");
	}
	rtnl_link_set_name(l, name);
	rtnl_link_vrf_set_tableid(l, table);
	rtnl_link_set_flags(l, IFF_UP);
	r = rtnl_link_add(n->sk, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(l);
	if (r == -NLE_OPNOTSUPP)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "could not add VRF %s: %s (the kernel has no VRF support, "
				     "CONFIG_NET_VRF)",
				     name, nl_geterror(r));
	if (r < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "could not add VRF %s: %s", name,
				     nl_geterror(r));
	return nl_refill(n, err);
}

struct work {
	const struct vrf_conf *conf;
	const char *ifname;
};

/* Every route, listed before enslaving (which removes the interface's gateway routes). */
static int saved_routes(struct nl *n, struct nl_cache **out, cni_error **err)
{
	int r = rtnl_route_alloc_cache(n->sk, AF_UNSPEC, 0, out);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "failed to list routes: %s",
				     nl_geterror(r));
	return 0;
}

static bool route_to_move(struct rtnl_route *rt, int ifindex)
{
	return rtnl_route_get_table(rt) == RT_TABLE_MAIN &&
	       rtnl_route_get_scope(rt) == RT_SCOPE_UNIVERSE &&
	       !(rtnl_route_get_flags(rt) & RTM_F_CLONED) && rtnl_route_get_nnexthops(rt) == 1 &&
	       rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(rt, 0)) == ifindex;
}

static int add_in_ns(void *userdata, cni_error **err)
{
	const struct work *w = userdata;
	const struct vrf_conf *c = w->conf;
	struct nl n;
	struct rtnl_link *vrf = NULL, *l = NULL;
	struct nl_cache *routes = NULL;
	cni_nl *cnl = NULL;
	cni_addr_info *before = NULL, *after = NULL;
	size_t n_before = 0, n_after = 0;
	cni_error *local = NULL;
	int r;

	if ((r = nl_start(&n, err)) < 0)
		return r;
	r = find_vrf(&n, c->vrfname, &vrf, &local);
	if (r == 0 && c->table && vrf_table(vrf) != c->table) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "VRF %s already exist with different routing table %u",
				  c->vrfname, vrf_table(vrf));
		goto out;
	}
	if (r == -CNI_ERR_NOT_FOUND) {
		if ((r = create_vrf(&n, c->vrfname, c->table, err)) < 0 ||
		    (r = find_vrf(&n, c->vrfname, &vrf, err)) < 0)
			goto out;
	} else if (r < 0) {
		*err = local;
		local = NULL;
		goto out;
	}

	l = rtnl_link_get_by_name(n.links, w->ifname);
	if (!l) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "could not get link by name %s",
				  w->ifname);
		goto out;
	}
	int ifindex = rtnl_link_get_ifindex(l);
	int master = rtnl_link_get_master(l);
	if (master) {
		char name[IFNAMSIZ] = "?";
		rtnl_link_i2name(n.links, master, name, sizeof(name));
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "interface %s has already a master set: %s", w->ifname, name);
		goto out;
	}
	if ((r = cni_nl_open(&cnl, NULL, err)) < 0 ||
	    (r = cni_addr_list(cnl, ifindex, AF_INET6, &before, &n_before, err)) < 0 ||
	    (r = saved_routes(&n, &routes, err)) < 0 ||
	    (r = cni_link_set_master(cnl, ifindex, rtnl_link_get_ifindex(vrf), err)) < 0)
		goto out;
	/* put back the IPv6 addresses the enslaving dropped */
	if ((r = cni_addr_list(cnl, ifindex, AF_INET6, &after, &n_after, err)) < 0)
		goto out;
	for (size_t i = 0; i < n_before; i++) {
		bool kept = false;
		for (size_t j = 0; j < n_after && !kept; j++)
			kept = cni_ip_equal(&before[i].addr.ip, &after[j].addr.ip) &&
			       before[i].addr.prefix == after[j].addr.prefix;
		if (!kept && (r = cni_addr_add(cnl, ifindex, &before[i].addr, 0, err)) < 0) {
			cni_error_prefix(*err, "could not restore address to %s @ %s", w->ifname,
					 c->vrfname);
			goto out;
		}
	}
	/* and the gateway routes, now in the VRF's table */
	unsigned int table = vrf_table(vrf);
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		if (!route_to_move(rt, ifindex))
			continue;
		struct rtnl_route *copy = (struct rtnl_route *)nl_object_clone(o);
		if (!copy) {
			r = cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
		rtnl_route_set_table(copy, table);
		int e = rtnl_route_add(n.sk, copy, NLM_F_CREATE | NLM_F_EXCL);
		rtnl_route_put(copy);
		if (e < 0 && e != -NLE_EXIST) {
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "could not add route: %s",
					  nl_geterror(e));
			goto out;
		}
	}
	r = 0;
out:
	cni_error_free(local);
	cni_free(before);
	cni_free(after);
	nl_cache_free(routes);
	cni_nl_close(cnl);
	if (l)
		rtnl_link_put(l);
	if (vrf)
		rtnl_link_put(vrf);
	nl_done(&n);
	return r;
}

static int del_in_ns(void *userdata, cni_error **err)
{
	const struct work *w = userdata;
	struct nl n;
	struct rtnl_link *vrf = NULL, *l = NULL;
	cni_nl *cnl = NULL;
	cni_error *local = NULL;
	int r;

	if ((r = nl_start(&n, err)) < 0)
		return r;
	r = find_vrf(&n, w->conf->vrfname, &vrf, &local);
	if (r == -CNI_ERR_NOT_FOUND) {
		r = 0; /* no VRF: nothing to undo */
		goto out;
	}
	if (r < 0) {
		*err = local;
		local = NULL;
		goto out;
	}
	int vidx = rtnl_link_get_ifindex(vrf);
	if ((r = cni_nl_open(&cnl, NULL, err)) < 0)
		goto out;
	l = rtnl_link_get_by_name(n.links, w->ifname);
	/* a missing interface (already deleted) is as good as released */
	if (l && rtnl_link_get_master(l) == vidx &&
	    (r = cni_link_set_master(cnl, rtnl_link_get_ifindex(l), 0, err)) < 0) {
		cni_error_prefix(*err, "resetMaster");
		goto out;
	}
	if ((r = nl_refill(&n, err)) < 0)
		goto out;
	bool members = false;
	for (struct nl_object *o = nl_cache_get_first(n.links); o && !members;
	     o = nl_cache_get_next(o))
		members = rtnl_link_get_master((struct rtnl_link *)o) == vidx;
	if (!members)
		r = cni_link_del(cnl, vidx, err);
out:
	cni_error_free(local);
	cni_nl_close(cnl);
	if (l)
		rtnl_link_put(l);
	if (vrf)
		rtnl_link_put(vrf);
	nl_done(&n);
	return r;
}

static int check_in_ns(void *userdata, cni_error **err)
{
	const struct work *w = userdata;
	struct nl n;
	struct rtnl_link *vrf = NULL, *l = NULL;
	int r;

	if ((r = nl_start(&n, err)) < 0)
		return r;
	if ((r = find_vrf(&n, w->conf->vrfname, &vrf, err)) < 0) {
		if (r == -CNI_ERR_NOT_FOUND)
			cni_error_prefix(*err, "VRF %s", w->conf->vrfname);
		goto out;
	}
	l = rtnl_link_get_by_name(n.links, w->ifname);
	if (!l || rtnl_link_get_master(l) != rtnl_link_get_ifindex(vrf))
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "Failed to find %s associated to vrf %s", w->ifname,
				  w->conf->vrfname);
out:
	if (l)
		rtnl_link_put(l);
	if (vrf)
		rtnl_link_put(vrf);
	nl_done(&n);
	return r;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	struct vrf_conf c;
	int r;
	(void)ud;
	if ((r = conf_load(&c, args, err)) < 0)
		goto out;
	if (!c.prev) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "missing prevResult from earlier plugin");
		goto out;
	}
	struct work w = {&c, args->ifname};
	if ((r = pc_netns_run_path(args->netns, false, add_in_ns, &w, err)) < 0) {
		if (err && *err)
			cni_error_prefix(*err, "cmdAdd failed");
		goto out;
	}
	*result = c.prev;
	c.prev = NULL;
out:
	conf_free(&c);
	return r;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct vrf_conf c;
	cni_error *local = NULL;
	int r;
	(void)ud;
	if ((r = conf_load(&c, args, err)) < 0 || !*args->netns)
		goto out;
	struct work w = {&c, args->ifname};
	r = pc_netns_run_path(args->netns, false, del_in_ns, &w, &local);
	if (r == -CNI_ERR_NOT_FOUND) {
		r = 0; /* the namespace is gone, and the VRF with it */
	} else if (r < 0) {
		cni_error_prefix(local, "cmdDel failed");
		*err = local;
		local = NULL;
	}
	cni_error_free(local);
out:
	conf_free(&c);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct vrf_conf c;
	int r;
	(void)ud;
	if ((r = conf_load(&c, args, err)) < 0)
		goto out;
	if (!c.prev) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "missing prevResult from earlier plugin");
		goto out;
	}
	struct work w = {&c, args->ifname};
	r = pc_netns_run_path(args->netns, false, check_in_ns, &w, err);
out:
	conf_free(&c);
	return r;
}

int main(void)
{
	cni_plugin_funcs f = CNI_PLUGIN_FUNCS_INIT;
	cni_plugin_info *info = NULL;
	f.add = cmd_add;
	f.check = cmd_check;
	f.del = cmd_del;
	/* GC: the VRF lives in the container's namespace and goes with it. STATUS: ready. */
	if (cni_plugin_info_from(&info, "0.3.1", NULL) < 0)
		return 1;
	int r = cni_plugin_main(&f, info, "CNI vrf plugin libcni-c " LIBCNI_C_VERSION);
	cni_plugin_info_free(info);
	return r;
}
