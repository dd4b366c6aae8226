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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cni/cni.h>

#include "plugin-json.h"
#include "plugin-netns.h"
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
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = pj_go_load(&GO, args->stdin_data, args->stdin_len, "main.VRFNetConf", &c->root,
			    err)) < 0)
		return r;
	if ((r = pj_go_string(&GO, c->root, "vrfname", "vrfname", &c->vrfname, NULL, err)) < 0)
		return r;
	if ((r = pj_go_uint32(&GO, c->root, "table", "table", &c->table, NULL, err)) < 0)
		return r;
	if (!c->vrfname || !*c->vrfname)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "configuration is expected to have a valid vrf name");
	if (strlen(c->vrfname) >= CNI_IFNAMSIZ || strchr(c->vrfname, '/'))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "invalid vrfname \"%s\": not a valid interface name",
				     c->vrfname);
	return pc_prev_result(args->stdin_data, args->stdin_len, &c->prev, err);
}

/* ---- in the container's namespace ---- */

/* The link named name (0 and *out), -CNI_ERR_NOT_FOUND, or another error. */
static int find_link(cni_nl *nl, const char *name, cni_link_info *out, cni_error **err)
{
	*out = (cni_link_info)CNI_LINK_INFO_INIT;
	return cni_link_get(nl, name, out, err);
}

/* The VRF named name and its table: 0, -CNI_ERR_NOT_FOUND ("Link not found"), or another
 * error. */
static int find_vrf(cni_nl *nl, const char *name, cni_link_info *vrf, unsigned int *table,
		    cni_error **err)
{
	cni_error *local = NULL;
	int r = find_link(nl, name, vrf, &local);
	if (r == -CNI_ERR_NOT_FOUND) {
		cni_error_free(local);
		return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "Link not found");
	}
	if (r < 0) {
		*err = local;
		return r;
	}
	if (strcmp(vrf->kind, "vrf") != 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "Netlink %s is not a VRF", name);
	return cni_vrf_get_table(nl, vrf->ifindex, table, err);
}

/* The first table id from 1 on that no VRF in the namespace uses; 0 when none is left. */
static int free_table(cni_nl *nl, unsigned int *out, cni_error **err)
{
	cni_link_info *links = NULL;
	size_t n = 0, nt = 0;
	int r = cni_link_list(nl, &links, &n, err);
	if (r < 0)
		return r;
	unsigned int *used = calloc(n ? n : 1, sizeof(*used));
	if (!used) {
		cni_free(links);
		return cni_error_oom(err);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(links[i].kind, "vrf") == 0 &&
		    cni_vrf_get_table(nl, links[i].ifindex, &used[nt], NULL) == 0)
			nt++;
	*out = 0;
	for (unsigned int t = 1; t != 0 && !*out; t++) {
		bool taken = false;
		for (size_t i = 0; i < nt && !taken; i++)
			taken = used[i] == t;
		if (!taken)
			*out = t;
	}
	free(used);
	cni_free(links);
	return 0;
}

static int create_vrf(cni_nl *nl, const char *name, unsigned int table, cni_error **err)
{
	int r;
	if (!table && ((r = free_table(nl, &table, err)) < 0 || !table))
		return r < 0 ? r
			     : cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "findFreeRoutingTableID: Failed to find an available "
					     "routing id");
	cni_error *e = NULL;
	if ((r = cni_vrf_add(nl, name, table, &e)) < 0) {
		int no_vrf = cni_error_errno(e) == EOPNOTSUPP;
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "could not add VRF %s: %s%s", name,
				  cni_error_msg(e),
				  no_vrf ? " (the kernel has no VRF support, CONFIG_NET_VRF)" : "");
		cni_error_free(e);
	}
	return r;
}

struct work {
	const struct vrf_conf *conf;
	const char *ifname;
};

/* The routes enslaving takes away: main table, universe scope, single-path through the
 * interface. */
static bool route_to_move(const cni_route_snapshot *routes, size_t i)
{
	cni_route_spec rt = CNI_ROUTE_SPEC_INIT;
	return cni_route_snapshot_get(routes, i, &rt) == 0 && rt.scope == RT_SCOPE_UNIVERSE;
}

/*
 * A failed ADD that created the VRF takes it back: our interface released from it, and
 * the VRF deleted when nothing else is in it. Through a new socket: the failure may have
 * left the old one out of step.
 */
static void drop_created_vrf(const char *vrfname, const char *ifname)
{
	cni_link_info v, l;
	cni_link_info *links = NULL;
	size_t n = 0;
	cni_nl *nl = NULL;
	if (cni_nl_open(&nl, NULL, NULL) < 0)
		return;
	if (find_link(nl, vrfname, &v, NULL) == 0 && strcmp(v.kind, "vrf") == 0) {
		if (find_link(nl, ifname, &l, NULL) == 0 && l.master == v.ifindex)
			cni_link_set_master(nl, l.ifindex, 0, NULL);
		bool members = cni_link_list(nl, &links, &n, NULL) < 0;
		for (size_t i = 0; i < n && !members; i++)
			members = links[i].master == v.ifindex;
		if (!members)
			cni_link_del(nl, v.ifindex, NULL);
	}
	cni_free(links);
	cni_nl_close(nl);
}

static int add_in_ns(void *userdata, cni_error **err)
{
	const struct work *w = userdata;
	const struct vrf_conf *c = w->conf;
	cni_link_info vrf, l;
	cni_route_snapshot *routes = NULL;
	cni_nl *nl = NULL;
	cni_addr_info *before = NULL, *after = NULL;
	size_t n_before = 0, n_after = 0;
	unsigned int table = 0;
	cni_error *local = NULL;
	bool created = false;
	int r;

	if ((r = cni_nl_open(&nl, NULL, err)) < 0)
		return r;
	r = find_vrf(nl, c->vrfname, &vrf, &table, &local);
	if (r == 0 && c->table && table != c->table) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "VRF %s already exist with different routing table %u",
				  c->vrfname, table);
		goto out;
	}
	if (r == -CNI_ERR_NOT_FOUND) {
		/* ours from here on: a failed ADD takes it back (also when only the answer to
		 * its creation was lost) */
		created = true;
		if ((r = create_vrf(nl, c->vrfname, c->table, err)) < 0 ||
		    (r = find_vrf(nl, c->vrfname, &vrf, &table, err)) < 0)
			goto out;
	} else if (r < 0) {
		*err = local;
		local = NULL;
		goto out;
	}

	if (find_link(nl, w->ifname, &l, NULL) < 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "could not get link by name %s",
				  w->ifname);
		goto out;
	}
	if (l.master) {
		cni_link_info m = CNI_LINK_INFO_INIT;
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "interface %s has already a master set: %s", w->ifname,
				  cni_link_get_by_index(nl, l.master, &m, NULL) == 0 ? m.name : "?");
		goto out;
	}
	/* the routes are listed before enslaving, which removes the gateway routes */
	if ((r = cni_addr_list(nl, l.ifindex, AF_INET6, &before, &n_before, err)) < 0 ||
	    (r = cni_route_snapshot_take(nl, 0, 0, l.ifindex, &routes, err)) < 0 ||
	    (r = cni_link_set_master(nl, l.ifindex, vrf.ifindex, err)) < 0)
		goto out;
	/* put back the IPv6 addresses the enslaving dropped */
	if ((r = cni_addr_list(nl, l.ifindex, AF_INET6, &after, &n_after, err)) < 0)
		goto out;
	for (size_t i = 0; i < n_before; i++) {
		bool kept = false;
		for (size_t j = 0; j < n_after && !kept; j++)
			kept = cni_ip_equal(&before[i].addr.ip, &after[j].addr.ip) &&
			       before[i].addr.prefix == after[j].addr.prefix;
		if (!kept && (r = cni_addr_add(nl, l.ifindex, &before[i].addr, 0, err)) < 0) {
			cni_error_prefix(*err, "could not restore address to %s @ %s", w->ifname,
					 c->vrfname);
			goto out;
		}
	}
	/* and the gateway routes, now in the VRF's table */
	for (size_t i = 0; i < cni_route_snapshot_count(routes); i++) {
		if (!route_to_move(routes, i))
			continue;
		cni_error *e = NULL;
		r = cni_route_snapshot_add(nl, routes, i, table, CNI_ROUTE_F_EXCL, &e);
		if (r < 0 && cni_error_errno(e) != EEXIST) {
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "could not add route: %s",
					  cni_error_msg(e));
			cni_error_free(e);
			goto out;
		}
		cni_error_free(e);
	}
	r = 0;
out:
	if (r < 0 && created)
		drop_created_vrf(c->vrfname, w->ifname);
	cni_error_free(local);
	cni_free(before);
	cni_free(after);
	cni_route_snapshot_free(routes);
	cni_nl_close(nl);
	return r;
}

static int del_in_ns(void *userdata, cni_error **err)
{
	const struct work *w = userdata;
	cni_link_info vrf, l;
	cni_link_info *links = NULL;
	size_t n = 0;
	unsigned int table;
	cni_nl *nl = NULL;
	cni_error *local = NULL;
	bool gone;
	int r;

	if ((r = cni_nl_open(&nl, NULL, err)) < 0)
		return r;
	r = find_vrf(nl, w->conf->vrfname, &vrf, &table, &local);
	/* no VRF: nothing to undo */
	if ((r = pc_gone_ok(r, local, &gone, err)) < 0 || gone)
		goto out;
	/* a missing interface (already deleted) is as good as released */
	if (find_link(nl, w->ifname, &l, NULL) == 0 && l.master == vrf.ifindex &&
	    (r = cni_link_set_master(nl, l.ifindex, 0, err)) < 0) {
		cni_error_prefix(*err, "resetMaster");
		goto out;
	}
	if ((r = cni_link_list(nl, &links, &n, err)) < 0)
		goto out;
	bool members = false;
	for (size_t i = 0; i < n && !members; i++)
		members = links[i].master == vrf.ifindex;
	if (!members)
		r = cni_link_del(nl, vrf.ifindex, err);
out:
	cni_free(links);
	cni_nl_close(nl);
	return r;
}

static int check_in_ns(void *userdata, cni_error **err)
{
	const struct work *w = userdata;
	cni_link_info vrf, l;
	unsigned int table;
	cni_nl *nl = NULL;
	int r;

	if ((r = cni_nl_open(&nl, NULL, err)) < 0)
		return r;
	if ((r = find_vrf(nl, w->conf->vrfname, &vrf, &table, err)) < 0) {
		if (r == -CNI_ERR_NOT_FOUND)
			cni_error_prefix(*err, "VRF %s", w->conf->vrfname);
		goto out;
	}
	if (find_link(nl, w->ifname, &l, NULL) < 0 || l.master != vrf.ifindex)
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "Failed to find %s associated to vrf %s", w->ifname,
				  w->conf->vrfname);
out:
	cni_nl_close(nl);
	return r;
}

/* ADD and CHECK: fn in the namespace, with prevResult required; ADD hands it on. */
static int with_prev(const cni_cmd_args *args, int (*fn)(void *, cni_error **),
		     const char *what, cni_result **result, cni_error **err)
{
	struct vrf_conf c;
	int r;
	if ((r = conf_load(&c, args, err)) < 0)
		goto out;
	if (!c.prev) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "missing prevResult from earlier plugin");
		goto out;
	}
	struct work w = {&c, args->ifname};
	if ((r = pc_netns_run_path(args->netns, false, fn, &w, err)) < 0) {
		if (what && err && *err)
			cni_error_prefix(*err, "%s", what);
		goto out;
	}
	if (result) {
		*result = c.prev;
		c.prev = NULL;
	}
out:
	conf_free(&c);
	return r;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	(void)ud;
	return with_prev(args, add_in_ns, "cmdAdd failed", result, err);
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct vrf_conf c;
	int r;
	(void)ud;
	if ((r = conf_load(&c, args, err)) < 0)
		goto out;
	/* no namespace, or one that is gone: the VRF went with it */
	struct work w = {&c, args->ifname};
	r = PC_PREFIXED(pc_netns_run_path_del(args->netns, false, del_in_ns, &w, err), err,
			"cmdDel failed");
out:
	conf_free(&c);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	return with_prev(args, check_in_ns, NULL, NULL, err);
}

/* GC: the VRF lives in the container's namespace and goes with it. STATUS: ready. */
CNI_PLUGIN_MAIN_FROM("CNI vrf plugin libcni-c " LIBCNI_C_VERSION, "0.3.1", .add = cmd_add,
		     .check = cmd_check, .del = cmd_del)
