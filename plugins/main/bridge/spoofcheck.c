/* SPDX-License-Identifier: Apache-2.0 */
/*
 * macspoofchk: the reference's nftables rules (pkg/link SpoofChecker), built in-process
 * with libnftables from JSON commands instead of exec'ing nft.
 *
 *   table bridge nat
 *     chain PREROUTING   (filter hook prerouting priority -300, policy accept)
 *       iifname "<host veth>" jump cni-br-iface-<ref>          comment "macspoofchk-<ref>"
 *     chain cni-br-iface-<ref>
 *       jump cni-br-iface-<ref>-mac                            comment "macspoofchk-<ref>"
 *     chain cni-br-iface-<ref>-mac
 *       ether saddr <container mac> return                     comment "macspoofchk-<ref>"
 *       drop                                                   comment "macspoofchk-<ref>"
 *
 * <ref> is "<container id>-<ifname>". Same names and comments as the reference, so either
 * implementation tears down what the other set up.
 */
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"

#define NAT_TABLE      "nat"
#define BASE_CHAIN     "PREROUTING"
#define CHAIN_PREFIX   "cni-br-iface-"
#define COMMENT_PREFIX "macspoofchk-"

static bool streq_json(json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* Run one JSON batch; *out (optional) gets the JSON output. Errors carry nft's text. */
static int nft_run(json_t *batch, char **out, const char *what, cni_error **err)
{
	_cleanup_free_ char *cmd = json_dumps(batch, JSON_COMPACT);
	cni_error *e = NULL;
	if (!cmd)
		return cni_error_oom(err);
	int r = cni_nft_run(cmd, true, out, &e);
	if (r < 0) {
		cni_error_prefix(e, "%s", what);
		if (err && !*err)
			*err = e;
		else
			cni_error_free(e);
	}
	return r;
}

/* {"<verb>": {"<kind>": obj}} appended to the batch's "nftables" array (obj stolen). */
static int batch_add(json_t *batch, const char *verb, const char *kind, json_t *obj)
{
	json_t *cmds = json_object_get(batch, "nftables");
	if (!obj)
		return -1;
	return json_array_append_new(cmds, json_pack("{s:{s:o}}", verb, kind, obj));
}

static json_t *chain_obj(const char *name)
{
	return json_pack("{s:s,s:s,s:s}", "family", "bridge", "table", NAT_TABLE, "name", name);
}

static json_t *rule_obj(const char *chain, json_t *expr, const char *comment)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:s}", "family", "bridge", "table", NAT_TABLE, "chain",
			 chain, "expr", expr, "comment", comment);
}

static json_t *jump(const char *target)
{
	return json_pack("{s:{s:s}}", "jump", "target", target);
}

static json_t *match(json_t *left, const char *right)
{
	return json_pack("{s:{s:s,s:o,s:s}}", "match", "op", "==", "left", left, "right", right);
}

static int names(const char *ref, char *iface_chain, char *mac_chain, char *comment, size_t len)
{
	if ((size_t)snprintf(iface_chain, len, CHAIN_PREFIX "%s", ref) >= len ||
	    (size_t)snprintf(mac_chain, len, CHAIN_PREFIX "%s-mac", ref) >= len ||
	    (size_t)snprintf(comment, len, COMMENT_PREFIX "%s", ref) >= len)
		return -1;
	return 0;
}

int br_spoofcheck_setup(const char *host_iface, const char *mac, const char *ref_id,
			cni_error **err)
{
	char ic[256], mc[256], comment[256];
	int r;
	if (names(ref_id, ic, mc, comment, sizeof(ic)) < 0)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "failed to setup spoof-check: reference id too long");

	/*
	 * Declare the table and chains first (adding existing ones is a no-op), then flush
	 * and fill the attachment's chains in a second transaction: a flush needs its chain
	 * to exist, and this way nothing has to be read back first.
	 */
	json_t *base = json_pack("{s:[]}", "nftables");
	json_t *rules = json_pack("{s:[]}", "nftables");
	if (!base || !rules ||
	    batch_add(base, "add", "table",
		      json_pack("{s:s,s:s}", "family", "bridge", "name", NAT_TABLE)) < 0 ||
	    batch_add(base, "add", "chain",
		      json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "family", "bridge", "table",
				NAT_TABLE, "name", BASE_CHAIN, "type", "filter", "hook",
				"prerouting", "prio", -300, "policy", "accept")) < 0 ||
	    batch_add(base, "add", "chain", chain_obj(ic)) < 0 ||
	    batch_add(base, "add", "chain", chain_obj(mc)) < 0 ||
	    batch_add(rules, "flush", "chain", chain_obj(ic)) < 0 ||
	    batch_add(rules, "flush", "chain", chain_obj(mc)) < 0 ||
	    batch_add(rules, "add", "rule",
		      rule_obj(BASE_CHAIN,
			       json_pack("[o,o]",
					 match(json_pack("{s:{s:s}}", "meta", "key", "iifname"),
					       host_iface),
					 jump(ic)),
			       comment)) < 0 ||
	    batch_add(rules, "add", "rule", rule_obj(ic, json_pack("[o]", jump(mc)), comment)) <
		0 ||
	    batch_add(rules, "add", "rule",
		      rule_obj(mc,
			       json_pack("[o,{s:n}]",
					 match(json_pack("{s:{s:s,s:s}}", "payload", "protocol",
							 "ether", "field", "saddr"),
					       mac),
					 "return"),
			       comment)) < 0 ||
	    batch_add(rules, "add", "rule", rule_obj(mc, json_pack("[{s:n}]", "drop"), comment)) <
		0) {
		r = cni_error_oom(err);
		goto out;
	}
	if ((r = nft_run(base, NULL, "failed to setup spoof-check", err)) < 0)
		goto out;
	r = nft_run(rules, NULL, "failed to setup spoof-check", err);
out:
	json_decref(base);
	json_decref(rules);
	return r;
}

/* The bridge nat table as nft's JSON list output; *out NULL when the table is missing. */
static int list_table(json_t **out, cni_error **err)
{
	_cleanup_free_ char *text = NULL;
	cni_error *local = NULL;
	json_t *cmd = json_pack("{s:[{s:{s:{s:s,s:s}}}]}", "nftables", "list", "table", "family",
				"bridge", "name", NAT_TABLE);
	if (!cmd)
		return cni_error_oom(err);
	int r = nft_run(cmd, &text, "failed to list the bridge nat table", &local);
	json_decref(cmd);
	if (r < 0) {
		/* no table (or no nftables at all): nothing of ours can be there */
		cni_error_free(local);
		*out = NULL;
		return 0;
	}
	*out = json_loads(text, 0, NULL);
	if (!*out)
		return cni_error_set(
		    err, CNI_ERR_SYSTEM, NULL,
		    "failed to parse the nftables listing of the bridge nat table");
	return 0;
}

static bool has_chain(json_t *listing, const char *name)
{
	json_t *items = json_object_get(listing, "nftables"), *it;
	size_t i;
	json_array_foreach(items, i, it)
	{
		json_t *c = json_object_get(it, "chain");
		if (c && streq_json(json_object_get(c, "name"), name))
			return true;
	}
	return false;
}

/* Queue the removal of one attachment's base rule (by handle) and chains. */
static int queue_delete(json_t *batch, json_t *listing, const char *ref)
{
	char ic[256], mc[256], comment[256];
	json_t *items = json_object_get(listing, "nftables"), *it;
	size_t i;
	if (names(ref, ic, mc, comment, sizeof(ic)) < 0)
		return 0;
	json_array_foreach(items, i, it)
	{
		json_t *rule = json_object_get(it, "rule");
		if (!rule || !streq_json(json_object_get(rule, "chain"), BASE_CHAIN) ||
		    !streq_json(json_object_get(rule, "comment"), comment))
			continue;
		json_t *h = json_object_get(rule, "handle");
		if (!json_is_integer(h))
			continue;
		if (batch_add(batch, "delete", "rule",
			      json_pack("{s:s,s:s,s:s,s:I}", "family", "bridge", "table", NAT_TABLE,
					"chain", BASE_CHAIN, "handle", json_integer_value(h))) < 0)
			return -1;
	}
	if (has_chain(listing, ic) && batch_add(batch, "delete", "chain", chain_obj(ic)) < 0)
		return -1;
	if (has_chain(listing, mc) && batch_add(batch, "delete", "chain", chain_obj(mc)) < 0)
		return -1;
	return 0;
}

static int run_deletes(json_t *batch, const char *what, cni_error **err)
{
	if (json_array_size(json_object_get(batch, "nftables")) == 0)
		return 0;
	return nft_run(batch, NULL, what, err);
}

int br_spoofcheck_teardown(const char *ref_id, cni_error **err)
{
	json_t *listing = NULL, *batch;
	int r = list_table(&listing, err);
	if (r < 0 || !listing)
		return r;
	batch = json_pack("{s:[]}", "nftables");
	if (!batch || queue_delete(batch, listing, ref_id) < 0)
		r = cni_error_oom(err);
	else
		r = run_deletes(batch, "failed to teardown spoof-check", err);
	json_decref(batch);
	json_decref(listing);
	return r;
}

/* The iifname a base rule matches, or NULL. */
static const char *rule_iifname(json_t *rule)
{
	json_t *expr = json_object_get(rule, "expr"), *e;
	size_t i;
	json_array_foreach(expr, i, e)
	{
		json_t *m = json_object_get(e, "match");
		json_t *meta = json_object_get(json_object_get(m, "left"), "meta");
		if (meta && streq_json(json_object_get(meta, "key"), "iifname"))
			return json_string_value(json_object_get(m, "right"));
	}
	return NULL;
}

int br_spoofcheck_gc(const cni_gc_attachment *valid, size_t n_valid, cni_nl *host,
		     int bridge_ifindex, cni_error **err)
{
	json_t *listing = NULL, *batch = NULL, *items, *it;
	json_t *done = json_object(); /* refs already queued: a re-run setup leaves two rules */
	size_t i;
	int r = list_table(&listing, err);
	if (!done) {
		json_decref(listing);
		return cni_error_oom(err);
	}
	if (r < 0 || !listing) {
		json_decref(done);
		return r;
	}
	if (!(batch = json_pack("{s:[]}", "nftables"))) {
		r = cni_error_oom(err);
		goto out;
	}
	items = json_object_get(listing, "nftables");
	json_array_foreach(items, i, it)
	{
		json_t *rule = json_object_get(it, "rule");
		const char *comment = json_string_value(json_object_get(rule, "comment"));
		if (!rule || !streq_json(json_object_get(rule, "chain"), BASE_CHAIN) || !comment ||
		    strncmp(comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) != 0)
			continue;
		const char *ref = comment + strlen(COMMENT_PREFIX);
		bool keep = json_object_get(done, ref) != NULL;
		for (size_t v = 0; v < n_valid && !keep; v++) {
			size_t cl = strlen(valid[v].container_id);
			keep = strncmp(ref, valid[v].container_id, cl) == 0 && ref[cl] == '-' &&
			       strcmp(ref + cl + 1, valid[v].ifname) == 0;
		}
		if (keep)
			continue;
		/*
		 * Chain names carry no network name: only collect attachments whose host veth
		 * is gone or sits on this network's bridge, so other networks keep theirs.
		 */
		const char *veth = rule_iifname(rule);
		cni_link_info li = CNI_LINK_INFO_INIT;
		if (veth && cni_link_get(host, veth, &li, NULL) == 0 && li.master != bridge_ifindex)
			continue;
		if (json_object_set_new(done, ref, json_true()) < 0 ||
		    queue_delete(batch, listing, ref) < 0) {
			r = cni_error_oom(err);
			goto out;
		}
	}
	r = run_deletes(batch, "failed to collect stale spoof-check chains", err);
out:
	json_decref(done);
	json_decref(batch);
	json_decref(listing);
	return r;
}
