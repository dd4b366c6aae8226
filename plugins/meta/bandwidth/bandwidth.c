/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bandwidth: shapes a container's traffic on the host side of its veth, chained after
 * the plugin that made the veth. Traffic to the container: a root tbf on the host veth.
 * Traffic from the container: redirected from the host veth's ingress to an ifb device
 * "bwp<hash>" whose root tbf does the shaping.
 *
 * GC needs to know which network an ifb belongs to, which its hashed name cannot say; each
 * ifb we create carries the alias "cni-bandwidth <network> <containerID> <ifname>" for
 * that (docs/plugins/bandwidth.md). ifbs without it (the reference's) are left alone.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cni/cni.h>

#include "bandwidth.h"
#include "plugin-json.h"
#include "plugin-util.h"

#define IFALIASZ 256

struct bw_entry {
	uint64_t ingress_rate;
	uint64_t ingress_burst;
	uint64_t egress_rate;
	uint64_t egress_burst;
};

struct bw_conf {
	cni_conf *conf;
	const char *name; /* borrowed from conf, "" when missing */
	bool has_bw;	  /* a top-level entry or runtimeConfig.bandwidth */
	struct bw_entry bw;
	cni_result *prev; /* converted to the config's version; NULL when absent */
};

static void bw_conf_clear(struct bw_conf *c)
{
	cni_result_free(c->prev);
	cni_conf_free(c->conf);
	memset(c, 0, sizeof(*c));
}

static bool bw_zero(const struct bw_entry *e)
{
	return !e->ingress_rate && !e->ingress_burst && !e->egress_rate && !e->egress_burst;
}

/* ---- configuration ------------------------------------------------------------------- */

static const pj_go GO = {.what = "failed to parse network configuration", .type = ""};

/* Numbers are named with their value, as Go does for one that does not fit. */
static int type_error(cni_error **err, const char *field, const json_t *v, const char *want)
{
	char num[48];

	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "number %lld", (long long)json_integer_value(v));
		return pj_go_error(err, &GO, num, field, want);
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "number %.15g", json_real_value(v));
		if (strtod(num + 7, NULL) != json_real_value(v))
			snprintf(num, sizeof(num), "number %.17g", json_real_value(v));
		return pj_go_error(err, &GO, num, field, want);
	}
	return pj_go_type_error(err, &GO, v, field, want);
}

/*
 * The rates and bursts of one entry. Keys match case-insensitively and a later duplicate
 * wins, as Go's decoder has it; any of them present (even null) makes the entry present.
 */
static int parse_entry(json_t *obj, const char *path, bool *present, struct bw_entry *e,
		       cni_error **err)
{
	static const char *const keys[4] = {"ingressRate", "ingressBurst", "egressRate",
					    "egressBurst"};
	uint64_t *fields[4] = {&e->ingress_rate, &e->ingress_burst, &e->egress_rate,
			       &e->egress_burst};
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		for (int k = 0; k < 4; k++) {
			if (strcasecmp(key, keys[k]) != 0)
				continue;
			*present = true;
			if (json_is_null(v))
				break;
			if (!json_is_integer(v) || json_integer_value(v) < 0) {
				char field[80];
				snprintf(field, sizeof(field), "%s%s", path, keys[k]);
				return type_error(err, field, v, "uint64");
			}
			*fields[k] = (uint64_t)json_integer_value(v);
			break;
		}
	}
	return 0;
}

static int validate_rate_and_burst(uint64_t rate, uint64_t burst, cni_error **err)
{
	if (burst == 0 && rate != 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "if rate is set, burst must also be set");
	if (rate == 0 && burst != 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "if burst is set, rate must also be set");
	/* the tbf carries the burst in bytes as a 32-bit number */
	if (burst / 8 >= UINT32_MAX)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "burst cannot be more than 4GB");
	return 0;
}

static int parse_bandwidth(struct bw_conf *c, cni_error **err)
{
	size_t len = 0;
	const char *bytes = cni_conf_bytes(c->conf, &len);
	json_error_t jerr;
	json_t *root = json_loadb(bytes, len, 0, &jerr);
	struct bw_entry top = {0, 0, 0, 0}, rt = {0, 0, 0, 0};
	bool has_top = false, has_rt = false;
	int r;

	if (!root || !json_is_object(root)) {
		json_decref(root);
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to parse network configuration: %s",
				     root ? "not an object" : jerr.text);
	}
	if ((r = parse_entry(root, "PluginConf.", &has_top, &top, err)) < 0)
		goto out;
	json_t *rc = pj_get(root, "runtimeConfig");
	if (rc) {
		if (!json_is_object(rc)) {
			r = type_error(err, "PluginConf.runtimeConfig", rc,
				       "struct { Bandwidth *main.BandwidthEntry "
				       "\"json:\\\"bandwidth,omitempty\\\"\" }");
			goto out;
		}
		json_t *b = pj_get(rc, "bandwidth");
		if (b) {
			if (!json_is_object(b)) {
				r = type_error(err, ".runtimeConfig.bandwidth", b,
					       "main.BandwidthEntry");
				goto out;
			}
			has_rt = true;
			if ((r = parse_entry(b, "BandwidthEntry.runtimeConfig.bandwidth.", &has_rt,
					     &rt, err)) < 0)
				goto out;
		}
	}
	/* the runtime's value counts only when the config itself says nothing */
	if (has_top) {
		c->has_bw = true;
		c->bw = top;
	} else if (has_rt) {
		c->has_bw = true;
		c->bw = rt;
	}
	if (c->has_bw &&
	    ((r = validate_rate_and_burst(c->bw.ingress_rate, c->bw.ingress_burst, err)) < 0 ||
	     (r = validate_rate_and_burst(c->bw.egress_rate, c->bw.egress_burst, err)) < 0))
		goto out;
	r = 0;
out:
	json_decref(root);
	return r;
}

static int bw_conf_load(const cni_cmd_args *args, struct bw_conf *c, cni_error **err)
{
	int r;
	memset(c, 0, sizeof(*c));
	if ((r = cni_conf_from_bytes(&c->conf, args->stdin_data, args->stdin_len, err)) < 0)
		return r;
	c->name = cni_conf_name(c->conf) ? cni_conf_name(c->conf) : "";
	if ((r = parse_bandwidth(c, err)) < 0 ||
	    (r = cni_conf_prev_result(c->conf, &c->prev, err)) < 0) {
		bw_conf_clear(c);
		return r;
	}
	return 0;
}

static int ifb_name(const char *network, const char *container_id, char out[16], cni_error **err)
{
	size_t n = strlen(network) + strlen(container_id) + 1;
	char *joined = malloc(n);
	if (!joined)
		return cni_error_oom(err);
	snprintf(joined, n, "%s%s", network, container_id);
	int r = cni_format_hash(BW_IFB_PREFIX, joined, BW_IFB_NAMELEN, out, 16);
	free(joined);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "failed to derive the ifb name");
	return 0;
}

/* ---- the host side of the container's veth ------------------------------------------ */

/*
 * The prevResult's host interface that is IFNAME's veth peer: the peer's ifindex read in
 * the container, looked up here, and matched by name against interfaces with no sandbox.
 */
static int host_interface(const cni_result *prev, const char *ifname, const char *netns,
			  cni_nl *host, cni_link_info *out, cni_error **err)
{
	cni_netns *ns = NULL;
	cni_nl *cnl = NULL;
	cni_link_info cl = CNI_LINK_INFO_INIT, hl = CNI_LINK_INFO_INIT;
	cni_error *local = NULL;
	size_t n = cni_result_interface_count(prev);
	int r;

	if (n == 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "no interfaces provided");
	if ((r = cni_netns_open(netns, &ns, &local)) < 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "failed to open netns \"%s\": %s",
				  netns, cni_error_msg(local));
		goto out;
	}
	if ((r = cni_nl_open(&cnl, ns, &local)) < 0 ||
	    (r = cni_link_get(cnl, ifname, &cl, &local)) < 0) {
		r = cni_error_set(
		    err, CNI_ERR_INTERNAL, NULL,
		    "container interface %s has no veth peer: could not look up \"%s\": %s", ifname,
		    ifname, cni_error_msg(local));
		goto out;
	}
	if (strcmp(cl.kind, "veth") != 0) {
		r = cni_error_set(
		    err, CNI_ERR_INTERNAL, NULL,
		    "container interface %s has no veth peer: interface \"%s\" was not a "
		    "veth interface",
		    ifname, ifname);
		goto out;
	}
	if (cl.link <= 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "container interface %s has no veth peer", ifname);
		goto out;
	}
	if (cni_link_get_by_index(host, cl.link, &hl, NULL) < 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "veth peer with index %d is not in host ns", cl.link);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		cni_interface iface = CNI_INTERFACE_INIT;
		if (cni_result_get_interface(prev, i, &iface) < 0)
			continue;
		if ((!iface.sandbox || !*iface.sandbox) && iface.name &&
		    strcmp(iface.name, hl.name) == 0) {
			*out = hl;
			r = 0;
			goto out;
		}
	}
	r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
			  "no veth peer of container interface found in host ns");
out:
	cni_error_free(local);
	cni_nl_close(cnl);
	cni_netns_close(ns);
	return r;
}

/* ---- ADD ----------------------------------------------------------------------------- */

/* What a failed ADD may have made on the host veth, to take back. */
struct bw_made {
	bool root_tbf, ingress; /* tried, and not refused as already there */
};

/* A request that failed without the kernel saying the object was there already may still
 * have been carried out (its answer was lost). */
static bool maybe_made(int r, cni_error *const *err)
{
	return r == 0 || cni_error_errno(*err) != EEXIST;
}

static int shape_ingress(cni_nl *host, const cni_link_info *veth, const struct bw_entry *bw,
			 struct bw_made *made, cni_error **err)
{
	cni_tbf tbf;
	int r = bw_tbf_params(bw->ingress_rate, bw->ingress_burst, &tbf, err);
	if (r < 0)
		return r;
	r = cni_qdisc_tbf_add(host, veth->ifindex, &tbf, err);
	made->root_tbf = maybe_made(r, err);
	return r;
}

static int shape_egress(cni_nl *host, const cni_link_info *veth,
			const struct bw_conf *c, const cni_cmd_args *args, cni_result *res,
			struct bw_made *made, cni_error **err)
{
	char name[16], alias[IFALIASZ];
	cni_link_info ifb = CNI_LINK_INFO_INIT;
	cni_tbf tbf;
	int r;

	if ((r = bw_tbf_params(c->bw.egress_rate, c->bw.egress_burst, &tbf, err)) < 0 ||
	    (r = ifb_name(c->name, args->container_id, name, err)) < 0)
		return r;
	if ((r = cni_ifb_add(host, name, veth->mtu, err)) < 0) {
		if (maybe_made(r, err) && cni_link_get(host, name, &ifb, NULL) == 0)
			cni_link_del(host, ifb.ifindex, NULL);
		return r;
	}
	/* our GC's side index; an alias too long for the kernel only costs GC coverage */
	int n = snprintf(alias, sizeof(alias), BW_ALIAS_PREFIX "%s %s %s", c->name,
			 args->container_id, args->ifname);
	if ((r = cni_link_get(host, name, &ifb, err)) < 0)
		goto fail;
	if (n > 0 && (size_t)n < sizeof(alias) &&
	    (r = cni_link_set_alias(host, ifb.ifindex, alias, err)) < 0)
		goto fail;

	cni_interface iface = CNI_INTERFACE_INIT;
	iface.name = name;
	iface.mac = ifb.mac;
	if ((r = cni_result_add_interface(res, &iface, NULL, err)) < 0)
		goto fail;
	r = cni_qdisc_ingress_add(host, veth->ifindex, err);
	made->ingress = maybe_made(r, err);
	if (r < 0 || (r = cni_filter_redirect_add(host, veth->ifindex, ifb.ifindex, err)) < 0 ||
	    (r = cni_qdisc_tbf_add(host, ifb.ifindex, &tbf, err)) < 0)
		goto fail;
	return 0;
fail:
	/* do not leave a half-made ifb behind (DEL would remove it, but may never come) */
	if (ifb.ifindex > 0 || cni_link_get(host, name, &ifb, NULL) == 0)
		cni_link_del(host, ifb.ifindex, NULL);
	return r;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	struct bw_conf c;
	cni_nl *host = NULL;
	cni_result *res = NULL;
	cni_link_info veth = CNI_LINK_INFO_INIT;
	int r = bw_conf_load(args, &c, err);
	if (r < 0)
		return r;
	if (!c.prev) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "must be called as chained plugin");
		goto out;
	}
	if (!c.has_bw || bw_zero(&c.bw)) {
		/* nothing to shape: pass the previous result on */
		*result = c.prev;
		c.prev = NULL;
		r = 0;
		goto out;
	}
	/*
	 * Work on the current version and let skel convert back, as the reference does: a
	 * 0.3.x/0.4.0 result then comes out normalised (e.g. each IP's "version" derived from
	 * its address), while a passed-through one above stays byte-for-byte what it was.
	 */
	if ((r = cni_result_convert(&res, c.prev, cni_version_current(), err)) < 0 ||
	    (r = cni_nl_open(&host, NULL, err)) < 0 ||
	    (r = host_interface(res, args->ifname, args->netns, host, &veth, err)) < 0)
		goto out;
	struct bw_made made = {false, false};
	if (c.bw.ingress_rate > 0 && c.bw.ingress_burst > 0 &&
	    (r = shape_ingress(host, &veth, &c.bw, &made, err)) < 0)
		goto undo;
	if (c.bw.egress_rate > 0 && c.bw.egress_burst > 0 &&
	    (r = shape_egress(host, &veth, &c, args, res, &made, err)) < 0)
		goto undo;
	*result = res;
	res = NULL;
	goto out;
undo:
	/* A failed ADD takes its qdiscs off the host veth (shape_egress took the ifb back);
	 * through a new socket, as the failure may have left this one out of step. */
	if (made.root_tbf || made.ingress) {
		cni_nl *fresh = NULL;
		if (cni_nl_open(&fresh, NULL, NULL) == 0) {
			if (made.root_tbf)
				cni_qdisc_del(fresh, veth.ifindex, false, NULL);
			if (made.ingress)
				cni_qdisc_del(fresh, veth.ifindex, true, NULL);
			cni_nl_close(fresh);
		}
	}
out:
	cni_result_free(res);
	cni_nl_close(host);
	bw_conf_clear(&c);
	return r;
}

/* ---- DEL ----------------------------------------------------------------------------- */

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct bw_conf c;
	char name[16];
	cni_nl *host = NULL;
	cni_link_info ifb = CNI_LINK_INFO_INIT;
	cni_error *e = NULL, *local = NULL;
	bool gone;
	/* the tbf and the ingress qdisc on the host veth go with the veth: only the ifb is ours */
	int r = bw_conf_load(args, &c, err);
	if (r < 0)
		return r;
	if ((r = ifb_name(c.name, args->container_id, name, err)) < 0 ||
	    (r = cni_nl_open(&host, NULL, err)) < 0)
		goto out;
	r = cni_link_get(host, name, &ifb, &e);
	if ((r = pc_gone_ok(r, e, &gone, &local)) < 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "failed to lookup \"%s\": %s", name,
				  cni_error_msg(local));
		goto out;
	}
	if (gone)
		goto out;
	r = cni_link_del(host, ifb.ifindex, &e);
	/* gone: a concurrent DEL got there first */
	if ((r = pc_gone_ok(r, e, NULL, &local)) < 0)
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "failed to delete \"%s\": %s", name,
				  cni_error_msg(local));
out:
	cni_error_free(local);
	cni_nl_close(host);
	bw_conf_clear(&c);
	return r;
}

/* ---- CHECK --------------------------------------------------------------------------- */

static int check_tbf(cni_nl *host, int ifindex, const char *ifname, uint64_t rate,
		     uint64_t burst, cni_error **err)
{
	cni_tbf want, have;
	bool found = false;
	int r;
	if ((r = bw_tbf_params(rate, burst, &want, err)) < 0 ||
	    (r = cni_qdisc_tbf_get(host, ifindex, &found, &have, err)) < 0)
		return r;
	if (!found)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Failed to find qdisc: no root tbf on '%s'", ifname);
	if (have.rate != want.rate)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Rate doesn't match on '%s' (%llu != %llu)", ifname,
				     (unsigned long long)have.rate, (unsigned long long)want.rate);
	if (have.limit != want.limit)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Limit doesn't match on '%s' (%u != %u)", ifname, have.limit,
				     want.limit);
	if (have.buffer != want.buffer)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Buffer doesn't match on '%s' (%u != %u)", ifname, have.buffer,
				     want.buffer);
	return 0;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct bw_conf c;
	cni_nl *host = NULL;
	cni_link_info veth = CNI_LINK_INFO_INIT, ifb = CNI_LINK_INFO_INIT;
	cni_error *local = NULL;
	char name[16];
	int r = bw_conf_load(args, &c, err);
	if (r < 0)
		return r;
	if (!c.prev) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "must be called as a chained plugin");
		goto out;
	}
	if ((r = cni_nl_open(&host, NULL, err)) < 0 ||
	    (r = host_interface(c.prev, args->ifname, args->netns, host, &veth, err)) < 0)
		goto out;
	if (!c.has_bw)
		goto out;
	if (c.bw.ingress_rate > 0 && c.bw.ingress_burst > 0 &&
	    (r = check_tbf(host, veth.ifindex, veth.name, c.bw.ingress_rate, c.bw.ingress_burst,
			   err)) < 0)
		goto out;
	if (c.bw.egress_rate > 0 && c.bw.egress_burst > 0) {
		if ((r = ifb_name(c.name, args->container_id, name, err)) < 0)
			goto out;
		if ((r = cni_link_get(host, name, &ifb, &local)) < 0) {
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "get ifb device: %s",
					  cni_error_msg(local));
			goto out;
		}
		r = check_tbf(host, ifb.ifindex, ifb.name, c.bw.egress_rate, c.bw.egress_burst, err);
	}
out:
	cni_error_free(local);
	cni_nl_close(host);
	bw_conf_clear(&c);
	return r;
}

/* ---- GC ------------------------------------------------------------------------------ */

/*
 * The network and container id an alias of ours names, when the ifb's own name is what
 * they hash to (an alias someone else set, or edited, never gets an ifb deleted).
 */
static bool ours(const char *ifb_name_, const char *alias, const char *network, char *cid_out,
		 size_t cid_len)
{
	char name[16];
	size_t plen = strlen(BW_ALIAS_PREFIX), nlen = strlen(network);
	const char *a = alias;
	if (strncmp(a, BW_ALIAS_PREFIX, plen) != 0 || strncmp(a + plen, network, nlen) != 0 ||
	    a[plen + nlen] != ' ')
		return false;
	const char *cid = a + plen + nlen + 1, *end = strchr(cid, ' ');
	if (!end || end == cid || (size_t)(end - cid) >= cid_len)
		return false;
	snprintf(cid_out, cid_len, "%.*s", (int)(end - cid), cid);
	return ifb_name(network, cid_out, name, NULL) == 0 && strcmp(name, ifb_name_) == 0;
}

static int cmd_gc(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct bw_conf c;
	cni_nl *host = NULL;
	cni_link_info *links = NULL;
	size_t nlinks = 0, nvalid = 0;
	bool present = false;
	char(*valid)[16] = NULL;
	cni_error *first = NULL;
	int r = bw_conf_load(args, &c, err);
	if (r < 0)
		return r;
	if ((r = cni_conf_valid_attachments(c.conf, &nvalid, &present, err)) < 0 || !present)
		goto out;
	valid = calloc(nvalid ? nvalid : 1, sizeof(*valid));
	if (!valid) {
		r = cni_error_oom(err);
		goto out;
	}
	for (size_t i = 0; i < nvalid; i++) {
		const char *cid = cni_conf_valid_attachment_container_id(c.conf, i);
		if ((r = ifb_name(c.name, cid ? cid : "", valid[i], err)) < 0)
			goto out;
	}
	if ((r = cni_nl_open(&host, NULL, err)) < 0 ||
	    (r = cni_link_list(host, &links, &nlinks, err)) < 0)
		goto out;
	for (size_t i = 0; i < nlinks; i++) {
		char cid[IFALIASZ], *alias = NULL;
		bool keep = false, mine;
		/* (cni_link_info's alias is cut short: a container id alone is 64 bytes) */
		if (strcmp(links[i].kind, "ifb") != 0 ||
		    cni_link_get_alias(host, links[i].ifindex, &alias, NULL) < 0)
			continue;
		mine = ours(links[i].name, alias, c.name, cid, sizeof(cid));
		free(alias);
		if (!mine)
			continue;
		for (size_t j = 0; j < nvalid && !keep; j++)
			keep = strcmp(valid[j], links[i].name) == 0;
		if (keep)
			continue;
		cni_error *e = NULL;
		cni_error **report = first ? NULL : &first;
		int d = cni_link_del(host, links[i].ifindex, &e);
		/* keep going: one stuck ifb must not shield the others; report the first */
		if ((d = pc_gone_ok(d, e, NULL, report)) < 0 && report)
			r = d;
	}
	if (first) {
		*err = first;
		first = NULL;
	}
out:
	cni_error_free(first);
	cni_free(links);
	free(valid);
	cni_nl_close(host);
	bw_conf_clear(&c);
	return r;
}

/* STATUS: nothing to be unready about (NULL = success) */
CNI_PLUGIN_MAIN_FROM("CNI bandwidth plugin libcni-c " LIBCNI_C_VERSION, "0.3.0", .add = cmd_add,
		     .del = cmd_del, .check = cmd_check, .gc = cmd_gc)
