/* SPDX-License-Identifier: Apache-2.0 */
/*
 * macvlan, ipvlan, vlan and dummy: one link in the container, made under a temporary
 * name directly in the container's namespace and renamed there to CNI_IFNAME, then IPAM's
 * addresses. The temporary name is fixed by the container ID and CNI_IFNAME, so a DEL
 * after an ADD killed between creation and rename finds the link and removes it. What
 * differs between them is the kind's keys and its one creating call.
 * Compared with the reference: config errors carry the spec's codes (7, 6) where it says
 * 999; a failed ADD removes the link and releases IPAM; DEL never needs the master.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <unistd.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "plugin-json.h"
#include "plugin-netns.h"
#include "plugin-sublink.h"
#include "plugin-util.h"

#define NAME_TRIES 10
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline bool isempty_str(const char *s)
{
	return !s || !*s;
}

static inline const char *strempty_str(const char *s)
{
	return s ? s : "";
}

/* An interface name into dst (len bytes); cut when longer (callers check lengths first,
 * or look the name up, which then fails). */
static void copy_name(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

typedef struct ps_info {
	const char *kind;      /* plugin name */
	const char *link_kind; /* the kernel's name of the link's kind */
	const char *version;   /* for VERSION's about text */
	bool has_master, master_required, ipam_required, check_mtu, has_mac;
} ps_info;

static const ps_info INFO[] = {
    [PS_MACVLAN] = {"macvlan", "macvlan", "CNI macvlan plugin", true, false, false, true, true},
    [PS_IPVLAN] = {"ipvlan", "ipvlan", "CNI ipvlan plugin", true, false, false, false, false},
    [PS_VLAN] = {"vlan", "vlan", "CNI vlan plugin", true, true, true, true, false},
    [PS_DUMMY] = {"dummy", "dummy", "CNI dummy plugin", false, false, true, false, false},
    [PS_TAP] = {"tap", "tun", "CNI tap plugin", false, false, false, false, true},
    [PS_HOSTDEV] = {"host-device", "", "CNI host-device plugin", false, false, false, false,
		    false},
};

typedef struct ps_conf {
	ps_kind kind;
	const ps_info *info;
	cni_conf *conf;
	json_t *root;
	const char *master; /* borrowed from root */
	const char *mac;    /* borrowed: runtimeConfig.mac, CNI_ARGS MAC or the key */
	cni_args *cargs;
	int mtu;
	int vlan_id;
	unsigned int bcqueuelen;
	bool multi_queue;
	long owner, group;  /* -1 = unset */
	const char *bridge; /* tap: a bridge in the container to enslave it to */
	/* host-device: the selectors (borrowed), the key that chose and its value */
	const char *device, *hwaddr, *kernelpath, *pci, *device_id;
	const char *sel_key, *sel_val;
	cni_macvlan_mode mmode;
	cni_ipvlan_mode imode;
	bool link_in_container, has_ipam;
	cni_result *prev;
	char dflt_master[CNI_IFNAMSIZ];
} ps_conf;

static const pj_go GO = {.what = "failed to load netconf", .type = "NetConf.", .get = pj_get_first};

static void conf_done(ps_conf *c)
{
	cni_conf_free(c->conf);
	json_decref(c->root);
	cni_args_free(c->cargs);
	cni_result_free(c->prev);
	memset(c, 0, sizeof(*c));
}

static int bad(cni_error **err, const char *fmt, const char *key, const char *val)
{
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, fmt, key, val);
}

/* host-device's selectors: exactly one, or runtimeConfig.deviceID over all of them. */
static int hostdev_keys(ps_conf *c, cni_error **err)
{
	static const char *const keys[] = {"device", "hwaddr", "kernelpath", "pciBusID"};
	const char **vals[] = {&c->device, &c->hwaddr, &c->kernelpath, &c->pci};
	json_t *rc = pj_get_first(c->root, "runtimeConfig");
	int r, n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if ((r = pj_go_string(&GO, c->root, keys[i], keys[i], vals[i], NULL, err)) < 0)
			return r;
		if (isempty_str(*vals[i]))
			continue;
		if (n++)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "specify only one of \"device\", \"hwaddr\", "
					     "\"kernelpath\" or \"pciBusID\": got %s \"%s\" and %s "
					     "\"%s\"",
					     c->sel_key, c->sel_val, keys[i], *vals[i]);
		c->sel_key = keys[i];
		c->sel_val = *vals[i];
	}
	if (!isempty_str(c->device) && strlen(c->device) >= CNI_IFNAMSIZ)
		return bad(err, "invalid %s \"%s\": longer than 15 bytes", "device", c->device);
	if (rc && (r = pj_go_string(&GO, rc, "deviceID", "runtimeConfig.deviceID", &c->device_id,
				    NULL, err)) < 0)
		return r;
	if (!isempty_str(c->device_id)) {
		c->sel_key = "runtimeConfig.deviceID";
		c->sel_val = c->device_id;
	}
	return 0;
}

/* The keys; nothing here touches the kernel. */
static int load_conf(ps_kind kind, const cni_cmd_args *args, bool for_add, ps_conf *c,
		     cni_error **err)
{
	const char *mode = NULL;
	bool present = false;
	int r;

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->info = &INFO[kind];
	if ((r = cni_conf_from_bytes(&c->conf, args->stdin_data, args->stdin_len, err)) < 0 ||
	    (r = pj_go_load(&GO, args->stdin_data, args->stdin_len, "main.NetConf", &c->root,
			    err)) < 0)
		return r;
	c->has_ipam = !isempty_str(cni_conf_ipam_type(c->conf));
	if (c->info->has_master &&
	    ((r = pj_go_string(&GO, c->root, "master", "master", &c->master, NULL, err)) < 0 ||
	     (r = pj_go_bool(&GO, c->root, "linkInContainer", "linkInContainer",
			     &c->link_in_container, NULL, err)) < 0))
		return r;
	if (kind != PS_DUMMY &&
	    (r = pj_go_int(&GO, c->root, "mtu", "mtu", &c->mtu, NULL, err)) < 0)
		return r;
	if ((kind == PS_MACVLAN || kind == PS_IPVLAN) &&
	    (r = pj_go_string(&GO, c->root, "mode", "mode", &mode, NULL, err)) < 0)
		return r;
	if (kind == PS_MACVLAN) {
		c->mmode = CNI_MACVLAN_BRIDGE;
		if (!isempty_str(mode) && cni_macvlan_mode_parse(mode, &c->mmode, NULL) < 0)
			return bad(err, "unknown macvlan mode: \"%s\" (%s)", mode,
				   "mode must be bridge, private, vepa or passthru");
		if ((r = pj_go_uint32(&GO, c->root, "bcqueuelen", "bcqueuelen",
				      &c->bcqueuelen, NULL, err)) < 0)
			return r;
	}
	c->owner = c->group = -1;
	if (kind == PS_TAP) {
		unsigned int u = 0;
		bool has = false;
		const char *selinux = NULL;
		if ((r = pj_go_bool(&GO, c->root, "multiQueue", "multiQueue", &c->multi_queue,
				    NULL, err)) < 0 ||
		    (r = pj_go_uint32(&GO, c->root, "owner", "owner", &u, &has, err)) < 0)
			return r;
		if (has)
			c->owner = (long)u;
		has = false;
		if ((r = pj_go_uint32(&GO, c->root, "group", "group", &u, &has, err)) < 0)
			return r;
		if (has)
			c->group = (long)u;
		/* accepted; this build labels nothing (docs/plugins/tap.md) */
		if ((r = pj_go_string(&GO, c->root, "selinuxContext", "selinuxContext", &selinux,
				      NULL, err)) < 0 ||
		    (r = pj_go_string(&GO, c->root, "bridge", "bridge", &c->bridge, NULL, err)) < 0)
			return r;
		if (!isempty_str(c->bridge) && strlen(c->bridge) >= CNI_IFNAMSIZ)
			return bad(err, "invalid %s \"%s\": longer than 15 bytes", "bridge",
				   c->bridge);
	}
	if (kind == PS_HOSTDEV && (r = hostdev_keys(c, err)) < 0)
		return r;
	if (c->info->has_mac) {
		if ((r = pj_go_string(&GO, c->root, "mac", "mac", &c->mac, NULL, err)) < 0)
			return r;
		if ((r = cni_args_parse(&c->cargs, args->args, err)) < 0)
			return r;
		const char *m = cni_args_get(c->cargs, "MAC");
		if (!isempty_str(m))
			c->mac = m;
		json_t *rc = pj_get_first(c->root, "runtimeConfig");
		if (rc && (r = pj_go_string(&GO, rc, "mac", "runtimeConfig.mac", &m, &present,
					    err)) < 0)
			return r;
		if (present && !isempty_str(m))
			c->mac = m;
		if (!isempty_str(c->mac)) {
			unsigned int b[6];
			char tail;
			if (strlen(c->mac) != 17 ||
			    sscanf(c->mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				   &b[4], &b[5], &tail) != 6)
				return bad(err, "invalid %s \"%s\": not a MAC address", "mac",
					   c->mac);
			if (b[0] & 1)
				return bad(err, "invalid %s \"%s\": a multicast MAC address", "mac",
					   c->mac);
		}
	}
	if (kind == PS_IPVLAN) {
		c->imode = CNI_IPVLAN_L2;
		if (!isempty_str(mode) && cni_ipvlan_mode_parse(mode, &c->imode, NULL) < 0)
			return bad(err, "unknown ipvlan mode: \"%s\" (%s)", mode,
				   "mode must be l2, l3 or l3s");
	}
	if (kind == PS_VLAN) {
		if ((r = pj_go_int(&GO, c->root, "vlanId", "vlanId", &c->vlan_id, NULL, err)) < 0)
			return r;
		if (c->vlan_id < 0 || c->vlan_id > 4094)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "invalid VLAN ID %d (must be between 0 and 4094 "
					     "inclusive): key vlanId",
					     c->vlan_id);
		if (isempty_str(c->master))
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "\"master\" field is required. It specifies the host "
					     "interface name to create the VLAN for.");
	}
	if (c->mtu < 0 || c->mtu > 65535)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "invalid MTU %d: key mtu must be between 0 and 65535", c->mtu);
	if (!isempty_str(c->master) && strlen(c->master) >= CNI_IFNAMSIZ)
		return bad(err, "invalid %s \"%s\": longer than 15 bytes", "master", c->master);
	if ((r = cni_conf_prev_result(c->conf, &c->prev, err)) < 0)
		return r;
	if (for_add && c->info->ipam_required && !c->has_ipam)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "%s interface requires an IPAM configuration (key ipam.type)",
				     c->info->kind);
	/* ipvlan chained without IPAM works on prevResult's addresses and interface */
	if (for_add && kind == PS_IPVLAN && !c->has_ipam && !c->prev)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "ipvlan needs either ipam or a prevResult (key ipam)");
	if (for_add && kind == PS_IPVLAN && isempty_str(c->master) && c->prev) {
		cni_interface it = CNI_INTERFACE_INIT;
		if (cni_result_interface_count(c->prev) != 1 ||
		    cni_result_get_interface(c->prev, 0, &it) < 0 || isempty_str(it.name))
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "chained master failure. PrevResult lacks a single "
					     "named interface");
		copy_name(c->dflt_master, sizeof(c->dflt_master), it.name);
		c->master = c->dflt_master;
	}
	return 0;
}

/* The interface of the first IPv4 default route in nl's namespace (the master's default). */
static int default_route_iface(cni_nl *nl, char *buf, size_t len, cni_error **err)
{
	cni_route_spec *rs = NULL;
	size_t n = 0;
	int r = cni_route_list(nl, AF_INET, 0, 0, &rs, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		cni_link_info li = CNI_LINK_INFO_INIT;
		if (rs[i].dst.prefix == 0 && rs[i].ifindex > 0 &&
		    cni_link_get_by_index(nl, rs[i].ifindex, &li, NULL) == 0) {
			copy_name(buf, len, li.name);
			cni_free(rs);
			return 0;
		}
	}
	cni_free(rs);
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			     "no default route interface found (key master is unset)");
}

/* ---- ADD ---- */

typedef struct add_ctx {
	const cni_cmd_args *args;
	ps_conf *c;
	cni_netns *cont_ns;
	cni_nl *cont_nl, *master_nl; /* master_nl: cont_nl or a host socket */
	cni_nl *host_nl;
	cni_link_info master, link;
	bool created, ipam_done;
	cni_result *ipam; /* IPAM's result, or the prevResult used as it */
	cni_result *res;
	/* host-device: the host's namespace, the device's addresses and state before */
	cni_netns *host_ns;
	cni_addr_info *orig_addrs;
	size_t n_orig_addrs;
} add_ctx;

static int find_master(add_ctx *x, cni_error **err)
{
	ps_conf *c = x->c;
	int r;

	if (!c->info->has_master)
		return 0;
	if (isempty_str(c->master)) {
		if ((r = default_route_iface(x->master_nl, c->dflt_master,
					     sizeof(c->dflt_master), err)) < 0)
			return r;
		c->master = c->dflt_master;
	}
	cni_error *e = NULL;
	r = cni_link_get(x->master_nl, c->master, &x->master, &e);
	if (r < 0) {
		cni_error_free(e);
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "failed to lookup master \"%s\": Link not found (key master)",
				     c->master);
	}
	if (c->info->check_mtu && c->mtu > 0 && (unsigned int)c->mtu > x->master.mtu)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "invalid MTU %d, must be [0, master MTU(%u)]", c->mtu,
				     x->master.mtu);
	return 0;
}

/* A tap is made through /dev/net/tun, then given its MTU and MAC over netlink; the whole
 * device goes when a step fails. */
static int create_tap(add_ctx *x, const char *name, cni_error **err)
{
	ps_conf *c = x->c;
	cni_link_info li = CNI_LINK_INFO_INIT;
	unsigned int flags = CNI_TAP_VNET_HDR | (c->multi_queue ? CNI_TAP_MULTI_QUEUE : 0);
	int r = cni_tap_add(x->cont_ns, name, flags, c->owner, c->group, err);
	if (r < 0)
		return r;
	if ((r = cni_link_get(x->cont_nl, name, &li, err)) < 0)
		return r;
	if ((c->mtu > 0 && (r = cni_link_set_mtu(x->cont_nl, li.ifindex, (unsigned int)c->mtu,
						 err)) < 0) ||
	    (!isempty_str(c->mac) && (r = cni_link_set_mac(x->cont_nl, li.ifindex, c->mac,
							   err)) < 0)) {
		cni_link_del(x->cont_nl, li.ifindex, NULL);
		errno = EINVAL; /* not a name clash */
		return r;
	}
	return 0;
}

static int create_once(add_ctx *x, const char *name, cni_error **err)
{
	ps_conf *c = x->c;
	cni_link_spec s = CNI_LINK_SPEC_INIT;
	cni_nl *nl = c->info->has_master && !c->link_in_container ? x->master_nl : x->cont_nl;
	s.name = name;
	s.parent = x->master.ifindex;
	s.ns = nl == x->cont_nl ? NULL : x->cont_ns;
	s.mtu = (unsigned int)c->mtu;
	s.mac = c->mac;
	s.txqlen = 0; /* as the reference's */
	switch (c->kind) {
	case PS_MACVLAN: return cni_macvlan_add(nl, &s, c->mmode, c->bcqueuelen, err);
	case PS_IPVLAN: return cni_ipvlan_add(nl, &s, c->imode, err);
	case PS_VLAN: return cni_vlan_add(nl, &s, (unsigned int)c->vlan_id, err);
	case PS_DUMMY: return cni_dummy_add(nl, &s, err);
	case PS_TAP: return create_tap(x, name, err);
	case PS_HOSTDEV: break; /* moved, not made: hostdev_move_in() */
	}
	return -CNI_ERR_INTERNAL;
}

/* This attachment's temporary name: "cni" and 8 hex digits of a hash of the container ID
 * and CNI_IFNAME. */
static int temp_name(const cni_cmd_args *args, char *buf, size_t len, cni_error **err)
{
	const char *id = strempty_str(args->container_id), *ifn = strempty_str(args->ifname);
	size_t n = strlen(id) + strlen(ifn) + 2;
	char *key = malloc(n);
	int r = -CNI_ERR_NOMEM;
	if (key) {
		snprintf(key, n, "%s/%s", id, ifn);
		r = cni_format_hash("cni", key, 11, buf, len);
	}
	free(key);
	return r < 0 ? cni_error_set(err, -r, NULL, "failed to make a temporary name") : 0;
}

/* A link of our kind under this attachment's temporary name in the container: left by an
 * ADD killed before its rename. Removed; 0 also when there is none. */
static int remove_stale(cni_nl *nl, const ps_info *info, const cni_cmd_args *args,
			cni_error **err)
{
	char tmp[CNI_IFNAMSIZ];
	cni_link_info li = CNI_LINK_INFO_INIT;
	int r = temp_name(args, tmp, sizeof(tmp), err);
	if (r < 0 || cni_link_get(nl, tmp, &li, NULL) < 0 || strcmp(li.kind, info->link_kind) != 0)
		return r;
	cni_error *e = NULL;
	r = cni_link_del(nl, li.ifindex, &e);
	return pc_gone_ok(r, e, NULL, err);
}

/* Made under the temporary name in the container (a random one should another link hold
 * it), then renamed to CNI_IFNAME. */
static int create_link(add_ctx *x, cni_error **err)
{
	char tmp[CNI_IFNAMSIZ];
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_error *e = NULL;
	int r;

	if (cni_link_get(x->cont_nl, x->args->ifname, &li, NULL) == 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "container interface name %s already exists in %s",
				     x->args->ifname, x->args->netns);
	if ((r = remove_stale(x->cont_nl, x->c->info, x->args, err)) < 0)
		return r;
	for (int i = 0;; i++) {
		if (i == NAME_TRIES)
			return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
					     "failed to find a free temporary name after %d tries",
					     NAME_TRIES);
		if (i == 0)
			r = temp_name(x->args, tmp, sizeof(tmp), err);
		else
			r = cni_random_veth_name(tmp, sizeof(tmp), err);
		if (r < 0)
			return r;
		r = create_once(x, tmp, &e);
		if (r == 0)
			break;
		if (errno == EEXIST && cni_link_get(x->cont_nl, tmp, &li, NULL) == 0) {
			cni_error_free(e);
			e = NULL;
			continue;
		}
		/* made after all (only the answer was lost): ours to remove */
		if (cni_link_get(x->cont_nl, tmp, &li, NULL) == 0)
			x->created = true, x->link = li;
		*err = e;
		return r;
	}
	x->created = true;
	if ((r = cni_link_get(x->cont_nl, tmp, &x->link, err)) < 0) {
		/* made, but its index unknown: a second look gives the failed ADD its index */
		if (cni_link_get(x->cont_nl, tmp, &li, NULL) == 0)
			x->link = li;
		return r;
	}
	if ((r = cni_link_set_name(x->cont_nl, x->link.ifindex, x->args->ifname, err)) < 0)
		return PC_PREFIXED(r, err, "failed to rename %s to \"%s\"", x->c->info->kind,
				   x->args->ifname);
	if (x->c->kind == PS_TAP && !isempty_str(x->c->bridge)) {
		cni_link_info br = CNI_LINK_INFO_INIT;
		if (cni_link_get(x->cont_nl, x->c->bridge, &br, NULL) < 0 ||
		    strcmp(br.kind, "bridge") != 0)
			return bad(err, "failed to find bridge %s \"%s\" in the container",
				   "bridge", x->c->bridge);
		if ((r = cni_link_set_master(x->cont_nl, x->link.ifindex, br.ifindex, err)) < 0)
			return r;
	}
	return cni_link_get_by_index(x->cont_nl, x->link.ifindex, &x->link, err);
}

/* ==== host-device: a host link moved into the container and back ==== */

/* The single entry of dir (a sysfs .../net directory) into buf. */
static int one_entry(const char *dir, char *buf, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && n++ == 0)
			copy_name(buf, len, e->d_name);
	closedir(d);
	return n == 1 ? 0 : -1;
}

/* The device's name in the host from the selector; sysfs is the host's (the plugin runs
 * in the host's namespace). */
static int hostdev_name(ps_conf *c, cni_nl *nl, char *name, size_t len, cni_error **err)
{
	char path[PATH_MAX];
	cni_link_info li = CNI_LINK_INFO_INIT;

	if (!c->sel_key)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "specify either \"device\", \"hwaddr\", \"kernelpath\" or "
				     "\"pciBusID\"");
	if (c->device == c->sel_val) {
		copy_name(name, len, c->device);
		return 0;
	}
	if (c->hwaddr == c->sel_val) {
		if (cni_link_get_by_mac(nl, c->hwaddr, &li, NULL) < 0)
			return bad(err, "failed to find device with %s \"%s\" in the host", "hwaddr",
				   c->hwaddr);
		copy_name(name, len, li.name);
		return 0;
	}
	if (c->kernelpath == c->sel_val) {
		const char *kp = c->kernelpath;
		if (strncmp(kp, "/sys/devices/", 13) != 0 || strstr(kp, "/../"))
			return bad(err, "invalid %s \"%s\": must be absolute and begin with "
					"/sys/devices/", "kernelpath", kp);
		/* a device with a net/ directory, or a virtual one: .../net/<name> itself */
		snprintf(path, sizeof(path), "%s/net", kp);
		const char *slash = strrchr(kp, '/');
		if (one_entry(path, name, len) == 0)
			return 0;
		if (slash && slash - kp >= 4 && strncmp(slash - 4, "/net", 4) == 0 &&
		    access(kp, F_OK) == 0) {
			copy_name(name, len, slash + 1);
			return 0;
		}
		return bad(err, "failed to find one network device at %s \"%s\"", "kernelpath",
			   kp);
	}
	/* pciBusID, runtimeConfig.deviceID: a PCI device, or an auxiliary one */
	const char *id = c->sel_val;
	if (strchr(id, '/'))
		return bad(err, "invalid %s \"%s\"", c->sel_key, id);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/net", id);
	if (one_entry(path, name, len) == 0)
		return 0;
	snprintf(path, sizeof(path), "/sys/bus/auxiliary/devices/%s/net", id);
	if (one_entry(path, name, len) == 0)
		return 0;
	return bad(err, "failed to find the network device of %s \"%s\"", c->sel_key, id);
}

static int hostdev_find(add_ctx *x, cni_error **err)
{
	char name[CNI_IFNAMSIZ];
	int r = hostdev_name(x->c, x->host_nl, name, sizeof(name), err);
	if (r < 0)
		return r;
	if (cni_link_get(x->host_nl, name, &x->master, NULL) < 0)
		return bad(err, "device %s \"%s\" not found in the host's namespace (moved to "
				"another one?)", x->c->sel_key, x->c->sel_val);
	return cni_addr_list(x->host_nl, x->master.ifindex, 0, &x->orig_addrs,
			     &x->n_orig_addrs, err);
}

/*
 * What a move into a namespace loses (the addresses) and what we change (up, the name),
 * kept from ADD to DEL in HOSTDEV_STATE_DIR/<container id>-<ifname>: "name <host name>",
 * "up 0|1" and one "addr <cidr>" a line. DEL finishes from it whatever an earlier DEL
 * left half done, so a retried DEL always brings the device fully back.
 */
#define HOSTDEV_STATE_DIR "/var/lib/cni/host-device"

typedef struct hd_state {
	char name[CNI_IFNAMSIZ];
	bool up;
	cni_ipnet addrs[16];
	size_t n;
} hd_state;

static void hostdev_state_path(const cni_cmd_args *args, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s-%s", HOSTDEV_STATE_DIR, args->container_id, args->ifname);
}

static int hostdev_save(const add_ctx *x, cni_error **err)
{
	char path[PATH_MAX], a[64];
	(void)mkdir("/var/lib/cni", 0755);
	(void)mkdir(HOSTDEV_STATE_DIR, 0700);
	hostdev_state_path(x->args, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	bool ok = f != NULL;
	if (!f && fd >= 0)
		close(fd);
	if (f) {
		ok = fprintf(f, "name %s\nup %d\n", x->master.name,
			     (x->master.flags & IFF_UP) ? 1 : 0) > 0;
		for (size_t i = 0; ok && i < x->n_orig_addrs; i++)
			if (x->orig_addrs[i].scope == 0)
				ok = fprintf(f, "addr %s\n",
					     cni_ipnet_format(&x->orig_addrs[i].addr, a,
							      sizeof(a))) > 0;
		ok = (fflush(f) == 0) & ok;
		ok = (fclose(f) == 0) & ok;
	}
	if (ok)
		return 0;
	int e = errno;
	unlink(path);
	/* without the record DEL could not give the device its addresses back */
	return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
			     "failed to record the state of device %s in %s: %s", x->master.name,
			     path, strerror(e));
}

/* 1 with *st loaded, 0 when there is no record, < 0 when it cannot be read (a DEL going
 * on without it would lose the addresses it keeps). */
static int hostdev_load(const cni_cmd_args *args, hd_state *st, cni_error **err)
{
	char path[PATH_MAX], line[128];
	hostdev_state_path(args, path, sizeof(path));
	FILE *f = fopen(path, "re");
	memset(st, 0, sizeof(*st));
	if (!f && errno == ENOENT)
		return 0;
	if (!f)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
				     "failed to read the state of the device in %s: %s", path,
				     strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "name ", 5) == 0)
			copy_name(st->name, sizeof(st->name), line + 5);
		else if (strcmp(line, "up 1") == 0)
			st->up = true;
		else if (strncmp(line, "addr ", 5) == 0 && st->n < ARRAY_SIZE(st->addrs) &&
			 cni_ipnet_parse(line + 5, &st->addrs[st->n]) == 0)
			st->n++;
	}
	bool bad_read = ferror(f);
	fclose(f);
	if (bad_read)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
				     "failed to read the state of the device in %s", path);
	return st->name[0] != 0;
}

/* Down, alias = its host name, into the container, renamed to CNI_IFNAME there. */
static int hostdev_move_in(add_ctx *x, cni_error **err)
{
	cni_link_info li = CNI_LINK_INFO_INIT;
	int r;

	if (cni_link_get(x->cont_nl, x->args->ifname, &li, NULL) == 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "container interface name %s already exists in %s",
				     x->args->ifname, x->args->netns);
	if ((r = hostdev_save(x, err)) < 0)
		return r;
	x->created = true; /* from here on a failure returns it (undoing what was done) */
	if ((r = cni_link_set_up(x->host_nl, x->master.ifindex, false, err)) < 0 ||
	    (r = cni_link_set_alias(x->host_nl, x->master.ifindex, x->master.name, err)) < 0 ||
	    (r = cni_link_set_netns(x->host_nl, x->master.ifindex, x->cont_ns, err)) < 0 ||
	    (r = cni_link_get(x->cont_nl, x->master.name, &x->link, err)) < 0 ||
	    (r = cni_link_set_name(x->cont_nl, x->link.ifindex, x->args->ifname, err)) < 0)
		return r;
	return cni_link_get_by_index(x->cont_nl, x->link.ifindex, &x->link, err);
}

/* The link whose alias is alias (a moved device under a temporary name): 1 and *out when
 * there is one, 0 when not, < 0 when the links cannot be listed. */
static int link_by_alias(cni_nl *nl, const char *alias, cni_link_info *out, cni_error **err)
{
	cni_link_info *all = NULL;
	size_t n = 0, i = 0;
	int r = cni_link_list(nl, &all, &n, err);
	if (r < 0)
		return r;
	while (i < n && strcmp(all[i].alias, alias) != 0)
		i++;
	if (i < n)
		*out = all[i];
	cni_free(all);
	return i < n;
}

/* The device in the container (under its host name, CNI_IFNAME, or the temporary name of
 * a DEL that failed half way), into the host under a temporary name; nothing to do when
 * it is not there. */
static int hostdev_move_out(cni_nl *cont_nl, const char *ifname, const char *name,
			    const cni_netns *host_ns, cni_error **err)
{
	char tmp[CNI_IFNAMSIZ];
	cni_link_info li = CNI_LINK_INFO_INIT;
	int r;

	if (cni_link_get(cont_nl, ifname, &li, NULL) < 0 &&
	    cni_link_get(cont_nl, name, &li, NULL) < 0 &&
	    (r = link_by_alias(cont_nl, name, &li, err)) <= 0)
		return r;
	if (strcmp(li.alias, name) != 0)
		return 0; /* not ours */
	if ((r = cni_random_veth_name(tmp, sizeof(tmp), err)) < 0 ||
	    (r = cni_link_set_up(cont_nl, li.ifindex, false, err)) < 0 ||
	    (r = cni_link_set_name(cont_nl, li.ifindex, tmp, err)) < 0 ||
	    (r = cni_link_set_netns(cont_nl, li.ifindex, host_ns, err)) < 0)
		return PC_PREFIXED(r, err, "failed to return device %s to the host", name);
	return 0;
}

/*
 * In the host: the device (found by its name, or by the alias it carries under a
 * temporary name) renamed back, alias cleared, addresses and up state restored. Returns
 * 0 when all is done (or the device is not in the host: nothing to finish here).
 */
static int hostdev_finish(cni_nl *host_nl, const hd_state *st, cni_error **err)
{
	cni_link_info li = CNI_LINK_INFO_INIT;
	int r;

	if (cni_link_get(host_nl, st->name, &li, NULL) < 0) {
		if ((r = link_by_alias(host_nl, st->name, &li, err)) <= 0)
			return r;
		if ((r = cni_link_set_name(host_nl, li.ifindex, st->name, err)) < 0)
			return PC_PREFIXED(r, err, "device %s is back in the host as %s", st->name,
					   li.name);
	}
	if (*li.alias && (r = cni_link_set_alias(host_nl, li.ifindex, "", err)) < 0)
		return r;
	for (size_t i = 0; i < st->n; i++) {
		cni_error *e = NULL;
		r = cni_addr_add(host_nl, li.ifindex, &st->addrs[i], 0, &e);
		if (r < 0 && errno != EEXIST) {
			*err = e;
			return r;
		}
		cni_error_free(e);
	}
	if (st->up && (r = cni_link_set_up(host_nl, li.ifindex, true, err)) < 0)
		return r;
	return 1;
}

/* Out of the container and back to what it was; the state file goes when all is done. */
static int hostdev_return(cni_nl *cont_nl, const cni_cmd_args *args, const hd_state *st,
			  cni_error **err)
{
	cni_netns *host_ns = NULL;
	cni_nl *host_nl = NULL;
	char path[PATH_MAX];
	int r;

	if ((r = cni_netns_open_current(&host_ns, err)) == 0 &&
	    (r = cni_nl_open(&host_nl, NULL, err)) == 0 &&
	    (!cont_nl || (r = hostdev_move_out(cont_nl, args->ifname, st->name, host_ns, err)) == 0) &&
	    (r = hostdev_finish(host_nl, st, err)) >= 0) {
		hostdev_state_path(args, path, sizeof(path));
		/* kept while the device is still away (in the container: a later DEL) */
		if (r == 1 || !cont_nl)
			unlink(path);
		r = 0;
	}
	cni_nl_close(host_nl);
	cni_netns_close(host_ns);
	return r;
}

/* DEL: ours is a device recorded at ADD (or, from the reference, one with an alias). */
static int hostdev_del(cni_nl *nl, const cni_cmd_args *args, cni_error **err)
{
	hd_state st;
	int r = hostdev_load(args, &st, err);
	if (r < 0)
		return r;
	if (r == 0) {
		cni_link_info li = CNI_LINK_INFO_INIT;
		if (!nl || cni_link_get(nl, args->ifname, &li, NULL) < 0 || !*li.alias)
			return 0;
		copy_name(st.name, sizeof(st.name), li.alias);
	}
	return hostdev_return(nl, args, &st, err);
}

/* Inside the container: arp_notify (with addresses only, as the reference), and for
 * macvlan ndisc_notify too, as the reference does since 1.2; then addresses and routes,
 * or just up. Both are best effort (no IPv6: no ndisc_notify), as there. */
static int configure_container(void *ud, cni_error **err)
{
	add_ctx *x = ud;
	char key[96];

	if (!x->ipam)
		return cni_link_set_up(x->cont_nl, x->link.ifindex, true, err);
	/* as the reference: macvlan, ipvlan and tap do; vlan, dummy and host-device not */
	if (x->c->kind == PS_MACVLAN || x->c->kind == PS_IPVLAN || x->c->kind == PS_TAP) {
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/arp_notify", x->args->ifname);
		cni_sysctl_set(key, "1", NULL);
	}
	if (x->c->kind == PS_MACVLAN) {
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/ndisc_notify", x->args->ifname);
		cni_sysctl_set(key, "1", NULL);
	}
	return cni_ipam_configure_iface(x->cont_nl, x->args->ifname, x->res, NULL, err);
}

static int build_result(add_ctx *x, cni_error **err)
{
	cni_interface ci = CNI_INTERFACE_INIT;
	int r;

	if ((r = cni_result_new(&x->res, cni_version_current(), err)) < 0)
		return r;
	ci.name = x->link.name;
	ci.mac = x->link.mac;
	ci.sandbox = x->args->netns;
	if ((r = cni_result_add_interface(x->res, &ci, NULL, err)) < 0 || !x->ipam)
		return r;
	for (size_t i = 0; i < cni_result_ip_count(x->ipam); i++) {
		cni_ip ip = CNI_IP_INIT;
		if ((r = cni_result_get_ip(x->ipam, i, &ip)) < 0)
			return cni_error_set(err, -r, NULL, "failed to read IPAM result");
		ip.interface = 0;
		if ((r = cni_result_add_ip(x->res, &ip, err)) < 0)
			return r;
	}
	for (size_t i = 0; i < cni_result_route_count(x->ipam); i++) {
		cni_route rt = CNI_ROUTE_INIT;
		if ((r = cni_result_get_route(x->ipam, i, &rt)) < 0)
			return cni_error_set(err, -r, NULL, "failed to read IPAM result");
		if ((r = cni_result_add_route(x->res, &rt, err)) < 0)
			return r;
	}
	return 0;
}

/* The config's dns (the reference drops IPAM's for these plugins; dummy keeps IPAM's). */
static int set_dns(add_ctx *x, cni_error **err)
{
	cni_dns dns = CNI_DNS_INIT;
	cni_result *tmp = NULL;
	json_t *d = pj_get_first(x->c->root, "dns");
	int r = 0;

	if (x->c->kind == PS_DUMMY || x->c->kind == PS_HOSTDEV) {
		if (x->ipam)
			cni_result_get_dns(x->ipam, &dns);
		return cni_result_set_dns(x->res, &dns, err);
	}
	if (!json_is_object(d))
		return 0;
	/* borrow the parser of results for the config's dns object */
	json_t *wrap = json_pack("{s:s, s:O}", "cniVersion", "1.0.0", "dns", d);
	char *txt = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
	json_decref(wrap);
	if (!txt)
		return cni_error_oom(err);
	if (cni_result_from_json(&tmp, "1.0.0", txt, strlen(txt), NULL) == 0 &&
	    cni_result_get_dns(tmp, &dns) == 0)
		r = cni_result_set_dns(x->res, &dns, err);
	cni_result_free(tmp);
	free(txt);
	return r;
}

static int cmd_add_kind(ps_kind kind, const cni_cmd_args *args, cni_result **result,
			cni_error **err)
{
	ps_conf c;
	add_ctx x = {.args = args, .c = &c};
	size_t len = 0;
	const char *bytes = NULL;
	int r;

	if ((r = load_conf(kind, args, true, &c, err)) < 0)
		goto out;
	if ((r = cni_netns_open(args->netns, &x.cont_ns, err)) < 0 ||
	    (r = cni_nl_open(&x.cont_nl, x.cont_ns, err)) < 0)
		goto out;
	if ((c.info->has_master && !c.link_in_container) || kind == PS_HOSTDEV) {
		if ((r = cni_nl_open(&x.host_nl, NULL, err)) < 0)
			goto out;
		x.master_nl = x.host_nl;
	} else {
		x.master_nl = x.cont_nl;
	}
	if (kind == PS_HOSTDEV) {
		if ((r = cni_netns_open_current(&x.host_ns, err)) < 0 ||
		    (r = hostdev_find(&x, err)) < 0 || (r = hostdev_move_in(&x, err)) < 0)
			goto fail;
	} else if ((r = find_master(&x, err)) < 0 || (r = create_link(&x, err)) < 0) {
		goto fail;
	}
	bytes = cni_conf_bytes(c.conf, &len);
	if (c.has_ipam) {
		if ((r = cni_ipam_exec_add(bytes, len, &x.ipam, err)) < 0)
			goto fail;
		x.ipam_done = true;
		if (cni_result_ip_count(x.ipam) == 0) {
			r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					  "IPAM plugin returned missing IP config");
			goto fail;
		}
	} else if (c.prev && kind == PS_IPVLAN) {
		if (cni_result_ip_count(c.prev) == 0) {
			r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					  "IPAM plugin returned missing IP config");
			goto fail;
		}
		x.ipam = c.prev;
		c.prev = NULL;
	}
	if ((r = build_result(&x, err)) < 0 || (r = set_dns(&x, err)) < 0 ||
	    (r = cni_netns_run(x.cont_ns, configure_container, &x, err)) < 0)
		goto fail;
	/* the MAC may change when the link comes up (ipvlan follows its master) */
	*result = x.res;
	x.res = NULL;
	r = 0;
	goto out;
fail:
	if (x.created && kind == PS_HOSTDEV)
		hostdev_del(x.cont_nl, args, NULL);
	else if (x.created && x.link.ifindex)
		cni_link_del(x.cont_nl, x.link.ifindex, NULL);
	if (x.ipam_done)
		cni_ipam_exec_del(bytes, len, NULL);
out:
	cni_result_free(x.res);
	cni_result_free(x.ipam);
	cni_free(x.orig_addrs);
	cni_netns_close(x.host_ns);
	cni_nl_close(x.host_nl);
	cni_nl_close(x.cont_nl);
	cni_netns_close(x.cont_ns);
	conf_done(&c);
	return r;
}

/* ---- DEL: IPAM, then the link if the namespace and the link are still there ---- */

static int cmd_del_kind(ps_kind kind, const cni_cmd_args *args, cni_error **err)
{
	ps_conf c;
	cni_netns *ns = NULL;
	cni_nl *nl = NULL;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_error *e = NULL;
	size_t len = 0;
	bool gone;
	int r;

	if ((r = load_conf(kind, args, false, &c, err)) < 0)
		goto out;
	const char *bytes = cni_conf_bytes(c.conf, &len);
	if (c.has_ipam && (r = cni_ipam_exec_del(bytes, len, err)) < 0)
		goto out;
	if ((r = pc_netns_open_del(args->netns, &ns, err)) < 0)
		goto out;
	/* without the namespace the link is gone with it (a physical host device is back in
	 * the host: host-device finishes its return there) */
	if (ns && (r = cni_nl_open(&nl, ns, err)) < 0)
		goto out;
	if (kind == PS_HOSTDEV) {
		r = hostdev_del(nl, args, err);
		goto out;
	}
	if (!nl)
		goto out;
	if ((r = remove_stale(nl, c.info, args, err)) < 0)
		goto out;
	r = cni_link_get(nl, args->ifname, &li, &e);
	if ((r = pc_gone_ok(r, e, &gone, err)) < 0 || gone)
		goto out;
	/* only a link of our kind: a DEL must not remove what another plugin made */
	if (strcmp(li.kind, c.info->link_kind) != 0)
		goto out;
	r = cni_link_del(nl, li.ifindex, &e);
	r = pc_gone_ok(r, e, NULL, err);
out:
	cni_nl_close(nl);
	cni_netns_close(ns);
	conf_done(&c);
	return r;
}

/* ---- CHECK ---- */

typedef struct check_ctx {
	ps_conf *c;
	const cni_cmd_args *args;
	cni_nl *nl;
	cni_interface cont;
	int master_index;
} check_ctx;

static bool same_ipnet(const cni_ipnet *a, const cni_ipnet *b)
{
	return a->prefix == b->prefix && cni_ip_equal(&a->ip, &b->ip);
}

static int check_addrs(check_ctx *k, const cni_link_info *li, cni_error **err)
{
	cni_addr_info *addrs = NULL;
	size_t na = 0;
	int r = cni_addr_list(k->nl, li->ifindex, 0, &addrs, &na, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < cni_result_ip_count(k->c->prev); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_ipnet want;
		bool found = false;
		cni_result_get_ip(k->c->prev, i, &ip);
		if (cni_ipnet_parse(ip.address, &want) < 0)
			continue;
		for (size_t j = 0; j < na && !found; j++)
			found = same_ipnet(&addrs[j].addr, &want);
		if (!found) {
			cni_free(addrs);
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "Failed to match addr %s on interface %s", ip.address,
					     li->name);
		}
	}
	cni_free(addrs);
	cni_route_spec *routes = NULL;
	size_t nr = 0;
	if ((r = cni_route_list(k->nl, 0, 0, 0, &routes, &nr, err)) < 0)
		return r;
	for (size_t i = 0; i < cni_result_route_count(k->c->prev); i++) {
		cni_route rt = CNI_ROUTE_INIT;
		cni_ipnet dst;
		bool found = false;
		cni_result_get_route(k->c->prev, i, &rt);
		if (cni_ipnet_parse(rt.dst, &dst) < 0)
			continue;
		cni_ipnet_network(&dst, &dst);
		for (size_t j = 0; j < nr && !found; j++)
			found = same_ipnet(&routes[j].dst, &dst);
		if (!found) {
			cni_free(routes);
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "Failed to match route %s on interface %s", rt.dst,
					     li->name);
		}
	}
	cni_free(routes);
	return 0;
}

static int check_container(void *ud, cni_error **err)
{
	check_ctx *k = ud;
	ps_conf *c = k->c;
	const char *kind = c->info->link_kind;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_link_details d = CNI_LINK_DETAILS_INIT;
	int r;

	if (cni_link_get(k->nl, k->cont.name, &li, NULL) < 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Container Interface name in prevResult: %s not found",
				     k->cont.name);
	if ((r = cni_link_get_details(k->nl, li.ifindex, &d, err)) < 0)
		return r;
	if (c->kind != PS_HOSTDEV && strcmp(d.kind, kind) != 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Error: Container interface %s not of type %s", li.name, kind);
	if (c->kind == PS_MACVLAN && d.macvlan_mode != (int)c->mmode)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Container macvlan mode %s does not match expected value: %s",
				     cni_macvlan_mode_name(d.macvlan_mode),
				     cni_macvlan_mode_name(c->mmode));
	if (c->kind == PS_IPVLAN && d.ipvlan_mode != (int)c->imode)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Container ipvlan mode %s does not match expected value: %s",
				     cni_ipvlan_mode_name(d.ipvlan_mode),
				     cni_ipvlan_mode_name(c->imode));
	if (c->kind == PS_VLAN && d.vlan_id != c->vlan_id)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Error: container vlan %s has id %d, not the expected %d",
				     li.name, d.vlan_id, c->vlan_id);
	if (k->master_index && d.parent != k->master_index)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Container %s %s has parent %d, not the master %s (%d)", kind,
				     li.name, d.parent, c->master, k->master_index);
	if (!isempty_str(k->cont.mac) && strcasecmp(k->cont.mac, li.mac) != 0)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Interface %s Mac %s doesn't match container Mac: %s",
				     k->cont.name, k->cont.mac, li.mac);
	if (c->kind == PS_TAP && !isempty_str(c->bridge)) {
		cni_link_info br = CNI_LINK_INFO_INIT;
		if (cni_link_get(k->nl, c->bridge, &br, NULL) < 0 || li.master != br.ifindex)
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "tap %s is not attached to bridge %s", li.name,
					     c->bridge);
	}
	if (c->kind == PS_DUMMY && !(li.flags & 1 /* IFF_UP */))
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "dummy interface %s is down",
				     li.name);
	return check_addrs(k, &li, err);
}

static int cmd_check_kind(ps_kind kind, const cni_cmd_args *args, cni_error **err)
{
	ps_conf c;
	cni_netns *ns = NULL;
	cni_nl *host = NULL;
	check_ctx k = {.c = &c, .args = args};
	size_t len = 0;
	int r;

	if ((r = load_conf(kind, args, false, &c, err)) < 0)
		goto out;
	const char *bytes = cni_conf_bytes(c.conf, &len);
	if (c.has_ipam && (r = cni_ipam_exec_check(bytes, len, err)) < 0)
		goto out;
	if (!c.prev) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "Required prevResult missing");
		goto out;
	}
	for (size_t i = 0; i < cni_result_interface_count(c.prev); i++) {
		cni_interface it = CNI_INTERFACE_INIT;
		cni_result_get_interface(c.prev, i, &it);
		if (it.name && strcmp(it.name, args->ifname) == 0)
			k.cont = it;
	}
	if (!k.cont.sandbox || strcmp(k.cont.sandbox, args->netns) != 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "Sandbox in prevResult %s doesn't match configured netns: %s",
				  strempty_str(k.cont.sandbox), args->netns);
		goto out;
	}
	if ((r = cni_netns_open(args->netns, &ns, err)) < 0)
		goto out;
	/* a master named in the config must still be there and be the link's parent */
	if (c.info->has_master && !isempty_str(c.master) && !c.link_in_container) {
		cni_link_info m = CNI_LINK_INFO_INIT;
		if ((r = cni_nl_open(&host, NULL, err)) < 0)
			goto out;
		if (cni_link_get(host, c.master, &m, NULL) < 0) {
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					  "failed to lookup master \"%s\": Link not found", c.master);
			goto out;
		}
		k.master_index = m.ifindex;
	}
	if ((r = cni_nl_open(&k.nl, ns, err)) < 0)
		goto out;
	r = cni_netns_run(ns, check_container, &k, err);
out:
	cni_nl_close(k.nl);
	cni_nl_close(host);
	cni_netns_close(ns);
	conf_done(&c);
	return r;
}

/* ---- GC, STATUS: IPAM's ---- */

static int ipam_verb(ps_kind kind, const cni_cmd_args *args, bool gc, cni_error **err)
{
	ps_conf c;
	size_t len = 0;
	int r = load_conf(kind, args, false, &c, err);
	if (r == 0 && c.has_ipam) {
		const char *bytes = cni_conf_bytes(c.conf, &len);
		r = gc ? cni_ipam_exec_gc(bytes, len, err) : cni_ipam_exec_status(bytes, len, err);
	}
	conf_done(&c);
	return r;
}

/* The plugin callbacks take the kind through their user data. */
static int cb_add(const cni_cmd_args *a, cni_result **res, cni_error **err, void *ud)
{
	return cmd_add_kind(*(ps_kind *)ud, a, res, err);
}
static int cb_del(const cni_cmd_args *a, cni_error **err, void *ud)
{
	return cmd_del_kind(*(ps_kind *)ud, a, err);
}
static int cb_check(const cni_cmd_args *a, cni_error **err, void *ud)
{
	return cmd_check_kind(*(ps_kind *)ud, a, err);
}
static int cb_gc(const cni_cmd_args *a, cni_error **err, void *ud)
{
	return ipam_verb(*(ps_kind *)ud, a, true, err);
}
static int cb_status(const cni_cmd_args *a, cni_error **err, void *ud)
{
	return ipam_verb(*(ps_kind *)ud, a, false, err);
}

int ps_main(ps_kind kind)
{
	static ps_kind k;
	char about[80];
	cni_plugin_funcs f = CNI_PLUGIN_FUNCS_INIT;
	k = kind;
	f.userdata = &k;
	f.add = cb_add;
	f.del = cb_del;
	f.check = cb_check;
	f.gc = cb_gc;
	f.status = cb_status;
	snprintf(about, sizeof(about), "%s libcni-c %s", INFO[kind].version, LIBCNI_C_VERSION);
	return cni_plugin_main(&f, NULL, about);
}
