/* SPDX-License-Identifier: Apache-2.0 */
/* JSON helpers, and JSON and quoting exactly as Go writes them (json.c). Never installed. */
#ifndef CNI_JSON_INTERNAL_H
#define CNI_JSON_INTERNAL_H

#include "buf-internal.h"

/* Parse text that must be a JSON object; errors are -CNI_ERR_DECODING_FAILURE with
 * jansson's line/column text prefixed with what (e.g. "error unmarshall network config"). */
int cni_json_parse_object(const char *data, size_t len, const char *what, json_t **out,
			  cni_error **err);
/* Serialize compactly (JSON_COMPACT, keys in insertion order). NULL on failure. */
char *cni_json_dump_compact(const json_t *j);
/* Borrowed string member or NULL when absent or not a string. */
const char *cni_json_get_string(const json_t *obj, const char *key);
/* "an object", "a string", "a number", "null"... for messages. */
const char *cni_json_kind_phrase(const json_t *v);

/*
 * JSON text exactly as Go's encoding/json writes it (compact; <, >, &, U+2028/9 escaped;
 * control bytes as \u00XX). CNI_GOJSON_SORTED sorts object keys (a Go map) instead of
 * keeping their order (a Go struct); CNI_GOJSON_FLOAT64 prints integers as float64, as
 * Go does for numbers it decoded into interface{}.
 */
#define CNI_GOJSON_SORTED  0x1u
#define CNI_GOJSON_FLOAT64 0x2u
int cni_json_append_go(cni_buf *b, const json_t *j, unsigned int flags);
int cni_json_append_go_string(cni_buf *b, const char *s, size_t len);
/* Sorted keys, float64 numbers: how Go re-encodes a config it decoded into a map. */
char *cni_json_marshal_go(const json_t *j);

/* base64 (standard alphabet, padded), as Go encodes []byte in JSON. */
char *cni_base64_encode(const void *data, size_t len);
int cni_base64_decode(const char *in, char **out, size_t *out_len);

/* Append s quoted as Go's %q does (escapes ", \\ and control bytes). */
int cni_buf_go_quote(cni_buf *b, const char *s);
/* New string: s quoted as Go's %q. NULL on allocation failure. */
char *cni_go_quote(const char *s);

#endif
