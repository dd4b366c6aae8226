/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON as Go's encoding/json reads and writes it, in one place. The reference's configs,
 * results and errors pass through Go's decoder and encoder, and users see its exact texts:
 * the library matches them byte for byte. Reading: a syntax check with Go's messages
 * (skel), Go's names for kinds and types, UTF-8 decoded as Go decodes it. Writing: Go's
 * escaping and number formatting, %q quoting.
 */
#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>

#include "buf-internal.h"
#include "error-internal.h"
#include "gojson-internal.h"

/* ---- UTF-8 as Go decodes it ---- */

/*
 * The rune at s (at most n bytes) as Go's utf8.DecodeRune reads it: *len its length, or
 * U+FFFD with *len 1 for an invalid or cut-short sequence (surrogates and overlong forms
 * included).
 */
uint32_t cni_utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
	uint32_t c = s[0];
	size_t want;
	unsigned char lo = 0x80, hi = 0xbf;

	*len = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xc2 && c <= 0xdf) {
		want = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		want = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
		hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		want = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
		c &= 0x07;
	} else {
		return 0xfffd;
	}
	if (n < want)
		return 0xfffd;
	for (size_t i = 1; i < want; i++) {
		unsigned char b = s[i];
		if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
			return 0xfffd;
		c = c << 6 | (b & 0x3f);
	}
	*len = want;
	return c;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t r = cni_utf8_decode(s, n, &len);
	return r == 0xfffd && len == 1 ? 0 : len;
}

/* ---- JSON, the way Go's encoding/json judges and decodes it ---- */

/*
 * skel must reject a config exactly as the reference does, and its messages come from
 * Go's encoding/json. jansson differs on purpose in places (it rejects duplicate keys,
 * NUL escapes, huge integers and invalid UTF-8, which Go accepts) and its error texts are
 * its own. So skel checks syntax with a small scanner that reports Go's messages, and
 * decodes only the two top-level strings it needs (name, cniVersion) as Go would: keys
 * matched exactly or case-insensitively, the last one winning, null ignored.
 */

#define GO_JSON_MAX_DEPTH 10000

static int buf_put_rune(cni_buf *b, unsigned long r)
{
	char u[4];
	size_t n;
	if (r < 0x80) {
		u[0] = (char)r;
		n = 1;
	} else if (r < 0x800) {
		u[0] = (char)(0xc0 | (r >> 6));
		u[1] = (char)(0x80 | (r & 0x3f));
		n = 2;
	} else if (r < 0x10000) {
		u[0] = (char)(0xe0 | (r >> 12));
		u[1] = (char)(0x80 | ((r >> 6) & 0x3f));
		u[2] = (char)(0x80 | (r & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (r >> 18));
		u[1] = (char)(0x80 | ((r >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((r >> 6) & 0x3f));
		u[3] = (char)(0x80 | (r & 0x3f));
		n = 4;
	}
	return cni_buf_append(b, u, n);
}

/* Copy of s with every invalid UTF-8 byte replaced by U+FFFD (as Go's decoder does). */
int cni_utf8_sanitize(const char *s, size_t n, cni_buf *b)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(p + i, n - i);
		int r = l ? cni_buf_append(b, s + i, l) : buf_put_rune(b, 0xfffd);
		if (r < 0)
			return r;
		i += l ? l : 1;
	}
	return cni_buf_append(b, "", 0);
}

bool cni_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

/* Go's quoteChar: the offending byte as strconv.Quote shows the rune U+00XX. */
void cni_go_quote_char(unsigned char c, char *out, size_t size)
{
	char e = 0;
	switch (c) {
	case '\'':
		snprintf(out, size, "'\\''");
		return;
	case '"':
		snprintf(out, size, "'\"'");
		return;
	case '\a':
		e = 'a';
		break;
	case '\b':
		e = 'b';
		break;
	case '\f':
		e = 'f';
		break;
	case '\n':
		e = 'n';
		break;
	case '\r':
		e = 'r';
		break;
	case '\t':
		e = 't';
		break;
	case '\v':
		e = 'v';
		break;
	case '\\':
		e = '\\';
		break;
	}
	if (e)
		snprintf(out, size, "'\\%c'", e);
	else if (c < 0x20 || c == 0x7f)
		snprintf(out, size, "'\\x%02x'", c);
	else if (c < 0x7f)
		snprintf(out, size, "'%c'", c);
	else if (c < 0xa1 || c == 0xad) /* C1 controls, NBSP, soft hyphen: not printable */
		snprintf(out, size, "'\\u%04x'", c);
	else
		snprintf(out, size, "'%c%c'", 0xc0 | (c >> 6), 0x80 | (c & 0x3f));
}

typedef struct go_scan {
	const char *s;
	size_t len, pos;
	char *msg; /* set on a syntax error */
} go_scan;

/*
 * Go's scanner feeds one space at the end of the input: where a space is itself an error
 * (inside an escape, a number or a literal) that error is reported, otherwise "unexpected
 * end". context "" means the latter.
 */
static int scan_fail(go_scan *sc, const char *context)
{
	bool eof = sc->pos >= sc->len;
	if (eof && !*context) {
		sc->msg = strdup("unexpected end of JSON input");
	} else {
		char q[16];
		cni_go_quote_char(eof ? ' ' : (unsigned char)sc->s[sc->pos], q, sizeof(q));
		sc->msg = cni_strdupf("invalid character %s %s", q, context);
	}
	return sc->msg ? -CNI_ERR_DECODING_FAILURE : -CNI_ERR_NOMEM;
}

static void scan_space(go_scan *sc)
{
	while (sc->pos < sc->len && strchr(" \t\r\n", sc->s[sc->pos]) && sc->s[sc->pos])
		sc->pos++;
}

static bool scan_eof(const go_scan *sc)
{
	return sc->pos >= sc->len;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Read 4 hex digits at s (already validated by the scanner). */
static unsigned long hex4(const char *s)
{
	unsigned long v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 4 | (unsigned long)hexval(s[i]);
	return v;
}

/*
 * Scan a string starting at the opening quote; when out is not NULL, decode it as Go's
 * unquote does (escapes, surrogate pairs, invalid UTF-8 and lone surrogates as U+FFFD).
 */
static int scan_string(go_scan *sc, cni_buf *out)
{
	size_t start = ++sc->pos;
	while (!scan_eof(sc)) {
		unsigned char c = (unsigned char)sc->s[sc->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return scan_fail(sc, "in string literal");
		sc->pos++;
		if (c != '\\')
			continue;
		if (scan_eof(sc))
			return scan_fail(sc, "in string escape code");
		c = (unsigned char)sc->s[sc->pos];
		if (!strchr("bfnrt\\/\"u", c) || !c)
			return scan_fail(sc, "in string escape code");
		sc->pos++;
		if (c == 'u')
			for (int i = 0; i < 4; i++, sc->pos++)
				if (scan_eof(sc) || hexval(sc->s[sc->pos]) < 0)
					return scan_fail(sc, "in \\u hexadecimal character escape");
	}
	if (scan_eof(sc))
		return scan_fail(sc, "");
	size_t end = sc->pos++;
	if (!out)
		return 0;

	const char *s = sc->s;
	for (size_t i = start; i < end;) {
		int r = 0;
		if (s[i] != '\\') {
			size_t l = utf8_seq_len((const unsigned char *)s + i, end - i);
			r = l ? cni_buf_append(out, s + i, l) : buf_put_rune(out, 0xfffd);
			i += l ? l : 1;
		} else if (s[i + 1] != 'u') {
			static const char from[] = "bfnrt\\/\"", to[] = "\b\f\n\r\t\\/\"";
			char ch = to[strchr(from, s[i + 1]) - from];
			r = cni_buf_append(out, &ch, 1);
			i += 2;
		} else {
			unsigned long cp = hex4(s + i + 2);
			i += 6;
			if (cp >= 0xd800 && cp < 0xe000) {
				unsigned long lo = 0;
				if (cp < 0xdc00 && i + 6 <= end && s[i] == '\\' && s[i + 1] == 'u')
					lo = hex4(s + i + 2);
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				} else
					cp = 0xfffd;
			}
			r = buf_put_rune(out, cp);
		}
		if (r < 0)
			return r;
	}
	return cni_buf_append(out, "", 0);
}

static int scan_number(go_scan *sc)
{
	const char *s = sc->s;
	if (s[sc->pos] == '-') {
		sc->pos++;
		if (scan_eof(sc) || s[sc->pos] < '0' || s[sc->pos] > '9')
			return scan_fail(sc, "in numeric literal");
	}
	if (s[sc->pos] == '0')
		sc->pos++;
	else
		while (!scan_eof(sc) && s[sc->pos] >= '0' && s[sc->pos] <= '9')
			sc->pos++;
	if (!scan_eof(sc) && s[sc->pos] == '.') {
		sc->pos++;
		if (scan_eof(sc) || s[sc->pos] < '0' || s[sc->pos] > '9')
			return scan_fail(sc, "after decimal point in numeric literal");
		while (!scan_eof(sc) && s[sc->pos] >= '0' && s[sc->pos] <= '9')
			sc->pos++;
	}
	if (!scan_eof(sc) && (s[sc->pos] == 'e' || s[sc->pos] == 'E')) {
		sc->pos++;
		if (!scan_eof(sc) && (s[sc->pos] == '+' || s[sc->pos] == '-'))
			sc->pos++;
		if (scan_eof(sc) || s[sc->pos] < '0' || s[sc->pos] > '9')
			return scan_fail(sc, "in exponent of numeric literal");
		while (!scan_eof(sc) && s[sc->pos] >= '0' && s[sc->pos] <= '9')
			sc->pos++;
	}
	/* A number at the very end of the input is complete (Go's eof() feeds a space). */
	return 0;
}

static int scan_literal(go_scan *sc, const char *word)
{
	char ctx[40];
	sc->pos++;
	for (size_t i = 1; word[i]; i++, sc->pos++) {
		if (scan_eof(sc) || sc->s[sc->pos] != word[i]) {
			snprintf(ctx, sizeof(ctx), "in literal %s (expecting '%c')", word, word[i]);
			return scan_fail(sc, ctx);
		}
	}
	return 0;
}

/* Go's field match: exact, else case-insensitive (with the Unicode folds of k and s). */
bool cni_go_key_matches(const char *key, size_t klen, const char *field)
{
	size_t i = 0;
	if (klen == strlen(field) && memcmp(key, field, klen) == 0)
		return true;
	for (const char *f = field; *f; f++) {
		char lf = (char)(*f | 0x20);
		if (i < klen && (key[i] | 0x20) == lf &&
		    ((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z'))) {
			i++;
		} else if (i < klen && key[i] == *f) {
			i++;
		} else if (lf == 's' && klen - i >= 2 && memcmp(key + i, "\xc5\xbf", 2) == 0) {
			i += 2; /* U+017F LATIN SMALL LETTER LONG S */
		} else if (lf == 'k' && klen - i >= 3 && memcmp(key + i, "\xe2\x84\xaa", 3) == 0) {
			i += 3; /* U+212A KELVIN SIGN */
		} else {
			return false;
		}
	}
	return i == klen;
}

static const char *kind_of(char c)
{
	switch (c) {
	case '{':
		return "object";
	case '[':
		return "array";
	case '"':
		return "string";
	case 't':
	case 'f':
		return "bool";
	case 'n':
		return "null";
	default:
		return "number";
	}
}

/*
 * Validate data as Go's json.Unmarshal would and collect the top-level name and
 * cniVersion. On a syntax error *msg gets Go's message and -CNI_ERR_DECODING_FAILURE
 * is returned.
 */
int cni_go_json_scan(const char *data, size_t len, cni_go_conf *conf, char **msg)
{
	_cleanup_free_ char *stack = NULL; /* 'o' object, 'a' array */
	size_t depth = 0, cap = 0;
	cni_go_field *target = NULL; /* field the next top-level value is for */
	go_scan sc = {data, len, 0, NULL};
	int r;

	conf->top_kind = NULL;
value:
	scan_space(&sc);
	if (scan_eof(&sc))
		goto fail_end;
	{
		char c = sc.s[sc.pos];
		const char *kind = kind_of(c);
		if (depth == 0)
			conf->top_kind = kind;
		if (target && !streq(kind, "null") && !streq(kind, "string") && !target->bad_kind)
			target->bad_kind = kind;
		switch (c) {
		case '{':
		case '[':
			if (depth >= GO_JSON_MAX_DEPTH) {
				r = scan_fail(&sc, "exceeded max depth");
				goto fail;
			}
			if (depth == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				char *ns = realloc(stack, ncap);
				if (!ns)
					return -CNI_ERR_NOMEM;
				stack = ns;
				cap = ncap;
			}
			stack[depth++] = c == '{' ? 'o' : 'a';
			sc.pos++;
			target = NULL;
			scan_space(&sc);
			if (scan_eof(&sc))
				goto fail_end;
			if (sc.s[sc.pos] == (c == '{' ? '}' : ']')) {
				sc.pos++;
				depth--;
				goto after;
			}
			if (c == '{')
				goto key;
			goto value;
		case '"':
			if (target) {
				cni_buf b = CNI_BUF_INIT;
				r = scan_string(&sc, &b);
				if (r < 0) {
					cni_buf_free(&b);
					goto fail;
				}
				free(target->value);
				target->value = cni_buf_steal(&b);
				if (!target->value)
					return -CNI_ERR_NOMEM;
			} else if ((r = scan_string(&sc, NULL)) < 0) {
				goto fail;
			}
			break;
		case 't':
			r = scan_literal(&sc, "true");
			break;
		case 'f':
			r = scan_literal(&sc, "false");
			break;
		case 'n':
			r = scan_literal(&sc, "null");
			break;
		default:
			if (c != '-' && (c < '0' || c > '9')) {
				r = scan_fail(&sc, "looking for beginning of value");
				goto fail;
			}
			r = scan_number(&sc);
			break;
		}
		if (r < 0)
			goto fail;
		target = NULL;
	}
after:
	if (depth == 0) {
		scan_space(&sc);
		if (!scan_eof(&sc)) {
			r = scan_fail(&sc, "after top-level value");
			goto fail;
		}
		return 0;
	}
	scan_space(&sc);
	if (scan_eof(&sc))
		goto fail_end;
	/* a comma goes on to the next member or element, the closing bracket ends them */
	if (sc.s[sc.pos] == ',') {
		sc.pos++;
		if (stack[depth - 1] == 'o')
			goto key;
		goto value;
	}
	if (sc.s[sc.pos] == (stack[depth - 1] == 'o' ? '}' : ']')) {
		sc.pos++;
		depth--;
		goto after;
	}
	r = scan_fail(&sc, stack[depth - 1] == 'o' ? "after object key:value pair"
						   : "after array element");
	goto fail;
key:
	scan_space(&sc);
	if (scan_eof(&sc))
		goto fail_end;
	if (sc.s[sc.pos] != '"') {
		r = scan_fail(&sc, "looking for beginning of object key string");
		goto fail;
	}
	{
		cni_buf k = CNI_BUF_INIT;
		r = scan_string(&sc, depth == 1 ? &k : NULL);
		if (r == 0 && depth == 1) {
			/* Go prefers an exact match over a case-insensitive one; the struct has
			 * only one field, so either way this key sets it. */
			if (cni_go_key_matches(k.data, k.len, conf->name.json_name))
				target = &conf->name;
			else if (cni_go_key_matches(k.data, k.len, conf->version.json_name))
				target = &conf->version;
		}
		cni_buf_free(&k);
		if (r < 0)
			goto fail;
	}
	scan_space(&sc);
	if (scan_eof(&sc))
		goto fail_end;
	if (sc.s[sc.pos] != ':') {
		r = scan_fail(&sc, "after object key");
		goto fail;
	}
	sc.pos++;
	goto value;

fail_end:
	r = scan_fail(&sc, "");
fail:
	if (sc.msg)
		*msg = sc.msg;
	return r;
}

void cni_go_conf_clear(cni_go_conf *c)
{
	free(c->name.value);
	free(c->version.value);
}

/* ---- decoding into structs ---- */

json_t *cni_json_go_member(const json_t *obj, const char *field, bool skip_null)
{
	const char *key;
	json_t *v, *found = NULL;

	if (!json_is_object(obj))
		return NULL;
	json_object_foreach((json_t *)obj, key, v)
	{
		if ((!skip_null || !json_is_null(v)) && cni_go_key_matches(key, strlen(key), field))
			found = v;
	}
	return found;
}

int cni_go_unmarshal_error(cni_error **err, const char *what, const char *kind, const char *fmt,
			   ...)
{
	_cleanup_free_ char *target = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&target, fmt, ap) < 0)
		target = NULL;
	va_end(ap);
	if (!target)
		return cni_error_oom(err);
	return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
			     "%s: json: cannot unmarshal %s into Go %s", what, kind, target);
}

/* ---- Go's names for what it decoded ---- */

/* Go's strerror texts are the C library's with a lower-case first letter. */
char *cni_go_strerror(int e)
{
	char *s = strdup(strerror(e));
	if (s && s[0] && isupper((unsigned char)s[0]) && !isupper((unsigned char)s[1]))
		s[0] = (char)tolower((unsigned char)s[0]);
	return s;
}

/* %T of the value Go decoded into an interface{}. */
const char *cni_json_go_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "map[string]interface {}";
	case JSON_ARRAY:
		return "[]interface {}";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "float64";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "<nil>";
	}
}

const char *cni_json_go_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "null";
	}
}

int cni_json_parse_go(const char *data, size_t len, const char *what, json_t **out, cni_error **err)
{
	json_error_t jerr;
	size_t i = 0;

	if (!data)
		len = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	if (i == len)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "%s: unexpected end of JSON input", what);
	/* Go decodes numbers into float64 and accepts duplicate keys (the last one wins). */
	json_t *j = json_loadb(data, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
	if (!j)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "%s: %s (line %d, column %d)", what, jerr.text, jerr.line,
				     jerr.column);
	*out = j;
	return 0;
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
			/* a valid rune as it is; an invalid byte as \ufffd, as Go writes it */
			size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);
			if (l) {
				i += l;
				continue;
			}
			r = cni_buf_append(b, s + start, i - start);
			if (r == 0)
				r = cni_buf_puts(b, "\\ufffd");
			start = ++i;
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

/* With CNI_GOJSON_INDENT: a new line and depth levels of MarshalIndent's four spaces. */
static int go_newline(cni_buf *b, unsigned int flags, int depth)
{
	if (!(flags & CNI_GOJSON_INDENT))
		return 0;
	int r = cni_buf_puts(b, "\n");
	for (int i = 0; r == 0 && i < depth; i++)
		r = cni_buf_puts(b, "    ");
	return r;
}

static int append_go(cni_buf *b, const json_t *j, unsigned int flags, int depth)
{
	int r = 0;

	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(j), i = 0;
		const char *key;
		json_t *v;
		if (n == 0)
			return cni_buf_puts(b, "{}");
		_cleanup_free_ const char **keys = calloc(n, sizeof(char *));
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
				r = go_newline(b, flags, depth + 1);
			if (r == 0)
				r = cni_json_append_go_string(b, keys[i], strlen(keys[i]));
			if (r == 0)
				r = cni_buf_puts(b, flags & CNI_GOJSON_INDENT ? ": " : ":");
			if (r == 0)
				r = append_go(b, json_object_get(j, keys[i]), flags, depth + 1);
		}
		if (r == 0)
			r = go_newline(b, flags, depth);
		return r ? r : cni_buf_puts(b, "}");
	}
	case JSON_ARRAY:
		if (json_array_size(j) == 0)
			return cni_buf_puts(b, "[]");
		r = cni_buf_puts(b, "[");
		for (size_t i = 0; r == 0 && i < json_array_size(j); i++) {
			if (i)
				r = cni_buf_puts(b, ",");
			if (r == 0)
				r = go_newline(b, flags, depth + 1);
			if (r == 0)
				r = append_go(b, json_array_get(j, i), flags, depth + 1);
		}
		if (r == 0)
			r = go_newline(b, flags, depth);
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

int cni_json_append_go(cni_buf *b, const json_t *j, unsigned int flags)
{
	return append_go(b, j, flags, 0);
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
		case '"':
			r = cni_buf_puts(b, "\\\"");
			break;
		case '\\':
			r = cni_buf_puts(b, "\\\\");
			break;
		case '\n':
			r = cni_buf_puts(b, "\\n");
			break;
		case '\r':
			r = cni_buf_puts(b, "\\r");
			break;
		case '\t':
			r = cni_buf_puts(b, "\\t");
			break;
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
