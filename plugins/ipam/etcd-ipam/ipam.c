/* SPDX-License-Identifier: Apache-2.0 */
/*
 * etcd-ipam: cluster-wide IPAM (IPv4 and IPv6, host-local's range sets) whose state is in
 * etcd v3.
 *
 * Keys under <prefix>/<network>/ (fixed-width hex, so a block is one contiguous key range):
 *   blocks/<8 hex>, blocks6/<32 hex: block start>  -> owning node (affinity)
 *   ips/<8 hex>, ips6/<32 hex: address>             -> "<node> <container id> <ifname>"
 *   attach/<node>/<container id>/<ifname>           -> "<address> [<address>...]", one per
 *                                                      range set, in range-set order
 * An attachment is written by one txn guarded by compares (create_revision 0 for every new
 * key, the owner of each own block relied on), and released by one txn guarded by the
 * attachment's mod_revision and the address records' values, so two nodes can never hold
 * one address and a killed run leaves either nothing or a complete attachment.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "etcd.h"
#include "ipam.h"

#define MAX_TRIES  64
#define MAX_RANGES 64
/* blocks tried when claiming a new one, from a place hashed from the node name */
#define MAX_CANDIDATES 65536
/* a block holds at most 2^16 addresses */
#define MAX_BLOCK_BITS 16

typedef struct rng {
	cni_ipnet net;                   /* network address and prefix */
	cni_ipaddr start, end, gw, last; /* last: the subnet's last address */
	int block;                       /* block prefix length */
	size_t set;                      /* index of its range set */
} rng;

typedef struct cfg {
	json_t *root;
	const char *name, *prefix, *node;
	char hostname[256];
	etcd_opts eo;
	rng r[MAX_RANGES];
	size_t nr, nsets;
	json_t *routes;
} cfg;

/* An attachment record: its addresses in range-set order. */
typedef struct att {
	bool present;
	cni_ipaddr ip[MAX_RANGES];
	size_t n;
	int64_t rev;
} att;

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

/* A range key that is wrong: "invalid ranges[0][1].rangeStart "x": why". */
static int bad_range(cni_error **err, const char *where, const char *key, const char *val,
		     const char *why)
{
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			     "etcd-ipam: invalid %s.%s \"%s\": %s", where, key, val ? val : "",
			     why);
}

static void ip_str(const cni_ipaddr *a, char *buf, size_t len)
{
	if (!cni_ip_format(a, buf, len))
		snprintf(buf, len, "<invalid>");
}

/* Parse an optional address key of a range; absent leaves *out untouched. */
static int range_ip(json_t *o, const char *where, const char *key, const cni_ipnet *net,
		    cni_ipaddr *out, cni_error **err)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	cni_ipaddr a;

	if (!v)
		return 0;
	if (!s || cni_ip_parse(s, &a) < 0)
		return bad_range(err, where, key, s, "not an IP address");
	if (!cni_ipnet_contains(net, &a)) {
		char n[CNI_IPNET_STRLEN];

		cni_ipnet_format(net, n, sizeof(n));
		return bad_range(err, where, key, s,
				 a.family == net->ip.family ? "not in subnet" : "wrong family");
	}
	*out = a;
	return 0;
}

static int block_size(json_t *ipam, const char *key, int def, int bits, const cni_ipnet *net,
		      int *out, cni_error **err)
{
	json_t *bs = json_object_get(ipam, key);
	char n[CNI_IPNET_STRLEN];
	int b;

	if (bs && !json_is_integer(bs))
		return bad(err, key, "not a number");
	/* the default grows to fit a small subnet; a given size must fit */
	b = bs ? (int)json_integer_value(bs) : (def < net->prefix ? net->prefix : def);
	if (bs && (json_integer_value(bs) < 0 || json_integer_value(bs) > 128))
		b = -1;
	if (b < net->prefix || b > bits - 2 || bits - b > MAX_BLOCK_BITS) {
		int lo = net->prefix > bits - MAX_BLOCK_BITS ? net->prefix : bits - MAX_BLOCK_BITS;

		cni_ipnet_format(net, n, sizeof(n));
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "etcd-ipam: invalid %s %lld for subnet %s (must be %d..%d)",
				     key, (long long)json_integer_value(bs), n, lo, bits - 2);
	}
	*out = b;
	return 0;
}

/* One range: subnet, rangeStart, rangeEnd, gateway, with host-local's defaults. */
static int range_load(cfg *c, json_t *ipam, json_t *o, const char *where, size_t set,
		      cni_error **err)
{
	const char *s = json_string_value(json_object_get(o, "subnet"));
	cni_ipnet sn;
	rng *r;
	int bits, e;

	if (c->nr == MAX_RANGES)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "etcd-ipam: more than %d ranges", MAX_RANGES);
	r = &c->r[c->nr];
	memset(r, 0, sizeof(*r));
	r->set = set;
	if (!s || cni_ipnet_parse(s, &sn) < 0)
		return bad_range(err, where, "subnet", s, "not a CIDR");
	bits = cni_ip_bits(&sn.ip);
	if (sn.prefix > bits - 2)
		return bad_range(err, where, "subnet", s, "too small to allocate from");
	cni_ipnet_network(&sn, &r->net);
	cni_ipnet_last(&r->net, &r->last);
	e = block_size(ipam, bits == 32 ? "blockSize" : "blockSizeV6", bits == 32 ? 26 : 122,
		       bits, &r->net, &r->block, err);
	if (e < 0)
		return e;
	cni_ip_next(&r->net.ip, &r->gw);
	cni_ip_next(&r->net.ip, &r->start);
	r->end = r->last;
	if (bits == 32)
		cni_ip_prev(&r->last, &r->end);
	if ((e = range_ip(o, where, "gateway", &r->net, &r->gw, err)) < 0 ||
	    (e = range_ip(o, where, "rangeStart", &r->net, &r->start, err)) < 0 ||
	    (e = range_ip(o, where, "rangeEnd", &r->net, &r->end, err)) < 0)
		return e;
	if (cni_ip_cmp(&r->start, &r->end) > 0) {
		const char *k = json_object_get(o, "rangeEnd") ? "rangeEnd" : "rangeStart";

		return bad_range(err, where, k, json_string_value(json_object_get(o, k)),
				 k[5] == 'E' ? "before rangeStart" : "after the range's end");
	}
	c->nr++;
	return 0;
}

static int ranges_load(cfg *c, json_t *ipam, cni_error **err)
{
	json_t *ranges = json_object_get(ipam, "ranges"), *set, *o;
	char where[64];
	size_t i, j;
	int r;

	/* the legacy top-level subnet is one more range set, first (as host-local) */
	if (json_object_get(ipam, "subnet")) {
		r = range_load(c, ipam, ipam, "ipam", c->nsets++, err);
		if (r < 0)
			return r;
	}
	if (ranges && !json_is_array(ranges))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "etcd-ipam: invalid ranges: not an array of range sets");
	json_array_foreach(ranges, i, set) {
		if (!json_is_array(set) || json_array_size(set) == 0)
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "etcd-ipam: invalid ranges[%zu]: not a non-empty "
					     "array of ranges",
					     i);
		json_array_foreach(set, j, o) {
			snprintf(where, sizeof(where), "ranges[%zu][%zu]", i, j);
			r = range_load(c, ipam, o, where, c->nsets, err);
			if (r < 0)
				return r;
			if (c->r[c->nr - 1].net.ip.family != c->r[c->nr - j - 1].net.ip.family)
				return bad_range(err, where, "subnet",
						 json_string_value(json_object_get(o, "subnet")),
						 "mixed address families in one range set");
		}
		c->nsets++;
	}
	if (c->nr == 0)
		return bad(err, "ranges[0][0].subnet", "");
	for (i = 0; i < c->nr; i++)
		for (j = i + 1; j < c->nr; j++) {
			const rng *a = &c->r[i], *b = &c->r[j];
			char w[CNI_IP_STRLEN], x[CNI_IP_STRLEN], y[CNI_IP_STRLEN], z[CNI_IP_STRLEN];

			if (a->net.ip.family != b->net.ip.family ||
			    cni_ip_cmp(&a->end, &b->start) < 0 || cni_ip_cmp(&b->end, &a->start) < 0)
				continue;
			ip_str(&a->start, w, sizeof(w));
			ip_str(&a->end, x, sizeof(x));
			ip_str(&b->start, y, sizeof(y));
			ip_str(&b->end, z, sizeof(z));
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "etcd-ipam: invalid ranges: %s-%s and %s-%s overlap", w,
					     x, y, z);
		}
	return 0;
}

static int cfg_load(const cni_cmd_args *a, cfg *c, cni_error **err)
{
	json_error_t je;
	json_t *ipam;

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
	c->routes = json_object_get(ipam, "routes");
	return ranges_load(c, ipam, err);
}

static bool reserved(const rng *r, const cni_ipaddr *ip)
{
	return cni_ip_equal(ip, &r->net.ip) || cni_ip_equal(ip, &r->gw) ||
	       (ip->family == AF_INET && cni_ip_equal(ip, &r->last));
}

static bool in_range(const rng *r, const cni_ipaddr *ip)
{
	return ip->family == r->net.ip.family && cni_ip_cmp(ip, &r->start) >= 0 &&
	       cni_ip_cmp(ip, &r->end) <= 0;
}

#define KEYLEN 1024
/* "<prefix>/<net>/<kind>[6]/<hex>": IPv4 keeps the 8-digit keys of the first version */
static void k_addr(const cfg *c, const char *kind, const cni_ipaddr *a, char *k)
{
	size_t n = a->family == AF_INET ? 4 : 16;
	int l = snprintf(k, KEYLEN, "%s/%s/%s%s/", c->prefix, c->name, kind, n == 4 ? "" : "6");

	for (size_t i = 0; i < n && l > 0 && l + 3 < KEYLEN; i++)
		l += snprintf(k + l, KEYLEN - (size_t)l, "%02x", a->addr[i]);
}
static void k_block(const cfg *c, const cni_ipaddr *b, char *k)
{
	k_addr(c, "blocks", b, k);
}
static void k_ip(const cfg *c, const cni_ipaddr *ip, char *k)
{
	k_addr(c, "ips", ip, k);
}
static void k_attach(const cfg *c, const char *id, const char *ifname, char *k)
{
	snprintf(k, KEYLEN, "%s/%s/attach/%s/%s/%s", c->prefix, c->name, c->node, id, ifname);
}

/* The address in a key's last component (fixed-width hex); false when it is not one. */
static bool key_addr(const char *key, int family, cni_ipaddr *out)
{
	const char *h = strrchr(key, '/');
	size_t n = family == AF_INET ? 4 : 16;

	if (!h || strlen(++h) != 2 * n)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = family;
	for (size_t i = 0; i < n; i++) {
		char b[3] = {h[2 * i], h[2 * i + 1], 0};

		if (!isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1]))
			return false;
		out->addr[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	return true;
}


/* ---- resident mode (the daemon): kept connections and the own blocks' free addresses -- */

static bool resident;

/* etcd handles kept between requests, one per endpoints/TLS/credentials combination;
 * like the cache below, one per daemon thread (no locks: each is only a hint or a
 * connection) */
#define POOL_MAX 8
static _Thread_local struct {
	char *key;
	etcd *e;
} pool[POOL_MAX];

static char *pool_key(const etcd_opts *o)
{
	const char *f[] = {o->endpoints, o->ca_file, o->cert_file, o->key_file, o->username,
			   o->password};
	size_t len = 1;
	char *k;

	for (size_t i = 0; i < 6; i++)
		len += strlen(f[i] ? f[i] : "") + 1;
	k = malloc(len);
	if (!k)
		return NULL;
	*k = 0;
	for (size_t i = 0; i < 6; i++) {
		strcat(k, f[i] ? f[i] : "");
		strcat(k, "\n");
	}
	return k;
}

static int open_etcd(const cfg *c, etcd **e, cni_error **err)
{
	char *k;
	int r;

	if (!resident)
		return etcd_open(e, &c->eo, err);
	k = pool_key(&c->eo);
	if (!k)
		return cni_error_oom(err);
	for (size_t i = 0; i < POOL_MAX; i++)
		if (pool[i].key && !strcmp(pool[i].key, k)) {
			free(k);
			*e = pool[i].e;
			etcd_set_serializable(*e, false);
			return 0;
		}
	r = etcd_open(e, &c->eo, err);
	if (r < 0) {
		free(k);
		return r;
	}
	/* the last slot makes room: the oldest combination goes */
	free(pool[POOL_MAX - 1].key);
	etcd_close(pool[POOL_MAX - 1].e);
	memmove(&pool[1], &pool[0], (POOL_MAX - 1) * sizeof(pool[0]));
	pool[0].key = k;
	pool[0].e = *e;
	return 0;
}

static void done_etcd(etcd *e)
{
	if (!resident)
		etcd_close(e);
}

/*
 * What ADD last read of the node's own blocks: which addresses were held. Only a hint:
 * the txn still requires each address key absent and the block still ours, so a stale
 * entry can only make that txn fail, after which the entry is dropped and ADD reads
 * fresh.
 */
typedef struct cblock {
	cni_ipaddr start;
	int block;
	uint32_t size;
	unsigned char *used;
} cblock;

#define CACHE_NETS   16
#define CACHE_BLOCKS 64
static _Thread_local struct cnet {
	char *key; /* endpoints, prefix, network, node */
	cblock b[CACHE_BLOCKS];
	size_t n;
} cache[CACHE_NETS];

static void cnet_clear(struct cnet *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->b[i].used);
	free(n->key);
	memset(n, 0, sizeof(*n));
}

static struct cnet *cache_of(const cfg *c, bool create)
{
	char k[KEYLEN * 2];

	snprintf(k, sizeof(k), "%s\n%s\n%s\n%s", c->eo.endpoints, c->prefix, c->name, c->node);
	for (size_t i = 0; i < CACHE_NETS; i++)
		if (cache[i].key && !strcmp(cache[i].key, k))
			return &cache[i];
	if (!create)
		return NULL;
	cnet_clear(&cache[CACHE_NETS - 1]);
	memmove(&cache[1], &cache[0], (CACHE_NETS - 1) * sizeof(cache[0]));
	memset(&cache[0], 0, sizeof(cache[0]));
	cache[0].key = strdup(k);
	return cache[0].key ? &cache[0] : NULL;
}

static void cache_drop(const cfg *c)
{
	struct cnet *n = cache_of(c, false);

	if (n)
		cnet_clear(n);
}

/* Remember what a read of own block b found (used: one byte per address). */
static void cache_block(const cfg *c, const rng *r, const cni_ipaddr *b,
			const unsigned char *used, uint32_t size)
{
	struct cnet *n = resident ? cache_of(c, true) : NULL;
	cblock *cb = NULL;

	if (!n)
		return;
	for (size_t i = 0; i < n->n && !cb; i++)
		if (cni_ip_equal(&n->b[i].start, b))
			cb = &n->b[i];
	if (!cb) {
		if (n->n == CACHE_BLOCKS) {
			free(n->b[0].used);
			memmove(&n->b[0], &n->b[1], (CACHE_BLOCKS - 1) * sizeof(n->b[0]));
			n->n--;
		}
		cb = &n->b[n->n];
		memset(cb, 0, sizeof(*cb));
	}
	free(cb->used);
	cb->used = malloc(size);
	if (!cb->used) {
		if (cb == &n->b[n->n])
			return;
		cnet_clear(n);
		return;
	}
	memcpy(cb->used, used, size);
	cb->start = *b;
	cb->block = r->block;
	cb->size = size;
	if (cb == &n->b[n->n])
		n->n++;
}

/* Mark ip held or free in a cached block that has it. */
static void cache_mark(const cfg *c, const cni_ipaddr *ip, bool used)
{
	struct cnet *n = resident ? cache_of(c, false) : NULL;
	uint64_t off;

	for (size_t i = 0; n && i < n->n; i++) {
		cblock *cb = &n->b[i];

		if (cb->start.family == ip->family && cni_ip_cmp(ip, &cb->start) >= 0 &&
		    cni_ip_diff(ip, &cb->start, &off) && off < cb->size)
			cb->used[off] = used;
	}
}

/* where a thread starts looking in a cached block, so the threads of one daemon serving
 * one node do not all try the same address (the loser's txn would fail and re-read) */
static _Thread_local unsigned worker, workers = 1;

void etcd_ipam_set_resident(bool on)
{
	resident = on;
}

void etcd_ipam_set_worker(unsigned idx, unsigned n)
{
	worker = idx;
	workers = n ? n : 1;
}

void etcd_ipam_forget(void)
{
	for (size_t i = 0; i < POOL_MAX; i++) {
		free(pool[i].key);
		etcd_close(pool[i].e);
		pool[i].key = NULL;
		pool[i].e = NULL;
	}
	for (size_t i = 0; i < CACHE_NETS; i++)
		cnet_clear(&cache[i]);
}

static int check_ids(const cni_cmd_args *a, cni_error **err)
{
	int r = cni_validate_container_id(a->container_id, err);

	if (r < 0)
		return r;
	return cni_validate_ifname(a->ifname, err);
}

/* The attachment record of (id, ifname) on this node: space separated addresses (the
 * first version wrote one). */
static int lookup(etcd *e, const cfg *c, const char *id, const char *ifname, att *out,
		  cni_error **err)
{
	char k[KEYLEN], *save = NULL;
	etcd_kvs kv;
	int r;

	k_attach(c, id, ifname, k);
	r = etcd_range(e, k, NULL, false, false, &kv, err);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	if (kv.n) {
		out->present = true;
		out->rev = kv.kv[0].mod_revision;
		for (char *t = strtok_r(kv.kv[0].value, " ", &save); t && out->n < MAX_RANGES;
		     t = strtok_r(NULL, " ", &save))
			if (cni_ip_parse(t, &out->ip[out->n]) == 0)
				out->n++;
	}
	etcd_kvs_clear(&kv);
	return 0;
}

/* The blocks of one family, sorted by start (etcd returns keys in order). */
typedef struct blist {
	etcd_kvs kv;
	cni_ipaddr *start;
	const char **owner;
	size_t n;
	bool loaded;
} blist;

static void blist_clear(blist *b)
{
	etcd_kvs_clear(&b->kv);
	free(b->start);
	free(b->owner);
	memset(b, 0, sizeof(*b));
}

static int list_blocks(etcd *e, const cfg *c, int family, blist *bl, cni_error **err)
{
	char k[KEYLEN], *end;
	int r;

	if (bl->loaded)
		return 0;
	snprintf(k, sizeof(k), "%s/%s/blocks%s/", c->prefix, c->name,
		 family == AF_INET ? "" : "6");
	end = etcd_prefix_end(k);
	if (!end)
		return cni_error_oom(err);
	r = etcd_range(e, k, end, false, false, &bl->kv, err);
	free(end);
	if (r < 0)
		return r;
	bl->start = calloc(bl->kv.n + 1, sizeof(*bl->start));
	bl->owner = calloc(bl->kv.n + 1, sizeof(*bl->owner));
	if (!bl->start || !bl->owner)
		return cni_error_oom(err);
	for (size_t i = 0; i < bl->kv.n; i++)
		if (key_addr(bl->kv.kv[i].key, family, &bl->start[bl->n]))
			bl->owner[bl->n++] = bl->kv.kv[i].value;
	bl->loaded = true;
	return 0;
}

static int cmp_ip(const void *a, const void *b)
{
	return cni_ip_cmp(a, b);
}

static uint32_t block_len(const rng *r)
{
	return 1u << (cni_ip_bits(&r->net.ip) - r->block);
}

/* Block b is one of r's: inside the subnet, aligned, and overlapping [start, end]. */
static bool block_serves(const rng *r, const cni_ipaddr *b)
{
	cni_ipnet bn = {*b, r->block}, al;
	cni_ipaddr last;

	cni_ipnet_network(&bn, &al);
	if (b->family != r->net.ip.family || !cni_ipnet_contains(&r->net, b) ||
	    !cni_ip_equal(&al.ip, b))
		return false;
	cni_ipnet_last(&bn, &last);
	return cni_ip_cmp(&last, &r->start) >= 0 && cni_ip_cmp(b, &r->end) <= 0;
}

/* A free address of r in block b: 1 found, 0 none, <0 error. */
static int free_in_block(etcd *e, const cfg *c, const rng *r, const cni_ipaddr *b, bool own,
			 cni_ipaddr *out, cni_error **err)
{
	uint32_t size = block_len(r);
	size_t n = b->family == AF_INET ? 4 : 16;
	char k[KEYLEN], *end;
	cni_ipaddr last, ip;
	etcd_kvs kv;
	unsigned char *used = calloc(size, 1);
	int ret = 0;

	if (!used)
		return cni_error_oom(err);
	cni_ip_add(b, size - 1, &last);
	k_ip(c, &last, k);
	end = etcd_prefix_end(k); /* fixed width: just past the block's last key */
	k_ip(c, b, k);
	ret = end ? etcd_range(e, k, end, true, false, &kv, err)
		  : cni_error_oom(err);
	free(end);
	if (ret < 0) {
		free(used);
		return ret;
	}
	for (size_t i = 0; i < kv.n; i++)
		if (key_addr(kv.kv[i].key, b->family, &ip))
			used[((uint32_t)ip.addr[n - 2] << 8 | ip.addr[n - 1]) & (size - 1)] = 1;
	etcd_kvs_clear(&kv);
	if (own)
		cache_block(c, r, b, used, size);
	for (uint32_t i = 0; i < size && !ret; i++) {
		if (used[i] || !cni_ip_add(b, i, &ip) || !in_range(r, &ip) || reserved(r, &ip))
			continue;
		*out = ip;
		ret = 1;
	}
	free(used);
	return ret;
}

/* The candidate chosen for one range set. */
typedef struct pick {
	cni_ipaddr ip;
	bool mine; /* in an own block: the txn requires that the block is still ours */
	cni_ipaddr block;
} pick;

static uint32_t node_hash(const char *node)
{
	uint32_t h = 5381;

	for (const char *p = node; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return h;
}

/* Claim a block of r nobody holds, trying at most MAX_CANDIDATES from a place hashed from
 * the node name (so nodes rarely race for one block, and a huge IPv6 subnet is never
 * walked): 2 claimed or lost a race (re-read), 0 none free, <0 error. */
static int claim_block(etcd *e, const cfg *c, const rng *r, const blist *bl, cni_error **err)
{
	int hb = cni_ip_bits(&r->net.ip) - r->block;
	uint64_t first, lastoff, n;

	cni_ip_diff(&r->start, &r->net.ip, &first);
	cni_ip_diff(&r->end, &r->net.ip, &lastoff); /* saturates for more than 2^64 addresses */
	first >>= hb;
	n = (lastoff >> hb) - first + 1;
	if (n > (uint64_t)1 << 47) /* keeps index * block size inside 64 bits */
		n = (uint64_t)1 << 47;
	for (uint64_t j = 0, h = node_hash(c->node); j < n && j < MAX_CANDIDATES; j++) {
		uint64_t idx = first + (h + j) % n;
		char bk[KEYLEN];
		cni_ipaddr b;
		etcd_txn *t;
		bool ok = false;
		int ret;

		if (!cni_ip_add(&r->net.ip, idx << hb, &b) ||
		    bsearch(&b, bl->start, bl->n, sizeof(b), cmp_ip))
			continue;
		t = etcd_txn_new();
		if (!t)
			return cni_error_oom(err);
		k_block(c, &b, bk);
		etcd_txn_compare(t, bk, ETCD_CMP_CREATE_REV, 0, NULL);
		etcd_txn_put(t, bk, c->node);
		ret = etcd_txn_commit(e, t, &ok, err);
		etcd_txn_free(t);
		return ret < 0 ? ret : 2;
	}
	return 0;
}

/* A candidate in range r: own blocks, then a new block, then borrowing from other
 * nodes' blocks. 1 found, 2 retry the pass, 0 none, <0 error. */
static int pick_in_range(etcd *e, const cfg *c, const rng *r, const blist *bl, pick *p,
			 cni_error **err)
{
	int ret = 0;

	for (int own = 1; own >= 0; own--) {
		for (size_t i = 0; i < bl->n && !ret; i++) {
			if (!!strcmp(bl->owner[i], c->node) == own || !block_serves(r, &bl->start[i]))
				continue;
			ret = free_in_block(e, c, r, &bl->start[i], own, &p->ip, err);
			p->mine = own;
			p->block = bl->start[i];
		}
		if (!ret && own)
			ret = claim_block(e, c, r, bl, err);
		if (ret)
			return ret;
	}
	return 0;
}

static void attach_value(const cfg *c, const char *id, const char *ifname, char *val)
{
	snprintf(val, KEYLEN, "%s %s %s", c->node, id, ifname);
}

/* Write the attachment: every address key and the attachment key absent, every own block
 * relied on still ours, all put in one txn. 1 written, 2 lost a race. */
static int commit_attachment(etcd *e, const cfg *c, const char *id, const char *ifname,
			     const pick *p, size_t n, cni_error **err)
{
	char k[KEYLEN], val[KEYLEN], addrs[MAX_RANGES * (CNI_IP_STRLEN + 1)] = "";
	etcd_txn *t = etcd_txn_new();
	bool ok = false;
	int ret;

	if (!t)
		return cni_error_oom(err);
	attach_value(c, id, ifname, val);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(addrs);
		bool dup = false;

		if (l)
			addrs[l++] = ' ';
		ip_str(&p[i].ip, addrs + l, sizeof(addrs) - l);
		k_ip(c, &p[i].ip, k);
		etcd_txn_compare(t, k, ETCD_CMP_CREATE_REV, 0, NULL);
		etcd_txn_put(t, k, val);
		for (size_t j = 0; j < i; j++)
			dup |= p[j].mine && cni_ip_equal(&p[j].block, &p[i].block);
		if (p[i].mine && !dup) {
			k_block(c, &p[i].block, k);
			etcd_txn_compare(t, k, ETCD_CMP_VALUE, 0, c->node);
		}
	}
	k_attach(c, id, ifname, k);
	etcd_txn_compare(t, k, ETCD_CMP_CREATE_REV, 0, NULL);
	etcd_txn_put(t, k, addrs);
	ret = etcd_txn_commit(e, t, &ok, err);
	etcd_txn_free(t);
	return ret < 0 ? ret : ok ? 1 : 2;
}

/* One pass: a candidate per range set (its ranges in order), then one txn.
 * 1 allocated (*out the attachment written), 2 retry, 0 range set *full exhausted,
 * <0 error. */
static int allocate_pass(etcd *e, const cfg *c, const char *id, const char *ifname,
			 size_t *full, att *out, cni_error **err)
{
	blist bl4 = {0}, bl6 = {0};
	pick p[MAX_RANGES];
	int ret = 0;

	for (size_t s = 0; s < c->nsets && ret >= 0; s++) {
		ret = 0;
		for (size_t i = 0; i < c->nr && !ret; i++) {
			const rng *r = &c->r[i];
			blist *bl = r->net.ip.family == AF_INET ? &bl4 : &bl6;

			if (r->set != s)
				continue;
			ret = list_blocks(e, c, r->net.ip.family, bl, err);
			if (ret == 0)
				ret = pick_in_range(e, c, r, bl, &p[s], err);
		}
		if (ret != 1) {
			*full = s;
			break;
		}
	}
	if (ret == 1)
		ret = commit_attachment(e, c, id, ifname, p, c->nsets, err);
	if (ret == 1) {
		memset(out, 0, sizeof(*out));
		out->present = true;
		out->n = c->nsets;
		for (size_t s = 0; s < c->nsets; s++)
			out->ip[s] = p[s].ip;
	}
	blist_clear(&bl4);
	blist_clear(&bl6);
	return ret;
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

/* The range an address came from (prefix and gateway for the result); NULL when the
 * config no longer has it. */
static const rng *range_of(const cfg *c, const cni_ipaddr *ip)
{
	for (size_t i = 0; i < c->nr; i++)
		if (cni_ipnet_contains(&c->r[i].net, ip))
			return &c->r[i];
	return NULL;
}

static int build_result(const cfg *c, const att *at, cni_result **out, cni_error **err)
{
	cni_result *res = NULL;
	size_t i;
	json_t *rt;
	int r = cni_result_new(&res, CNI_SPEC_VERSION, err);

	for (i = 0; i < at->n && r == 0; i++) {
		const rng *g = range_of(c, &at->ip[i]);
		char addr[CNI_IPNET_STRLEN], a[CNI_IP_STRLEN], gw[CNI_IP_STRLEN];
		cni_ip cip = CNI_IP_INIT;

		ip_str(&at->ip[i], a, sizeof(a));
		snprintf(addr, sizeof(addr), "%s/%d", a,
			 g ? g->net.prefix : cni_ip_bits(&at->ip[i]));
		cip.address = addr;
		if (g) {
			ip_str(&g->gw, gw, sizeof(gw));
			cip.gateway = gw;
		}
		r = cni_result_add_ip(res, &cip, err);
	}
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

static int exhausted(const cfg *c, size_t set, cni_error **err)
{
	char msg[1024] = "", a[CNI_IP_STRLEN], b[CNI_IP_STRLEN];

	for (size_t i = 0; i < c->nr; i++) {
		size_t l = strlen(msg);

		if (c->r[i].set != set)
			continue;
		ip_str(&c->r[i].start, a, sizeof(a));
		ip_str(&c->r[i].end, b, sizeof(b));
		snprintf(msg + l, sizeof(msg) - l, "%s%s-%s", l ? "," : "", a, b);
	}
	return cni_error_set(err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL,
			     "etcd-ipam: no IP addresses available in range set: %s", msg);
}

static int unreadable(const cni_cmd_args *a, cni_error **err)
{
	return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
			     "etcd-ipam: the attachment record of container %s interface %s "
			     "holds no address",
			     a->container_id, a->ifname);
}

/* Resident mode: a free address per range set from the cached own blocks, no read.
 * false when a range set has none cached (then ADD takes the reading path). */
static bool cached_pick(const cfg *c, pick *p)
{
	struct cnet *n = cache_of(c, false);

	for (size_t s = 0; s < c->nsets; s++) {
		bool found = false;

		for (size_t i = 0; i < c->nr && !found && n; i++) {
			const rng *r = &c->r[i];

			for (size_t j = 0; r->set == s && j < n->n && !found; j++) {
				const cblock *cb = &n->b[j];
				cni_ipaddr ip;

				if (cb->block != r->block || !block_serves(r, &cb->start))
					continue;
				for (uint32_t m = 0, k; m < cb->size && !found; m++) {
					k = (uint32_t)(m + (uint64_t)cb->size * worker / workers) %
					    cb->size;
					if (cb->used[k] || !cni_ip_add(&cb->start, k, &ip) ||
					    !in_range(r, &ip) || reserved(r, &ip))
						continue;
					p[s] = (pick){.ip = ip, .mine = true, .block = cb->start};
					found = true;
				}
			}
		}
		if (!found)
			return false;
	}
	return true;
}

/* The fast path: one txn on what the cache says. 1 allocated, 0 take the reading path
 * (nothing cached, or the txn's compares failed: the cache is dropped), <0 error. */
static int add_cached(etcd *e, const cfg *c, const char *id, const char *ifname, att *out,
		      cni_error **err)
{
	pick p[MAX_RANGES];
	int r;

	if (!resident || !cached_pick(c, p))
		return 0;
	r = commit_attachment(e, c, id, ifname, p, c->nsets, err);
	if (r != 1) {
		cache_drop(c);
		return r < 0 ? r : 0;
	}
	memset(out, 0, sizeof(*out));
	out->present = true;
	out->n = c->nsets;
	for (size_t s = 0; s < c->nsets; s++) {
		out->ip[s] = p[s].ip;
		cache_mark(c, &p[s].ip, true);
	}
	return 1;
}

static int cmd_add(const cni_cmd_args *a, cni_result **result, cni_error **err, void *ud)
{
	cfg c;
	etcd *e = NULL;
	att at = {0};
	int r;

	(void)ud;
	r = begin(a, &c, &e, err);
	/*
	 * What ADD reads first only guides its choice, which the txn's compares check again,
	 * so the member asked answers from what it has, without a quorum round. A stale view
	 * can only lose a race or look full: then the next pass reads linearizably.
	 */
	bool fresh = false;
	if (r == 0)
		r = add_cached(e, &c, a->container_id, a->ifname, &at, err);
	if (r == 1)
		r = 0;
	if (r == 0 && !at.present)
		etcd_set_serializable(e, true);
	for (int tries = 0; r == 0 && !at.present && tries < MAX_TRIES; tries++) {
		size_t full = 0;

		r = lookup(e, &c, a->container_id, a->ifname, &at, err);
		if (r < 0 || at.present)
			break;
		r = allocate_pass(e, &c, a->container_id, a->ifname, &full, &at, err);
		if (r == 0 && fresh)
			r = exhausted(&c, full, err);
		if (r < 0)
			break;
		if (at.present) {
			for (size_t i = 0; i < at.n; i++)
				cache_mark(&c, &at.ip[i], true);
			r = 0;
			break;
		}
		/* lost a race (or our attachment appeared), or full: read again, fresh */
		r = 0;
		if (!fresh)
			etcd_set_serializable(e, false);
		fresh = true;
	}
	if (r == 0 && !at.present)
		r = cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL,
				  "etcd-ipam: gave up after %d contended attempts", MAX_TRIES);
	if (r == 0 && at.n == 0)
		r = unreadable(a, err);
	if (r == 0)
		r = build_result(&c, &at, result, err);
	done_etcd(e);
	cfg_clear(&c);
	return r;
}

/* Release (id, ifname) of this node, all its addresses in one txn; absent is fine. */
static int release(etcd *e, const cfg *c, const char *id, const char *ifname, cni_error **err)
{
	char ak[KEYLEN], k[KEYLEN], val[KEYLEN];

	k_attach(c, id, ifname, ak);
	attach_value(c, id, ifname, val);
	for (int tries = 0; tries < MAX_TRIES; tries++) {
		att at;
		bool ok = false;
		int r = lookup(e, c, id, ifname, &at, err);

		if (r < 0 || !at.present)
			return r;
		/* first try: every address record is ours; else only those that still are
		 * (another holder's record is never touched) */
		for (int strict = 1; strict >= 0 && !ok; strict--) {
			etcd_txn *t = etcd_txn_new();

			if (!t)
				return cni_error_oom(err);
			etcd_txn_compare(t, ak, ETCD_CMP_MOD_REV, at.rev, NULL);
			etcd_txn_delete(t, ak);
			for (size_t i = 0; i < at.n && r == 0; i++) {
				etcd_kvs kv = {0};
				bool mine = true;

				k_ip(c, &at.ip[i], k);
				if (!strict) {
					r = etcd_range(e, k, NULL, false, false, &kv, err);
					mine = r == 0 && kv.n && !strcmp(kv.kv[0].value, val);
					etcd_kvs_clear(&kv);
				}
				if (mine) {
					etcd_txn_compare(t, k, ETCD_CMP_VALUE, 0, val);
					etcd_txn_delete(t, k);
				}
			}
			if (r == 0)
				r = etcd_txn_commit(e, t, &ok, err);
			etcd_txn_free(t);
			if (r < 0)
				return r;
		}
		if (ok) {
			/* a record another holder kept is then wrongly free in the cache: a
			 * later txn's compare catches that */
			for (size_t i = 0; i < at.n; i++)
				cache_mark(c, &at.ip[i], false);
			return 0;
		}
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
	done_etcd(e);
	cfg_clear(&c);
	return r;
}

static int cmd_check(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cfg c;
	etcd *e = NULL;
	att at = {0};
	char k[KEYLEN], val[KEYLEN], s[CNI_IP_STRLEN];
	int r;

	(void)ud;
	r = begin(a, &c, &e, err);
	if (r == 0)
		r = lookup(e, &c, a->container_id, a->ifname, &at, err);
	if (r == 0 && !at.present)
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "etcd-ipam: no address held by container %s interface %s",
				  a->container_id, a->ifname);
	if (r == 0 && at.n == 0)
		r = unreadable(a, err);
	if (r == 0 && at.n != c.nsets)
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "etcd-ipam: container %s interface %s holds %zu addresses for "
				  "%zu range sets",
				  a->container_id, a->ifname, at.n, c.nsets);
	attach_value(&c, a->container_id, a->ifname, val);
	for (size_t i = 0; r == 0 && i < at.n; i++) {
		etcd_kvs kv = {0};

		k_ip(&c, &at.ip[i], k);
		r = etcd_range(e, k, NULL, false, false, &kv, err);
		if (r == 0 && (!kv.n || strcmp(kv.kv[0].value, val))) {
			ip_str(&at.ip[i], s, sizeof(s));
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					  "etcd-ipam: address %s of container %s interface %s is "
					  "not held by it",
					  s, a->container_id, a->ifname);
		}
		etcd_kvs_clear(&kv);
	}
	done_etcd(e);
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
		r = cni_error_oom(err);
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
	done_etcd(e);
	cfg_clear(&c);
	return r;
}

/* 1 when every address of range r is held, 0 when one is free, <0 error. */
static int range_full(etcd *e, const cfg *c, const rng *r, cni_error **err)
{
	char k[KEYLEN], *end;
	const cni_ipaddr *rsv[3] = {&r->net.ip, &r->gw, &r->last};
	uint64_t usable;
	etcd_kvs kv = {0};
	int ret;

	if (!cni_ip_diff(&r->end, &r->start, &usable) || usable == UINT64_MAX)
		return 0; /* more than 2^64 addresses */
	usable++;
	for (int i = 0; i < (r->net.ip.family == AF_INET ? 3 : 2); i++)
		if (in_range(r, rsv[i]) && (i != 1 || !cni_ip_equal(rsv[1], rsv[0])))
			usable--;
	k_ip(c, &r->end, k);
	end = etcd_prefix_end(k);
	k_ip(c, &r->start, k);
	ret = end ? etcd_range(e, k, end, true, true, &kv, err)
		  : cni_error_oom(err);
	free(end);
	if (ret == 0)
		ret = (uint64_t)kv.count >= usable;
	etcd_kvs_clear(&kv);
	return ret;
}

static int cmd_status(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cfg c;
	etcd *e = NULL;
	cni_error *e2 = NULL;
	int r;

	(void)ud;
	r = cfg_load(a, &c, err);
	if (r == 0 && open_etcd(&c, &e, &e2) < 0)
		r = cni_error_set(err, CNI_ERR_TRY_AGAIN_LATER, NULL, "%s", cni_error_msg(e2));
	/* 50 as soon as one range set has no free address in any of its ranges */
	for (size_t s = 0; r == 0 && s < c.nsets; s++) {
		int full = 1;

		for (size_t i = 0; i < c.nr && full == 1; i++)
			if (c.r[i].set == s)
				full = range_full(e, &c, &c.r[i], err);
		if (full == 1)
			r = exhausted(&c, s, err);
		else if (full < 0)
			r = full;
	}
	cni_error_free(e2);
	done_etcd(e);
	cfg_clear(&c);
	return r;
}

const cni_plugin_funcs etcd_ipam_funcs = {.version = CNI_PLUGIN_FUNCS_VERSION,
					   .add = cmd_add,
					   .del = cmd_del,
					   .check = cmd_check,
					   .gc = cmd_gc,
					   .status = cmd_status};
