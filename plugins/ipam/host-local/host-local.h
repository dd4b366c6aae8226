/* SPDX-License-Identifier: Apache-2.0 */
#ifndef HOST_LOCAL_H
#define HOST_LOCAL_H

/*
 * host-local IPAM: private interfaces between the plugin's files.
 *
 * config.c    reads the network config (ipam section, runtimeConfig, args, CNI_ARGS)
 * range.c     range canonicalisation, range sets and the round-robin iterator
 * store.c     the on-disk state shared with the reference plugin, plus our index
 * allocator.c allocation on top of the store (ADD's core), release, status counting
 * main.c      the verbs
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cni/cni.h>

#include "plugin-cleanup.h"

/* Network names and container ids longer than this are refused: a name becomes a
 * directory name (NAME_MAX) and neither has any business being longer. */
#define HL_MAX_NAME_LEN 255

#define HL_DEFAULT_DATA_DIR "/var/lib/cni/networks"

/* ---- ranges (range.c) ------------------------------------------------------------- */

typedef struct hl_range {
	cni_ipnet subnet; /* network address and prefix */
	cni_ipaddr start; /* first address handed out, inclusive */
	cni_ipaddr end;	  /* last address, inclusive */
	cni_ipaddr gateway;
} hl_range;

typedef struct hl_rangeset {
	hl_range *ranges;
	size_t n;
} hl_rangeset;

/* A range as written in the config, before canonicalisation. */
typedef struct hl_range_spec {
	cni_ipnet subnet;
	bool has_start, has_end, has_gateway;
	cni_ipaddr start, end, gateway;
} hl_range_spec;

/* Fill defaults and check a range; the error message is the reference's text. */
int hl_range_canonicalize(const hl_range_spec *spec, hl_range *out, cni_error **err);
/* In the subnet and between start and end. */
bool hl_range_contains(const hl_range *r, const cni_ipaddr *ip);
bool hl_range_overlaps(const hl_range *a, const hl_range *b);
/* Addresses never handed out: the gateway, the network address, the IPv4 broadcast. */
bool hl_range_reserved_address(const hl_range *r, const cni_ipaddr *ip);
/* "start-end" */
int hl_range_format(const hl_range *r, char *buf, size_t len);

/* Checks families and overlaps inside the set; ranges must be canonical. */
int hl_rangeset_check(const hl_rangeset *s, cni_error **err);
const hl_range *hl_rangeset_range_for(const hl_rangeset *s, const cni_ipaddr *ip);
bool hl_rangeset_overlaps(const hl_rangeset *a, const hl_rangeset *b);
/* New "a-b,c-d" string, NULL on allocation failure. */
char *hl_rangeset_string(const hl_rangeset *s);
int hl_rangeset_family(const hl_rangeset *s);
void hl_rangeset_clear(hl_rangeset *s);

/* Round-robin iterator: starts after last (when it is in the set) or at the first
 * range's start, wraps across the ranges, skips reserved addresses, stops when it gets
 * back to where it began. */
typedef struct hl_iter {
	const hl_rangeset *set;
	size_t idx;
	cni_ipaddr cur;
	cni_ipaddr first;
	bool have_cur;
	bool have_first;
} hl_iter;

void hl_iter_init(hl_iter *it, const hl_rangeset *s, const cni_ipaddr *last);
bool hl_iter_next(hl_iter *it, cni_ipaddr *ip, const hl_range **range);

/* Number of addresses the set can hand out (saturating at UINT64_MAX). */
uint64_t hl_rangeset_capacity(const hl_rangeset *s);

/* ---- config (config.c) ------------------------------------------------------------ */

typedef struct hl_route {
	char *dst;
	char *gw;
	int mtu, advmss, priority;
	bool has_table, has_scope;
	int table, scope;
} hl_route;

typedef struct hl_config {
	char *name;
	char *cni_version;
	char *data_dir;
	char *resolv_conf; /* NULL: none */
	bool release_on_reboot;
	hl_rangeset *sets;
	size_t nsets;
	cni_ipaddr *requested; /* requested addresses, in the order given */
	size_t nrequested;
	hl_route *routes;
	size_t nroutes;
} hl_config;

/*
 * Parse the whole network config as host-local reads it (LoadIPAMConfig): errors carry
 * the reference's texts. env_args is CNI_ARGS (may be NULL or "").
 */
int hl_config_parse(const char *data, size_t len, const char *env_args, hl_config **out,
		    cni_error **err);
void hl_config_free(hl_config *c);
PC_DEFINE_CLEANUP(config_freep, hl_config *, hl_config_free)

/* resolv.conf lines into a DNS description. */
typedef struct hl_dns {
	char **nameservers;
	char *domain;
	char **search;
	char **options;
} hl_dns;
int hl_dns_parse_file(const char *path, hl_dns *out, cni_error **err);
void hl_dns_clear(hl_dns *d);

/* ---- store (store.c) -------------------------------------------------------------- */

typedef struct hl_store hl_store;

typedef struct hl_store_options {
	bool release_on_reboot;
	const char *boot_id_path; /* NULL: /proc/sys/kernel/random/boot_id */
	bool no_tmpfile;	  /* tests: leases through tmp/ and link(), as without O_TMPFILE */
} hl_store_options;

/* Create <data_dir>/<network>/ and its lock file; does not lock. */
int hl_store_open(hl_store **out, const char *data_dir, const char *network,
		  const hl_store_options *opts, cni_error **err);
void hl_store_free(hl_store *s);
/* Take the flock, tidy up after crashed runs and make the index trustworthy. */
int hl_store_lock(hl_store *s, cni_error **err);
/* Commit the index and drop the flock. Safe to call when not locked. */
void hl_store_unlock(hl_store *s);

/* Reserve ip for (id, ifname): *reserved false when the address is taken. */
int hl_store_reserve(hl_store *s, const char *id, const char *ifname, const cni_ipaddr *ip,
		     size_t rangeset_idx, bool *reserved, cni_error **err);
/* Remove the reservation of ip if it belongs to (id, ifname). */
int hl_store_release_ip(hl_store *s, const char *id, const char *ifname, const cni_ipaddr *ip,
			cni_error **err);
/* The last reserved address of a range set; *found false when none or unreadable. */
int hl_store_last_reserved(hl_store *s, size_t rangeset_idx, cni_ipaddr *out, bool *found);
/* Addresses held by (id, ifname), or by id alone in the legacy form. New array. */
int hl_store_get_by_id(hl_store *s, const char *id, const char *ifname, cni_ipaddr **out, size_t *n,
		       cni_error **err);
/* Release everything (id, ifname) holds (legacy id-only files when none). */
int hl_store_release_by_id(hl_store *s, const char *id, const char *ifname, size_t *released,
			   cni_error **err);

/* GC: release every reservation whose owner is not in the valid pairs. */
typedef struct hl_attachment {
	const char *id;
	const char *ifname;
} hl_attachment;
int hl_store_gc(hl_store *s, const hl_attachment *valid, size_t nvalid, size_t *released,
		cni_error **err);

/* Every reserved address (file names that are addresses). New array. Unlocked read. */
int hl_store_list(hl_store *s, cni_ipaddr **out, size_t *n, cni_error **err);
/* Whether an <ip> file exists (cheap pre-check before reserving; store locked). */
bool hl_store_taken(hl_store *s, const cni_ipaddr *ip);
/* Whether the network directory is writable (STATUS). */
int hl_store_check_writable(hl_store *s, cni_error **err);

/* ---- allocator (allocator.c) ------------------------------------------------------ */

/* One address from set idx (requested may be NULL). Store must be locked. */
int hl_allocate(hl_store *s, const hl_rangeset *set, size_t idx, const char *id, const char *ifname,
		const cni_ipaddr *requested, cni_ipaddr *out_ip, const hl_range **out_range,
		cni_error **err);
/* Free addresses left in the set, given every reserved address (saturating). */
uint64_t hl_rangeset_free_count(const hl_rangeset *set, const cni_ipaddr *reserved, size_t n);

/* ---- fault injection (tests only) ------------------------------------------------- */

#ifdef HOST_LOCAL_FAULT_INJECTION
/* SIGKILL ourselves when $HOST_LOCAL_FAULT names this point ("name" or "name@N" for the
 * N-th time it is reached). */
void hl_fault_point(const char *name);
#else
static inline void hl_fault_point(const char *name)
{
	(void)name;
}
#endif

#endif
