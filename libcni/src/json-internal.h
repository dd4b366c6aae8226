/* SPDX-License-Identifier: Apache-2.0 */
/* JSON helpers (json.c); JSON as Go reads and writes it is gojson-internal.h. Never installed. */
#ifndef CNI_JSON_INTERNAL_H
#define CNI_JSON_INTERNAL_H

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

/* base64 (standard alphabet, padded), as Go encodes []byte in JSON. */
char *cni_base64_encode(const void *data, size_t len);
int cni_base64_decode(const char *in, char **out, size_t *out_len);

#endif
