/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <strings.h>

#include "internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

struct cni_args {
	size_t n;
	char **keys;
	char **values;
};

void cni_args_free(cni_args *a)
{
	if (!a)
		return;
	cni_strv_free(a->keys);
	cni_strv_free(a->values);
	free(a);
}

int cni_args_parse(cni_args **out, const char *str, cni_error **err)
{
	cni_args *a = calloc(1, sizeof(*a));
	if (!a)
		return cni_error_oom(err);
	a->keys = calloc(1, sizeof(char *));
	a->values = calloc(1, sizeof(char *));
	if (!a->keys || !a->values)
		goto oom;
	if (isempty(str)) {
		*out = a;
		return 0;
	}
	for (const char *p = str;;) {
		const char *semi = strchr(p, ';');
		size_t n = semi ? (size_t)(semi - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		/* exactly one '=' makes two parts; none or more is an invalid pair */
		if (!eq || memchr(eq + 1, '=', n - (size_t)(eq - p) - 1)) {
			_cleanup_free_ char *pair = strndup(p, n);
			_cleanup_free_ char *q = pair ? cni_go_quote(pair) : NULL;
			cni_args_free(a);
			if (!q)
				return cni_error_oom(err);
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "ARGS: invalid pair %s", q);
		}
		if (cni_strv_consume(&a->keys, strndup(p, (size_t)(eq - p))) < 0 ||
		    cni_strv_consume(&a->values, strndup(eq + 1, n - (size_t)(eq - p) - 1)) < 0)
			goto oom;
		a->n++;
		if (!semi)
			break;
		p = semi + 1;
	}
	*out = a;
	return 0;
oom:
	cni_args_free(a);
	return cni_error_oom(err);
}

const char *cni_args_get(const cni_args *a, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; a && i < a->n; i++)
		if (streq(a->keys[i], key))
			v = a->values[i];
	return v;
}

size_t cni_args_count(const cni_args *a)
{
	return a ? a->n : 0;
}

const char *cni_args_key(const cni_args *a, size_t i)
{
	return a && i < a->n ? a->keys[i] : NULL;
}

const char *cni_args_value(const cni_args *a, size_t i)
{
	return a && i < a->n ? a->values[i] : NULL;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "1") || !strcasecmp(v, "true"))
		*out = true;
	else if (!strcasecmp(v, "0") || !strcasecmp(v, "false"))
		*out = false;
	else
		return -1;
	return 0;
}

/* The reference's message for a value that is not a boolean. */
static int bool_error(const char *key, const char *value, cni_error **err)
{
	_cleanup_free_ char *pair = cni_strdupf("%s=%s", key, value);
	_cleanup_free_ char *q = pair ? cni_go_quote(pair) : NULL;
	_cleanup_free_ char *lower = strdup(value);
	if (!q || !lower)
		return cni_error_oom(err);
	for (char *c = lower; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
			     "ARGS: error parsing value of pair %s: boolean unmarshal error: invalid input %s",
			     q, lower);
}

int cni_args_get_bool(const cni_args *a, const char *key, bool def, bool *out, cni_error **err)
{
	const char *v = cni_args_get(a, key);
	bool b = def;
	if (v && parse_bool(v, &b) < 0)
		return bool_error(key, v, err);
	*out = b;
	return 0;
}

int cni_args_check_known(const cni_args *a, const char *const *known, cni_error **err)
{
	bool ignore = false;
	cni_buf b = CNI_BUF_INIT;
	size_t unknown = 0;
	int r;

	/* The reference parses IgnoreUnknown like any other field: a bad value fails. */
	for (size_t i = 0; a && i < a->n; i++) {
		if (streq(a->keys[i], "IgnoreUnknown") && parse_bool(a->values[i], &ignore) < 0)
			return bool_error(a->keys[i], a->values[i], err);
	}
	r = cni_buf_puts(&b, "ARGS: unknown args [");
	for (size_t i = 0; r == 0 && a && i < a->n; i++) {
		bool found = streq(a->keys[i], "IgnoreUnknown");
		for (size_t k = 0; !found && known && known[k]; k++)
			found = streq(a->keys[i], known[k]);
		if (found)
			continue;
		_cleanup_free_ char *pair = cni_strdupf("%s=%s", a->keys[i], a->values[i]);
		if (!pair || (unknown && cni_buf_puts(&b, " ") < 0) ||
		    cni_buf_go_quote(&b, pair) < 0)
			r = -CNI_ERR_NOMEM;
		unknown++;
	}
	if (r == 0)
		r = cni_buf_puts(&b, "]");
	if (r < 0 || (unknown && !ignore))
		return cni_error_set_buf(err, CNI_ERR_INTERNAL, r, &b);
	cni_buf_free(&b);
	return 0;
}
