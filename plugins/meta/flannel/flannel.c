/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flannel: turns the node's flannel lease (subnet.env) into a bridge + host-local
 * configuration and delegates to it, as flannel's own CNI plugin does. The delegate
 * config is saved under dataDir/<containerID> so DEL undoes the same thing even when
 * flannel is gone. GC and STATUS go to the delegate built from the current lease (for GC,
 * without one, to a saved delegate config).
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <cni/cni.h>

#include "plugin-json.h"
#include "plugin-state.h"

#define DEFAULT_SUBNET_FILE "/run/flannel/subnet.env"
#define DEFAULT_DATA_DIR    "/var/lib/cni/flannel"

struct lease {
	char network[CNI_IPNET_STRLEN], subnet[CNI_IPNET_STRLEN];
	char network6[CNI_IPNET_STRLEN], subnet6[CNI_IPNET_STRLEN];
	long mtu;
	bool has_mtu, ipmasq, has_ipmasq;
};

struct fconf {
	json_t *root;
	const char *name, *version, *subnet_file, *data_dir;
	json_t *delegate, *ipam, *rc;
};

static int get_typed(const json_t *o, const char *key, json_type t, const char *want, json_t **out,
		     cni_error **err)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	if (json_typeof(v) != t)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "%s: expected %s, got %s", key, want, pj_kind(v));
	*out = v;
	return 0;
}

static int get_str(const json_t *o, const char *key, const char **out, cni_error **err)
{
	json_t *v = NULL;
	int r = get_typed(o, key, JSON_STRING, "string", &v, err);
	if (r == 0 && v)
		*out = json_string_value(v);
	return r;
}

static int fconf_load(const char *data, size_t len, struct fconf *c, cni_error **err)
{
	json_error_t je;
	memset(c, 0, sizeof(*c));
	c->root = json_loadb(data, len, 0, &je);
	if (!c->root || !json_is_object(c->root))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to load netconf: %s",
				     c->root ? "expected a JSON object" : je.text);
	c->name = "";
	c->subnet_file = DEFAULT_SUBNET_FILE;
	c->data_dir = DEFAULT_DATA_DIR;
	int r;
	if ((r = get_str(c->root, "name", &c->name, err)) < 0 ||
	    (r = get_str(c->root, "cniVersion", &c->version, err)) < 0 ||
	    (r = get_str(c->root, "subnetFile", &c->subnet_file, err)) < 0 ||
	    (r = get_str(c->root, "dataDir", &c->data_dir, err)) < 0 ||
	    (r = get_typed(c->root, "delegate", JSON_OBJECT, "object", &c->delegate, err)) < 0 ||
	    (r = get_typed(c->root, "ipam", JSON_OBJECT, "object", &c->ipam, err)) < 0 ||
	    (r = get_typed(c->root, "runtimeConfig", JSON_OBJECT, "object", &c->rc, err)) < 0)
		return r;
	if (!*c->subnet_file || !*c->data_dir)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "%s: must not be empty",
				     *c->data_dir ? "subnetFile" : "dataDir");
	if (c->delegate) {
		json_t *t = json_object_get(c->delegate, "type");
		if (t && !json_is_string(t))
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "delegate.type: expected string, got %s", pj_kind(t));
		if (json_is_string(t) && !strcmp(json_string_value(t), "flannel"))
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "delegate.type: flannel cannot delegate to itself");
		json_t *di = json_object_get(c->delegate, "ipam");
		if (di && !json_is_object(di))
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "delegate.ipam: expected object, got %s", pj_kind(di));
	}
	return 0;
}

/* A CIDR from subnet.env, its host bits cleared when net is set (a range's subnet). */
static int lease_cidr(const char *file, const char *key, const char *val, bool net, char *out,
		      cni_error **err)
{
	cni_ipnet n;
	if (cni_ipnet_parse(val, &n) < 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "%s: %s: invalid CIDR address: %s", file, key, val);
	if (net) {
		int bytes = n.ip.family == AF_INET ? 4 : 16;
		for (int i = 0; i < bytes; i++) {
			int keep = n.prefix - i * 8;
			n.ip.addr[i] &= keep >= 8   ? 0xff
					: keep <= 0 ? 0
						    : (uint8_t)(0xff << (8 - keep));
		}
	}
	cni_ipnet_format(&n, out, CNI_IPNET_STRLEN);
	return 0;
}

static int lease_read(const char *file, struct lease *l, cni_error **err)
{
	memset(l, 0, sizeof(*l));
	FILE *f = fopen(file, "re");
	if (!f)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
				     "failed to read subnetFile %s: %s", file, strerror(errno));
	char line[1024];
	int r = 0;
	while (r == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *k = line, *v = eq + 1;
		if (!strcmp(k, "FLANNEL_NETWORK")) {
			r = lease_cidr(file, k, v, false, l->network, err);
		} else if (!strcmp(k, "FLANNEL_SUBNET")) {
			r = lease_cidr(file, k, v, true, l->subnet, err);
		} else if (!strcmp(k, "FLANNEL_IPV6_NETWORK")) {
			r = lease_cidr(file, k, v, false, l->network6, err);
		} else if (!strcmp(k, "FLANNEL_IPV6_SUBNET")) {
			r = lease_cidr(file, k, v, true, l->subnet6, err);
		} else if (!strcmp(k, "FLANNEL_MTU")) {
			char *end;
			errno = 0;
			l->mtu = strtol(v, &end, 10);
			if (!*v || *end || errno || l->mtu < 68 || l->mtu > 65535)
				r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
						  "%s: FLANNEL_MTU: invalid MTU: %s", file, v);
			l->has_mtu = true;
		} else if (!strcmp(k, "FLANNEL_IPMASQ")) {
			if (!strcmp(v, "true"))
				l->ipmasq = true;
			else if (strcmp(v, "false") != 0)
				r = cni_error_set(
				    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				    "%s: FLANNEL_IPMASQ: expected true or false, got %s", file, v);
			l->has_ipmasq = true;
		}
	}
	fclose(f);
	if (r < 0)
		return r;
	const char *missing = NULL;
	if (!*l->network && !*l->network6)
		missing = "FLANNEL_NETWORK";
	else if (*l->network && !*l->subnet)
		missing = "FLANNEL_SUBNET";
	else if (*l->network6 && !*l->subnet6)
		missing = "FLANNEL_IPV6_SUBNET";
	else if (!*l->network && *l->subnet)
		missing = "FLANNEL_NETWORK";
	else if (!*l->network6 && *l->subnet6)
		missing = "FLANNEL_IPV6_NETWORK";
	else if (!l->has_mtu)
		missing = "FLANNEL_MTU";
	else if (!l->has_ipmasq)
		missing = "FLANNEL_IPMASQ";
	if (missing)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "%s: missing %s",
				     file, missing);
	return 0;
}

/* The ipam section: host-local over the lease, a route to the whole flannel network;
 * the config's ipam keys (top level, then delegate.ipam) win, their routes are added. */
static json_t *build_ipam(const struct fconf *c, const struct lease *l)
{
	json_t *ipam = json_pack("{s:s}", "type", "host-local");
	json_t *ranges = json_array(), *routes = json_array();
	if (*l->subnet)
		json_array_append_new(ranges, json_pack("[{s:s}]", "subnet", l->subnet));
	if (*l->subnet6)
		json_array_append_new(ranges, json_pack("[{s:s}]", "subnet", l->subnet6));
	if (*l->network)
		json_array_append_new(routes, json_pack("{s:s}", "dst", l->network));
	if (*l->network6)
		json_array_append_new(routes, json_pack("{s:s}", "dst", l->network6));
	const json_t *srcs[2] = {c->ipam,
				 c->delegate ? json_object_get(c->delegate, "ipam") : NULL};
	for (int s = 0; s < 2; s++) {
		if (!json_is_object(srcs[s]))
			continue;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)srcs[s], k, v)
		{
			if (!strcmp(k, "routes") && json_is_array(v))
				json_array_extend(routes, v);
			else
				json_object_set(ipam, k, v);
		}
	}
	if (!json_object_get(ipam, "ranges"))
		json_object_set(ipam, "ranges", ranges);
	json_object_set(ipam, "routes", routes);
	json_decref(ranges);
	json_decref(routes);
	return ipam;
}

static json_t *build_delegate(const struct fconf *c, const struct lease *l)
{
	json_t *d = c->delegate ? json_deep_copy(c->delegate) : json_object();
	if (!d)
		return NULL;
	json_object_set_new(d, "name", json_string(c->name));
	if (!json_object_get(d, "cniVersion") && c->version)
		json_object_set_new(d, "cniVersion", json_string(c->version));
	if (!json_object_get(d, "type"))
		json_object_set_new(d, "type", json_string("bridge"));
	if (!json_object_get(d, "ipMasq"))
		json_object_set_new(d, "ipMasq", json_boolean(!l->ipmasq));
	if (!json_object_get(d, "mtu"))
		json_object_set_new(d, "mtu", json_integer(l->mtu));
	if (!strcmp(json_string_value(json_object_get(d, "type")), "bridge") &&
	    !json_object_get(d, "isGateway"))
		json_object_set_new(d, "isGateway", json_true());
	if (c->rc)
		json_object_set(d, "runtimeConfig", c->rc);
	json_object_set_new(d, "ipam", build_ipam(c, l));
	return d;
}

static int state_path(const struct fconf *c, const cni_cmd_args *args, char *buf, size_t len,
		      cni_error **err)
{
	if (!*args->container_id || strchr(args->container_id, '/') ||
	    !strcmp(args->container_id, "..") || !strcmp(args->container_id, "."))
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "invalid CNI_CONTAINERID: %s", args->container_id);
	int n = snprintf(buf, len, "%s/%s", c->data_dir, args->container_id);
	if (n < 0 || (size_t)n >= len)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "dataDir: path too long: %s", c->data_dir);
	return 0;
}

/* The config and where its saved delegate config lives. */
static int load_with_path(const cni_cmd_args *args, struct fconf *c, char *path, size_t len,
			  cni_error **err)
{
	int r = fconf_load(args->stdin_data, args->stdin_len, c, err);
	return r < 0 ? r : state_path(c, args, path, len, err);
}

static int delegate_text(const json_t *d, const json_t *prev, char **out, const char **type,
			 cni_error **err)
{
	*type = json_string_value(json_object_get(d, "type"));
	if (!*type)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "saved delegate config has no type");
	json_t *send = json_copy((json_t *)d);
	if (send && prev)
		json_object_set((json_t *)send, "prevResult", (json_t *)prev);
	*out = send ? json_dumps(send, JSON_COMPACT) : NULL;
	json_decref(send);
	if (!*out)
		return cni_error_oom(err);
	return 0;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	(void)ud;
	struct fconf c;
	struct lease l;
	char path[4096];
	json_t *d = NULL;
	char *text = NULL;
	const char *type;
	int r = load_with_path(args, &c, path, sizeof(path), err);
	if (r == 0)
		r = lease_read(c.subnet_file, &l, err);
	if (r == 0 && !(d = build_delegate(&c, &l)))
		r = cni_error_oom(err);
	if (r == 0)
		r = delegate_text(d, NULL, &text, &type, err);
	if (r == 0)
		r = ps_save(path, d, err);
	if (r == 0) {
		r = cni_delegate_add(type, text, strlen(text), result, err);
		if (r < 0) {
			/* Leave nothing: the delegate's DEL releases what it may have kept. */
			cni_delegate_del(type, text, strlen(text), NULL);
			ps_remove(path, NULL);
		}
	}
	free(text);
	json_decref(d);
	json_decref(c.root);
	return r;
}

/* DEL and CHECK, the command skel was run with (its undoing DEL of a failed ADD included:
 * skel gives that one the command DEL), work on the saved delegate config (absent:
 * nothing was added). */
static int with_saved(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	bool del = !strcmp(args->command, "DEL");
	struct fconf c;
	char path[4096];
	json_t *d = NULL;
	char *text = NULL;
	const char *type;
	int r = load_with_path(args, &c, path, sizeof(path), err);
	if (r == 0)
		r = ps_load(path, &d, err);
	if (r == 0 && !d && !del)
		r = cni_error_set(err, CNI_ERR_UNKNOWN_CONTAINER, NULL,
				  "no saved delegate config for container %s (%s)",
				  args->container_id, path);
	if (r == 0 && d) {
		r = delegate_text(d, json_object_get(c.root, "prevResult"), &text, &type, err);
		if (r == 0 && del)
			r = cni_delegate_del(type, text, strlen(text), err);
		else if (r == 0)
			r = cni_delegate_check(type, text, strlen(text), err);
	}
	/* also without a record: what an ADD killed while writing it left */
	if (r == 0 && del)
		r = ps_remove(path, err);
	free(text);
	json_decref(d);
	json_decref(c.root);
	return r;
}

/* Whether name is a container ID among valid (cni.dev/valid-attachments). */
static bool is_valid_container(const json_t *valid, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(valid, i, v)
	{
		const char *cid = json_string_value(json_object_get(v, "containerID"));
		if (cid && !strcmp(cid, name))
			return true;
	}
	return false;
}

/* A saved delegate config of this network: another flannel network may share dataDir. */
static bool saved_is_ours(const json_t *saved, const struct fconf *c)
{
	const char *n = json_string_value(json_object_get(saved, "name"));
	return n && !strcmp(n, c->name);
}

/*
 * The delegate config ADD would build from the current lease (*d, new). Without a lease,
 * STATUS fails (no ADD can work) and GC gets *d NULL: it falls back to a saved config.
 */
static int current_delegate(const struct fconf *c, bool gc, json_t **d, cni_error **err)
{
	struct lease l;
	cni_error *lerr = NULL;
	int r = lease_read(c->subnet_file, &l, &lerr);

	*d = NULL;
	if (r == 0) {
		*d = build_delegate(c, &l);
		r = *d ? 0 : cni_error_oom(err);
	} else if (!gc) {
		/* no flannel lease (flanneld has not written it yet) */
		r = cni_error_set(err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL, "%s",
				  lerr ? cni_error_msg(lerr) : "no flannel lease");
	} else {
		r = 0;
	}
	cni_error_free(lerr);
	return r;
}

/*
 * GC's one pass over dataDir, through the saved delegate configs of this network
 * (another flannel network may share dataDir): the first one (*fallback, new, when it is
 * asked for: its IPAM and network name are those of every other), and the paths of those
 * whose container is not among valid (appended to stale; DEL will never come for them).
 * The atomic writer's leftovers ("<name>.tmp") go with their file.
 */
static void scan_saved(const struct fconf *c, const json_t *valid, json_t **fallback,
		       json_t *stale)
{
	DIR *dir = opendir(c->data_dir);
	struct dirent *de;

	while (dir && (de = readdir(dir))) {
		char path[4096];
		size_t n = strlen(de->d_name);
		bool gone = !is_valid_container(valid, de->d_name);
		if (de->d_name[0] == '.' || de->d_type == DT_DIR ||
		    (n > 4 && !strcmp(de->d_name + n - 4, ".tmp")) ||
		    (!gone && (!fallback || *fallback)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->data_dir, de->d_name);
		json_t *v = NULL;
		if (ps_load(path, &v, NULL) == 0 && saved_is_ours(v, c)) {
			if (gone)
				json_array_append_new(stale, json_string(path));
			if (fallback && !*fallback && json_is_string(json_object_get(v, "type"))) {
				*fallback = v;
				continue;
			}
		}
		json_decref(v);
	}
	if (dir)
		closedir(dir);
}

/* The delegate's own cniVersion when it predates GC and STATUS (1.1.0): it has neither. */
static bool delegate_too_old(const json_t *d)
{
	const char *v = json_string_value(json_object_get(d, "cniVersion"));
	return !v || !cni_version_ge(v, "1.1.0");
}

/* GC and STATUS (the command skel was run with), both asked of the delegate of the current
 * lease. STATUS is ready when the lease is readable and the delegate says it is. */
static int current_verb(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	bool gc = !strcmp(args->command, "GC");
	struct fconf c;
	json_t *d = NULL, *stale = json_array();
	char *text = NULL;
	const char *type;
	int r = fconf_load(args->stdin_data, args->stdin_len, &c, err);
	json_t *valid = c.root ? json_object_get(c.root, "cni.dev/valid-attachments") : NULL;

	if (r == 0 && !stale)
		r = cni_error_oom(err);
	if (r == 0)
		r = current_delegate(&c, gc, &d, err);
	if (r == 0 && gc && (!d || json_is_array(valid)))
		scan_saved(&c, json_is_array(valid) ? valid : NULL, d ? NULL : &d, stale);
	if (r == 0 && d && !delegate_too_old(d)) {
		if (gc && valid)
			json_object_set(d, "cni.dev/valid-attachments", valid);
		r = delegate_text(d, NULL, &text, &type, err);
		if (r == 0)
			r = gc ? cni_delegate_gc(type, text, strlen(text), err)
			       : cni_delegate_status(type, text, strlen(text), err);
	}
	if (r == 0 && json_is_array(valid)) {
		size_t i;
		json_t *path;
		json_array_foreach(stale, i, path)
			ps_remove(json_string_value(path), NULL);
	}
	free(text);
	json_decref(d);
	json_decref(stale);
	json_decref(c.root);
	return r;
}

CNI_PLUGIN_MAIN("CNI flannel plugin (libcni-c)", .add = cmd_add, .del = with_saved,
		.check = with_saved, .gc = current_verb, .status = current_verb)
