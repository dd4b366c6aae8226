/* SPDX-License-Identifier: Apache-2.0 */
/*
 * portmap's nftables backend, laid out as the reference (v1.6+) does: tables
 * `ip cni_hostport` and `ip6 cni_hostport`; rules in `hostports` (and `hostip_hostports`
 * for mappings with a host address) and `masquerading`, each commented with the
 * container id; base chains prerouting/output jump to `hostports_all` for local
 * destinations. Each verb is one transaction through libnftables.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm-backend.h"
#include "plugin-util.h"
#include "plugin-buf.h"

static const char *const our_chains[] = {"hostports", "hostip_hostports", "masquerading"};

/* Container ids are restricted to [a-zA-Z0-9_.-] by the runtime checks, so they need no
 * escaping inside the quoted nft comment; anything else is refused. */
static bool comment_safe(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || *s == '\n')
			return false;
	return true;
}

/*
 * Handles of the rules commented with container_id in our chains of table
 * "<fam> cni_hostport"; appended to b as delete commands. A missing table adds nothing.
 * *count (optional) gets the number per chain index of our_chains.
 */
static int collect_rules(const char *fam, const char *container_id, sbuf *b, size_t count[3],
			 bool *table_exists, cni_error **err)
{
	char script[64], *out = NULL;
	json_t *root, *arr, *item;
	size_t i;

	*table_exists = false;
	snprintf(script, sizeof(script), "list table %s cni_hostport", fam);
	cni_error *e = NULL;
	if (cni_nft_run(script, true, &out, &e) < 0) {
		/* the table is created on first use: absent means nothing of ours */
		cni_error_free(e);
		return 0;
	}
	*table_exists = true;
	root = json_loads(out, 0, NULL);
	cni_free(out);
	arr = json_object_get(root, "nftables");
	if (!json_is_array(arr)) {
		json_decref(root);
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "nftables: unexpected listing of table %s cni_hostport", fam);
	}
	json_array_foreach(arr, i, item)
	{
		json_t *rule = json_object_get(item, "rule");
		const char *chain = json_string_value(json_object_get(rule, "chain"));
		const char *comment = json_string_value(json_object_get(rule, "comment"));
		json_t *handle = json_object_get(rule, "handle");
		if (!chain || !comment || !json_is_integer(handle) ||
		    strcmp(comment, container_id) != 0)
			continue;
		for (size_t c = 0; c < 3; c++) {
			if (strcmp(chain, our_chains[c]) != 0)
				continue;
			if (count)
				count[c]++;
			if (b)
				sb_printf(b, "delete rule %s cni_hostport %s handle %lld\n", fam,
					  chain, (long long)json_integer_value(handle));
		}
	}
	json_decref(root);
	return 0;
}

static void join_conditions(sbuf *b, char *const *cond)
{
	for (size_t i = 0; cond && cond[i]; i++)
		sb_printf(b, "%s ", cond[i]);
}

static int nft_add(const pm_conf *c, int family, cni_error **err)
{
	const char *fam = family == AF_INET ? "ip" : "ip6";
	int f = pm_fam_idx(family);
	char cont[64], host[64];
	sbuf b = {0};
	bool exists;
	int r;

	if (!comment_safe(c->container_id))
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "container id \"%s\" cannot be an nftables comment",
				     c->container_id);
	cni_ip_format(&c->ip[f].ip, cont, sizeof(cont));
	sb_printf(&b, "add table %s cni_hostport { comment \"CNI portmap plugin\" ; }\n", fam);
	sb_printf(&b, "add chain %s cni_hostport hostports\n", fam);
	sb_printf(&b, "add chain %s cni_hostport hostip_hostports\n", fam);
	sb_printf(&b, "add chain %s cni_hostport hostports_all\n", fam);
	sb_printf(&b, "flush chain %s cni_hostport hostports_all\n", fam);
	sb_printf(&b, "add rule %s cni_hostport hostports_all jump hostip_hostports\n", fam);
	sb_printf(&b, "add rule %s cni_hostport hostports_all jump hostports\n", fam);
	static const char *const base[][2] = {{"prerouting", "prerouting"}, {"output", "output"}};
	for (size_t i = 0; i < 2; i++) {
		sb_printf(&b, "add chain %s cni_hostport %s { type nat hook %s priority -100 ; }\n",
			  fam, base[i][0], base[i][1]);
		sb_printf(&b, "flush chain %s cni_hostport %s\n", fam, base[i][0]);
		sb_printf(&b, "add rule %s cni_hostport %s ", fam, base[i][0]);
		join_conditions(&b, c->cond[f]);
		sb_printf(&b, "fib daddr type local jump hostports_all\n");
	}
	if (c->snat)
		sb_printf(&b,
			  "add chain %s cni_hostport masquerading { type nat hook postrouting "
			  "priority 100 ; }\n",
			  fam);
	/* a repeated ADD replaces this container's rules */
	if ((r = collect_rules(fam, c->container_id, &b, NULL, &exists, err)) < 0)
		goto out;
	for (size_t i = 0; i < c->n_maps; i++) {
		const pm_mapping *m = &c->maps[i];
		if ((m->has_host_ip || m->host_ip_any) && m->host_ip.family != family)
			continue;
		if (m->has_host_ip) {
			cni_ip_format(&m->host_ip, host, sizeof(host));
			sb_printf(&b, "add rule %s cni_hostport hostip_hostports %s daddr %s ", fam,
				  fam, host);
		} else {
			sb_printf(&b, "add rule %s cni_hostport hostports ", fam);
		}
		sb_printf(&b, "%s dport %d dnat to %s%s%s:%d comment \"%s\"\n", m->proto,
			  m->host_port, family == AF_INET6 ? "[" : "", cont,
			  family == AF_INET6 ? "]" : "", m->container_port, c->container_id);
	}
	if (c->snat) {
		sb_printf(
		    &b,
		    "add rule %s cni_hostport masquerading %s saddr %s %s daddr %s masquerade "
		    "comment \"%s\"\n",
		    fam, fam, c->masq_all ? (family == AF_INET ? "0.0.0.0/0" : "::/0") : cont, fam,
		    cont, c->container_id);
		if (family == AF_INET && !c->masq_all)
			sb_printf(
			    &b,
			    "add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr "
			    "%s masquerade comment \"%s\"\n",
			    cont, c->container_id);
	}
	if (b.oom)
		r = cni_error_oom(err);
	else
		r = cni_nft_run(b.s, false, NULL, err);
	if (r < 0)
		PC_PREFIX(err, "unable to set up nftables rules for port mappings");
out:
	free(b.s);
	return r;
}

static int nft_check(const pm_conf *c, int family, cni_error **err)
{
	const char *fam = family == AF_INET ? "ip" : "ip6";
	size_t want[3] = {0, 0, 0}, have[3] = {0, 0, 0};
	bool exists;
	int r;

	for (size_t i = 0; i < c->n_maps; i++) {
		const pm_mapping *m = &c->maps[i];
		if ((m->has_host_ip || m->host_ip_any) && m->host_ip.family != family)
			continue;
		want[m->has_host_ip ? 1 : 0]++;
	}
	if (c->snat)
		want[2] = family == AF_INET && !c->masq_all ? 2 : 1;
	if ((r = collect_rules(fam, c->container_id, NULL, have, &exists, err)) < 0)
		return r;
	if (!exists)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "table %s cni_hostport not found",
				     fam);
	for (size_t i = 0; i < 3; i++)
		if (have[i] < want[i])
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "missing hostport rules in \"%s\" chain",
					     our_chains[i]);
	return 0;
}

static int nft_delete_rules(const char *container_id, cni_error **err)
{
	sbuf b = {0};
	bool exists;
	int r = 0;

	/* both families in one transaction; libnftables only loaded for a table that is there */
	for (int f = 0; f < 2 && r == 0; f++)
		if (cni_nft_table_may_exist(f ? "ip6" : "ip", "cni_hostport"))
			r = collect_rules(f ? "ip6" : "ip", container_id, &b, NULL, &exists, err);
	if (r == 0 && b.oom)
		r = cni_error_oom(err);
	if (r == 0 && b.len > 0) {
		r = cni_nft_run(b.s, false, NULL, err);
		if (r < 0)
			PC_PREFIX(err, "error deleting nftables rules");
	}
	free(b.s);
	return r;
}

static int nft_del(const char *network, const char *container_id, bool required,
		   cni_error **err)
{
	cni_error *e = NULL;
	(void)network; /* the rules name the container id alone */
	int r = nft_delete_rules(container_id, &e);
	if (r < 0 && !required && !cni_nftables_usable())
		r = 0; /* not asked for, and nftables is not there: no rule of ours can be */
	else if (r < 0 && err && !*err) {
		*err = e;
		e = NULL;
	}
	cni_error_free(e);
	return r;
}

const pm_backend_ops pm_nftables_ops = {
    .name = "nftables",
    .add = nft_add,
    .check = nft_check,
    .del = nft_del,
};
