/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugin-json.h"

const char *pj_kind(const json_t *v)
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

bool pj_number(const json_t *v, double *out)
{
	if (json_is_integer(v))
		*out = (double)json_integer_value(v);
	else if (json_is_real(v))
		*out = json_real_value(v);
	else
		return false;
	return true;
}

/* The kind as a phrase, for when a value cannot be shown (json_dumps out of memory). */
static const char *kind_phrase(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* The last member equal to key ignoring case; with skip_null, null members are passed by. */
static json_t *last_folded(const json_t *obj, const char *key, bool skip_null)
{
	const char *k;
	json_t *v, *found = NULL;

	if (!json_is_object(obj))
		return NULL;
	json_object_foreach((json_t *)obj, k, v)
	{
		if (strcasecmp(k, key) == 0 && !(skip_null && json_is_null(v)))
			found = v;
	}
	return found;
}

json_t *pj_get(const json_t *obj, const char *key)
{
	json_t *v = last_folded(obj, key, false);
	return json_is_null(v) ? NULL : v;
}

json_t *pj_get_set(const json_t *obj, const char *key)
{
	return last_folded(obj, key, true);
}

json_t *pj_get_first(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v, *it;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if (!v) {
		json_object_foreach((json_t *)obj, k, it)
		{
			if (strcasecmp(k, key) == 0) {
				v = it;
				break;
			}
		}
	}
	return json_is_null(v) ? NULL : v;
}

int pj_go_error(cni_error **err, const pj_go *go, const char *value, const char *field,
		const char *gotype)
{
	return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
			     "%s: json: cannot unmarshal %s into Go struct field %s%s of type %s",
			     go->what, value, go->type, field, gotype);
}

int pj_go_type_error(cni_error **err, const pj_go *go, const json_t *v, const char *field,
		     const char *gotype)
{
	return pj_go_error(err, go, pj_kind(v), field, gotype);
}

int pj_go_number_error(cni_error **err, const pj_go *go, double d, const char *field,
		       const char *gotype)
{
	char num[48];

	snprintf(num, sizeof(num), "number %g", d);
	return pj_go_error(err, go, num, field, gotype);
}

int pj_go_value_error(cni_error **err, const pj_go *go, const json_t *v, const char *gotype)
{
	return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
			     "%s: json: cannot unmarshal %s into Go value of type %s", go->what,
			     pj_kind(v), gotype);
}

int pj_go_load(const pj_go *go, const char *data, size_t len, const char *gotype, json_t **out,
	       cni_error **err)
{
	json_error_t jerr;
	json_t *root = json_loadb(data, len, JSON_DECODE_ANY, &jerr);
	int r;

	if (!root)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL, "%s: %s", go->what,
				     jerr.text);
	if (!json_is_object(root)) {
		r = pj_go_value_error(err, go, root, gotype);
		json_decref(root);
		return r;
	}
	*out = root;
	return 0;
}

/* The member a typed getter decodes (NULL: absent or null); *present (when asked) says
 * whether there is one. */
static json_t *go_member(const pj_go *go, const json_t *obj, const char *key, bool *present)
{
	json_t *v = go->get ? go->get(obj, key) : pj_get(obj, key);

	if (present)
		*present = v != NULL;
	return v;
}

int pj_go_string(const pj_go *go, const json_t *obj, const char *key, const char *field,
		 const char **out, bool *present, cni_error **err)
{
	json_t *v = go_member(go, obj, key, present);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return pj_go_type_error(err, go, v, field, "string");
	*out = json_string_value(v);
	return 0;
}

int pj_go_bool(const pj_go *go, const json_t *obj, const char *key, const char *field, bool *out,
	       bool *present, cni_error **err)
{
	json_t *v = go_member(go, obj, key, present);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return pj_go_type_error(err, go, v, field, "bool");
	*out = json_is_true(v);
	return 0;
}

int pj_go_integer(const pj_go *go, const json_t *obj, const char *key, const char *field,
		  const char *gotype, double min, double max, long long *out, bool *present,
		  cni_error **err)
{
	json_t *v = go_member(go, obj, key, present);
	double d;

	if (!v)
		return 0;
	if (!pj_number(v, &d))
		return pj_go_type_error(err, go, v, field, gotype);
	/* range first: converting an out-of-range double to an integer is undefined */
	if (!(d >= min && d <= max) || d != (double)(long long)d)
		return pj_go_number_error(err, go, d, field, gotype);
	*out = (long long)d;
	return 0;
}

int pj_go_int(const pj_go *go, const json_t *obj, const char *key, const char *field, int *out,
	      bool *present, cni_error **err)
{
	long long v = 0;
	bool has = false;
	int r = pj_go_integer(go, obj, key, field, "int", -2147483648.0, 2147483647.0, &v, &has,
			      err);

	if (present)
		*present = has;
	if (r == 0 && has)
		*out = (int)v;
	return r;
}

int pj_go_uint32(const pj_go *go, const json_t *obj, const char *key, const char *field,
		 unsigned int *out, bool *present, cni_error **err)
{
	long long v = 0;
	bool has = false;
	int r = pj_go_integer(go, obj, key, field, "uint32", 0, 4294967295.0, &v, &has, err);

	if (present)
		*present = has;
	if (r == 0 && has)
		*out = (unsigned int)v;
	return r;
}

int pj_expected(cni_error **err, const char *field, const char *want, const json_t *got)
{
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "%s: expected %s, got %s",
			     field, want, pj_kind(got));
}

int pj_expected_value(cni_error **err, const char *field, const char *want, const json_t *got)
{
	const int max = 64;
	char *text = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
	const char *t = text ? text : kind_phrase(got);
	int r =
	    cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "%s: expected %s, got %.*s%s",
			  field, want, max, t, strlen(t) > (size_t)max ? "..." : "");

	free(text);
	return r;
}
