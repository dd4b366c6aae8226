/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON as Go's encoding/json reads and writes it (gojson.c): what the reference's users
 * see of its decoder and encoder, matched byte for byte. Never installed.
 */
#ifndef CNI_GOJSON_INTERNAL_H
#define CNI_GOJSON_INTERNAL_H

#include <stdint.h>

#include "buf-internal.h"

/* ---- UTF-8 ---- */

/* The rune at s (at most n bytes), *len its length; U+FFFD with *len 1 when invalid. */
uint32_t cni_utf8_decode(const unsigned char *s, size_t n, size_t *len);
bool cni_utf8_valid(const char *s);
/* Append s (n bytes) to b with every invalid byte replaced by U+FFFD, as Go's decoder
 * reads it; b stays NUL-terminated. */
int cni_utf8_sanitize(const char *s, size_t n, cni_buf *b);

/* ---- reading ---- */

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

/* Whether JSON key (klen bytes) sets struct field field in Go: the same name, or the same
 * folded to lower case (with Go's folds of U+017F and U+212A). */
bool cni_go_key_matches(const char *key, size_t klen, const char *field);
/* The member of obj Go's decoder puts into field: the last matching key, one whose value
 * is null skipped when skip_null (null leaves a struct field as it was). Borrowed. */
json_t *cni_json_go_member(const json_t *obj, const char *field, bool skip_null);
/* -CNI_ERR_DECODING_FAILURE "<what>: json: cannot unmarshal <kind> into Go <target>", the
 * target from fmt ("value of type T", "struct field S.f of type T"). */
int cni_go_unmarshal_error(cni_error **err, const char *what, const char *kind, const char *fmt,
			   ...) CNI_PRINTF(4, 5);

/* Go's quoteChar: byte c as its syntax errors show it. */
void cni_go_quote_char(unsigned char c, char *out, size_t size);
/* strerror as Go's syscall.Errno prints it (lower-case first letter). New string. */
char *cni_go_strerror(int e);
/* %T of the value Go decoded into an interface{} ("map[string]interface {}"...). */
const char *cni_json_go_type_name(const json_t *v);
/* The JSON kind Go's UnmarshalTypeError names ("object", "number", "null"...). */
const char *cni_json_go_kind(const json_t *v);

/* Parse any JSON value the way conf.c does (numbers as reals). NULL + *err on failure. */
int cni_json_parse_go(const char *data, size_t len, const char *what, json_t **out,
		      cni_error **err);

/* ---- writing ---- */

/*
 * JSON text exactly as Go's encoding/json writes it (compact; <, >, &, U+2028/9 escaped;
 * control bytes as \u00XX, an invalid UTF-8 byte as \ufffd). CNI_GOJSON_SORTED sorts
 * object keys (a Go map) instead of keeping their order (a Go struct); CNI_GOJSON_FLOAT64
 * prints integers as float64, as
 * Go does for numbers it decoded into interface{}.
 */
#define CNI_GOJSON_SORTED  0x1u
#define CNI_GOJSON_FLOAT64 0x2u
#define CNI_GOJSON_INDENT  0x4u /* as json.MarshalIndent(v, "", "    ") */
int cni_json_append_go(cni_buf *b, const json_t *j, unsigned int flags);
int cni_json_append_go_string(cni_buf *b, const char *s, size_t len);
/*
 * New text: j encoded as Go's encoding/json encodes the interface{} values it decoded
 * (objects with sorted keys, compact, numbers as float64, <>& U+2028 U+2029 escaped).
 * NULL on allocation failure or a non-finite number.
 */
char *cni_json_marshal_go(const json_t *j);

/* Append s quoted as Go's %q does (escapes ", \\ and control bytes). */
int cni_buf_go_quote(cni_buf *b, const char *s);
/* New string: s quoted as Go's %q. NULL on allocation failure. */
char *cni_go_quote(const char *s);

#endif
