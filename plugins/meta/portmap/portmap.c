/* SPDX-License-Identifier: Apache-2.0 */
/*
 * portmap: forwards host ports to the container address found in prevResult, with the
 * reference's iptables chains (so either plugin removes what the other made) or its
 * nftables tables. One iptables-restore per family (or one nftables transaction) per
 * verb, nothing at all when there are no mappings, and GC of the chains of attachments
 * that are gone.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugin-json.h"
#include "pm-backend.h"
#include "plugin-util.h"

#define DEFAULT_MARK_BIT 13

static void pm_conf_clear(pm_conf *c)
{
	free(c->name);
	free(c->ext_mark_chain);
	cni_strv_free(c->cond[0]);
	cni_strv_free(c->cond[1]);
	for (size_t i = 0; i < c->n_maps; i++)
		free(c->maps[i].host_ip_text);
	free(c->maps);
	memset(c, 0, sizeof(*c));
}

static int bad_conf(cni_error **err, const char *fmt, const char *a, long long n)
{
	/* one formatter for the few message shapes below */
	char msg[512];
	if (a)
		snprintf(msg, sizeof(msg), fmt, a);
	else
		snprintf(msg, sizeof(msg), fmt, n);
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			     "failed to parse config: %s", msg);
}

/* A JSON number that Go would decode into an int (no fraction, no exponent overflow). */
static int get_int(json_t *v, const char *field, long long *out, cni_error **err)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		/* the range first: converting an out-of-range double is undefined */
		if (d > -9.2e18 && d < 9.2e18 && d == (double)(long long)d) {
			*out = (long long)d;
			return 0;
		}
	}
	char *txt = json_dumps(v, JSON_ENCODE_ANY);
	int r = bad_conf(err, "json: cannot unmarshal %s into Go struct field of type int",
			 txt ? txt : "value", 0);
	free(txt);
	(void)field;
	return r;
}

static int get_bool(json_t *v, const char *field, bool *out, cni_error **err)
{
	if (!json_is_boolean(v))
		return bad_conf(
		    err, "json: cannot unmarshal non-boolean into field %s of type bool", field, 0);
	*out = json_is_true(v);
	return 0;
}

static int get_strv(json_t *v, const char *field, char ***out, cni_error **err)
{
	size_t i;
	json_t *e;
	if (!json_is_array(v))
		return bad_conf(err,
				"json: cannot unmarshal non-array into field %s of type []string",
				field, 0);
	char **s = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!s)
		return -CNI_ERR_NOMEM;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || !(s[i] = strdup(json_string_value(e)))) {
			cni_strv_free(s);
			return bad_conf(
			    err, "json: cannot unmarshal non-string into field %s of type string",
			    field, 0);
		}
	}
	*out = s;
	return 0;
}

static int parse_mapping(json_t *e, size_t idx, pm_mapping *m, cni_error **err)
{
	json_t *v;
	int r;

	if (!json_is_object(e))
		return bad_conf(err, "json: cannot unmarshal portMappings[%lld]: not an object",
				NULL, (long long)idx);
	long long hp = 0, cp = 0;
	if ((v = pj_get_set(e, "hostPort")) && (r = get_int(v, "hostPort", &hp, err)) < 0)
		return r;
	if ((v = pj_get_set(e, "containerPort")) && (r = get_int(v, "containerPort", &cp, err)) < 0)
		return r;
	/* the reference checks only > 0; a port above 65535 could never be mapped */
	if (cp <= 0 || cp > 65535)
		return bad_conf(err, "Invalid container port number: %lld", NULL, cp);
	if (hp <= 0 || hp > 65535)
		return bad_conf(err, "Invalid host port number: %lld", NULL, hp);
	m->host_port = (int)hp;
	m->container_port = (int)cp;

	const char *proto = "tcp";
	if ((v = pj_get_set(e, "protocol"))) {
		if (!json_is_string(v))
			return bad_conf(
			    err, "json: cannot unmarshal non-string into field %s of type string",
			    "protocol", 0);
		if (*json_string_value(v))
			proto = json_string_value(v);
	}
	if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp"))
		return bad_conf(err, "invalid protocol \"%s\": must be tcp, udp or sctp", proto, 0);
	for (size_t i = 0; proto[i]; i++)
		m->proto[i] = (char)tolower((unsigned char)proto[i]);

	if ((v = pj_get_set(e, "hostIP"))) {
		if (!json_is_string(v))
			return bad_conf(
			    err, "json: cannot unmarshal non-string into field %s of type string",
			    "hostIP", 0);
		const char *s = json_string_value(v);
		if (*s) {
			if (cni_ip_parse(s, &m->host_ip) < 0)
				return bad_conf(err, "invalid hostIP \"%s\"", s, 0);
			if (!(m->host_ip_text = strdup(s)))
				return -CNI_ERR_NOMEM;
			if (cni_ip_is_unspecified(&m->host_ip))
				m->host_ip_any = true;
			else
				m->has_host_ip = true;
		}
	}
	return 0;
}

/* iptables conditions start with an option ("-m ...") or a negation ("! -s ..."). */
static enum pm_backend conditions_syntax(char *const *cond)
{
	if (!cond || !cond[0])
		return PM_BACKEND_AUTO;
	return cond[0][0] == '-' || cond[0][0] == '!' ? PM_BACKEND_IPTABLES : PM_BACKEND_NFTABLES;
}

/* The container addresses, chosen as the reference does: the first of each family whose
 * interface is IFNAME inside a sandbox (or that names no interface). */
static int pick_addresses(pm_conf *c, const cni_result *prev, cni_error **err)
{
	size_t n_if = cni_result_interface_count(prev);
	for (size_t i = 0; i < cni_result_ip_count(prev); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_ipnet net;
		if (cni_result_get_ip(prev, i, &ip) < 0 || cni_ipnet_parse(ip.address, &net) < 0)
			continue;
		int f = pm_fam_idx(net.ip.family);
		if (c->has_ip[f])
			continue;
		if (ip.interface >= 0 && (size_t)ip.interface < n_if) {
			cni_interface ifc = CNI_INTERFACE_INIT;
			if (cni_result_get_interface(prev, (size_t)ip.interface, &ifc) < 0)
				continue;
			if (!ifc.name || strcmp(ifc.name, c->ifname) != 0 || !ifc.sandbox ||
			    !*ifc.sandbox)
				continue;
		}
		c->ip[f] = net;
		c->has_ip[f] = true;
	}
	(void)err;
	return 0;
}

static int parse_conf(const cni_cmd_args *a, pm_conf *c, cni_error **err)
{
	json_error_t je;
	json_t *root = json_loadb(a->stdin_data, a->stdin_len, 0, &je);
	json_t *v, *rc;
	long long n;
	int r = 0;

	memset(c, 0, sizeof(*c));
	c->container_id = a->container_id;
	c->ifname = a->ifname;
	c->snat = true;
	c->mark_bit = DEFAULT_MARK_BIT;
	if (!json_is_object(root)) {
		json_decref(root);
		return cni_error_set(
		    err, CNI_ERR_DECODING_FAILURE, NULL,
		    "failed to parse config: failed to parse network configuration: %s",
		    root ? "not an object" : je.text);
	}
	if ((v = pj_get_set(root, "name")) && json_is_string(v) &&
	    !(c->name = strdup(json_string_value(v))))
		goto oom;
	if (!c->name && !(c->name = strdup("")))
		goto oom;
	if ((v = pj_get_set(root, "snat")) && (r = get_bool(v, "snat", &c->snat, err)) < 0)
		goto out;
	if ((v = pj_get_set(root, "masqAll")) &&
	    (r = get_bool(v, "masqAll", &c->masq_all, err)) < 0)
		goto out;
	if ((v = pj_get_set(root, "markMasqBit"))) {
		if ((r = get_int(v, "markMasqBit", &n, err)) < 0)
			goto out;
		c->mark_bit_set = true;
		if (n < 0 || n > 31) {
			r = bad_conf(err, "MasqMarkBit must be between 0 and 31 (got %lld)", NULL,
				     n);
			goto out;
		}
		c->mark_bit = (int)n;
	}
	if ((v = pj_get_set(root, "externalSetMarkChain"))) {
		if (!json_is_string(v)) {
			r = bad_conf(
			    err, "json: cannot unmarshal non-string into field %s of type string",
			    "externalSetMarkChain", 0);
			goto out;
		}
		if (!(c->ext_mark_chain = strdup(json_string_value(v))))
			goto oom;
	}
	if (c->mark_bit_set && c->ext_mark_chain) {
		r = bad_conf(err, "Cannot specify externalSetMarkChain and markMasqBit", "", 0);
		goto out;
	}
	if ((v = pj_get_set(root, "conditionsV4")) &&
	    (r = get_strv(v, "conditionsV4", &c->cond[0], err)) < 0)
		goto out;
	if ((v = pj_get_set(root, "conditionsV6")) &&
	    (r = get_strv(v, "conditionsV6", &c->cond[1], err)) < 0)
		goto out;
	if ((v = pj_get_set(root, "backend"))) {
		const char *b = json_is_string(v) ? json_string_value(v) : "";
		if (!strcmp(b, "iptables"))
			c->backend = PM_BACKEND_IPTABLES;
		else if (!strcmp(b, "nftables"))
			c->backend = PM_BACKEND_NFTABLES;
		else {
			r = bad_conf(err, "unknown backend \"%s\": must be iptables or nftables", b,
				     0);
			goto out;
		}
		c->backend_given = true;
	}
	/* backend-specific keys must agree with the backend */
	enum pm_backend cs = conditions_syntax(c->cond[0]);
	if (cs == PM_BACKEND_AUTO)
		cs = conditions_syntax(c->cond[1]);
	if (c->cond[0] && c->cond[1] && conditions_syntax(c->cond[0]) != PM_BACKEND_AUTO &&
	    conditions_syntax(c->cond[1]) != PM_BACKEND_AUTO &&
	    conditions_syntax(c->cond[0]) != conditions_syntax(c->cond[1])) {
		r = bad_conf(err, "conditionsV4 and conditionsV6 use different syntaxes%s", "", 0);
		goto out;
	}
	if (c->backend == PM_BACKEND_NFTABLES && (c->mark_bit_set || c->ext_mark_chain)) {
		r = bad_conf(err, "%s is not supported with the nftables backend",
			     c->mark_bit_set ? "markMasqBit" : "externalSetMarkChain", 0);
		goto out;
	}
	if (c->backend != PM_BACKEND_AUTO && cs != PM_BACKEND_AUTO && cs != c->backend) {
		r = bad_conf(err, "conditions use %s syntax but the backend is not",
			     cs == PM_BACKEND_IPTABLES ? "iptables" : "nftables", 0);
		goto out;
	}
	if (c->backend == PM_BACKEND_AUTO) {
		if (cs != PM_BACKEND_AUTO)
			c->backend = cs;
		else if (c->mark_bit_set || c->ext_mark_chain)
			c->backend = PM_BACKEND_IPTABLES;
	}
	if (cs == PM_BACKEND_NFTABLES && (c->mark_bit_set || c->ext_mark_chain)) {
		r = bad_conf(err, "%s is not supported with nftables conditions",
			     c->mark_bit_set ? "markMasqBit" : "externalSetMarkChain", 0);
		goto out;
	}

	rc = pj_get_set(root, "runtimeConfig");
	if ((v = pj_get_set(rc, "portMappings"))) {
		size_t i;
		json_t *e;
		if (!json_is_array(v)) {
			r = bad_conf(err, "json: cannot unmarshal non-array into field %s",
				     "runtimeConfig.portMappings", 0);
			goto out;
		}
		c->maps = calloc(json_array_size(v) + 1, sizeof(pm_mapping));
		if (!c->maps)
			goto oom;
		json_array_foreach(v, i, e)
		{
			c->n_maps++;
			if ((r = parse_mapping(e, i, &c->maps[i], err)) < 0)
				goto out;
		}
	}
out:
	json_decref(root);
	if (r == -CNI_ERR_NOMEM)
		cni_error_oom(err);
	if (r < 0)
		pm_conf_clear(c);
	return r;
oom:
	r = -CNI_ERR_NOMEM;
	goto out;
}

/* Resolve "auto" as the reference does: iptables unless only nftables works. */
static enum pm_backend resolve_backend(const pm_conf *c)
{
	if (c->backend != PM_BACKEND_AUTO)
		return c->backend;
	if (cni_iptables_usable(AF_INET) || cni_iptables_usable(AF_INET6))
		return PM_BACKEND_IPTABLES;
	if (cni_nftables_usable())
		return PM_BACKEND_NFTABLES;
	return PM_BACKEND_IPTABLES;
}

/*
 * route_localnet on the interface that routes to the container, so that connections
 * from 127.0.0.1 may be DNATed to it: the longest main-table route containing the address.
 */
static int enable_route_localnet(const cni_ipnet *cont, cni_error **err)
{
	cni_nl *nl = NULL;
	cni_route_spec *routes = NULL;
	size_t n = 0;
	int best = -1, best_prefix = -1;
	int r;

	if ((r = cni_nl_open(&nl, NULL, err)) < 0)
		return r;
	if ((r = cni_route_list(nl, AF_INET, 0, 0, &routes, &n, err)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (routes[i].ifindex <= 0 || routes[i].dst.prefix <= best_prefix)
			continue;
		if (cni_ipnet_contains(&routes[i].dst, &cont->ip)) {
			best = routes[i].ifindex;
			best_prefix = routes[i].dst.prefix;
		}
	}
	if (best > 0) {
		cni_link_info li = CNI_LINK_INFO_INIT;
		char name[96];
		if (cni_link_get_by_index(nl, best, &li, NULL) == 0) {
			snprintf(name, sizeof(name), "net/ipv4/conf/%s/route_localnet", li.name);
			r = cni_sysctl_set(name, "1", err);
			if (r < 0)
				PC_PREFIX(err, "unable to enable route_localnet");
		}
	}
out:
	cni_free(routes);
	cni_nl_close(nl);
	return r;
}

static void warn(const char *what, cni_error *e)
{
	fprintf(stderr, "portmap: %s: %s\n", what, e ? cni_error_msg(e) : "failed");
	cni_error_free(e);
}

/*
 * One family's rules, with the backend *be. "auto" is resolve_backend()'s choice, made
 * lazily: an iptables that took the change (one atomic restore) is an iptables that
 * works, so the probe (an exec) runs only when iptables failed, and then picks nftables
 * or returns iptables' error, as deciding first would have.
 */
static int add_family(pm_conf *c, enum pm_backend *be, int family, cni_error **err)
{
	cni_error *e = NULL;
	int r;

	if (*be == PM_BACKEND_NFTABLES)
		return pm_nftables_ops.add(c, family, err);
	if (*be == PM_BACKEND_IPTABLES)
		return pm_iptables_ops.add(c, family, err);
	if ((r = pm_iptables_ops.add(c, family, &e)) == 0) {
		*be = PM_BACKEND_IPTABLES;
		return 0;
	}
	*be = resolve_backend(c);
	if (*be == PM_BACKEND_NFTABLES) {
		cni_error_free(e);
		return pm_nftables_ops.add(c, family, err);
	}
	if (err && !*err)
		*err = e;
	else
		cni_error_free(e);
	return r;
}

/* The config and the prevResult a chained ADD or CHECK needs; missing: the error when
 * there is no prevResult. On failure nothing is held. */
static int load_chained(const cni_cmd_args *a, const char *missing, pm_conf *c,
			cni_result **prev, cni_error **err)
{
	int r;

	*prev = NULL;
	if ((r = pc_prev_result(a->stdin_data, a->stdin_len, prev, err)) < 0)
		return r;
	if ((r = parse_conf(a, c, err)) < 0)
		goto fail;
	if (*prev)
		return 0;
	r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "%s", missing);
	pm_conf_clear(c);
fail:
	cni_result_free(*prev);
	*prev = NULL;
	return r;
}

static int cmd_add(const cni_cmd_args *a, cni_result **result, cni_error **err, void *ud)
{
	cni_result *prev = NULL;
	pm_conf c;
	int r;

	if ((r = load_chained(a, "must be called as chained plugin", &c, &prev, err)) < 0)
		return r;
	if (c.n_maps == 0)
		goto pass;
	pick_addresses(&c, prev, err);
	enum pm_backend be = c.backend;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		if (!c.has_ip[f])
			continue;
		if (c.snat && family == AF_INET && (r = enable_route_localnet(&c.ip[f], err)) < 0)
			goto out;
		if ((r = add_family(&c, &be, family, err)) < 0)
			goto out;
		/* A UDP flow to the host port that was tracked before the rule existed would
		 * keep bypassing it: drop such entries. Failures are only reported. */
		for (size_t i = 0; i < c.n_maps; i++) {
			cni_error *e = NULL;
			if (strcmp(c.maps[i].proto, "udp") != 0)
				continue;
			if (cni_conntrack_delete_dport(family, IPPROTO_UDP,
						       (unsigned int)c.maps[i].host_port, NULL,
						       &e) < 0)
				warn("failed to delete stale UDP conntrack entries", e);
		}
	}
pass:
	*result = prev;
	prev = NULL;
	r = 0;
out:
	pm_conf_clear(&c);
	cni_result_free(prev);
	return r;
}

static int cmd_check(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cni_result *prev = NULL;
	pm_conf c;
	int r;

	if ((r = load_chained(a, "Required prevResult missing", &c, &prev, err)) < 0)
		return r;
	if (c.n_maps == 0)
		goto out;
	pick_addresses(&c, prev, err);
	enum pm_backend be = resolve_backend(&c);
	for (int f = 0; f < 2 && r == 0; f++) {
		int family = f ? AF_INET6 : AF_INET;
		if (!c.has_ip[f])
			continue;
		r = (be == PM_BACKEND_NFTABLES ? &pm_nftables_ops : &pm_iptables_ops)
			->check(&c, family, err);
	}
out:
	pm_conf_clear(&c);
	cni_result_free(prev);
	return r;
}

static int cmd_del(const cni_cmd_args *a, cni_error **err, void *ud)
{
	pm_conf c;
	int r;

	/* DEL needs neither prevResult nor the container's namespace: the rules are found
	 * by network name and container id */
	if ((r = parse_conf(a, &c, err)) < 0)
		return r;
	if (c.n_maps == 0)
		goto out;
	/* auto: either backend may simply not be there, and then no rule of ours is */
	if (c.backend != PM_BACKEND_NFTABLES &&
	    (r = pm_iptables_ops.del(c.name, a->container_id, c.backend == PM_BACKEND_IPTABLES,
				     err)) < 0)
		goto out;
	if (c.backend != PM_BACKEND_IPTABLES)
		r = pm_nftables_ops.del(c.name, a->container_id, c.backend == PM_BACKEND_NFTABLES,
					err);
out:
	pm_conf_clear(&c);
	return r;
}

static int cmd_gc(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cni_conf *conf = NULL;
	int r;

	if ((r = cni_conf_from_bytes(&conf, a->stdin_data, a->stdin_len, err)) < 0)
		return r;
	const char *name = cni_conf_name(conf);
	r = pm_iptables_ops.gc(name ? name : "", conf, err);
	cni_conf_free(conf);
	return r;
}

CNI_PLUGIN_MAIN("CNI portmap plugin libcni-c " LIBCNI_C_VERSION, .add = cmd_add, .check = cmd_check,
		.del = cmd_del, .gc = cmd_gc)
