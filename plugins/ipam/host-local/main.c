/* SPDX-License-Identifier: Apache-2.0 */
/* host-local IPAM plugin: the verbs. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host-local.h"

PC_DEFINE_CLEANUP(store_freep, hl_store *, hl_store_free)

/* Ids and names become file contents and directory names: refuse anything that could
 * escape dataDir or break the file format before any file is touched. */
static int check_ids(const cni_cmd_args *a, bool need_container, cni_error **err)
{
	int r;

	if (!need_container)
		return 0;
	r = cni_validate_container_id(a->container_id, err);
	if (r < 0)
		return r;
	if (strlen(a->container_id) > HL_MAX_NAME_LEN)
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "container ID is longer than %d bytes", HL_MAX_NAME_LEN);
	return cni_validate_ifname(a->ifname, err);
}

static int check_network(const hl_config *c, cni_error **err)
{
	int r = cni_validate_network_name(c->name ? c->name : "", err);

	if (r < 0)
		return r;
	if (strlen(c->name) > HL_MAX_NAME_LEN)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "network name is longer than %d bytes", HL_MAX_NAME_LEN);
	return 0;
}

static int load(const cni_cmd_args *a, bool need_container, hl_config **out, cni_error **err)
{
	_cleanup_(config_freep) hl_config *c = NULL;
	int r;

	r = check_ids(a, need_container, err);
	if (r < 0)
		return r;
	r = hl_config_parse(a->stdin_data, a->stdin_len, a->args, &c, err);
	if (r < 0)
		return r;
	r = check_network(c, err);
	if (r < 0)
		return r;
	*out = c;
	c = NULL;
	return 0;
}

static int open_store(const hl_config *c, hl_store **out, cni_error **err)
{
	hl_store_options o = {.release_on_reboot = c->release_on_reboot};

#ifdef HOST_LOCAL_FAULT_INJECTION
	/* the overrides exist for tests only */
	o.boot_id_path = getenv("HOST_LOCAL_TEST_BOOT_ID_FILE");
	o.no_tmpfile = getenv("HOST_LOCAL_TEST_NO_TMPFILE") != NULL;
#endif
	return hl_store_open(out, c->data_dir, c->name, &o, err);
}

/* The config's store, opened and locked. */
static int open_store_locked(const hl_config *c, hl_store **s, cni_error **err)
{
	int r = open_store(c, s, err);
	if (r == 0)
		r = hl_store_lock(*s, err);
	return r;
}

static int build_result(const hl_config *c, const cni_ipaddr *ips, const hl_range **ranges,
			const hl_dns *dns, cni_result **out, cni_error **err)
{
	_cleanup_(pc_result_freep) cni_result *res = NULL;
	int r = cni_result_new(&res, CNI_SPEC_VERSION, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < c->nsets; i++) {
		char addr[CNI_IPNET_STRLEN], gw[CNI_IP_STRLEN];
		cni_ipnet n = {.ip = ips[i], .prefix = ranges[i]->subnet.prefix};
		cni_ip ip = CNI_IP_INIT;

		ip.address = cni_ipnet_format(&n, addr, sizeof(addr));
		ip.gateway = cni_ip_format(&ranges[i]->gateway, gw, sizeof(gw));
		r = cni_result_add_ip(res, &ip, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->nroutes; i++) {
		const hl_route *h = &c->routes[i];
		cni_route rt = CNI_ROUTE_INIT;

		rt.dst = h->dst;
		rt.gw = h->gw;
		rt.mtu = h->mtu;
		rt.advmss = h->advmss;
		rt.priority = h->priority;
		rt.has_table = h->has_table;
		rt.table = h->table;
		rt.has_scope = h->has_scope;
		rt.scope = h->scope;
		r = cni_result_add_route(res, &rt, err);
		if (r < 0)
			return r;
	}
	if (dns) {
		cni_dns d = CNI_DNS_INIT;

		d.nameservers = (const char *const *)dns->nameservers;
		d.domain = dns->domain;
		d.search = (const char *const *)dns->search;
		d.options = (const char *const *)dns->options;
		r = cni_result_set_dns(res, &d, err);
		if (r < 0)
			return r;
	}
	*out = res;
	res = NULL;
	return 0;
}

static int cmd_add(const cni_cmd_args *a, cni_result **result, cni_error **err, void *ud)
{
	_cleanup_(config_freep) hl_config *c = NULL;
	_cleanup_(store_freep) hl_store *s = NULL;
	_cleanup_(pc_freep) cni_ipaddr *ips = NULL;
	_cleanup_(pc_freep) const hl_range **ranges = NULL;
	_cleanup_(pc_freep) bool *used = NULL;
	hl_dns dns = {0};
	bool have_dns = false;
	size_t done = 0;
	int r;

	(void)ud;
	r = load(a, true, &c, err);
	if (r < 0)
		return r;
	if (c->resolv_conf) {
		r = hl_dns_parse_file(c->resolv_conf, &dns, err);
		if (r < 0)
			return r;
		have_dns = true;
	}
	ips = calloc(c->nsets, sizeof(*ips));
	ranges = calloc(c->nsets, sizeof(*ranges));
	used = calloc(c->nrequested + 1, sizeof(*used));
	if (!ips || !ranges || !used) {
		r = cni_error_oom(err);
		goto out;
	}
	r = open_store_locked(c, &s, err);
	if (r < 0)
		goto out;

	for (; done < c->nsets; done++) {
		const cni_ipaddr *req = NULL;

		for (size_t k = 0; k < c->nrequested && !req; k++)
			if (!used[k] && hl_rangeset_range_for(&c->sets[done], &c->requested[k])) {
				used[k] = true;
				req = &c->requested[k];
			}
		r = hl_allocate(s, &c->sets[done], done, a->container_id, a->ifname, req,
				&ips[done], &ranges[done], err);
		if (r < 0) {
			if (err && *err)
				cni_error_prefix(*err, "failed to allocate for range %zu", done);
			break;
		}
	}
	if (r == 0) {
		char buf[1024] = "failed to allocate all requested IPs:";
		bool missing = false;

		for (size_t k = 0; k < c->nrequested; k++) {
			char ip[CNI_IP_STRLEN];

			if (used[k] || !cni_ip_format(&c->requested[k], ip, sizeof(ip)))
				continue;
			missing = true;
			if (strlen(buf) + strlen(ip) + 2 < sizeof(buf))
				strcat(strcat(buf, " "), ip);
		}
		if (missing)
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "%s", buf);
	}
	if (r < 0) {
		/* give back only what this call took */
		for (size_t i = 0; i < done; i++)
			hl_store_release_ip(s, a->container_id, a->ifname, &ips[i], NULL);
		hl_store_unlock(s);
		goto out;
	}
	hl_store_unlock(s);
	r = build_result(c, ips, ranges, have_dns ? &dns : NULL, result, err);
	if (r < 0) {
		/* the caller sees a failure: do not keep the addresses */
		if (hl_store_lock(s, NULL) == 0) {
			for (size_t i = 0; i < c->nsets; i++)
				hl_store_release_ip(s, a->container_id, a->ifname, &ips[i], NULL);
			hl_store_unlock(s);
		}
	}
out:
	hl_dns_clear(&dns);
	return r;
}

/* The config (for_id: the attachment's keys checked) and its store, opened and locked. */
static int open_locked(const cni_cmd_args *a, bool for_id, hl_config **c, hl_store **s,
		       cni_error **err)
{
	int r = load(a, for_id, c, err);
	if (r == 0)
		r = open_store_locked(*c, s, err);
	return r;
}

static int cmd_del(const cni_cmd_args *a, cni_error **err, void *ud)
{
	_cleanup_(config_freep) hl_config *c = NULL;
	_cleanup_(store_freep) hl_store *s = NULL;
	int r;

	(void)ud;
	r = open_locked(a, true, &c, &s, err);
	if (r < 0)
		return r;
	r = hl_store_release_by_id(s, a->container_id, a->ifname, NULL, err);
	hl_store_unlock(s);
	return r;
}

static int cmd_check(const cni_cmd_args *a, cni_error **err, void *ud)
{
	_cleanup_(config_freep) hl_config *c = NULL;
	_cleanup_(store_freep) hl_store *s = NULL;
	_cleanup_(pc_freep) cni_ipaddr *held = NULL;
	size_t n = 0;
	int r;

	(void)ud;
	r = open_locked(a, true, &c, &s, err);
	if (r < 0)
		return r;
	r = hl_store_get_by_id(s, a->container_id, a->ifname, &held, &n, err);
	hl_store_unlock(s);
	if (r < 0)
		return r;
	if (n == 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "host-local: Failed to find address added by container %s",
				     a->container_id);
	return 0;
}

static int cmd_gc(const cni_cmd_args *a, cni_error **err, void *ud)
{
	_cleanup_(config_freep) hl_config *c = NULL;
	_cleanup_(store_freep) hl_store *s = NULL;
	_cleanup_(pc_conf_freep) cni_conf *conf = NULL;
	_cleanup_(pc_freep) hl_attachment *valid = NULL;
	size_t n = 0;
	bool present = false;
	int r;

	(void)ud;
	r = load(a, false, &c, err);
	if (r < 0)
		return r;
	r = cni_conf_from_bytes(&conf, a->stdin_data, a->stdin_len, err);
	if (r < 0)
		return r;
	r = cni_conf_valid_attachments(conf, &n, &present, err);
	if (r < 0)
		return r;
	/* without the list we cannot tell live from stale: release nothing */
	if (!present)
		return 0;
	valid = calloc(n + 1, sizeof(*valid));
	if (!valid)
		return cni_error_oom(err);
	for (size_t i = 0; i < n; i++) {
		valid[i].id = cni_conf_valid_attachment_container_id(conf, i);
		valid[i].ifname = cni_conf_valid_attachment_ifname(conf, i);
		if (!valid[i].id)
			valid[i].id = "";
		if (!valid[i].ifname)
			valid[i].ifname = "";
	}
	r = open_store_locked(c, &s, err);
	if (r < 0)
		return r;
	r = hl_store_gc(s, valid, n, NULL, err);
	hl_store_unlock(s);
	return r;
}

static int cmd_status(const cni_cmd_args *a, cni_error **err, void *ud)
{
	_cleanup_(config_freep) hl_config *c = NULL;
	_cleanup_(store_freep) hl_store *s = NULL;
	_cleanup_(pc_freep) cni_ipaddr *all = NULL;
	_cleanup_(pc_error_freep) cni_error *e = NULL;
	size_t n = 0;
	int r;

	(void)ud;
	r = load(a, false, &c, err);
	if (r < 0)
		return r;
	if (open_store(c, &s, &e) < 0 || hl_store_check_writable(s, &e) < 0)
		return cni_error_set(err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL,
				     "data directory unusable: %s", cni_error_msg(e));
	r = hl_store_list(s, &all, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->nsets; i++)
		if (hl_rangeset_free_count(&c->sets[i], all, n) == 0) {
			_cleanup_(pc_freep) char *str = hl_rangeset_string(&c->sets[i]);

			return cni_error_set(err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL,
					     "no IP addresses available in range set: %s",
					     str ? str : "");
		}
	return 0;
}

CNI_PLUGIN_MAIN("CNI host-local plugin (libcni-c " LIBCNI_C_VERSION ")", .add = cmd_add,
		.del = cmd_del, .check = cmd_check, .gc = cmd_gc, .status = cmd_status)
