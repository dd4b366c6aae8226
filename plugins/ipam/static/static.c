/* SPDX-License-Identifier: Apache-2.0 */
/*
 * static IPAM: hands out exactly the addresses, routes and DNS settings it is given.
 *
 * Addresses come from ipam.addresses, then CNI_ARGS IP= (appended, with GATEWAY= matched
 * to the IP= networks that contain it), then args.cni.ips (replaces), then
 * runtimeConfig.ips (replaces). Nothing is allocated, so DEL, GC and STATUS have nothing to
 * do. Messages are the reference plugin's where it has one.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cni/cni.h>

#include "plugin-cleanup.h"
#include "plugin-ipam.h"
#include "plugin-json.h"

static bool isempty_str(const char *s)
{
	return !s || !*s;
}

struct address {
	/* text as configured; ipam.addresses entries are parsed only once the final list
	 * is known, as the reference does, so one replaced by args/runtimeConfig is never
	 * validated */
	const char *text;
	char *owned; /* text when it came from CNI_ARGS */
	bool parsed;
	cni_ipnet net;
	bool has_gw;
	cni_ipaddr gw;
};

struct route {
	cni_ipnet dst;
	bool has_gw;
	cni_ipaddr gw;
	cni_route extra; /* 1.1.0 fields */
};

struct static_conf {
	json_t *root; /* owns the borrowed strings below */
	const char *cni_version;
	struct address *addrs;
	size_t n_addrs;
	struct route *routes;
	size_t n_routes;
	const char **nameservers, **search, **options;
	const char *domain;
};

static void static_conf_free(struct static_conf *c)
{
	for (size_t i = 0; i < c->n_addrs; i++)
		free(c->addrs[i].owned);
	free(c->addrs);
	free(c->routes);
	free(c->nameservers);
	free(c->search);
	free(c->options);
	json_decref(c->root);
	memset(c, 0, sizeof(*c));
}

static int oom(cni_error **err)
{
	return cni_error_oom(err);
}

/* String member or NULL; fails when present with another type. */
static int get_string(const json_t *obj, const char *path, const char *key, const char **out,
		      cni_error **err)
{
	json_t *v = pj_get_first(obj, key);
	char p[256];

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		snprintf(p, sizeof(p), "%s%s", path, key);
		return pj_expected_value(err, p, "a string", v);
	}
	*out = json_string_value(v);
	return 0;
}

static int get_typed(const json_t *obj, const char *path, const char *key, json_type type,
		     json_t **out, cni_error **err)
{
	json_t *v = pj_get_first(obj, key);
	char p[256];

	*out = NULL;
	if (!v)
		return 0;
	if (json_typeof(v) != type) {
		snprintf(p, sizeof(p), "%s%s", path, key);
		return pj_expected_value(err, p, type == JSON_OBJECT ? "an object" : "an array", v);
	}
	*out = v;
	return 0;
}

/* Entry i of the array at path is of type t (or null, when null_ok): 0, else the error
 * naming the entry. */
static int check_entry(const char *path, size_t i, const json_t *v, json_type t, bool null_ok,
		       cni_error **err)
{
	char p[96];

	if (json_typeof(v) == t || (null_ok && json_is_null(v)))
		return 0;
	snprintf(p, sizeof(p), "%s[%zu]", path, i);
	return pj_expected_value(err, p, t == JSON_OBJECT ? "an object" : "a string", v);
}

/* A []string: new NULL-terminated array of borrowed strings, NULL when absent or empty
 * (the result omits empty lists, as Go's omitempty does). */
static int get_strv(const json_t *obj, const char *path, const char *key, const char ***out,
		    cni_error **err)
{
	json_t *arr, *v;
	const char **strv;
	size_t i, n = 0;
	char p[256];
	int r;

	*out = NULL;
	r = get_typed(obj, path, key, JSON_ARRAY, &arr, err);
	if (r < 0 || !arr || json_array_size(arr) == 0)
		return r;
	strv = calloc(json_array_size(arr) + 1, sizeof(*strv));
	if (!strv)
		return oom(err);
	json_array_foreach(arr, i, v)
	{
		if (json_is_null(v))
			continue; /* Go leaves "" for null; an empty entry is of no use */
		if (!json_is_string(v)) {
			free(strv);
			snprintf(p, sizeof(p), "%s%s[%zu]", path, key, i);
			return pj_expected_value(err, p, "a string", v);
		}
		strv[n++] = json_string_value(v);
	}
	if (n == 0) {
		free(strv);
		return 0;
	}
	*out = strv;
	return 0;
}

/* An IP as net.IP's text decoding takes it: "" means none. */
static int get_ip(const json_t *obj, const char *path, const char *key, bool *has, cni_ipaddr *out,
		  cni_error **err)
{
	const char *s;
	int r = get_string(obj, path, key, &s, err);

	*has = false;
	if (r < 0 || !s || !*s)
		return r;
	if (cni_ip_parse(s, out) < 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "invalid IP address: %s", s);
	*has = true;
	return 0;
}

static int get_int(const json_t *obj, const char *path, const char *key, bool *has, int *out,
		   cni_error **err)
{
	json_t *v = pj_get_first(obj, key);
	char p[256];

	*has = false;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
	    json_integer_value(v) > INT32_MAX) {
		snprintf(p, sizeof(p), "%s%s", path, key);
		return pj_expected_value(err, p, "an integer", v);
	}
	*has = true;
	*out = (int)json_integer_value(v);
	return 0;
}

static int add_address(struct static_conf *c, const char *text, char *owned, cni_error **err)
{
	struct address *a = realloc(c->addrs, (c->n_addrs + 1) * sizeof(*a));

	if (!a) {
		free(owned);
		return oom(err);
	}
	c->addrs = a;
	c->addrs[c->n_addrs++] = (struct address){.text = owned ? owned : text, .owned = owned};
	return 0;
}

static void clear_addresses(struct static_conf *c)
{
	for (size_t i = 0; i < c->n_addrs; i++)
		free(c->addrs[i].owned);
	c->n_addrs = 0;
}

static int parse_address(struct address *a, cni_error **err)
{
	if (a->parsed)
		return 0;
	if (cni_ipnet_parse(a->text, &a->net) < 0)
		return cni_error_set(
		    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
		    "the 'address' field is expected to be in CIDR notation, got: '%s'", a->text);
	a->parsed = true;
	return 0;
}

static int load_routes(struct static_conf *c, const json_t *ipam, cni_error **err)
{
	json_t *arr, *v;
	size_t i;
	int r;

	r = get_typed(ipam, "ipam.", "routes", JSON_ARRAY, &arr, err);
	if (r < 0 || !arr || json_array_size(arr) == 0)
		return r;
	c->routes = calloc(json_array_size(arr), sizeof(*c->routes));
	if (!c->routes)
		return oom(err);
	json_array_foreach(arr, i, v)
	{
		struct route *rt = &c->routes[c->n_routes];
		const char *dst;
		char path[64];
		bool has;

		r = check_entry("ipam.routes", i, v, JSON_OBJECT, false, err);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "ipam.routes[%zu].", i);
		r = get_string(v, path, "dst", &dst, err);
		if (r < 0)
			return r;
		/* the reference would print "<nil>" for a route without dst */
		if (!dst)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "%sdst: missing", path);
		if (cni_ipnet_parse(dst, &rt->dst) < 0)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "invalid CIDR address: %s", dst);
		r = get_ip(v, path, "gw", &rt->has_gw, &rt->gw, err);
		if (r < 0)
			return r;
		rt->extra = (cni_route)CNI_ROUTE_INIT;
		if ((r = get_int(v, path, "mtu", &has, &rt->extra.mtu, err)) < 0 ||
		    (r = get_int(v, path, "advmss", &has, &rt->extra.advmss, err)) < 0 ||
		    (r = get_int(v, path, "priority", &has, &rt->extra.priority, err)) < 0 ||
		    (r = get_int(v, path, "table", &rt->extra.has_table, &rt->extra.table, err)) <
			0 ||
		    (r = get_int(v, path, "scope", &rt->extra.has_scope, &rt->extra.scope, err)) <
			0)
			return r;
		c->n_routes++;
	}
	return 0;
}

/* ipam.addresses: entries keep their text; gateways are decoded now, as JSON decoding does. */
static int load_addresses(struct static_conf *c, const json_t *ipam, cni_error **err)
{
	json_t *arr, *v;
	size_t i;
	int r;

	r = get_typed(ipam, "ipam.", "addresses", JSON_ARRAY, &arr, err);
	if (r < 0 || !arr)
		return r;
	json_array_foreach(arr, i, v)
	{
		const char *text = NULL;
		char path[64];
		bool has_gw = false;
		cni_ipaddr gw;

		r = check_entry("ipam.addresses", i, v, JSON_OBJECT, true, err);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "ipam.addresses[%zu].", i);
		if (json_is_object(v)) {
			r = get_string(v, path, "address", &text, err);
			if (r < 0)
				return r;
			r = get_ip(v, path, "gateway", &has_gw, &gw, err);
			if (r < 0)
				return r;
		}
		/* a missing address fails later as the empty string, like the reference */
		r = add_address(c, text ? text : "", NULL, err);
		if (r < 0)
			return r;
		c->addrs[c->n_addrs - 1].has_gw = has_gw;
		if (has_gw)
			c->addrs[c->n_addrs - 1].gw = gw;
	}
	return 0;
}

static int load_dns(struct static_conf *c, const json_t *ipam, cni_error **err)
{
	json_t *dns;
	int r;

	r = get_typed(ipam, "ipam.", "dns", JSON_OBJECT, &dns, err);
	if (r < 0 || !dns)
		return r;
	if ((r = get_strv(dns, "ipam.dns.", "nameservers", &c->nameservers, err)) < 0 ||
	    (r = get_string(dns, "ipam.dns.", "domain", &c->domain, err)) < 0 ||
	    (r = get_strv(dns, "ipam.dns.", "search", &c->search, err)) < 0 ||
	    (r = get_strv(dns, "ipam.dns.", "options", &c->options, err)) < 0)
		return r;
	return 0;
}

static char *trim_space(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* CNI_ARGS IP=cidr[,cidr] (appended) and GATEWAY=ip[,ip]. */
static int load_cni_args(struct static_conf *c, const char *env, cni_error **err)
{
	static const char *const known[] = {"IP", "GATEWAY", NULL};
	cni_args *args = NULL;
	const char *ip, *gateway;
	size_t first = c->n_addrs;
	int r;

	r = cni_args_parse(&args, env, err);
	if (r < 0)
		return r;
	r = cni_args_check_known(args, known, err);
	if (r < 0)
		goto out;

	ip = cni_args_get(args, "IP");
	if (!isempty_str(ip)) {
		_cleanup_free_ char *copy = strdup(ip);
		char *item;
		if (!copy) {
			r = oom(err);
			goto out;
		}
		/* strsep, not strtok: empty items must fail as the reference's do */
		for (char *p = copy; (item = strsep(&p, ",")) != NULL;) {
			char *t = strdup(trim_space(item));
			if (!t) {
				r = oom(err);
				goto out;
			}
			r = add_address(c, NULL, t, err);
			if (r < 0)
				goto out;
			r = cni_ipnet_parse(t, &c->addrs[c->n_addrs - 1].net);
			if (r < 0) {
				r = cni_error_set(
				    err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				    "the 'ip' field is expected to be in CIDR notation, got: '%s'",
				    t);
				goto out;
			}
			c->addrs[c->n_addrs - 1].parsed = true;
		}
	}

	gateway = cni_args_get(args, "GATEWAY");
	if (!isempty_str(gateway)) {
		_cleanup_free_ char *copy = strdup(gateway);
		char *item;
		if (!copy) {
			r = oom(err);
			goto out;
		}
		for (char *p = copy; (item = strsep(&p, ",")) != NULL;) {
			_cleanup_free_ char *raw = strdup(item);
			cni_ipaddr gw;
			if (!raw) {
				r = oom(err);
				goto out;
			}
			if (cni_ip_parse(trim_space(item), &gw) < 0) {
				r = cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
						  "invalid gateway address: %s", raw);
				goto out;
			}
			/* only IP= networks are known at this point (config entries are
			 * parsed later), so only they can take a GATEWAY= */
			for (size_t i = first; i < c->n_addrs; i++) {
				if (cni_ipnet_contains(&c->addrs[i].net, &gw)) {
					c->addrs[i].has_gw = true;
					c->addrs[i].gw = gw;
				}
			}
		}
	}
	r = 0;
out:
	cni_args_free(args);
	return r;
}

/* args.cni.ips / runtimeConfig.ips: a non-empty list replaces every address so far. */
static int load_ip_list(struct static_conf *c, const json_t *obj, const char *path, cni_error **err)
{
	json_t *arr, *v;
	char p[64];
	size_t i;
	int r;

	r = get_typed(obj, path, "ips", JSON_ARRAY, &arr, err);
	if (r < 0 || !arr || json_array_size(arr) == 0)
		return r;
	snprintf(p, sizeof(p), "%sips", path);
	json_array_foreach(arr, i, v)
	{
		r = check_entry(p, i, v, JSON_STRING, true, err);
		if (r < 0)
			return r;
	}
	clear_addresses(c);
	json_array_foreach(arr, i, v)
	{
		struct address *a;
		r = add_address(c, json_is_string(v) ? json_string_value(v) : "", NULL, err);
		if (r < 0)
			return r;
		/* parsed now, so an invalid entry fails even when a later list replaces it */
		a = &c->addrs[c->n_addrs - 1];
		if (cni_ipnet_parse(a->text, &a->net) < 0)
			return cni_error_set(
			    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			    "an entry in the 'ips' field is NOT in CIDR notation, got: '%s'",
			    a->text);
		a->parsed = true;
	}
	return 0;
}

static int load_conf(struct static_conf *c, const cni_cmd_args *args, cni_error **err)
{
	json_error_t jerr;
	json_t *ipam, *rc, *a, *acni;
	const char *unused;
	size_t n4 = 0, n6 = 0;
	int r;

	memset(c, 0, sizeof(*c));
	c->root = json_loadb(args->stdin_data, args->stdin_len, JSON_DECODE_ANY, &jerr);
	if (!c->root || !json_is_object(c->root))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "error unmarshall network config: %s",
				     c->root ? "not a JSON object" : jerr.text);

	if ((r = get_string(c->root, "", "cniVersion", &c->cni_version, err)) < 0 ||
	    (r = get_string(c->root, "", "name", &unused, err)) < 0 ||
	    (r = get_typed(c->root, "", "ipam", JSON_OBJECT, &ipam, err)) < 0 ||
	    (r = get_typed(c->root, "", "runtimeConfig", JSON_OBJECT, &rc, err)) < 0 ||
	    (r = get_typed(c->root, "", "args", JSON_OBJECT, &a, err)) < 0)
		return r;
	if (!c->cni_version)
		c->cni_version = "";
	acni = NULL;
	if (a && (r = get_typed(a, "args.", "cni", JSON_OBJECT, &acni, err)) < 0)
		return r;

	if (!ipam)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "IPAM config missing 'ipam' key");
	if ((r = get_string(ipam, "ipam.", "type", &unused, err)) < 0 ||
	    (r = get_string(ipam, "ipam.", "name", &unused, err)) < 0 ||
	    (r = load_addresses(c, ipam, err)) < 0 || (r = load_routes(c, ipam, err)) < 0 ||
	    (r = load_dns(c, ipam, err)) < 0)
		return r;

	if (!isempty_str(args->args) && (r = load_cni_args(c, args->args, err)) < 0)
		return r;
	if (acni && (r = load_ip_list(c, acni, "args.cni.", err)) < 0)
		return r;
	/* the runtime only passes runtimeConfig.ips to a plugin declaring the "ips"
	 * capability; like the reference, the plugin takes whatever it is given */
	if (rc && (r = load_ip_list(c, rc, "runtimeConfig.", err)) < 0)
		return r;

	for (size_t i = 0; i < c->n_addrs; i++) {
		r = parse_address(&c->addrs[i], err);
		if (r < 0)
			return r;
		if (c->addrs[i].net.ip.family == AF_INET)
			n4++;
		else
			n6++;
	}
	return pc_ipam_check_families(c->cni_version, n4, n6, err);
}

static int cmd_add(const cni_cmd_args *args, cni_result **out, cni_error **err, void *userdata)
{
	struct static_conf c;
	cni_result *res = NULL;
	cni_dns dns = CNI_DNS_INIT;
	int r;

	(void)userdata;
	r = load_conf(&c, args, err);
	if (r < 0)
		goto out;
	r = cni_result_new(&res, cni_version_current(), err);
	if (r < 0)
		goto out;

	for (size_t i = 0; i < c.n_addrs; i++) {
		char addr[CNI_IPNET_STRLEN], gw[CNI_IP_STRLEN];
		cni_ip ip = CNI_IP_INIT;
		ip.address = cni_ipnet_format(&c.addrs[i].net, addr, sizeof(addr));
		if (c.addrs[i].has_gw)
			ip.gateway = cni_ip_format(&c.addrs[i].gw, gw, sizeof(gw));
		r = cni_result_add_ip(res, &ip, err);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < c.n_routes; i++) {
		char dst[CNI_IPNET_STRLEN], gw[CNI_IP_STRLEN];
		cni_route rt = CNI_ROUTE_INIT;
		/* mtu/advmss/priority/table/scope exist from spec 1.1.0 on; older results
		 * cannot carry them */
		if (cni_version_ge(c.cni_version, "1.1.0"))
			rt = c.routes[i].extra;
		rt.dst = cni_ipnet_format(&c.routes[i].dst, dst, sizeof(dst));
		if (c.routes[i].has_gw)
			rt.gw = cni_ip_format(&c.routes[i].gw, gw, sizeof(gw));
		r = cni_result_add_route(res, &rt, err);
		if (r < 0)
			goto out;
	}
	dns.nameservers = c.nameservers;
	dns.domain = c.domain && *c.domain ? c.domain : NULL;
	dns.search = c.search;
	dns.options = c.options;
	r = cni_result_set_dns(res, &dns, err);
	if (r < 0)
		goto out;

	*out = res;
	res = NULL;
out:
	cni_result_free(res);
	static_conf_free(&c);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *userdata)
{
	struct static_conf c;
	cni_conf *conf = NULL;
	cni_result *prev = NULL;
	int r;

	(void)userdata;
	r = load_conf(&c, args, err);
	if (r < 0)
		goto out;
	r = cni_conf_from_bytes(&conf, args->stdin_data, args->stdin_len, err);
	if (r < 0)
		goto out;
	r = cni_conf_prev_result(conf, &prev, err);
	if (r < 0)
		goto out;
	if (!prev) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "Required prevResult missing");
		goto out;
	}

	/* each configured address found in prevResult must carry the configured gateway */
	for (size_t i = 0; i < c.n_addrs; i++) {
		const struct address *want = &c.addrs[i];
		for (size_t j = 0; j < cni_result_ip_count(prev); j++) {
			cni_ip ip = CNI_IP_INIT;
			cni_ipnet got;
			cni_ipaddr got_gw;
			char buf[CNI_IP_STRLEN];

			if (cni_result_get_ip(prev, j, &ip) < 0 ||
			    cni_ipnet_parse(ip.address, &got) < 0 ||
			    !cni_ip_equal(&got.ip, &want->net.ip))
				continue;
			if (!want->has_gw)
				break;
			if (ip.gateway && cni_ip_parse(ip.gateway, &got_gw) == 0 &&
			    cni_ip_equal(&got_gw, &want->gw))
				break;
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					  "static: Failed to match addr %s on interface %s",
					  cni_ip_format(&got.ip, buf, sizeof(buf)), args->ifname);
			goto out;
		}
	}
	r = 0;
out:
	cni_result_free(prev);
	cni_conf_free(conf);
	static_conf_free(&c);
	return r;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *userdata)
{
	/* nothing was allocated, so there is nothing to release */
	(void)args;
	(void)err;
	(void)userdata;
	return 0;
}

/* GC and STATUS stay NULL: skel answers success, there is no state to collect */
CNI_PLUGIN_MAIN("CNI static plugin " LIBCNI_C_VERSION, .add = cmd_add, .check = cmd_check,
		.del = cmd_del)
