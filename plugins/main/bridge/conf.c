/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bridge config: decoded as the reference's encoding/json does (member names match
 * case-insensitively, the last duplicate wins, null leaves the default), then checked.
 * Type mistakes are decoding failures (6) and bad values invalid config (7), each naming
 * the key and the value.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "plugin-json.h"

static const pj_go GO = {.what = "failed to load netconf", .type = ""};

/* Go's int: integral JSON numbers only (1.0 is fine, 1.5 is not). */
static int get_int(json_t *o, const char *key, const char *field, bool *present, int *out,
		   cni_error **err)
{
	json_t *v = pj_get(o, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < -2147483647 - 1 || i > 2147483647)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "invalid %s %lld: out of range", key, (long long)i);
		*out = (int)i;
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d != floor(d))
			return pj_go_number_error(err, &GO, d, field, "int");
		if (d < -2147483648.0 || d > 2147483647.0)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "invalid %s %g: out of range", key, d);
		*out = (int)d;
		return 0;
	}
	return pj_go_type_error(err, &GO, v, field, "int");
}

static int get_strv(json_t *o, const char *key, const char *field, const char ***out,
		    cni_error **err)
{
	json_t *v = pj_get(o, key), *e;
	size_t i;
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return pj_go_type_error(err, &GO, v, field, "[]string");
	const char **a = calloc(json_array_size(v) + 1, sizeof(*a));
	if (!a)
		return cni_error_oom(err);
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e)) {
			free(a);
			return pj_go_type_error(err, &GO, e, field, "string");
		}
		a[i] = json_string_value(e);
	}
	*out = a;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* vlanTrunk: [{"id": n} | {"minID": a, "maxID": b}], ids 1..4094, merged and sorted. */
static int load_trunk(struct br_conf *c, json_t *arr, cni_error **err)
{
	char seen[BR_VLAN_MAX + 1];
	json_t *item;
	size_t i, n = 0;
	if (!json_is_array(arr))
		return pj_go_type_error(err, &GO, arr, "NetConf.vlanTrunk", "[]*main.VlanTrunk");
	memset(seen, 0, sizeof(seen));
	json_array_foreach(arr, i, item)
	{
		int min = 0, max = 0, id = 0;
		bool has_min, has_max, has_id;
		int r;
		if (!json_is_object(item))
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "invalid vlanTrunk[%zu]: must be an object with id or "
					     "minID and maxID",
					     i);
		if ((r = get_int(item, "minID", "VlanTrunk.minID", &has_min, &min, err)) < 0 ||
		    (r = get_int(item, "maxID", "VlanTrunk.maxID", &has_max, &max, err)) < 0 ||
		    (r = get_int(item, "id", "VlanTrunk.id", &has_id, &id, err)) < 0)
			return r;
		if (has_min && has_max) {
			if (min <= 0 || min > BR_VLAN_MAX)
				return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
						     "incorrect trunk minID parameter: %d (must be "
						     "between 1 and 4094)",
						     min);
			if (max <= 0 || max > BR_VLAN_MAX)
				return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
						     "incorrect trunk maxID parameter: %d (must be "
						     "between 1 and 4094)",
						     max);
			if (max < min)
				return cni_error_set(
				    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				    "minID is greater than maxID in trunk parameter "
				    "(%d > %d)",
				    min, max);
			for (int v = min; v <= max; v++)
				seen[v] = 1;
		} else if (has_max) {
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "minID and maxID should be configured simultaneously, "
					     "minID is missing");
		} else if (has_min) {
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "minID and maxID should be configured simultaneously, "
					     "maxID is missing");
		}
		if (has_id) {
			if (id <= 0 || id > BR_VLAN_MAX)
				return cni_error_set(
				    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				    "incorrect trunk id parameter: %d (must be between "
				    "1 and 4094)",
				    id);
			seen[id] = 1;
		}
	}
	for (int v = 1; v <= BR_VLAN_MAX; v++)
		n += seen[v];
	if (n == 0)
		return 0;
	c->trunk = calloc(n, sizeof(int));
	if (!c->trunk)
		return cni_error_oom(err);
	for (int v = 1; v <= BR_VLAN_MAX; v++)
		if (seen[v])
			c->trunk[c->n_trunk++] = v;
	qsort(c->trunk, c->n_trunk, sizeof(int), cmp_int);
	return 0;
}

static int load_dns(struct br_conf *c, json_t *dns, cni_error **err)
{
	int r;
	if (!json_is_object(dns))
		return pj_go_type_error(err, &GO, dns, "NetConf.dns", "types.DNS");
	if ((r = pj_go_string(&GO, dns, "domain", "DNS.domain", &c->dns.domain, NULL, err)) < 0 ||
	    (r = get_strv(dns, "nameservers", "DNS.nameservers", &c->dns_arrays[0], err)) < 0 ||
	    (r = get_strv(dns, "search", "DNS.search", &c->dns_arrays[1], err)) < 0 ||
	    (r = get_strv(dns, "options", "DNS.options", &c->dns_arrays[2], err)) < 0)
		return r;
	c->dns.nameservers = c->dns_arrays[0];
	c->dns.search = c->dns_arrays[1];
	c->dns.options = c->dns_arrays[2];
	/* as the reference: an empty list still counts as set, an empty domain does not */
	c->dns_set = c->dns_arrays[0] || c->dns_arrays[1] || c->dns_arrays[2] ||
		     (c->dns.domain && *c->dns.domain);
	return 0;
}

int br_parse_mac(const char *s, unsigned char out[6])
{
	unsigned int b[6];
	char sep, tail;
	if (!s || strlen(s) != 17)
		return -1;
	sep = s[2];
	if (sep != ':' && sep != '-')
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		if (i < 5 && p[2] != sep)
			return -1;
		if (sscanf(p, "%2x%c", &b[i], &tail) < 1 || !isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]))
			return -1;
	}
	for (int i = 0; i < 6; i++)
		out[i] = (unsigned char)b[i];
	return 0;
}

static int load_mac(struct br_conf *c, const char *env_args, cni_error **err)
{
	static const char *const known[] = {"MAC", NULL};
	const char *mac = NULL;
	cni_args *args = NULL;
	json_t *o;
	int r;

	/* CNI_ARGS MAC=, then args.cni.mac, then runtimeConfig.mac: the last set one wins */
	if (env_args && *env_args) {
		if ((r = cni_args_parse(&args, env_args, err)) < 0)
			return r;
		if ((r = cni_args_check_known(args, known, err)) < 0) {
			cni_args_free(args);
			return r;
		}
		const char *v = cni_args_get(args, "MAC");
		if (v && *v && !(c->mac = strdup(v))) {
			cni_args_free(args);
			return cni_error_oom(err);
		}
		cni_args_free(args);
	}
	if ((o = pj_get(c->root, "args")) != NULL) {
		if (!json_is_object(o))
			return pj_go_type_error(err, &GO, o, "NetConf.args", "struct");
		json_t *cni = pj_get(o, "cni");
		if (cni && !json_is_object(cni))
			return pj_go_type_error(err, &GO, cni, "NetConf.args.cni",
						"main.BridgeArgs");
		if ((r = pj_go_string(&GO, cni, "mac", "BridgeArgs.mac", &mac, NULL, err)) < 0)
			return r;
		if (mac && *mac) {
			free(c->mac);
			if (!(c->mac = strdup(mac)))
				return cni_error_oom(err);
		}
	}
	if ((o = pj_get(c->root, "runtimeConfig")) != NULL) {
		if (!json_is_object(o))
			return pj_go_type_error(err, &GO, o, "NetConf.runtimeConfig", "struct");
		mac = NULL;
		if ((r = pj_go_string(&GO, o, "mac", "NetConf.runtimeConfig.mac", &mac, NULL,
				      err)) < 0)
			return r;
		if (mac && *mac) {
			free(c->mac);
			if (!(c->mac = strdup(mac)))
				return cni_error_oom(err);
		}
	}
	return 0;
}

int br_conf_load(struct br_conf *c, const char *data, size_t len, const char *env_args,
		 cni_error **err)
{
	json_t *v;
	int r;

	memset(c, 0, sizeof(*c));
	c->br_name = BR_DEFAULT_NAME;
	/* the newest reference keeps VLAN 1 on the port unless told otherwise */
	c->preserve_default_vlan = true;
	c->dns.version = CNI_DNS_VERSION;
	if ((r = pj_go_load(&GO, data, len, "main.NetConf", &c->root, err)) < 0)
		goto fail;
	json_t *o = c->root;
	const char *backend = NULL;
	if ((r = pj_go_string(&GO, o, "name", "NetConf.name", &c->name, NULL, err)) < 0 ||
	    (r = pj_go_string(&GO, o, "cniVersion", "NetConf.cniVersion", &c->cni_version, NULL,
			      err)) < 0 ||
	    (r = pj_go_string(&GO, o, "bridge", "NetConf.bridge", &c->br_name, NULL, err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "isGateway", "NetConf.isGateway", &c->is_gw, NULL, err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "isDefaultGateway", "NetConf.isDefaultGateway",
			    &c->is_default_gw, NULL, err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "forceAddress", "NetConf.forceAddress", &c->force_address, NULL,
			    err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "ipMasq", "NetConf.ipMasq", &c->ip_masq, NULL, err)) < 0 ||
	    (r = pj_go_string(&GO, o, "ipMasqBackend", "NetConf.ipMasqBackend", &backend, NULL,
			      err)) < 0 ||
	    (r = get_int(o, "mtu", "NetConf.mtu", NULL, &c->mtu, err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "hairpinMode", "NetConf.hairpinMode", &c->hairpin, NULL, err)) <
		0 ||
	    (r = pj_go_bool(&GO, o, "promiscMode", "NetConf.promiscMode", &c->promisc, NULL, err)) <
		0 ||
	    (r = get_int(o, "vlan", "NetConf.vlan", NULL, &c->vlan, err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "preserveDefaultVlan", "NetConf.preserveDefaultVlan",
			    &c->preserve_default_vlan, NULL, err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "macspoofchk", "NetConf.macspoofchk", &c->macspoofchk, NULL,
			    err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "enabledad", "NetConf.enabledad", &c->enable_dad, NULL, err)) <
		0 ||
	    (r = pj_go_bool(&GO, o, "disableContainerInterface",
			    "NetConf.disableContainerInterface", &c->disable_container_iface, NULL,
			    err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "portIsolation", "NetConf.portIsolation", &c->port_isolation,
			    NULL, err)) < 0)
		goto fail;
	if ((v = pj_get(o, "ipam")) != NULL) {
		if (!json_is_object(v)) {
			r = pj_go_type_error(err, &GO, v, "NetConf.ipam", "types.IPAM");
			goto fail;
		}
		if ((r = pj_go_string(&GO, v, "type", "IPAM.type", &c->ipam_type, NULL, err)) < 0)
			goto fail;
		if (c->ipam_type && !*c->ipam_type)
			c->ipam_type = NULL;
	}
	if ((v = pj_get(o, "dns")) != NULL && (r = load_dns(c, v, err)) < 0)
		goto fail;

	if (!c->br_name || !*c->br_name)
		c->br_name = BR_DEFAULT_NAME;
	if (strlen(c->br_name) >= CNI_IFNAMSIZ || strchr(c->br_name, '/') ||
	    strchr(c->br_name, ' ') || strchr(c->br_name, ':') || strcmp(c->br_name, ".") == 0 ||
	    strcmp(c->br_name, "..") == 0) {
		r = cni_error_set(
		    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
		    "invalid bridge name \"%s\": must be a valid interface name of 1 to "
		    "15 bytes",
		    c->br_name);
		goto fail;
	}
	if (c->vlan < 0 || c->vlan > BR_VLAN_MAX) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "invalid VLAN ID %d (must be between 0 and 4094)", c->vlan);
		goto fail;
	}
	if ((v = pj_get(o, "vlanTrunk")) != NULL && (r = load_trunk(c, v, err)) < 0)
		goto fail;
	if (c->vlan > 0 && c->n_trunk > 0) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "cannot set vlan and vlanTrunk at the same time");
		goto fail;
	}
	if (c->mtu < 0 || c->mtu > 65535) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "invalid mtu %d (must be between 0 and 65535)", c->mtu);
		goto fail;
	}
	if (backend && *backend &&
	    (r = cni_ipmasq_backend_parse(backend, &c->masq_backend, err)) < 0)
		goto fail;
	if ((r = load_mac(c, env_args, err)) < 0)
		goto fail;
	if (c->is_default_gw)
		c->is_gw = true;
	return 0;
fail:
	br_conf_clear(c);
	return r;
}

void br_conf_clear(struct br_conf *c)
{
	for (int i = 0; i < 3; i++)
		free(c->dns_arrays[i]);
	free(c->trunk);
	free(c->mac);
	json_decref(c->root);
	memset(c, 0, sizeof(*c));
}
