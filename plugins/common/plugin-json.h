/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON config access for our plugins (internal, never installed): member lookup as the
 * reference's encoding/json matches struct fields, and the errors it gives, naming the
 * key and what was found there. Borrowed json_t pointers throughout; nothing here takes
 * a reference.
 */
#ifndef CNI_PLUGIN_JSON_H
#define CNI_PLUGIN_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include <cni/cni.h>

/* Go's name for the kind of v: object, array, string, number, bool or null. */
const char *pj_kind(const json_t *v);

/* A JSON number's value (integer or real) in *out; false for any other kind. */
bool pj_number(const json_t *v, double *out);

/*
 * Member lookups. encoding/json assigns every key that folds equal to a field name, so
 * with duplicates the last one wins, and a null leaves the field as it was. Plugins
 * differ in how closely they follow that; each keeps its own rule:
 *  pj_get:       the last key equal ignoring case; null counts as absent.
 *  pj_get_set:   the last key equal ignoring case whose value is not null.
 *  pj_get_first: the exact name, else the first key equal ignoring case; null is absent.
 * All return NULL when obj is not an object.
 */
json_t *pj_get(const json_t *obj, const char *key);
json_t *pj_get_set(const json_t *obj, const char *key);
json_t *pj_get_first(const json_t *obj, const char *key);

/*
 * How a plugin decodes its config, Go style. Errors are the reference's decoding errors
 * (CNI_ERR_DECODING_FAILURE), "<what>: json: cannot unmarshal <value> into Go struct
 * field <type><field> of type <gotype>": what is the plugin's context ("failed to load
 * netconf"), type the struct name with its dot ("NetConf.") or "" when the field names
 * carry it. get is the plugin's member lookup for the getters below (NULL: pj_get).
 */
typedef struct pj_go {
	const char *what;
	const char *type;
	json_t *(*get)(const json_t *obj, const char *key);
} pj_go;

/* value as Go words it: "string", "number 1.5"... */
int pj_go_error(cni_error **err, const pj_go *go, const char *value, const char *field,
		const char *gotype);
/* value named by its kind (pj_kind) */
int pj_go_type_error(cni_error **err, const pj_go *go, const json_t *v, const char *field,
		     const char *gotype);
/* a number that does not fit gotype, printed with %g */
int pj_go_number_error(cni_error **err, const pj_go *go, double d, const char *field,
		       const char *gotype);
/* the whole document is not what the plugin decodes into: "... into Go value of type T" */
int pj_go_value_error(cni_error **err, const pj_go *go, const json_t *v, const char *gotype);

/*
 * Parse the config text (data, len) into *out (new reference) when it is a JSON object;
 * else fail with "<what>: <parser's message>" or pj_go_value_error(gotype).
 */
int pj_go_load(const pj_go *go, const char *data, size_t len, const char *gotype, json_t **out,
	       cni_error **err);

/*
 * Typed getters for obj's member key, decoded into field (named in errors as
 * <go->type><field>). Absent (or null) leaves *out alone; *present (optional) says
 * whether the member was there. A wrong type fails with pj_go_type_error.
 */
int pj_go_string(const pj_go *go, const json_t *obj, const char *key, const char *field,
		 const char **out, bool *present, cni_error **err);
int pj_go_bool(const pj_go *go, const json_t *obj, const char *key, const char *field, bool *out,
	       bool *present, cni_error **err);
/* Go's int as a 32-bit C int: an integral number (1.0 is fine, 1.5 is not) in range;
 * anything else is a decoding failure naming the number. */
int pj_go_int(const pj_go *go, const json_t *obj, const char *key, const char *field, int *out,
	      bool *present, cni_error **err);
/* Go's uint32: an integral number from 0 to 4294967295. */
int pj_go_uint32(const pj_go *go, const json_t *obj, const char *key, const char *field,
		 unsigned int *out, bool *present, cni_error **err);
/* Any Go integer type named gotype, whose range is min to max (exactly representable
 * doubles): what pj_go_int and pj_go_uint32 are made of, for the other widths. */
int pj_go_integer(const pj_go *go, const json_t *obj, const char *key, const char *field,
		  const char *gotype, double min, double max, long long *out, bool *present,
		  cni_error **err);

/*
 * "<field>: expected <want>, got <kind>" (CNI_ERR_INVALID_NETWORK_CONFIG), the style of
 * our IPAM plugins' errors. pj_expected_value shows the value itself as compact JSON
 * (cut at 64 characters) instead of its kind.
 */
int pj_expected(cni_error **err, const char *field, const char *want, const json_t *got);
int pj_expected_value(cni_error **err, const char *field, const char *want, const json_t *got);

#endif
