/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal OVSDB (RFC 7047) JSON-RPC client over a unix socket, with a deadline. */
#ifndef CNI_USERSPACE_OVSDB_H
#define CNI_USERSPACE_OVSDB_H

#include <jansson.h>

#include <cni/cni.h>

typedef struct ovsdb ovsdb;

/* Connect to the OVSDB server at the unix socket path; every later call on the handle
 * gives up timeout_ms after this one started. */
int ovsdb_open(ovsdb **out, const char *path, int timeout_ms, cni_error **err);
void ovsdb_close(ovsdb *db);

/* A new deadline, timeout_ms from now (for undoing after a step that used up the first). */
void ovsdb_renew(ovsdb *db, int timeout_ms);

/* Run the operations (a JSON array, stolen) as one "transact" on Open_vSwitch. *result
 * (new reference) is the array of per-operation results; an operation's error becomes
 * the call's error. */
int ovsdb_transact(ovsdb *db, json_t *ops, json_t **result, cni_error **err);

/* The rows of a select on table where column == value (a string), only the columns given
 * (a NULL-terminated list). *rows is a new reference to the array. */
int ovsdb_select(ovsdb *db, const char *table, const char *column, const char *value,
		 const char *const *columns, json_t **rows, cni_error **err);

#endif
