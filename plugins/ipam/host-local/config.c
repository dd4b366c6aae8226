/* SPDX-License-Identifier: Apache-2.0 */
/* The network config as host-local reads it (allocator/config.go, dns.go semantics). */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host-local.h"
#include "plugin-ipam.h"
#include "plugin-json.h"

#define CFG_ERR CNI_ERR_INVALID_NETWORK_CONFIG

/* net.IP field: "" is absent. */
static int parse_ip_field(const json_t *obj, const char *key, const char *field, cni_ipaddr *out,
			  bool *has, cni_error **err)
{
	json_t *v = pj_get(obj, key);
	const char *s;

	*has = false;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return pj_expected(err, field, "an IP address string", v);
	s = json_string_value(v);
	if (!*s)
		return 0;
	if (cni_ip_parse(s, out) < 0)
		return cni_error_set(err, CFG_ERR, NULL, "invalid IP address: %s", s);
	*has = true;
	return 0;
}

/* types.IPNet field (host bits kept). */
static int parse_ipnet_string(const char *s, cni_ipnet *out, cni_error **err)
{
	if (cni_ipnet_parse(s, out) < 0)
		return cni_error_set(err, CFG_ERR, NULL, "invalid CIDR address: %s", s);
	return 0;
}

/* pkg/ip IP (requested addresses): "addr" or "addr/prefix", prefix ignored. */
static int parse_requested(const json_t *v, const char *field, cni_ipaddr *out, cni_error **err)
{
	const char *s;
	cni_ipnet n;

	if (!json_is_string(v))
		return pj_expected(err, field, "an IP address string", v);
	s = json_string_value(v);
	if (!*s)
		return cni_error_set(err, CFG_ERR, NULL,
				     "cannot understand ip: IP <nil> not v4 nor v6");
	if (cni_ip_or_ipnet_parse(s, &n) < 0)
		return cni_error_set(err, CFG_ERR, NULL, "invalid IP address %s", s);
	*out = n.ip;
	return 0;
}

static int push_requested(hl_config *c, const cni_ipaddr *ip)
{
	cni_ipaddr *n = realloc(c->requested, (c->nrequested + 1) * sizeof(*n));

	if (!n)
		return -CNI_ERR_NOMEM;
	n[c->nrequested++] = *ip;
	c->requested = n;
	return 0;
}

static int parse_requested_array(hl_config *c, const json_t *arr, const char *field,
				 cni_error **err)
{
	size_t i;
	json_t *v;
	int r;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return pj_expected(err, field, "an array", arr);
	json_array_foreach(arr, i, v)
	{
		cni_ipaddr ip;

		r = parse_requested(v, field, &ip, err);
		if (r < 0)
			return r;
		if (push_requested(c, &ip) < 0)
			return cni_error_oom(err);
	}
	return 0;
}

static int parse_range_spec(const json_t *obj, const char *field, hl_range_spec *spec,
			    cni_error **err)
{
	json_t *v;
	int r;

	memset(spec, 0, sizeof(*spec));
	if (!json_is_object(obj))
		return pj_expected(err, field, "an object", obj);
	v = pj_get(obj, "subnet");
	if (v) {
		if (!json_is_string(v))
			return pj_expected(err, "subnet", "a CIDR string", v);
		r = parse_ipnet_string(json_string_value(v), &spec->subnet, err);
		if (r < 0)
			return r;
	}
	r = parse_ip_field(obj, "rangeStart", "rangeStart", &spec->start, &spec->has_start, err);
	if (r < 0)
		return r;
	r = parse_ip_field(obj, "rangeEnd", "rangeEnd", &spec->end, &spec->has_end, err);
	if (r < 0)
		return r;
	return parse_ip_field(obj, "gateway", "gateway", &spec->gateway, &spec->has_gateway, err);
}

/* [[range, ...], ...] appended to specs; set sizes recorded per outer element. */
typedef struct spec_list {
	hl_range_spec **sets;
	size_t *lens;
	size_t n;
} spec_list;

static void spec_list_clear(spec_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->sets[i]);
	free(l->sets);
	free(l->lens);
	memset(l, 0, sizeof(*l));
}

static int spec_list_add(spec_list *l, hl_range_spec *set, size_t len)
{
	hl_range_spec **s = realloc(l->sets, (l->n + 1) * sizeof(*s));
	size_t *ls;

	if (!s)
		return -CNI_ERR_NOMEM;
	l->sets = s;
	ls = realloc(l->lens, (l->n + 1) * sizeof(*ls));
	if (!ls)
		return -CNI_ERR_NOMEM;
	l->lens = ls;
	l->sets[l->n] = set;
	l->lens[l->n] = len;
	l->n++;
	return 0;
}

static int parse_rangesets(const json_t *arr, const char *field, spec_list *l, cni_error **err)
{
	size_t i, j;
	json_t *set, *v;
	int r;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return pj_expected(err, field, "an array of range sets", arr);
	json_array_foreach(arr, i, set)
	{
		hl_range_spec *specs;
		size_t n;

		if (json_is_null(set)) {
			n = 0;
		} else if (!json_is_array(set)) {
			return pj_expected(err, field, "an array of range sets", set);
		} else {
			n = json_array_size(set);
		}
		specs = calloc(n ? n : 1, sizeof(*specs));
		if (!specs)
			return cni_error_oom(err);
		for (j = 0; j < n; j++) {
			v = json_array_get(set, j);
			r = parse_range_spec(v, field, &specs[j], err);
			if (r < 0) {
				free(specs);
				return r;
			}
		}
		if (spec_list_add(l, specs, n) < 0) {
			free(specs);
			return cni_error_oom(err);
		}
	}
	return 0;
}

static int get_int(const json_t *obj, const char *key, int *out, bool *has, cni_error **err)
{
	json_t *v = pj_get(obj, key);

	if (has)
		*has = false;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
	    json_integer_value(v) > INT32_MAX)
		return cni_error_set(err, CFG_ERR, NULL, "routes: %s must be an integer", key);
	*out = (int)json_integer_value(v);
	if (has)
		*has = true;
	return 0;
}

static int parse_routes(hl_config *c, const json_t *arr, cni_error **err)
{
	size_t i;
	json_t *v;
	int r;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return pj_expected(err, "ipam.routes", "an array", arr);
	c->routes = calloc(json_array_size(arr) + 1, sizeof(*c->routes));
	if (!c->routes)
		return cni_error_oom(err);
	json_array_foreach(arr, i, v)
	{
		hl_route *rt = &c->routes[c->nroutes++];
		json_t *dst, *gw;
		cni_ipnet n;
		cni_ipaddr ip;

		if (!json_is_object(v))
			return pj_expected(err, "ipam.routes", "an array of objects", v);
		dst = pj_get(v, "dst");
		if (dst && !json_is_string(dst))
			return pj_expected(err, "routes: dst", "a CIDR string", dst);
		if (!dst || cni_ipnet_parse(json_string_value(dst), &n) < 0)
			return cni_error_set(err, CFG_ERR, NULL, "invalid CIDR address: %s",
					     dst ? json_string_value(dst) : "");
		rt->dst = strdup(json_string_value(dst));
		gw = pj_get(v, "gw");
		if (gw) {
			if (!json_is_string(gw))
				return pj_expected(err, "routes: gw", "an IP address string", gw);
			if (*json_string_value(gw)) {
				if (cni_ip_parse(json_string_value(gw), &ip) < 0)
					return cni_error_set(err, CFG_ERR, NULL,
							     "invalid IP address: %s",
							     json_string_value(gw));
				rt->gw = strdup(json_string_value(gw));
				if (!rt->gw)
					return cni_error_oom(err);
			}
		}
		if (!rt->dst)
			return cni_error_oom(err);
		if ((r = get_int(v, "mtu", &rt->mtu, NULL, err)) < 0 ||
		    (r = get_int(v, "advmss", &rt->advmss, NULL, err)) < 0 ||
		    (r = get_int(v, "priority", &rt->priority, NULL, err)) < 0 ||
		    (r = get_int(v, "table", &rt->table, &rt->has_table, err)) < 0 ||
		    (r = get_int(v, "scope", &rt->scope, &rt->has_scope, err)) < 0)
			return r;
	}
	return 0;
}

static int get_string(const json_t *obj, const char *key, const char *field, char **out,
		      cni_error **err)
{
	json_t *v = pj_get(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return pj_expected(err, field, "a string", v);
	*out = strdup(json_string_value(v));
	if (!*out)
		return cni_error_oom(err);
	return 0;
}

static int parse_env_args(hl_config *c, const char *env, cni_error **err)
{
	static const char *const known[] = {"IP", NULL};
	_cleanup_(pc_args_freep) cni_args *args = NULL;
	const char *v;
	cni_ipnet n;
	int r;

	if (!env || !*env)
		return 0;
	r = cni_args_parse(&args, env, err);
	if (r < 0)
		return r;
	r = cni_args_check_known(args, known, err);
	if (r < 0)
		return r;
	v = cni_args_get(args, "IP");
	if (!v || !*v)
		return 0;
	if (cni_ip_or_ipnet_parse(v, &n) < 0)
		return cni_error_set(
		    err, CNI_ERR_INTERNAL, NULL,
		    "ARGS: error parsing value of pair \"IP=%s\": invalid IP address %s", v, v);
	if (push_requested(c, &n.ip) < 0)
		return cni_error_oom(err);
	return 0;
}

void hl_config_free(hl_config *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->cni_version);
	free(c->data_dir);
	free(c->resolv_conf);
	for (size_t i = 0; i < c->nsets; i++)
		hl_rangeset_clear(&c->sets[i]);
	free(c->sets);
	free(c->requested);
	for (size_t i = 0; i < c->nroutes; i++) {
		free(c->routes[i].dst);
		free(c->routes[i].gw);
	}
	free(c->routes);
	free(c);
}


static void spec_list_clearp(spec_list *l)
{
	spec_list_clear(l);
}

int hl_config_parse(const char *data, size_t len, const char *env_args, hl_config **out,
		    cni_error **err)
{
	_cleanup_(pc_json_decrefp) json_t *root = NULL;
	_cleanup_(config_freep) hl_config *c = NULL;
	_cleanup_(spec_list_clearp) spec_list specs = {0};
	json_t *ipam, *rc, *args, *a, *v;
	json_error_t jerr;
	size_t nv4 = 0, nv6 = 0;
	int r;

	root = json_loadb(data, len, JSON_DECODE_ANY, &jerr);
	if (!root)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "error parsing network config: %s", jerr.text);
	if (!json_is_object(root))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "error parsing network config: not a JSON object");
	c = calloc(1, sizeof(*c));
	if (!c)
		return cni_error_oom(err);

	if ((r = get_string(root, "name", "name", &c->name, err)) < 0 ||
	    (r = get_string(root, "cniVersion", "cniVersion", &c->cni_version, err)) < 0)
		return r;
	if (!c->cni_version && !(c->cni_version = strdup("")))
		return cni_error_oom(err);

	ipam = pj_get(root, "ipam");
	if (ipam && !json_is_object(ipam))
		return pj_expected(err, "ipam", "an object", ipam);
	rc = pj_get(root, "runtimeConfig");
	if (rc && !json_is_object(rc))
		return pj_expected(err, "runtimeConfig", "an object", rc);
	args = pj_get(root, "args");
	if (args && !json_is_object(args))
		return pj_expected(err, "args", "an object", args);

	/* the decoding pass: every field's syntax, in the reference's struct order */
	if (ipam) {
		hl_range_spec legacy;

		r = parse_range_spec(ipam, "ipam", &legacy, err);
		if (r < 0)
			return r;
		if ((r = parse_routes(c, pj_get(ipam, "routes"), err)) < 0 ||
		    (r = get_string(ipam, "dataDir", "ipam.dataDir", &c->data_dir, err)) < 0 ||
		    (r = get_string(ipam, "resolvConf", "ipam.resolvConf", &c->resolv_conf, err)) <
			0)
			return r;
		v = pj_get(ipam, "releaseOnReboot");
		if (v && !json_is_boolean(v))
			return pj_expected(err, "ipam.releaseOnReboot", "a boolean", v);
		c->release_on_reboot = v && json_is_true(v);

		/* runtime ranges first, then the legacy range, then ipam.ranges */
		if (rc && (r = parse_rangesets(pj_get(rc, "ipRanges"), "runtimeConfig.ipRanges",
					       &specs, err)) < 0)
			return r;
		if (legacy.subnet.ip.family) {
			hl_range_spec *one = malloc(sizeof(*one));

			if (!one || spec_list_add(&specs, one, 1) < 0) {
				free(one);
				return cni_error_oom(err);
			}
			*one = legacy;
		}
		if ((r = parse_rangesets(pj_get(ipam, "ranges"), "ipam.ranges", &specs, err)) < 0)
			return r;
	}
	if (!ipam)
		return cni_error_set(err, CFG_ERR, NULL, "IPAM config missing 'ipam' key");

	/* requested addresses: CNI_ARGS IP=, then args.cni.ips, then runtimeConfig.ips */
	r = parse_env_args(c, env_args, err);
	if (r < 0)
		return r;
	a = args ? pj_get(args, "cni") : NULL;
	if (a && !json_is_object(a))
		return pj_expected(err, "args.cni", "an object", a);
	if (a && (r = parse_requested_array(c, pj_get(a, "ips"), "args.cni.ips", err)) < 0)
		return r;
	if (rc && (r = parse_requested_array(c, pj_get(rc, "ips"), "runtimeConfig.ips", err)) < 0)
		return r;

	if (!c->data_dir || !*c->data_dir) {
		free(c->data_dir);
		c->data_dir = strdup(HL_DEFAULT_DATA_DIR);
		if (!c->data_dir)
			return cni_error_oom(err);
	}
	if (c->resolv_conf && !*c->resolv_conf) {
		free(c->resolv_conf);
		c->resolv_conf = NULL;
	}

	if (specs.n == 0)
		return cni_error_set(err, CFG_ERR, NULL, "no IP ranges specified");
	c->sets = calloc(specs.n, sizeof(*c->sets));
	if (!c->sets)
		return cni_error_oom(err);
	for (size_t i = 0; i < specs.n; i++) {
		hl_rangeset *set = &c->sets[i];
		_cleanup_(pc_error_freep) cni_error *e = NULL;

		c->nsets++;
		set->ranges = calloc(specs.lens[i] ? specs.lens[i] : 1, sizeof(*set->ranges));
		if (!set->ranges)
			return cni_error_oom(err);
		set->n = specs.lens[i];
		for (size_t j = 0; j < set->n && !e; j++)
			hl_range_canonicalize(&specs.sets[i][j], &set->ranges[j], &e);
		if (!e)
			hl_rangeset_check(set, &e);
		if (e)
			return cni_error_set(err, cni_error_code(e), NULL,
					     "invalid range set %zu: %s", i, cni_error_msg(e));
		if (hl_rangeset_family(set) == AF_INET)
			nv4++;
		else
			nv6++;
	}
	r = pc_ipam_check_families(c->cni_version, nv4, nv6, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i + 1 < c->nsets; i++)
		for (size_t j = i + 1; j < c->nsets; j++)
			if (hl_rangeset_overlaps(&c->sets[i], &c->sets[j]))
				return cni_error_set(err, CFG_ERR, NULL,
						     "range set %zu overlaps with %zu", i, j);

	*out = c;
	c = NULL;
	return 0;
}

/* ---- resolv.conf ------------------------------------------------------------------ */

static int strv_add(char ***v, const char *s)
{
	size_t n = 0;
	char **nv;

	while (*v && (*v)[n])
		n++;
	nv = realloc(*v, (n + 2) * sizeof(*nv));
	if (!nv)
		return -1;
	*v = nv;
	nv[n] = strdup(s);
	nv[n + 1] = NULL;
	return nv[n] ? 0 : -1;
}

void hl_dns_clear(hl_dns *d)
{
	cni_strv_free(d->nameservers);
	cni_strv_free(d->search);
	cni_strv_free(d->options);
	free(d->domain);
	memset(d, 0, sizeof(*d));
}

int hl_dns_parse_file(const char *path, hl_dns *out, cni_error **err)
{
	_cleanup_(pc_freep) char *line = NULL;
	size_t cap = 0;
	hl_dns d = {0};
	FILE *f;
	ssize_t n;
	bool oom = false;

	f = fopen(path, "re");
	if (!f)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "open %s: %s", path,
				     strerror(errno));
	while ((n = getline(&line, &cap, f)) >= 0 && !oom) {
		char *fields[64], *save = NULL, *tok;
		size_t nf = 0;

		for (tok = strtok_r(line, " \t\r\n\v\f", &save); tok && nf < 64;
		     tok = strtok_r(NULL, " \t\r\n\v\f", &save))
			fields[nf++] = tok;
		if (nf < 2 || fields[0][0] == '#' || fields[0][0] == ';')
			continue;
		if (strcmp(fields[0], "nameserver") == 0) {
			oom |= strv_add(&d.nameservers, fields[1]) < 0;
		} else if (strcmp(fields[0], "domain") == 0) {
			free(d.domain);
			d.domain = strdup(fields[1]);
			oom |= !d.domain;
		} else if (strcmp(fields[0], "search") == 0) {
			for (size_t i = 1; i < nf; i++)
				oom |= strv_add(&d.search, fields[i]) < 0;
		} else if (strcmp(fields[0], "options") == 0) {
			for (size_t i = 1; i < nf; i++)
				oom |= strv_add(&d.options, fields[i]) < 0;
		}
	}
	fclose(f);
	if (oom) {
		hl_dns_clear(&d);
		return cni_error_oom(err);
	}
	*out = d;
	return 0;
}
