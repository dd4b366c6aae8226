/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_SKEL_INTERNAL_H
#define CNI_SKEL_INTERNAL_H

/* skel's Go-compatible JSON check, exposed for its unit test. Never installed. */

#include "internal.h"

/* What Go's decoder did with one top-level string field of the target struct. */
typedef struct cni_go_field {
	const char *json_name;
	char *value;	      /* last string value (new), NULL if none */
	const char *bad_kind; /* first non-string, non-null value: "number", "bool", ... */
} cni_go_field;

typedef struct cni_go_conf {
	cni_go_field name, version;
	const char *top_kind; /* "object", "array", "string", "number", "bool", "null" */
} cni_go_conf;

#define CNI_GO_CONF_INIT                                                                           \
	{                                                                                          \
		.name = {.json_name = "name"}, .version = {.json_name = "cniVersion" }             \
	}

/*
 * Check data as Go's json.Unmarshal would and collect the top-level name and cniVersion
 * (matched as Go matches struct fields). A syntax error returns -CNI_ERR_DECODING_FAILURE
 * with Go's message in *msg (new); -CNI_ERR_NOMEM on allocation failure.
 */
int cni_go_json_scan(const char *data, size_t len, cni_go_conf *conf, char **msg);
void cni_go_conf_clear(cni_go_conf *conf);

#endif
