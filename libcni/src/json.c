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

/* ---- JSON text as Go's encoding/json writes it ---- */

int cni_json_append_go_string(cni_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;
	int r = cni_buf_puts(b, "\"");

	for (size_t i = 0; r == 0 && i < n;) {
		unsigned char ch = (unsigned char)s[i];
		char esc[8];

		if (ch >= 0x80) {
			/* U+2028 and U+2029 (E2 80 A8/A9) break JavaScript; Go escapes them */
			if (ch == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			    ((unsigned char)s[i + 2] & 0xFE) == 0xA8) {
				r = cni_buf_append(b, s + start, i - start);
				if (r == 0)
					r = cni_buf_puts(b, (unsigned char)s[i + 2] == 0xA8
								? "\\u2028"
								: "\\u2029");
				i += 3;
				start = i;
				continue;
			}
			i++;
			continue;
		}
		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != '<' && ch != '>' && ch != '&') {
			i++;
			continue;
		}
		r = cni_buf_append(b, s + start, i - start);
		if (r)
			break;
		switch (ch) {
		case '"':
		case '\\':
			esc[0] = '\\';
			esc[1] = (char)ch;
			esc[2] = '\0';
			break;
		case '\n':
			strcpy(esc, "\\n");
			break;
		case '\r':
			strcpy(esc, "\\r");
			break;
		case '\t':
			strcpy(esc, "\\t");
			break;
		default:
			/* Go before 1.22 writes \b and \f this way too */
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xF];
			esc[6] = '\0';
		}
		r = cni_buf_puts(b, esc);
		i++;
		start = i;
	}
	if (r == 0)
		r = cni_buf_append(b, s + start, n - start);
	return r ? r : cni_buf_puts(b, "\"");
}

/*
 * A float64 as Go's encoding/json prints it: the shortest digits that read back as the
 * same value, in %f form for 1e-6 <= |f| < 1e21 and %e form (e-7, e+21) outside.
 */
static int go_put_float(cni_buf *b, double f)
{
	char tmp[64], digits[32];
	size_t nd = 0;
	long exp10 = 0;
	bool neg = signbit(f);
	int r = 0;

	if (!isfinite(f))
		return -CNI_ERR_DECODING_FAILURE;
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	/* tmp is [-]d[<point>ddd]e±xx; the point depends on the locale, so skip it */
	const char *p = tmp;
	if (*p == '-')
		p++;
	for (; *p && *p != 'e'; p++)
		if (isdigit((unsigned char)*p) && nd < sizeof(digits) - 1)
			digits[nd++] = *p;
	digits[nd] = '\0';
	if (*p == 'e')
		exp10 = strtol(p + 1, NULL, 10);

	double a = fabs(f);
	if (neg)
		r = cni_buf_puts(b, "-");
	if (r)
		return r;
	if (a != 0 && (a < 1e-6 || a >= 1e21)) {
		r = cni_buf_append(b, digits, 1);
		if (r == 0 && nd > 1)
			r = cni_buf_printf(b, ".%s", digits + 1);
		if (r == 0)
			r = exp10 < 0 ? cni_buf_printf(b, "e-%ld", -exp10)
				      : cni_buf_printf(b, "e+%02ld", exp10);
		return r;
	}
	if (exp10 < 0) {
		r = cni_buf_puts(b, "0.");
		for (long i = 0; r == 0 && i < -exp10 - 1; i++)
			r = cni_buf_puts(b, "0");
		return r ? r : cni_buf_puts(b, digits);
	}
	size_t ip = (size_t)exp10 + 1; /* digits before the point */
	r = cni_buf_append(b, digits, nd < ip ? nd : ip);
	for (size_t i = nd; r == 0 && i < ip; i++)
		r = cni_buf_puts(b, "0");
	if (r == 0 && nd > ip)
		r = cni_buf_printf(b, ".%s", digits + ip);
	return r;
}

int cni_json_append_go(cni_buf *b, const json_t *j, unsigned int flags)
{
	int r = 0;

	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(j), i = 0;
		const char *key;
		json_t *v;
		_cleanup_free_ const char **keys = calloc(n ? n : 1, sizeof(char *));
		if (!keys)
			return -CNI_ERR_NOMEM;
		json_object_foreach((json_t *)j, key, v)
		{
			keys[i++] = key;
		}
		/* Go sorts map keys bytewise; structs keep their field order */
		if (flags & CNI_GOJSON_SORTED)
			qsort(keys, n, sizeof(char *), cni_strcmp_ptr);
		r = cni_buf_puts(b, "{");
		for (i = 0; r == 0 && i < n; i++) {
			if (i)
				r = cni_buf_puts(b, ",");
			if (r == 0)
				r = cni_json_append_go_string(b, keys[i], strlen(keys[i]));
			if (r == 0)
				r = cni_buf_puts(b, ":");
			if (r == 0)
				r = cni_json_append_go(b, json_object_get(j, keys[i]), flags);
		}
		return r ? r : cni_buf_puts(b, "}");
	}
	case JSON_ARRAY:
		r = cni_buf_puts(b, "[");
		for (size_t i = 0; r == 0 && i < json_array_size(j); i++) {
			if (i)
				r = cni_buf_puts(b, ",");
			if (r == 0)
				r = cni_json_append_go(b, json_array_get(j, i), flags);
		}
		return r ? r : cni_buf_puts(b, "]");
	case JSON_STRING:
		return cni_json_append_go_string(b, json_string_value(j), json_string_length(j));
	case JSON_INTEGER:
		if (!(flags & CNI_GOJSON_FLOAT64))
			return cni_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return go_put_float(b, (double)json_integer_value(j));
	case JSON_REAL:
		return go_put_float(b, json_real_value(j));
	case JSON_TRUE:
		return cni_buf_puts(b, "true");
	case JSON_FALSE:
		return cni_buf_puts(b, "false");
	default:
		return cni_buf_puts(b, "null");
	}
}

char *cni_json_marshal_go(const json_t *j)
{
	cni_buf b = CNI_BUF_INIT;
	if (!j || cni_json_append_go(&b, j, CNI_GOJSON_SORTED | CNI_GOJSON_FLOAT64) < 0) {
		cni_buf_free(&b);
		return NULL;
	}
	return cni_buf_steal(&b);
}

int cni_buf_go_quote(cni_buf *b, const char *s)
{
	int r = cni_buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; r == 0 && *p; p++) {
		switch (*p) {
		case '"': r = cni_buf_puts(b, "\\\""); break;
		case '\\': r = cni_buf_puts(b, "\\\\"); break;
		case '\n': r = cni_buf_puts(b, "\\n"); break;
		case '\r': r = cni_buf_puts(b, "\\r"); break;
		case '\t': r = cni_buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				r = cni_buf_printf(b, "\\x%02x", *p);
			else
				r = cni_buf_append(b, (const char *)p, 1);
		}
	}
	return r ? r : cni_buf_puts(b, "\"");
}

char *cni_go_quote(const char *s)
{
	cni_buf b = CNI_BUF_INIT;
	if (cni_buf_go_quote(&b, s) < 0) {
		cni_buf_free(&b);
		return NULL;
	}
	return cni_buf_steal(&b);
}
