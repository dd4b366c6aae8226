/* SPDX-License-Identifier: Apache-2.0 */
/*
 * etcd-ipam: cluster-wide IPv4 IPAM whose state is in etcd v3.
 *
 * Keys under <prefix>/<network>/:
 *   blocks/<8 hex: block start>      -> owning node (affinity)
 *   ips/<8 hex: address>             -> "<node> <container id> <ifname>"
 *   attach/<node>/<container id>/<ifname> -> "<address>"
 * Every write is one txn guarded by compares (create_revision 0 for new keys, the value or
 * mod_revision seen for deletes), so two nodes can never hold one address and a killed run
 * leaves either nothing or a complete attachment.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "etcd.h"

#define MAX_TRIES 64

typedef struct cfg {
	json_t *root;
	const char *name, *prefix, *node;
	char hostname[256];
	etcd_opts eo;
	int block_size;
	uint32_t net, mask, gw;
	int plen;
	json_t *routes;
} cfg;

static void cfg_clear(cfg *c)
{
	json_decref(c->root);
}

static const char *key_str(json_t *ipam, json_t *root, const char *k, const char *def)
{
	const char *v = json_string_value(json_object_get(ipam, k));

	if (!v)
		v = json_string_value(json_object_get(root, k));
	return v ? v : def;
}

static int bad(cni_error **err, const char *key, const char *val)
{
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			     "etcd-ipam: invalid %s \"%s\"", key, val ? val : "");
}

/* An IPv4 address as a host-order number (the block arithmetic's unit); false for IPv6. */
static bool v4(const cni_ipaddr *a, uint32_t *out)
{
	if (a->family != AF_INET)
		return false;
	*out = (uint32_t)a->addr[0] << 24 | (uint32_t)a->addr[1] << 16 | (uint32_t)a->addr[2] << 8 |
	       a->addr[3];
	return true;
}

static int cfg_load(const cni_cmd_args *a, cfg *c, cni_error **err)
{
	json_error_t je;
	json_t *ipam, *ranges, *r0, *bs;
	const char *subnet, *gw;

	memset(c, 0, sizeof(*c));
	c->root = json_loadb(a->stdin_data, a->stdin_len, 0, &je);
	if (!json_is_object(c->root))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "etcd-ipam: cannot parse network config: %s", je.text);
	ipam = json_object_get(c->root, "ipam");
	if (!json_is_object(ipam))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "etcd-ipam: missing \"ipam\" section");
	c->name = json_string_value(json_object_get(c->root, "name"));
	if (!c->name || !*c->name || strchr(c->name, '/'))
		return bad(err, "name", c->name);
	c->eo.endpoints = key_str(ipam, c->root, "etcd_endpoints", "http://127.0.0.1:2379");
	c->eo.ca_file = key_str(ipam, c->root, "etcd_ca_cert_file", "");
	c->eo.cert_file = key_str(ipam, c->root, "etcd_cert_file", "");
	c->eo.key_file = key_str(ipam, c->root, "etcd_key_file", "");
	c->eo.username = key_str(ipam, c->root, "etcd_username", "");
	c->eo.password = key_str(ipam, c->root, "etcd_password", "");
	c->eo.connect_timeout_ms = 500;
	c->eo.timeout_ms = 3000;
	c->prefix = key_str(ipam, c->root, "etcd_prefix", "/libcni-c/ipam");
	c->node = key_str(ipam, c->root, "nodename", NULL);
	if (!c->node) {
		gethostname(c->hostname, sizeof(c->hostname) - 1);
		c->node = c->hostname;
	}
	if (!*c->node || strchr(c->node, '/') || strchr(c->node, ' '))
		return bad(err, "nodename", c->node);
	bs = json_object_get(ipam, "blockSize");
	c->block_size = bs ? (int)json_integer_value(bs) : 26;
	ranges = json_object_get(ipam, "ranges");
	r0 = json_array_get(json_array_get(ranges, 0), 0);
	subnet = json_string_value(json_object_get(r0, "subnet"));
	if (!subnet)
		subnet = json_string_value(json_object_get(ipam, "subnet"));
	if (!subnet)
		return bad(err, "ranges[0][0].subnet", "");
	cni_ipnet sn;
	uint32_t addr;
	if (cni_ipnet_parse(subnet, &sn) < 0 || !v4(&sn.ip, &addr) || sn.prefix < 8 ||
	    sn.prefix > 30)
		return bad(err, "subnet", subnet);
	c->plen = sn.prefix;
	c->mask = 0xffffffffu << (32 - c->plen);
	c->net = addr & c->mask;
	if (!json_is_integer(bs) && bs)
		return bad(err, "blockSize", "not a number");
	if (c->block_size < c->plen || c->block_size > 30)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "etcd-ipam: invalid blockSize %d (must be %d..30)",
				     c->block_size, c->plen);
	gw = json_string_value(json_object_get(r0, "gateway"));
	if (gw) {
		cni_ipaddr g;
		if (cni_ip_parse(gw, &g) < 0 || !v4(&g, &addr) || (addr & c->mask) != c->net)
			return bad(err, "gateway", gw);
		c->gw = addr;
	} else {
		c->gw = c->net + 1;
	}
	c->routes = json_object_get(ipam, "routes");
	return 0;
}

static bool reserved(const cfg *c, uint32_t ip)
{
	return ip == c->net || ip == c->gw || ip == (c->net | ~c->mask);
}

static void ip_str(uint32_t ip, char *buf, size_t len)
{
	cni_ipaddr a = {AF_INET, {(uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8),
				  (uint8_t)ip}};
	cni_ip_format(&a, buf, len);
}

#define KEYLEN 1024
static void k_block(const cfg *c, uint32_t b, char *k)
{
	snprintf(k, KEYLEN, "%s/%s/blocks/%08x", c->prefix, c->name, b);
}
static void k_ip(const cfg *c, uint32_t ip, char *k)
{
	snprintf(k, KEYLEN, "%s/%s/ips/%08x", c->prefix, c->name, ip);
}
static void k_attach(const cfg *c, const char *id, const char *ifname, char *k)
{
	snprintf(k, KEYLEN, "%s/%s/attach/%s/%s/%s", c->prefix, c->name, c->node, id, ifname);
}

static int check_ids(const cni_cmd_args *a, cni_error **err)
{
	int r = cni_validate_container_id(a->container_id, err);

	if (r < 0)
		return r;
	return cni_validate_ifname(a->ifname, err);
}

/* The address held by (id, ifname) on this node, 0 when none. */
static int lookup(etcd *e, const cfg *c, const char *id, const char *ifname, uint32_t *ip,
		  int64_t *rev, cni_error **err)
{
	char k[KEYLEN];
	etcd_kvs kv;
	int r;

	k_attach(c, id, ifname, k);
	r = etcd_range(e, k, NULL, false, false, &kv, err);
	if (r < 0)
		return r;
	*ip = 0;
	cni_ipaddr a;
	if (kv.n && cni_ip_parse(kv.kv[0].value, &a) == 0 && v4(&a, ip))
		*rev = kv.kv[0].mod_revision;
	etcd_kvs_clear(&kv);
	return 0;
}

/* Try to take a free address in block b: 1 taken, 0 block full, <0 error. A lost race
 * on one address moves on to the next one. */
static int take_in_block(etcd *e, const cfg *c, uint32_t b, bool mine, const char *id,
			 const char *ifname, uint32_t *out, cni_error **err)
{
	uint32_t size = 1u << (32 - c->block_size);
	char k[KEYLEN], end[KEYLEN], ak[KEYLEN], bk[KEYLEN], val[KEYLEN], a[INET_ADDRSTRLEN];
	etcd_kvs kv;
	unsigned char *used = calloc(size, 1);
	int r;

	if (!used)
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	k_ip(c, b, k);
	k_ip(c, b + size, end);
	if (b + size == 0)
		snprintf(end, sizeof(end), "%s/%s/ips0", c->prefix, c->name);
	r = etcd_range(e, k, end, true, false, &kv, err);
	if (r < 0) {
		free(used);
		return r;
	}
	for (size_t i = 0; i < kv.n; i++) {
		const char *h = strrchr(kv.kv[i].key, '/');
		uint32_t ip = h ? (uint32_t)strtoul(h + 1, NULL, 16) : 0;

		if (ip >= b && ip - b < size)
			used[ip - b] = 1;
	}
	etcd_kvs_clear(&kv);
	k_attach(c, id, ifname, ak);
	k_block(c, b, bk);
	snprintf(val, sizeof(val), "%s %s %s", c->node, id, ifname);
	r = 0;
	for (uint32_t i = 0; i < size && r == 0; i++) {
		uint32_t ip = b + i;
		etcd_txn *t;
		bool ok = false;

		if (used[i] || reserved(c, ip))
			continue;
		t = etcd_txn_new();
		if (!t) {
			r = cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
			break;
		}
		k_ip(c, ip, k);
		ip_str(ip, a, sizeof(a));
		etcd_txn_compare(t, k, ETCD_CMP_CREATE_REV, 0, NULL);
		etcd_txn_compare(t, ak, ETCD_CMP_CREATE_REV, 0, NULL);
		if (mine) /* the block is still ours */
			etcd_txn_compare(t, bk, ETCD_CMP_VALUE, 0, c->node);
		etcd_txn_put(t, k, val);
		etcd_txn_put(t, ak, a);
		r = etcd_txn_commit(e, t, &ok, err);
		etcd_txn_free(t);
		if (r < 0)
			break;
		if (ok) {
			*out = ip;
			r = 1;
		} else {
			/* lost a race (or our attachment appeared): the caller re-reads */
			r = 2;
		}
	}
	free(used);
	return r;
}

static int list_blocks(etcd *e, const cfg *c, etcd_kvs *kv, cni_error **err)
{
	char k[KEYLEN], *end;
	int r;

	snprintf(k, sizeof(k), "%s/%s/blocks/", c->prefix, c->name);
	end = etcd_prefix_end(k);
	if (!end)
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	r = etcd_range(e, k, end, false, false, kv, err);
	free(end);
	return r;
}

static uint32_t block_of(const char *key)
{
	const char *h = strrchr(key, '/');

	return h ? (uint32_t)strtoul(h + 1, NULL, 16) : 0;
}

/* One pass: own blocks, then a new block, then borrowing. 1 allocated, 2 retry, 0 full. */
static int allocate_pass(etcd *e, const cfg *c, const char *id, const char *ifname,
			 uint32_t *ip, cni_error **err)
{
	uint32_t size = 1u << (32 - c->block_size), nblocks = 1u << (c->block_size - c->plen);
	unsigned char *claimed = calloc(nblocks, 1);
	etcd_kvs kv;
	int r;

	if (!claimed)
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	r = list_blocks(e, c, &kv, err);
	if (r < 0) {
		free(claimed);
		return r;
	}
	for (size_t i = 0; i < kv.n && r == 0; i++) {
		uint32_t b = block_of(kv.kv[i].key);

		if ((b & c->mask) != c->net || (b & (size - 1)))
			continue; /* another subnet's block (config changed) */
		claimed[(b - c->net) / size] = 1;
		if (!strcmp(kv.kv[i].value, c->node))
			r = take_in_block(e, c, b, true, id, ifname, ip, err);
	}
	/* claim a new block, starting at a place that depends on the node name so nodes
	 * do not all race for the same one */
	if (r == 0) {
		uint32_t h = 5381;

		for (const char *p = c->node; *p; p++)
			h = h * 33 + (unsigned char)*p;
		for (uint32_t j = 0; j < nblocks && r == 0; j++) {
			uint32_t idx = (h + j) % nblocks, b = c->net + idx * size;
			char bk[KEYLEN];
			etcd_txn *t;
			bool ok = false;

			if (claimed[idx])
				continue;
			t = etcd_txn_new();
			if (!t) {
				r = cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
				break;
			}
			k_block(c, b, bk);
			etcd_txn_compare(t, bk, ETCD_CMP_CREATE_REV, 0, NULL);
			etcd_txn_put(t, bk, c->node);
			r = etcd_txn_commit(e, t, &ok, err);
			etcd_txn_free(t);
			if (r < 0)
				break;
			r = 2; /* claimed or lost the race: re-read */
		}
	}
	/* borrow from other nodes' blocks */
	for (size_t i = 0; i < kv.n && r == 0; i++) {
		uint32_t b = block_of(kv.kv[i].key);

		if ((b & c->mask) == c->net && !(b & (size - 1)) && strcmp(kv.kv[i].value, c->node))
			r = take_in_block(e, c, b, false, id, ifname, ip, err);
	}
	etcd_kvs_clear(&kv);
	free(claimed);
	return r;
}

static int open_etcd(const cfg *c, etcd **e, cni_error **err)
{
	return etcd_open(e, &c->eo, err);
}

/* ADD, DEL, CHECK: the ids, the config and a connection */
static int begin(const cni_cmd_args *a, cfg *c, etcd **e, cni_error **err)
{
	int r;

	memset(c, 0, sizeof(*c));
	r = check_ids(a, err);
	if (r == 0)
		r = cfg_load(a, c, err);
	if (r == 0)
		r = open_etcd(c, e, err);
	return r;
}

static int build_result(const cfg *c, uint32_t ip, cni_result **out, cni_error **err)
{
	cni_result *res = NULL;
	char addr[64], a[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	cni_ip cip = CNI_IP_INIT;
	size_t i;
	json_t *rt;
	int r = cni_result_new(&res, CNI_SPEC_VERSION, err);

	if (r < 0)
		return r;
	ip_str(ip, a, sizeof(a));
	ip_str(c->gw, gw, sizeof(gw));
	snprintf(addr, sizeof(addr), "%s/%d", a, c->plen);
	cip.address = addr;
	cip.gateway = gw;
	r = cni_result_add_ip(res, &cip, err);
	json_array_foreach(c->routes, i, rt) {
		cni_route route = CNI_ROUTE_INIT;

		if (r < 0)
			break;
		route.dst = json_string_value(json_object_get(rt, "dst"));
		route.gw = json_string_value(json_object_get(rt, "gw"));
		if (!route.dst) {
			r = bad(err, "routes[].dst", "");
			break;
		}
		r = cni_result_add_route(res, &route, err);
	}
	if (r < 0) {
		cni_result_free(res);
		return r;
	}
	*out = res;
	return 0;
}

static int cmd_add(const cni_cmd_args *a, cni_result **result, cni_error **err, void *ud)
{
	cfg c;
	etcd *e = NULL;
	uint32_t ip = 0;
	int64_t rev;
	int r;

	(void)ud;
	r = begin(a, &c, &e, err);
	for (int tries = 0; r == 0 && tries < MAX_TRIES; tries++) {
		r = lookup(e, &c, a->container_id, a->ifname, &ip, &rev, err);
		if (r < 0 || ip)
			break;
		r = allocate_pass(e, &c, a->container_id, a->ifname, &ip, err);
		if (r == 0) {
			char net[CNI_IP_STRLEN];
			ip_str(c.net, net, sizeof(net));
			r = cni_error_set(err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL,
					  "etcd-ipam: no IP addresses available in %s/%d", net,
					  c.plen);
			break;
		}
		r = r == 1 ? 0 : r < 0 ? r : 0;
		if (ip)
			break;
	}
	if (r == 0 && !ip)
		r = cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				  "etcd-ipam: gave up after %d contended attempts", MAX_TRIES);
	if (r == 0)
		r = build_result(&c, ip, result, err);
	etcd_close(e);
	cfg_clear(&c);
	return r;
}

/* Release (id, ifname) of this node; absent is fine. */
static int release(etcd *e, const cfg *c, const char *id, const char *ifname, cni_error **err)
{
	for (int tries = 0; tries < MAX_TRIES; tries++) {
		char ak[KEYLEN], k[KEYLEN], val[KEYLEN];
		uint32_t ip = 0;
		int64_t rev = 0;
		etcd_txn *t;
		bool ok = false, ok2 = false;
		int r = lookup(e, c, id, ifname, &ip, &rev, err);

		if (r < 0 || !ip)
			return r;
		k_attach(c, id, ifname, ak);
		k_ip(c, ip, k);
		snprintf(val, sizeof(val), "%s %s %s", c->node, id, ifname);
		t = etcd_txn_new();
		if (!t)
			return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
		etcd_txn_compare(t, ak, ETCD_CMP_MOD_REV, rev, NULL);
		etcd_txn_compare(t, k, ETCD_CMP_VALUE, 0, val);
		etcd_txn_delete(t, ak);
		etcd_txn_delete(t, k);
		r = etcd_txn_commit(e, t, &ok, err);
		etcd_txn_free(t);
		if (r < 0)
			return r;
		if (ok)
			return 0;
		/* the address record is not ours (should not happen): drop only the attachment */
		t = etcd_txn_new();
		if (!t)
			return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
		etcd_txn_compare(t, ak, ETCD_CMP_MOD_REV, rev, NULL);
		etcd_txn_delete(t, ak);
		r = etcd_txn_commit(e, t, &ok2, err);
		etcd_txn_free(t);
		if (r < 0 || ok2)
			return r;
	}
	return cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
			     "etcd-ipam: release of %s/%s kept racing", id, ifname);
}

static int cmd_del(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cfg c;
	etcd *e = NULL;
	int r;

	(void)ud;
	r = begin(a, &c, &e, err);
	if (r == 0)
		r = release(e, &c, a->container_id, a->ifname, err);
	etcd_close(e);
	cfg_clear(&c);
	return r;
}

static int cmd_check(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cfg c;
	etcd *e = NULL;
	uint32_t ip = 0;
	int64_t rev;
	int r;

	(void)ud;
	r = begin(a, &c, &e, err);
	if (r == 0)
		r = lookup(e, &c, a->container_id, a->ifname, &ip, &rev, err);
	if (r == 0 && !ip)
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "etcd-ipam: no address held by container %s interface %s",
				  a->container_id, a->ifname);
	etcd_close(e);
	cfg_clear(&c);
	return r;
}

static bool is_valid(json_t *valid, const char *id, const char *ifname)
{
	size_t i;
	json_t *v;

	json_array_foreach(valid, i, v) {
		const char *vi = json_string_value(json_object_get(v, "containerID"));
		const char *vf = json_string_value(json_object_get(v, "ifname"));

		if (vi && vf && !strcmp(vi, id) && !strcmp(vf, ifname))
			return true;
	}
	return false;
}

static int cmd_gc(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cfg c;
	etcd *e = NULL;
	etcd_kvs kv = {0};
	json_t *valid;
	char k[KEYLEN], *end = NULL;
	int r;

	(void)ud;
	r = cfg_load(a, &c, err);
	if (r < 0) {
		cfg_clear(&c);
		return r;
	}
	valid = json_object_get(c.root, "cni.dev/valid-attachments");
	if (!json_is_array(valid)) {
		cfg_clear(&c);
		return 0; /* no list: cannot tell live from stale */
	}
	r = open_etcd(&c, &e, err);
	snprintf(k, sizeof(k), "%s/%s/attach/%s/", c.prefix, c.name, c.node);
	if (r == 0 && !(end = etcd_prefix_end(k)))
		r = cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	if (r == 0)
		r = etcd_range(e, k, end, true, false, &kv, err);
	for (size_t i = 0; r == 0 && i < kv.n; i++) {
		char *id = kv.kv[i].key + strlen(k), *ifn = strchr(id, '/');

		if (!ifn)
			continue;
		*ifn++ = 0;
		if (!is_valid(valid, id, ifn))
			r = release(e, &c, id, ifn, err);
	}
	etcd_kvs_clear(&kv);
	free(end);
	etcd_close(e);
	cfg_clear(&c);
	return r;
}

static int cmd_status(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cfg c;
	etcd *e = NULL;
	etcd_kvs kv = {0};
	char k[KEYLEN], k2[KEYLEN], *end = NULL;
	cni_error *e2 = NULL;
	int r;

	(void)ud;
	r = cfg_load(a, &c, err);
	if (r == 0 && open_etcd(&c, &e, &e2) < 0)
		r = cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL, "%s", cni_error_msg(e2));
	/* the addresses held inside the subnet */
	if (r == 0) {
		k_ip(&c, c.net, k);
		k_ip(&c, c.net + (uint32_t)(((uint64_t)1 << (32 - c.plen)) - 1), k2);
		end = etcd_prefix_end(k2);
	}
	if (r == 0 && !end)
		r = cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	if (r == 0)
		r = etcd_range(e, k, end, true, true, &kv, err);
	if (r == 0) {
		/* usable: the subnet less network, broadcast and gateway */
		int64_t usable = ((int64_t)1 << (32 - c.plen)) - 3;

		if (kv.count >= usable)
			r = cni_error_set(err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL,
					  "etcd-ipam: no IP addresses available (%lld in use)",
					  (long long)kv.count);
	}
	cni_error_free(e2);
	etcd_kvs_clear(&kv);
	free(end);
	etcd_close(e);
	cfg_clear(&c);
	return r;
}

CNI_PLUGIN_MAIN("CNI etcd-ipam plugin (libcni-c " LIBCNI_C_VERSION ")", .add = cmd_add,
		.del = cmd_del, .check = cmd_check, .gc = cmd_gc, .status = cmd_status)
