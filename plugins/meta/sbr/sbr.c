/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sbr: source-based routing for CNI_IFNAME, chained after the plugin that configured it.
 * For each of the interface's IPs (from prevResult) a rule "from <ip>/32 lookup T" sends
 * its traffic to a table T of its own (the first unused id from 100 on), holding a default
 * route via the IP's gateway and the interface's routes moved out of the main table. With
 * "table" set only the rules are added, to that table. Work on one namespace is serialised
 * by a flock on the namespace file, as the reference does, so both can run side by side.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cni/cni.h>

#include "plugin-json.h"
#include "plugin-netns.h"
#include "plugin-util.h"

#define FIRST_TABLE 100

struct ipcfg {
	cni_ipnet addr;
	bool has_gw;
	cni_ipaddr gw;
};

struct sbr_conf {
	json_t *root;
	bool has_table;
	unsigned int table;
	bool has_gw4, has_gw6;
	cni_ipaddr gw4, gw6;
	bool add_source_hints;
	cni_result *prev;
};

static void conf_free(struct sbr_conf *c)
{
	json_decref(c->root);
	cni_result_free(c->prev);
	memset(c, 0, sizeof(*c));
}

static const pj_go GO = {.what = "failed to parse network configuration", .type = "PluginConf."};

static int conf_load(struct sbr_conf *c, const cni_cmd_args *args, cni_error **err)
{
	char txt[CNI_IP_STRLEN];
	long long table = 0;
	json_t *v;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = pj_go_load(&GO, args->stdin_data, args->stdin_len, "main.PluginConf", &c->root,
			    err)) < 0)
		return r;
	/* Go's int is 64 bits: the whole range decodes, then a table id must be a positive
	 * 32-bit number (0 would mean "unspecified") */
	if ((r = pj_go_integer(&GO, c->root, "table", "table", "int", -9.2e18, 9.2e18, &table,
			       &c->has_table, err)) < 0)
		return r;
	if (c->has_table) {
		if (table < 1 || table > 4294967295LL)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "invalid table %lld: must be 1 to 4294967295", table);
		c->table = (unsigned int)table;
	}
	if ((r = pj_go_bool(&GO, c->root, "addSourceHints", "addSourceHints", &c->add_source_hints,
			    NULL, err)) < 0)
		return r;
	if ((v = pj_get(c->root, "gateways"))) {
		size_t i;
		json_t *g;
		if (!json_is_array(v))
			return pj_go_type_error(err, &GO, v, "gateways", "[]string");
		json_array_foreach(v, i, g) if (!json_is_string(g)) return pj_go_type_error(
		    err, &GO, g, "gateways", "string");
		if (json_array_size(v) > 2)
			return cni_error_set(
			    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			    "gateways list cannot contain more than 2 entries (one "
			    "IPv4, one IPv6)");
		json_array_foreach(v, i, g)
		{
			cni_ipaddr ip;
			const char *s = json_string_value(g);
			if (cni_ip_parse(s, &ip) < 0)
				return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
						     "invalid static gateway IP address: %s", s);
			bool v4 = ip.family == AF_INET;
			if (v4 ? c->has_gw4 : c->has_gw6)
				return cni_error_set(
				    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				    "gateways list contains multiple %s addresses: "
				    "%s and %s",
				    v4 ? "IPv4" : "IPv6",
				    cni_ip_format(v4 ? &c->gw4 : &c->gw6, txt, sizeof(txt)), s);
			if (v4) {
				c->has_gw4 = true;
				c->gw4 = ip;
			} else {
				c->has_gw6 = true;
				c->gw6 = ip;
			}
		}
	}
	return pc_prev_result(args->stdin_data, args->stdin_len, &c->prev, err);
}

/* The prevResult's IPs that belong to ifname (an IP naming no interface is taken too). */
static int ip_configs(const struct sbr_conf *c, const char *ifname, struct ipcfg **out,
		      size_t *count, cni_error **err)
{
	size_t n = cni_result_ip_count(c->prev), k = 0;
	size_t nif = cni_result_interface_count(c->prev);
	if (n == 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "No IP addresses supplied on interface: %s", ifname);
	struct ipcfg *v = calloc(n, sizeof(*v));
	if (!v)
		return cni_error_oom(err);
	for (size_t i = 0; i < n; i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_interface ifc = CNI_INTERFACE_INIT;
		cni_result_get_ip(c->prev, i, &ip);
		if (ip.interface >= 0 && (size_t)ip.interface < nif &&
		    cni_result_get_interface(c->prev, (size_t)ip.interface, &ifc) == 0 &&
		    strcmp(ifc.name, ifname) != 0)
			continue;
		if (cni_ipnet_parse(ip.address, &v[k].addr) < 0) {
			free(v);
			return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
					     "could not parse prevResult: invalid address %s",
					     ip.address);
		}
		if (ip.gateway && *ip.gateway && cni_ip_parse(ip.gateway, &v[k].gw) == 0)
			v[k].has_gw = true;
		k++;
	}
	*out = v;
	*count = k;
	return 0;
}

struct work {
	const struct sbr_conf *conf;
	const char *ifname;
	const struct ipcfg *ips;
	size_t n_ips;
};

static bool table_used(unsigned int t, const unsigned int *used, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (used[i] == t)
			return true;
	return false;
}

static unsigned int next_table(unsigned int from, const unsigned int *used, size_t n)
{
	while (table_used(from, used, n))
		from++;
	return from;
}

static int add_rule(cni_nl *nl, const struct ipcfg *ip, unsigned int table, cni_error **err)
{
	cni_rule_spec rule = CNI_RULE_SPEC_INIT;
	rule.family = ip->addr.ip.family;
	rule.has_src = true;
	rule.src.ip = ip->addr.ip;
	rule.src.prefix = ip->addr.ip.family == AF_INET ? 32 : 128;
	rule.table = table;
	int r = cni_rule_add(nl, &rule, err);
	if (r < 0 && err && *err)
		cni_error_prefix(*err, "Failed to add rule");
	return r;
}

/*
 * A failed ADD takes back what it did: the rules of ips[0..n) (tables[i] each, one with
 * a lost answer included), and, unless in "table" mode (own false), every route of
 * those tables, which were unused before (next_table).
 */
static void undo_add(cni_nl *nl, const struct ipcfg *ips, const unsigned int *tables, size_t n,
		     bool own)
{
	for (size_t i = 0; i < n; i++) {
		cni_rule_spec rule = CNI_RULE_SPEC_INIT;
		rule.family = ips[i].addr.ip.family;
		rule.has_src = true;
		rule.src.ip = ips[i].addr.ip;
		rule.src.prefix = rule.family == AF_INET ? 32 : 128;
		rule.table = tables[i];
		cni_rule_del(nl, &rule, NULL);
		cni_route_spec *routes = NULL;
		size_t n_routes = 0;
		if (!own || cni_route_list(nl, 0, tables[i], 0, &routes, &n_routes, NULL) < 0)
			continue;
		for (size_t j = 0; j < n_routes; j++)
			cni_route_del(nl, &routes[j], NULL);
		cni_free(routes);
	}
}

/* "table" mode: only the rules. */
static int add_rules_only(const struct work *w, cni_error **err)
{
	cni_nl *nl = NULL;
	unsigned int *tables = calloc(w->n_ips + 1, sizeof(*tables));
	size_t i = 0;
	int r = tables ? cni_nl_open(&nl, NULL, err)
		       : cni_error_oom(err);
	for (; r == 0 && i < w->n_ips; i++) {
		tables[i] = w->conf->table;
		r = add_rule(nl, &w->ips[i], w->conf->table, err);
	}
	if (r < 0 && nl)
		undo_add(nl, w->ips, tables, i, false);
	free(tables);
	cni_nl_close(nl);
	return r;
}

/* Should the interface's main-table route r go to the table of the IP in net? */
static bool route_for(const cni_route_spec *r, const cni_ipnet *net)
{
	bool src = r->has_src && !cni_ip_is_unspecified(&r->src);
	bool gw = r->has_gw && !cni_ip_is_unspecified(&r->gw);
	return (!src && !gw) || (src && cni_ipnet_contains(net, &r->src)) ||
	       (gw && cni_ipnet_contains(net, &r->gw));
}

static int add_in_ns(void *userdata, cni_error **err)
{
	const struct work *w = userdata;
	const struct sbr_conf *c = w->conf;
	cni_route_snapshot *all = NULL, *mine = NULL;
	cni_rule_spec *rules = NULL;
	unsigned int *used = NULL, *tables = NULL;
	size_t n_rules = 0, n_used = 0, n_mine = 0, n_tables = 0;
	bool main_changed = false;
	cni_nl *nl = NULL;
	cni_link_info li = CNI_LINK_INFO_INIT;
	char txt[CNI_IPNET_STRLEN];
	int r;

	if (c->has_table)
		return add_rules_only(w, err);

	if ((r = cni_nl_open(&nl, NULL, err)) < 0)
		return r;
	if ((r = cni_rule_list(nl, 0, &rules, &n_rules, err)) < 0) {
		cni_error_prefix(*err, "Failed to list all rules");
		goto out;
	}
	if ((r = cni_route_snapshot_take(nl, 0, CNI_ROUTE_TABLE_ANY, 0, &all, err)) < 0) {
		cni_error_prefix(*err, "Failed to list all routes");
		goto out;
	}
	/* tables already in use: named by a rule, or holding any route (in any table) */
	size_t n_routes = cni_route_snapshot_count(all);
	used = calloc(n_rules + n_routes + 1, sizeof(*used));
	tables = calloc(w->n_ips + 1, sizeof(*tables));
	if (!used || !tables) {
		r = cni_error_oom(err);
		goto out;
	}
	for (size_t i = 0; i < n_rules; i++)
		used[n_used++] = rules[i].table;
	for (size_t i = 0; i < n_routes; i++) {
		cni_route_spec rt = CNI_ROUTE_SPEC_INIT;
		if (cni_route_snapshot_get(all, i, &rt) == 0)
			used[n_used++] = rt.table;
	}
	unsigned int table = next_table(FIRST_TABLE, used, n_used);

	cni_error *local = NULL;
	if ((r = cni_link_get(nl, w->ifname, &li, &local)) < 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "Cannot find network interface %s: %s", w->ifname,
				  cni_error_msg(local));
		cni_error_free(local);
		goto out;
	}
	/* the interface's own routes in the main table, single-path, not cache clones */
	if ((r = cni_route_snapshot_take(nl, 0, 0, li.ifindex, &mine, err)) < 0) {
		cni_error_prefix(*err, "Failed to list all routes");
		goto out;
	}
	n_mine = cni_route_snapshot_count(mine);

	for (size_t i = 0; i < w->n_ips; i++) {
		const struct ipcfg *ip = &w->ips[i];
		tables[n_tables++] = table;
		if ((r = add_rule(nl, ip, table, err)) < 0)
			goto out;
		bool v4 = ip->addr.ip.family == AF_INET;
		const cni_ipaddr *gw = v4 && c->has_gw4	   ? &c->gw4
				       : !v4 && c->has_gw6 ? &c->gw6
				       : ip->has_gw	   ? &ip->gw
							   : NULL;
		if (gw) {
			cni_route_spec def = CNI_ROUTE_SPEC_INIT;
			def.dst.ip.family = ip->addr.ip.family;
			def.dst.prefix = 0;
			def.has_gw = true;
			def.gw = *gw;
			def.ifindex = li.ifindex;
			def.table = table;
			if ((r = cni_route_add(nl, &def, false, err)) < 0) {
				cni_error_prefix(*err, "Failed to add default route to %s",
						 cni_ip_format(gw, txt, sizeof(txt)));
				goto out;
			}
		}
		cni_ipnet net;
		net.ip = ip->addr.ip;
		net.prefix = ip->addr.prefix;
		for (size_t j = 0; j < n_mine; j++) {
			cni_route_spec rt = CNI_ROUTE_SPEC_INIT;
			if (cni_route_snapshot_get(mine, j, &rt) < 0 || !route_for(&rt, &net))
				continue;
			if ((r = cni_route_snapshot_add(nl, mine, j, table, CNI_ROUTE_F_REPLACE,
							err)) < 0) {
				cni_error_prefix(*err, "Failed to readd route");
				goto out;
			}
		}
		table = next_table(table + 1, used, n_used);
	}

	if (c->add_source_hints) {
		/* keep each subnet reachable from the main table, with the IP as source hint */
		for (size_t i = 0; i < w->n_ips; i++) {
			cni_route_spec sub = CNI_ROUTE_SPEC_INIT;
			cni_ipnet_network(&w->ips[i].addr, &sub.dst);
			sub.has_src = true;
			sub.src = w->ips[i].addr.ip;
			sub.ifindex = li.ifindex;
			sub.scope = RT_SCOPE_LINK;
			cni_error *e = NULL;
			if (cni_route_replace(nl, &sub, &e) < 0)
				fprintf(stderr, "sbr: warning: %s\n", cni_error_msg(e));
			cni_error_free(e);
		}
		for (size_t j = 0; j < n_mine; j++) {
			cni_route_spec rt = CNI_ROUTE_SPEC_INIT;
			cni_error *e = NULL;
			if (cni_route_snapshot_get(mine, j, &rt) < 0 || rt.scope == RT_SCOPE_LINK)
				continue;
			if (cni_route_snapshot_del(nl, mine, j, &e) < 0)
				fprintf(stderr, "sbr: warning: %s\n", cni_error_msg(e));
			cni_error_free(e);
		}
	} else {
		/* only now: several IPs of one subnet all need the routes while they are copied */
		main_changed = true;
		for (size_t j = 0; j < n_mine; j++) {
			if ((r = cni_route_snapshot_del(nl, mine, j, err)) < 0) {
				cni_error_prefix(*err, "Failed to delete route");
				goto out;
			}
		}
	}
	r = 0;
out:
	if (r < 0 && nl) {
		undo_add(nl, w->ips, tables, n_tables, true);
		/* and the main table's routes back, those already deleted */
		for (size_t j = 0; main_changed && j < n_mine; j++)
			cni_route_snapshot_add(nl, mine, j, 0, CNI_ROUTE_F_REPLACE, NULL);
	}
	cni_route_snapshot_free(mine);
	cni_route_snapshot_free(all);
	free(tables);
	free(used);
	cni_free(rules);
	cni_nl_close(nl);
	return r;
}

/* DEL: drop the rules whose source is one of the addresses still on the interface. */
static int del_in_ns(void *userdata, cni_error **err)
{
	const struct work *w = userdata;
	cni_nl *nl = NULL;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_rule_spec *rules = NULL;
	cni_addr_info *addrs = NULL;
	size_t n_rules = 0, n_addrs = 0;
	cni_error *local = NULL;
	bool gone;
	int r, last = 0;

	if ((r = cni_nl_open(&nl, NULL, err)) < 0)
		return r;
	r = cni_link_get(nl, w->ifname, &li, &local);
	/* the interface is gone, and its addresses with it: nothing to match */
	if ((r = pc_gone_ok(r, local, &gone, err)) < 0 || gone)
		goto out;
	if ((r = cni_rule_list(nl, 0, &rules, &n_rules, err)) < 0 ||
	    (r = cni_addr_list(nl, li.ifindex, 0, &addrs, &n_addrs, err)) < 0)
		goto out;
	for (size_t i = 0; i < n_rules; i++) {
		if (!rules[i].has_src || (w->conf->has_table && rules[i].table != w->conf->table))
			continue;
		for (size_t j = 0; j < n_addrs; j++) {
			if (!cni_ip_equal(&rules[i].src.ip, &addrs[j].addr.ip))
				continue;
			cni_error *e = NULL;
			if (cni_rule_del(nl, &rules[i], &e) < 0) {
				/* keep going; report the last failure, as the reference */
				cni_error_free(local);
				local = e;
				last = -CNI_ERR_INTERNAL;
			} else {
				cni_error_free(e);
			}
			break;
		}
	}
	if (last < 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "Failed to delete rule %s",
				  cni_error_msg(local));
		cni_error_free(local);
	}
out:
	cni_free(addrs);
	cni_free(rules);
	cni_nl_close(nl);
	return r;
}

/* CHECK (the reference does nothing): every IP of the interface has its source rule. */
static int check_in_ns(void *userdata, cni_error **err)
{
	const struct work *w = userdata;
	cni_nl *nl = NULL;
	cni_rule_spec *rules = NULL;
	size_t n_rules = 0;
	char txt[CNI_IP_STRLEN];
	int r;

	if ((r = cni_nl_open(&nl, NULL, err)) < 0)
		return r;
	if ((r = cni_rule_list(nl, 0, &rules, &n_rules, err)) < 0)
		goto out;
	for (size_t i = 0; i < w->n_ips && r == 0; i++) {
		const cni_ipaddr *ip = &w->ips[i].addr.ip;
		int host = ip->family == AF_INET ? 32 : 128;
		bool found = false;
		for (size_t j = 0; j < n_rules && !found; j++)
			found = rules[j].has_src && rules[j].src.prefix == host &&
				cni_ip_equal(&rules[j].src.ip, ip) &&
				(!w->conf->has_table || rules[j].table == w->conf->table);
		if (!found)
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					  "no source-based routing rule for %s on %s",
					  cni_ip_format(ip, txt, sizeof(txt)), w->ifname);
	}
out:
	cni_free(rules);
	cni_nl_close(nl);
	return r;
}

/* ADD and CHECK: fn on prevResult's addresses of args->ifname, in the namespace under
 * the flock on its file (as the reference's filemutex); ADD hands prevResult on. */
static int with_prev(const cni_cmd_args *args, int (*fn)(void *, cni_error **),
		     cni_result **result, cni_error **err)
{
	struct sbr_conf c;
	struct ipcfg *ips = NULL;
	size_t n = 0;
	int r;

	if ((r = conf_load(&c, args, err)) < 0)
		goto out;
	if (!c.prev) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "This plugin must be called as chained plugin");
		goto out;
	}
	if ((r = ip_configs(&c, args->ifname, &ips, &n, err)) < 0)
		goto out;
	struct work w = {&c, args->ifname, ips, n};
	if ((r = pc_netns_run_path(args->netns, true, fn, &w, err)) < 0)
		goto out;
	if (result) {
		*result = c.prev;
		c.prev = NULL;
	}
out:
	free(ips);
	conf_free(&c);
	return r;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	(void)ud;
	return with_prev(args, add_in_ns, result, err);
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct sbr_conf c;
	int r;
	(void)ud;

	if ((r = conf_load(&c, args, err)) < 0)
		goto out;
	/* no namespace, or one that is gone: the rules went with it */
	struct work w = {&c, args->ifname, NULL, 0};
	r = pc_netns_run_path_del(args->netns, true, del_in_ns, &w, err);
out:
	conf_free(&c);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	return with_prev(args, check_in_ns, NULL, err);
}

/* GC: sbr's rules and tables live inside the container's namespace and go with it;
 * nothing is left on the host. STATUS: always ready. (NULL = success for both.) */
CNI_PLUGIN_MAIN("CNI sbr plugin libcni-c " LIBCNI_C_VERSION, .add = cmd_add, .check = cmd_check,
		.del = cmd_del)
