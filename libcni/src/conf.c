/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network configurations, read as the reference's libcni/conf.go reads them.
 *
 * Two Go behaviours shape this file. First, the reference decodes configs into
 * map[string]interface{} and re-encodes them with encoding/json: keys sorted, compact,
 * every number a float64, HTML characters escaped. Those bytes become plugin stdin, so
 * cni_json_marshal_go() reproduces them exactly. Second, a single plugin config is
 * decoded into a Go struct: well-known fields are matched case-insensitively, null
 * leaves a field unset and a value of the wrong JSON type is an error naming the field.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf-internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

struct cni_conf {
	char *bytes;
	size_t len;
	json_t *obj;
	/* borrowed from obj */
	const char *name;
	const char *type;
	const char *cni_version;
	const char *ipam_type;
};

struct cni_conflist {
	char *bytes;
	size_t len;
	json_t *obj;
	const char *name;  /* borrowed from obj */
	char *cni_version; /* chosen from cniVersion and cniVersions; "" when unset */
	bool disable_check;
	bool disable_gc;
	bool load_only_inlined;
	cni_conf **plugins;
	size_t n_plugins;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(cni_conf *, cni_conf_free)
#define _cleanup_conf_ _cleanup_(cni_conf_freep)
DEFINE_TRIVIAL_CLEANUP_FUNC(cni_conflist *, cni_conflist_free)
#define _cleanup_conflist_ _cleanup_(cni_conflist_freep)

/* ---- errors ------------------------------------------------------------------------- */

/*
 * Fail with e's code and message behind a prefix ("<prefix>: <msg>"), keeping e's
 * details or using details when e has none. e stays owned by the caller.
 */
static int CNI_PRINTF(5, 6) error_wrap(cni_error **err, int r, const cni_error *e,
				       const char *details, const char *fmt, ...)
{
	if (!e || cni_error_code(e) == CNI_ERR_NOMEM) {
		if (e && err && !*err)
			*err = cni_error_dup(e);
		return r;
	}
	_cleanup_free_ char *prefix = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (n < 0) {
		prefix = NULL;
		return cni_error_oom(err);
	}
	const char *d = cni_error_details(e);
	if (isempty(d))
		d = details;
	if (*prefix)
		return cni_error_set(err, cni_error_code(e), d, "%s: %s", prefix, cni_error_msg(e));
	return cni_error_set(err, cni_error_code(e), d, "%s", cni_error_msg(e));
}

/*
 * Parse data into a Go struct or map of type go_type: null leaves it empty (an empty
 * object here), any other non-object is Go's UnmarshalTypeError.
 */
static int parse_go_object(const char *data, size_t len, const char *what, const char *go_type,
			   json_t **out, cni_error **err)
{
	json_t *j = NULL;
	int r = cni_json_parse_go(data, len, what, &j, err);
	if (r < 0)
		return r;
	if (json_is_null(j)) {
		json_decref(j);
		j = json_object();
		if (!j)
			return cni_error_oom(err);
	}
	if (!json_is_object(j)) {
		r = cni_go_unmarshal_error(err, what, cni_json_go_kind(j), "value of type %s",
					   go_type);
		json_decref(j);
		return r;
	}
	*out = j;
	return 0;
}

/* ---- one plugin config -------------------------------------------------------------- */

static int type_error(cni_error **err, const json_t *v, const char *strct, const char *field,
		      const char *type)
{
	return cni_go_unmarshal_error(err, "error parsing configuration", cni_json_go_kind(v),
				      "struct field %s.%s of type %s", strct, field, type);
}

static int check_string(const json_t *v, const char *strct, const char *field, cni_error **err)
{
	if (json_is_null(v) || json_is_string(v))
		return 0;
	return type_error(err, v, strct, field, "string");
}

static int check_string_array(const json_t *v, const char *strct, const char *field,
			      cni_error **err)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return type_error(err, v, strct, field, "[]string");
	for (size_t i = 0; i < json_array_size(v); i++) {
		int r = check_string(json_array_get(v, i), strct, field, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Check the members of obj named in fields (case-insensitively), in document order. */
typedef int (*field_check_fn)(const json_t *v, cni_error **err);
struct field_check {
	const char *name;
	field_check_fn check;
};

static int check_fields(const json_t *obj, const struct field_check *fields, size_t n,
			cni_error **err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		for (size_t i = 0; i < n; i++) {
			if (strcasecmp(key, fields[i].name) != 0)
				continue;
			int r = fields[i].check(v, err);
			if (r < 0)
				return r;
			break;
		}
	}
	return 0;
}

static int check_conf_string(const json_t *v, cni_error **err, const char *field)
{
	return check_string(v, "PluginConf", field, err);
}

static int check_cni_version(const json_t *v, cni_error **err)
{
	return check_conf_string(v, err, "cniVersion");
}

static int check_name(const json_t *v, cni_error **err)
{
	return check_conf_string(v, err, "name");
}

static int check_type(const json_t *v, cni_error **err)
{
	return check_conf_string(v, err, "type");
}

static int check_capabilities(const json_t *v, cni_error **err)
{
	const char *key;
	json_t *b;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return type_error(err, v, "PluginConf", "capabilities", "map[string]bool");
	json_object_foreach((json_t *)v, key, b)
	{
		if (!json_is_null(b) && !json_is_boolean(b))
			return type_error(err, b, "PluginConf", "capabilities", "bool");
	}
	return 0;
}

static int check_ipam_type(const json_t *v, cni_error **err)
{
	return check_string(v, "IPAM", "ipam.type", err);
}

static int check_ipam(const json_t *v, cni_error **err)
{
	static const struct field_check f[] = {{"type", check_ipam_type}};
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return type_error(err, v, "PluginConf", "ipam", "types.IPAM");
	return check_fields(v, f, ARRAY_SIZE(f), err);
}

static int check_dns_nameservers(const json_t *v, cni_error **err)
{
	return check_string_array(v, "DNS", "dns.nameservers", err);
}

static int check_dns_domain(const json_t *v, cni_error **err)
{
	return check_string(v, "DNS", "dns.domain", err);
}

static int check_dns_search(const json_t *v, cni_error **err)
{
	return check_string_array(v, "DNS", "dns.search", err);
}

static int check_dns_options(const json_t *v, cni_error **err)
{
	return check_string_array(v, "DNS", "dns.options", err);
}

static int check_dns(const json_t *v, cni_error **err)
{
	static const struct field_check f[] = {
	    {"nameservers", check_dns_nameservers},
	    {"domain", check_dns_domain},
	    {"search", check_dns_search},
	    {"options", check_dns_options},
	};
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return type_error(err, v, "PluginConf", "dns", "types.DNS");
	return check_fields(v, f, ARRAY_SIZE(f), err);
}

static int check_prev_result(const json_t *v, cni_error **err)
{
	if (json_is_null(v) || json_is_object(v))
		return 0;
	return type_error(err, v, "PluginConf", "prevResult", "map[string]interface {}");
}

#define VALID_ATTACHMENTS "cni.dev/valid-attachments"

static int check_attachment_container_id(const json_t *v, cni_error **err)
{
	return check_string(v, "GCAttachment", VALID_ATTACHMENTS ".containerID", err);
}

static int check_attachment_ifname(const json_t *v, cni_error **err)
{
	return check_string(v, "GCAttachment", VALID_ATTACHMENTS ".ifname", err);
}

static int check_valid_attachments(const json_t *v, cni_error **err)
{
	static const struct field_check f[] = {
	    {"containerID", check_attachment_container_id},
	    {"ifname", check_attachment_ifname},
	};
	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return type_error(err, v, "PluginConf", VALID_ATTACHMENTS, "[]types.GCAttachment");
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *a = json_array_get(v, i);
		if (json_is_null(a))
			continue;
		if (!json_is_object(a))
			return type_error(err, a, "PluginConf", VALID_ATTACHMENTS,
					  "types.GCAttachment");
		int r = check_fields(a, f, ARRAY_SIZE(f), err);
		if (r < 0)
			return r;
	}
	return 0;
}

static const struct field_check plugin_conf_fields[] = {
    {"cniVersion", check_cni_version},
    {"name", check_name},
    {"type", check_type},
    {"capabilities", check_capabilities},
    {"ipam", check_ipam},
    {"dns", check_dns},
    {"prevResult", check_prev_result},
    {VALID_ATTACHMENTS, check_valid_attachments},
};

static const char *go_field_string(const json_t *obj, const char *name)
{
	json_t *v = cni_json_go_member(obj, name, true);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Parse data (taken; NUL-terminated, len bytes) as one plugin config. */
static int conf_new_take(cni_conf **out, char *data, size_t len, cni_error **err)
{
	_cleanup_free_ char *bytes = data;
	_cleanup_json_ json_t *j = NULL;

	int r =
	    parse_go_object(bytes, len, "error parsing configuration", "types.PluginConf", &j, err);
	if (r < 0)
		return r;
	r = check_fields(j, plugin_conf_fields, ARRAY_SIZE(plugin_conf_fields), err);
	if (r < 0)
		return r;
	const char *type = go_field_string(j, "type");
	if (isempty(type))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "error parsing configuration: missing 'type'");

	cni_conf *c = calloc(1, sizeof(*c));
	if (!c)
		return cni_error_oom(err);
	c->bytes = TAKE_PTR(bytes);
	c->len = len;
	c->obj = TAKE_PTR(j);
	c->type = type;
	c->name = go_field_string(c->obj, "name");
	c->cni_version = strempty(go_field_string(c->obj, "cniVersion"));
	c->ipam_type = go_field_string(cni_json_go_member(c->obj, "ipam", true), "type");
	*out = c;
	return 0;
}

static char *memdup0(const char *data, size_t len)
{
	char *p = malloc(len + 1);
	if (!p)
		return NULL;
	if (len)
		memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

int cni_conf_from_bytes(cni_conf **out, const char *data, size_t len, cni_error **err)
{
	if (!out || (!data && len))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conf_from_bytes: invalid arguments");
	char *copy = memdup0(data, len);
	if (!copy)
		return cni_error_oom(err);
	return conf_new_take(out, copy, len, err);
}

int cni_conf_from_json_t(cni_conf **out, json_t *obj, cni_error **err)
{
	if (!out || !json_is_object(obj))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conf_from_json_t: expected a JSON object");
	char *text = cni_json_marshal_go(obj);
	if (!text)
		return cni_error_oom(err);
	return conf_new_take(out, text, strlen(text), err);
}

/* Read a file; errors as the reference's `error reading <file>: <os error>`. */
static int read_config_file(const char *path, char **data, size_t *len, cni_error **err)
{
	_cleanup_error_ cni_error *e = NULL;
	int r = cni_read_file(path, 0, data, len, &e);
	if (r >= 0)
		return 0;
	/* the file exists in the listing; a failed read is an I/O failure, named by path */
	if (cni_error_code(e) == CNI_ERR_NOMEM)
		return cni_error_oom(err);
	return cni_error_set(
	    err, cni_error_code(e) == CNI_ERR_NOT_FOUND ? CNI_ERR_NOT_FOUND : CNI_ERR_IO_FAILURE,
	    path, "%s", cni_error_msg(e));
}

int cni_conf_from_file(cni_conf **out, const char *path, cni_error **err)
{
	_cleanup_error_ cni_error *e = NULL;
	char *data = NULL;
	size_t len = 0;

	if (!out || !path)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conf_from_file: invalid arguments");
	int r = read_config_file(path, &data, &len, err);
	if (r < 0)
		return r;
	r = conf_new_take(out, data, len, &e);
	if (r < 0)
		return error_wrap(err, r, e, path, "%s", "");
	return 0;
}

json_t *cni_conf_json(const cni_conf *c)
{
	return c ? c->obj : NULL;
}

const char *cni_conf_bytes(const cni_conf *c, size_t *len)
{
	if (len)
		*len = c ? c->len : 0;
	return c ? c->bytes : NULL;
}

const char *cni_conf_name(const cni_conf *c)
{
	return c ? c->name : NULL;
}

const char *cni_conf_type(const cni_conf *c)
{
	return c ? c->type : NULL;
}

const char *cni_conf_cni_version(const cni_conf *c)
{
	return c ? c->cni_version : NULL;
}

const char *cni_conf_ipam_type(const cni_conf *c)
{
	return c ? c->ipam_type : NULL;
}

bool cni_conf_has_capability(const cni_conf *c, const char *name)
{
	if (!c || !name)
		return false;
	return json_is_true(json_object_get(cni_json_go_member(c->obj, "capabilities", true), name));
}

int cni_conf_capabilities(const cni_conf *c, char ***out, cni_error **err)
{
	const char *key;
	json_t *v;

	if (!c || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conf_capabilities: invalid arguments");
	_cleanup_strv_ char **names = calloc(1, sizeof(char *));
	if (!names)
		return cni_error_oom(err);
	json_object_foreach(cni_json_go_member(c->obj, "capabilities", true), key, v)
	{
		if (json_is_true(v) && cni_strv_push(&names, key) < 0)
			return cni_error_oom(err);
	}
	*out = TAKE_PTR(names);
	return 0;
}

int cni_conf_get_json(const cni_conf *c, const char *key, char **out, cni_error **err)
{
	if (!c || !key || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conf_get_json: invalid arguments");
	json_t *v = json_object_get(c->obj, key);
	if (!v) {
		*out = NULL;
		return 0;
	}
	char *text = cni_json_marshal_go(v);
	if (!text)
		return cni_error_oom(err);
	*out = text;
	return 0;
}

/* ---- typed getters ---------------------------------------------------------------- */

/*
 * The value of key, NULL (and 0) when absent or null; fails when it is not of kind ok()
 * ("'key' must be <want>, not <kind>").
 */
static int get_typed(const cni_conf *c, const char *key, const char *fn, bool (*ok)(const json_t *),
		     const char *want, json_t **out, cni_error **err)
{
	if (!c || !key)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "%s: invalid arguments", fn);
	json_t *v = json_object_get(c->obj, key);
	if (v && json_is_null(v))
		v = NULL;
	if (v && !ok(v))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "'%s' must be %s, not %s", key, want, cni_json_kind_phrase(v));
	*out = v;
	return 0;
}

static bool is_string(const json_t *v)
{
	return json_is_string(v);
}

static bool is_bool(const json_t *v)
{
	return json_is_boolean(v);
}

/* Configs are parsed with every number as a double (Go's float64): whole ones count. */
static bool is_integer(const json_t *v)
{
	double d = json_number_value(v);
	return json_is_number(v) && d >= -0x1p63 && d < 0x1p63 && d == (double)(int64_t)d;
}

static bool is_number(const json_t *v)
{
	return json_is_number(v);
}

static bool is_array(const json_t *v)
{
	return json_is_array(v);
}

int cni_conf_get_string(const cni_conf *c, const char *key, const char **out, cni_error **err)
{
	json_t *v = NULL;
	int ret = get_typed(c, key, "cni_conf_get_string", is_string, "a string", &v, err);
	if (ret == 0 && out)
		*out = v ? json_string_value(v) : NULL;
	return ret;
}

int cni_conf_get_bool(const cni_conf *c, const char *key, bool def, bool *out, cni_error **err)
{
	json_t *v = NULL;
	int ret = get_typed(c, key, "cni_conf_get_bool", is_bool, "a boolean", &v, err);
	if (ret == 0 && out)
		*out = v ? json_is_true(v) : def;
	return ret;
}

int cni_conf_get_int(const cni_conf *c, const char *key, int64_t def, int64_t *out,
		     cni_error **err)
{
	json_t *v = NULL;
	int ret = get_typed(c, key, "cni_conf_get_int", is_integer, "an integer", &v, err);
	if (ret == 0 && out)
		*out = v ? (int64_t)json_number_value(v) : def;
	return ret;
}

int cni_conf_get_double(const cni_conf *c, const char *key, double def, double *out,
			cni_error **err)
{
	json_t *v = NULL;
	int ret = get_typed(c, key, "cni_conf_get_double", is_number, "a number", &v, err);
	if (ret == 0 && out)
		*out = v ? json_number_value(v) : def;
	return ret;
}

int cni_conf_get_strv(const cni_conf *c, const char *key, char ***out, cni_error **err)
{
	json_t *v = NULL, *e;
	size_t i;
	int ret = get_typed(c, key, "cni_conf_get_strv", is_array, "an array of strings", &v, err);
	if (ret < 0 || !out)
		return ret;
	if (!v) {
		*out = NULL;
		return 0;
	}
	_cleanup_strv_ char **r = calloc(json_array_size(v) + 1, sizeof(*r));
	if (!r)
		return cni_error_oom(err);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					     "'%s[%zu]' must be a string, not %s", key, i,
					     cni_json_kind_phrase(e));
		r[i] = strdup(json_string_value(e));
		if (!r[i])
			return cni_error_oom(err);
	}
	*out = TAKE_PTR(r);
	return 0;
}

/* The result versions one Go result type accepts (its creator's supportedVersions). */
static const char *const *result_family(const char *v, const char **label)
{
	static const char *const v1[] = {"1.0.0", "1.1.0", NULL};
	static const char *const v04[] = {"0.3.0", "0.3.1", "0.4.0", NULL};
	static const char *const v02[] = {"", "0.1.0", "0.2.0", NULL};
	const char *const *fams[] = {v1, v04, v02};
	static const char *const labels[] = {"[1.0.0 1.1.0]", "[0.3.0 0.3.1 0.4.0]",
					     "[ 0.1.0 0.2.0]"};

	for (size_t f = 0; f < ARRAY_SIZE(fams); f++)
		for (const char *const *p = fams[f]; *p; p++)
			if (streq(*p, v)) {
				*label = labels[f];
				return fams[f];
			}
	return NULL;
}

int cni_conf_prev_result(const cni_conf *c, cni_result **out, cni_error **err)
{
	_cleanup_error_ cni_error *e = NULL;
	const char *label = NULL, *key;
	json_t *v;

	if (!c || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conf_prev_result: invalid arguments");
	json_t *raw = cni_json_go_member(c->obj, "prevResult", true);
	if (!raw) {
		*out = NULL;
		return 0;
	}

	const char *const *family = result_family(c->cni_version, &label);
	if (!family) {
		_cleanup_free_ char *q = cni_go_quote(c->cni_version);
		if (!q)
			return cni_error_oom(err);
		return cni_error_set(
		    err, CNI_ERR_DECODING_FAILURE, NULL,
		    "could not parse prevResult: unsupported CNI result version %s", q);
	}

	/*
	 * The reference adds the config's version under "CNIVersion" and decodes the result
	 * case-insensitively, so the prevResult's own cniVersion (which sorts after
	 * "CNIVersion") wins when it has one.
	 */
	const char *ver = c->cni_version;
	json_t *own = json_object_get(raw, "CNIVersion");
	if (json_is_string(own) && *json_string_value(own))
		ver = json_string_value(own);
	_cleanup_free_ const char **keys = calloc(json_object_size(raw) + 1, sizeof(char *));
	size_t nk = 0;
	if (!keys)
		return cni_error_oom(err);
	json_object_foreach(raw, key, v)
	{
		keys[nk++] = key;
	}
	qsort(keys, nk, sizeof(char *), cni_strcmp_ptr);
	for (size_t i = 0; i < nk; i++) {
		if (strcasecmp(keys[i], "cniVersion") != 0 || streq(keys[i], "CNIVersion"))
			continue;
		v = json_object_get(raw, keys[i]);
		if (json_is_null(v))
			continue;
		if (!json_is_string(v))
			return cni_go_unmarshal_error(
			    err, "could not parse prevResult", cni_json_go_kind(v),
			    "struct field Result.cniVersion of type string");
		ver = json_string_value(v);
	}
	bool ok = false;
	for (const char *const *p = family; *p; p++)
		ok = ok || streq(*p, ver);
	if (!ok) {
		_cleanup_free_ char *q = cni_go_quote(ver);
		if (!q)
			return cni_error_oom(err);
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "could not parse prevResult: result type supports %s but "
				     "unmarshalled CNIVersion is %s",
				     label, q);
	}

	/* hand the result module one cniVersion key holding the version chosen above */
	_cleanup_json_ json_t *copy = json_deep_copy(raw);
	if (!copy)
		return cni_error_oom(err);
	for (size_t i = 0; i < nk; i++)
		if (strcasecmp(keys[i], "cniVersion") == 0)
			json_object_del(copy, keys[i]);
	const char *parse_ver = *ver ? ver : "0.1.0";
	if (json_object_set_new(copy, "cniVersion", json_string(parse_ver)) < 0)
		return cni_error_oom(err);
	_cleanup_free_ char *text = cni_json_marshal_go(copy);
	if (!text)
		return cni_error_oom(err);

	cni_result *res = NULL;
	int r = cni_result_from_json(&res, parse_ver, text, strlen(text), &e);
	if (r < 0)
		return error_wrap(err, r, e, NULL, "could not parse prevResult");
	const char *want = *c->cni_version ? c->cni_version : "0.1.0";
	if (!streq(parse_ver, want)) {
		cni_result *conv = NULL;
		r = cni_result_convert(&conv, res, want, &e);
		cni_result_free(res);
		if (r < 0)
			return error_wrap(err, r, e, NULL, "could not parse prevResult");
		res = conv;
	}
	*out = res;
	return 0;
}

int cni_conf_valid_attachments(const cni_conf *c, size_t *count, bool *present, cni_error **err)
{
	if (!c || !count)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conf_valid_attachments: invalid arguments");
	/* the shape was checked when the config was parsed */
	json_t *v = cni_json_go_member(c->obj, VALID_ATTACHMENTS, true);
	*count = json_array_size(v);
	if (present)
		*present = v != NULL;
	return 0;
}

static const char *attachment_field(const cni_conf *c, size_t i, const char *name)
{
	json_t *a = c ? json_array_get(cni_json_go_member(c->obj, VALID_ATTACHMENTS, true), i) : NULL;
	if (!a)
		return NULL;
	/* a missing member is Go's zero value */
	return strempty(go_field_string(a, name));
}

const char *cni_conf_valid_attachment_container_id(const cni_conf *c, size_t i)
{
	return attachment_field(c, i, "containerID");
}

const char *cni_conf_valid_attachment_ifname(const cni_conf *c, size_t i)
{
	return attachment_field(c, i, "ifname");
}

int cni_conf_inject(cni_conf **out, const cni_conf *c, const char *key, const char *json_value,
		    cni_error **err)
{
	_cleanup_json_ json_t *v = NULL;

	if (!out || !c)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conf_inject: invalid arguments");
	if (isempty(key))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "keys cannot be empty");
	if (json_value) {
		_cleanup_error_ cni_error *e = NULL;
		int r = cni_json_parse_go(json_value, strlen(json_value), "invalid value", &v, &e);
		if (r < 0)
			return error_wrap(err, r, e, NULL, "key '%s'", key);
	}
	if (!v || json_is_null(v))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "key '%s' value must not be nil", key);
	_cleanup_json_ json_t *copy = json_deep_copy(c->obj);
	if (!copy || json_object_set(copy, key, v) < 0)
		return cni_error_oom(err);
	return cni_conf_from_json_t(out, copy, err);
}

cni_conf *cni_conf_dup(const cni_conf *c)
{
	cni_conf *n = NULL;
	if (!c || cni_conf_from_bytes(&n, c->bytes, c->len, NULL) < 0)
		return NULL;
	return n;
}

void cni_conf_free(cni_conf *c)
{
	if (!c)
		return;
	json_decref(c->obj);
	free(c->bytes);
	free(c);
}

/* ---- config lists ------------------------------------------------------------------- */

#define LIST_ERR "error parsing configuration list"

static int list_read_bool(const json_t *obj, const char *key, bool *out, cni_error **err)
{
	json_t *v = json_object_get(obj, key);

	*out = false;
	if (!v)
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (!json_is_string(v))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     LIST_ERR ": invalid type %s for %s", cni_json_go_type_name(v), key);
	_cleanup_free_ char *s = strdup(json_string_value(v));
	if (!s)
		return cni_error_oom(err);
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (streq(s, "true") || streq(s, "false")) {
		*out = streq(s, "true");
		return 0;
	}
	_cleanup_free_ char *q = cni_go_quote(s);
	if (!q)
		return cni_error_oom(err);
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			     LIST_ERR ": invalid value %s for %s", q, key);
}

/* cniVersion merged with cniVersions: the highest this library speaks wins. */
static int list_select_version(const json_t *obj, const char **version, cni_error **err)
{
	json_t *versions = json_object_get(obj, "cniVersions");
	const char *best = NULL;
	int cmp;

	if (!versions)
		return 0;
	if (!json_is_array(versions))
		/* the reference prints the type of its failed conversion, always this one */
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     LIST_ERR ": invalid type for cniVersions: []interface {}");
	for (size_t i = 0; i <= json_array_size(versions); i++) {
		_cleanup_error_ cni_error *e = NULL;
		const char *v;
		if (i < json_array_size(versions)) {
			json_t *jv = json_array_get(versions, i);
			if (!json_is_string(jv))
				return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
						     LIST_ERR
						     ": invalid type for cniVersions index %zu: %s",
						     i, cni_json_go_type_name(jv));
			v = json_string_value(jv);
			if (cni_version_compare(v, CNI_SPEC_VERSION, &cmp, &e) < 0)
				return error_wrap(
				    err, -CNI_ERR_INVALID_NETWORK_CONFIG, e, NULL,
				    LIST_ERR ": invalid cniVersions entry %s at index %zu", v, i);
		} else {
			/* then the plain cniVersion, when set */
			v = *version;
			if (isempty(v))
				break;
			if (cni_version_compare(v, CNI_SPEC_VERSION, &cmp, &e) < 0)
				return error_wrap(err, -CNI_ERR_INVALID_NETWORK_CONFIG, e, NULL,
						  LIST_ERR ": invalid cniVersion %s", v);
		}
		if (cmp > 0)
			continue; /* newer than this library */
		/* on equal versions the later one wins, as the reference's stable sort does */
		if (!best || (cni_version_compare(v, best, &cmp, NULL) == 0 && cmp >= 0))
			best = v;
	}
	if (best)
		*version = best;
	return 0;
}

static int list_add_plugin(cni_conflist *l, cni_conf *c)
{
	cni_conf **n = realloc(l->plugins, (l->n_plugins + 1) * sizeof(*n));
	if (!n)
		return -CNI_ERR_NOMEM;
	n[l->n_plugins++] = c;
	l->plugins = n;
	return 0;
}

/* Parse data (taken) as a list, without plugins from files. */
static int list_new_take(cni_conflist **out, char *data, size_t len, cni_error **err)
{
	_cleanup_free_ char *bytes = data;
	_cleanup_json_ json_t *j = NULL;
	json_t *v;

	int r = parse_go_object(bytes, len, LIST_ERR, "map[string]interface {}", &j, err);
	if (r < 0)
		return r;

	v = json_object_get(j, "name");
	if (!v)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     LIST_ERR ": no name");
	if (!json_is_string(v))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     LIST_ERR ": invalid name type %s", cni_json_go_type_name(v));
	const char *name = json_string_value(v);

	const char *version = "";
	v = json_object_get(j, "cniVersion");
	if (v && !json_is_string(v))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     LIST_ERR ": invalid cniVersion type %s", cni_json_go_type_name(v));
	if (v)
		version = json_string_value(v);
	r = list_select_version(j, &version, err);
	if (r < 0)
		return r;

	_cleanup_conflist_ cni_conflist *l = calloc(1, sizeof(*l));
	if (!l)
		return cni_error_oom(err);
	r = list_read_bool(j, "disableCheck", &l->disable_check, err);
	if (r == 0)
		r = list_read_bool(j, "disableGC", &l->disable_gc, err);
	if (r == 0)
		r = list_read_bool(j, "loadOnlyInlinedPlugins", &l->load_only_inlined, err);
	if (r < 0)
		return r;

	json_t *plugins = json_object_get(j, "plugins");
	if (!plugins && l->load_only_inlined)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     LIST_ERR
				     ": `loadOnlyInlinedPlugins` is true, and no 'plugins' key");
	if (plugins && !json_is_array(plugins))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     LIST_ERR ": invalid 'plugins' type %s", cni_json_go_type_name(plugins));
	if (plugins && json_array_size(plugins) == 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     LIST_ERR ": no plugins in list");
	for (size_t i = 0; i < json_array_size(plugins); i++) {
		_cleanup_error_ cni_error *e = NULL;
		cni_conf *c = NULL;
		/* each plugin's bytes are the reference's re-encoding of its object */
		char *text = cni_json_marshal_go(json_array_get(plugins, i));
		if (!text)
			return cni_error_oom(err);
		r = conf_new_take(&c, text, strlen(text), &e);
		if (r < 0)
			return error_wrap(err, r, e, NULL, "failed to parse plugin config %zu", i);
		if (list_add_plugin(l, c) < 0) {
			cni_conf_free(c);
			return cni_error_oom(err);
		}
	}

	l->bytes = TAKE_PTR(bytes);
	l->len = len;
	l->obj = TAKE_PTR(j);
	l->cni_version = strdup(version);
	if (!l->cni_version)
		return cni_error_oom(err);
	l->name = name;
	*out = TAKE_PTR(l);
	return 0;
}

int cni_conflist_from_bytes(cni_conflist **out, const char *data, size_t len, cni_error **err)
{
	if (!out || (!data && len))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conflist_from_bytes: invalid arguments");
	char *copy = memdup0(data, len);
	if (!copy)
		return cni_error_oom(err);
	return list_new_take(out, copy, len, err);
}

json_t *cni_conflist_json(const cni_conflist *l)
{
	return l ? l->obj : NULL;
}

/* filepath.Join(filepath.Dir(file), name), for the paths we build. */
static char *sibling_path(const char *file, const char *name)
{
	const char *slash = strrchr(file, '/');
	if (!slash)
		return strdup(name);
	size_t n = (size_t)(slash - file);
	while (n > 0 && file[n - 1] == '/')
		n--;
	if (n == 0)
		return cni_strdupf("/%s", name);
	return cni_strdupf("%.*s/%s", (int)n, file, name);
}

/* NetworkPluginConfsFromFiles: the .conf files in <dir of file>/<name>, in lexical order. */
static int list_load_plugin_files(cni_conflist *l, const char *file, cni_error **err)
{
	static const char *const exts[] = {".conf", NULL};
	_cleanup_error_ cni_error *e = NULL;
	_cleanup_strv_ char **files = NULL;

	/*
	 * The name is checked only when a network is added (as the reference does), but here
	 * it names a directory: a name that is not a valid network name ("../x", "a/b") never
	 * selects one, so it cannot reach outside the config dir.
	 */
	if (!cni_valid_name(l->name))
		return 0;
	_cleanup_free_ char *dir = sibling_path(file, l->name);
	if (!dir)
		return cni_error_oom(err);
	int r = cni_conf_files(dir, exts, &files, &e);
	if (r < 0)
		return error_wrap(err, r, e, dir, "failed to read plugin config files in %s", dir);
	for (char **f = files; *f; f++) {
		cni_conf *c = NULL;
		r = cni_conf_from_file(&c, *f, err);
		if (r < 0)
			return r;
		if (list_add_plugin(l, c) < 0) {
			cni_conf_free(c);
			return cni_error_oom(err);
		}
	}
	return 0;
}

int cni_conflist_from_file(cni_conflist **out, const char *path, cni_error **err)
{
	_cleanup_error_ cni_error *e = NULL;
	_cleanup_conflist_ cni_conflist *l = NULL;
	char *data = NULL;
	size_t len = 0;

	if (!out || !path)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conflist_from_file: invalid arguments");
	int r = read_config_file(path, &data, &len, err);
	if (r < 0)
		return r;
	r = list_new_take(&l, data, len, &e);
	if (r < 0)
		return error_wrap(err, r, e, path, "%s", "");
	if (!l->load_only_inlined) {
		r = list_load_plugin_files(l, path, err);
		if (r < 0)
			return r;
	}
	if (l->n_plugins == 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, path,
				     "no plugin configs found");
	*out = TAKE_PTR(l);
	return 0;
}

int cni_conflist_from_conf(cni_conflist **out, const cni_conf *c, cni_error **err)
{
	if (!out || !c)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conflist_from_conf: invalid arguments");
	_cleanup_json_ json_t *list = json_object();
	json_t *plugins = json_array();
	json_t *copy = json_deep_copy(c->obj);
	if (!list || json_object_set_new(list, "plugins", plugins) < 0 ||
	    json_array_append_new(plugins, copy) < 0 ||
	    json_object_set_new(list, "name", json_string(strempty(c->name))) < 0 ||
	    json_object_set_new(list, "cniVersion", json_string(c->cni_version)) < 0)
		return cni_error_oom(err);
	char *text = cni_json_marshal_go(list);
	if (!text)
		return cni_error_oom(err);
	return list_new_take(out, text, strlen(text), err);
}

static int load_conf_fallback(cni_conflist **out, const char *dir, const char *name, bool had_lists,
			      cni_error **err)
{
	static const char *const exts[] = {".conf", ".json", NULL};
	_cleanup_strv_ char **files = NULL;

	int r = cni_conf_files(dir, exts, &files, err);
	if (r < 0)
		return r;
	if (!files[0] && !had_lists)
		return cni_error_set(err, CNI_ERR_NO_CONFIGS, dir,
				     "no net configurations found in %s", dir);
	for (char **f = files; *f; f++) {
		_cleanup_conf_ cni_conf *c = NULL;
		r = cni_conf_from_file(&c, *f, err);
		if (r < 0)
			return r;
		if (streq(strempty(c->name), name))
			return cni_conflist_from_conf(out, c, err);
	}
	return cni_error_set(err, CNI_ERR_NOT_FOUND, dir,
			     "no net configuration with name \"%s\" in %s", name, dir);
}

int cni_conflist_load(cni_conflist **out, const char *dir, const char *name, cni_error **err)
{
	static const char *const exts[] = {".conflist", NULL};
	_cleanup_strv_ char **files = NULL;

	if (!out || !dir || !name)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conflist_load: invalid arguments");
	int r = cni_conf_files(dir, exts, &files, err);
	if (r < 0)
		return r;
	for (char **f = files; *f; f++) {
		cni_conflist *l = NULL;
		r = cni_conflist_from_file(&l, *f, err);
		if (r < 0)
			return r;
		if (streq(l->name, name)) {
			*out = l;
			return 0;
		}
		cni_conflist_free(l);
	}
	return load_conf_fallback(out, dir, name, files[0] != NULL, err);
}

const char *cni_conflist_name(const cni_conflist *l)
{
	return l ? l->name : NULL;
}

const char *cni_conflist_cni_version(const cni_conflist *l)
{
	return l ? l->cni_version : NULL;
}

bool cni_conflist_disable_check(const cni_conflist *l)
{
	return l && l->disable_check;
}

bool cni_conflist_disable_gc(const cni_conflist *l)
{
	return l && l->disable_gc;
}

bool cni_conflist_load_only_inlined_plugins(const cni_conflist *l)
{
	return l && l->load_only_inlined;
}

size_t cni_conflist_plugin_count(const cni_conflist *l)
{
	return l ? l->n_plugins : 0;
}

const cni_conf *cni_conflist_plugin(const cni_conflist *l, size_t i)
{
	return l && i < l->n_plugins ? l->plugins[i] : NULL;
}

const char *cni_conflist_bytes(const cni_conflist *l, size_t *len)
{
	if (len)
		*len = l ? l->len : 0;
	return l ? l->bytes : NULL;
}

cni_conflist *cni_conflist_dup(const cni_conflist *l)
{
	if (!l)
		return NULL;
	_cleanup_conflist_ cni_conflist *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->bytes = memdup0(l->bytes, l->len);
	n->obj = json_deep_copy(l->obj);
	n->plugins = calloc(l->n_plugins ? l->n_plugins : 1, sizeof(cni_conf *));
	if (!n->bytes || !n->obj || !n->plugins)
		return NULL;
	n->len = l->len;
	for (size_t i = 0; i < l->n_plugins; i++) {
		n->plugins[i] = cni_conf_dup(l->plugins[i]);
		if (!n->plugins[i])
			return NULL;
		n->n_plugins++;
	}
	n->name = cni_json_get_string(n->obj, "name");
	n->cni_version = strdup(l->cni_version);
	if (!n->cni_version)
		return NULL;
	n->disable_check = l->disable_check;
	n->disable_gc = l->disable_gc;
	n->load_only_inlined = l->load_only_inlined;
	return TAKE_PTR(n);
}

void cni_conflist_free(cni_conflist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_plugins; i++)
		cni_conf_free(l->plugins[i]);
	free(l->plugins);
	json_decref(l->obj);
	free(l->cni_version);
	free(l->bytes);
	free(l);
}

/* ---- directories -------------------------------------------------------------------- */

static int strpcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}


int cni_conf_files(const char *dir, const char *const *exts, char ***out, cni_error **err)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_strv_ char **names = NULL;
	struct dirent *de;

	if (!dir || !exts || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_conf_files: invalid arguments");
	names = calloc(1, sizeof(char *));
	if (!names)
		return cni_error_oom(err);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			*out = TAKE_PTR(names);
			return 0;
		}
		_cleanup_free_ char *msg = cni_go_strerror(e);
		return cni_error_set(err, CNI_ERR_IO_FAILURE, dir, "open %s: %s", dir,
				     strempty(msg));
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return cni_error_set(err, CNI_ERR_IO_FAILURE, dir, "open %s: %s", dir,
				     strerror(errno));
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				_cleanup_free_ char *msg = cni_go_strerror(errno);
				return cni_error_set(err, CNI_ERR_IO_FAILURE, dir,
						     "readdirent %s: %s", dir, strempty(msg));
			}
			break;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		bool is_dir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN) {
			/* like Go's DirEntry: a symlink is not a directory */
			struct stat st;
			is_dir = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				 S_ISDIR(st.st_mode);
		}
		if (is_dir)
			continue;
		const char *dot = strrchr(de->d_name, '.');
		for (const char *const *e = exts; *e; e++)
			if (streq(dot ? dot : "", *e)) {
				if (cni_strv_push(&names, de->d_name) < 0)
					return cni_error_oom(err);
				break;
			}
	}
	size_t n = cni_strv_length(names);
	qsort(names, n, sizeof(char *), strpcmp);

	/* full paths as filepath.Join gives them: no doubled or trailing slashes */
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	for (size_t i = 0; i < n; i++) {
		char *full = dl == 1 && dir[0] == '/'
				 ? cni_strdupf("/%s", names[i])
				 : cni_strdupf("%.*s/%s", (int)dl, dir, names[i]);
		if (!full)
			return cni_error_oom(err);
		free(names[i]);
		names[i] = full;
	}
	*out = TAKE_PTR(names);
	return 0;
}

/* ---- identifiers -------------------------------------------------------------------- */

bool cni_valid_name(const char *name)
{
	if (!name || !isascii((unsigned char)name[0]) || !isalnum((unsigned char)name[0]))
		return false;
	for (const char *p = name + 1; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!(isascii(ch) && isalnum(ch)) && ch != '_' && ch != '.' && ch != '-')
			return false;
	}
	return true;
}

/* unicode.IsSpace */
static bool go_is_space(uint32_t r)
{
	switch (r) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xA0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202F:
	case 0x205F:
	case 0x3000:
		return true;
	default:
		return r >= 0x2000 && r <= 0x200A;
	}
}

int cni_validate_ifname(const char *ifname, cni_error **err)
{
	if (isempty(ifname))
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "interface name is empty");
	size_t len = strlen(ifname);
	if (len > 15)
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES,
				     "interface name should be less than 16 characters",
				     "interface name is too long");
	if (streq(ifname, ".") || streq(ifname, ".."))
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "interface name is . or ..");
	for (size_t i = 0, n; i < len; i += n) {
		uint32_t r = cni_utf8_decode((const unsigned char *)ifname + i, len - i, &n);
		if (r == '/' || r == ':' || go_is_space(r))
			return cni_error_set(
			    err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
			    "interface name contains / or : or whitespace characters");
	}
	return 0;
}

int cni_validate_container_id(const char *id, cni_error **err)
{
	if (isempty(id))
		return cni_error_set(err, CNI_ERR_UNKNOWN_CONTAINER, NULL, "missing containerID");
	if (!cni_valid_name(id))
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, id,
				     "invalid characters in containerID");
	return 0;
}

int cni_validate_network_name(const char *name, cni_error **err)
{
	if (isempty(name))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "missing network name:");
	if (!cni_valid_name(name))
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, name,
				     "invalid characters found in network name");
	return 0;
}
