/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ETCD_IPAM_ETCD_H
#define ETCD_IPAM_ETCD_H

/*
 * A small etcd v3 client over the JSON gateway (POST /v3/kv/range, /v3/kv/txn,
 * /v3/auth/authenticate), with libcurl. Every call tries the endpoints in turn, each with
 * a connect timeout and a total timeout, so a dead member costs at most one timeout and
 * all members down fails in bounded time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <cni/cni.h>

typedef struct etcd_opts {
	const char *endpoints; /* comma separated URLs */
	const char *ca_file, *cert_file, *key_file;
	const char *username, *password;
	long connect_timeout_ms, timeout_ms;
} etcd_opts;

typedef struct etcd etcd;

int etcd_open(etcd **out, const etcd_opts *o, cni_error **err);
void etcd_close(etcd *e);
/*
 * Reads from now on answered by the member asked, from what it has applied, without a
 * quorum round (etcd's serializable reads): possibly a little behind the cluster. Only
 * for reads whose conclusions a guarded transaction checks again (ADD's choice of a free
 * address): a DEL or CHECK must not act on a stale view.
 */
void etcd_set_serializable(etcd *e, bool on);

typedef struct etcd_kv {
	char *key, *value;
	int64_t mod_revision, create_revision;
} etcd_kv;

typedef struct etcd_kvs {
	etcd_kv *kv;
	size_t n;
	int64_t count;
} etcd_kvs;

void etcd_kvs_clear(etcd_kvs *k);

/* Keys in [key, range_end); range_end NULL: the one key. */
int etcd_range(etcd *e, const char *key, const char *range_end, bool keys_only,
	       bool count_only, etcd_kvs *out, cni_error **err);
/* The end of the range holding every key that starts with prefix. */
char *etcd_prefix_end(const char *prefix);

/* A transaction: compares, then puts/deletes on success; *ok false when a compare failed. */
typedef enum { ETCD_CMP_CREATE_REV, ETCD_CMP_MOD_REV, ETCD_CMP_VALUE } etcd_cmp_target;
typedef struct etcd_txn etcd_txn;
etcd_txn *etcd_txn_new(void);
void etcd_txn_free(etcd_txn *t);
/* result EQUAL against a revision (target *_REV) or a value (ETCD_CMP_VALUE) */
int etcd_txn_compare(etcd_txn *t, const char *key, etcd_cmp_target target, int64_t rev,
		     const char *value);
int etcd_txn_put(etcd_txn *t, const char *key, const char *value);
int etcd_txn_delete(etcd_txn *t, const char *key);
int etcd_txn_commit(etcd *e, etcd_txn *t, bool *ok, cni_error **err);

#endif
