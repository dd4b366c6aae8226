/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>

#include "internal.h"
#include "buf-internal.h"
#include "json-internal.h"

int cni_json_parse_object(const char *data, size_t len, const char *what, json_t **out,
			  cni_error **err)
{
	json_error_t jerr;
	json_t *j = json_loadb(data ? data : "", data ? len : 0, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL, "%s: %s (line %d, column %d)",
				     what, jerr.text, jerr.line, jerr.column);
	if (!json_is_object(j)) {
		json_decref(j);
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "%s: expected a JSON object", what);
	}
	*out = j;
	return 0;
}

char *cni_json_dump_compact(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

const char *cni_json_get_string(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *cni_json_kind_phrase(const json_t *v)
{
	static const char *const phrase[] = {
	    [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",  [JSON_STRING] = "a string",
	    [JSON_INTEGER] = "a number", [JSON_REAL] = "a number",   [JSON_TRUE] = "a boolean",
	    [JSON_FALSE] = "a boolean",  [JSON_NULL] = "null",
	};
	return v ? phrase[json_typeof(v)] : "null";
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *cni_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc(((len + 2) / 3) * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

int cni_base64_decode(const char *in, char **out, size_t *out_len)
{
	size_t n = strlen(in);
	if (n % 4)
		return -CNI_ERR_DECODING_FAILURE;
	char *buf = malloc(n / 4 * 3 + 1);
	size_t o = 0;
	if (!buf)
		return -CNI_ERR_NOMEM;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++) {
			char c = in[i + k];
			if (c == '=' && i + 4 == n && k >= 2) {
				v[k] = -2;
				continue;
			}
			v[k] = b64val(c);
			if (v[k] < 0 || (k == 3 && v[2] == -2))
				goto bad;
		}
		unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12;
		if (v[2] >= 0)
			w |= (unsigned)v[2] << 6;
		if (v[3] >= 0)
			w |= (unsigned)v[3];
		buf[o++] = (char)(w >> 16);
		if (v[2] >= 0)
			buf[o++] = (char)(w >> 8);
		if (v[3] >= 0)
			buf[o++] = (char)w;
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
bad:
	free(buf);
	return -CNI_ERR_DECODING_FAILURE;
}
