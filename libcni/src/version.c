/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdio.h>

#include "internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

static const char *const all_versions[] = {"0.1.0", "0.2.0", "0.3.0", "0.3.1",
					   "0.4.0", "1.0.0", "1.1.0", NULL};
static const char *const legacy_versions[] = {"0.1.0", "0.2.0", NULL};

struct cni_plugin_info {
	char *cni_version;
	char **versions;
};

const char *cni_version_current(void)
{
	return CNI_SPEC_VERSION;
}

const char *const *cni_version_all(void)
{
	return all_versions;
}

const char *const *cni_version_legacy(void)
{
	return legacy_versions;
}

bool cni_version_is_known(const char *v)
{
	for (size_t i = 0; v && all_versions[i]; i++)
		if (streq(v, all_versions[i]))
			return true;
	return false;
}

/* One component as Go's strconv.Atoi accepts it: optional sign, decimal digits. */
static bool parse_part(const char *s, int *out)
{
	const char *p = s;
	long v = 0;
	bool neg = false;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return false;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p) || v > 100000000)
			return false;
		v = v * 10 + (*p - '0');
	}
	*out = (int)(neg ? -v : v);
	return true;
}

int cni_version_parse(const char *v, int *major, int *minor, int *micro, cni_error **err)
{
	static const char *const names[] = {"major", "minor", "micro"};
	int parts[3] = {0, 0, 0};
	size_t np = 0;

	if (isempty(v))
		v = "0.1.0";
	_cleanup_free_ char *copy = strdup(v);
	if (!copy)
		return cni_error_oom(err);
	size_t dots = 0;
	for (const char *c = v; *c; c++)
		dots += *c == '.';
	if (dots >= 3) {
		_cleanup_free_ char *q = cni_go_quote(v);
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "invalid version %s: too many parts", strempty(q));
	}
	for (char *p = copy, *dot;; p = dot + 1) {
		dot = strchr(p, '.');
		if (dot)
			*dot = '\0';
		if (!parse_part(p, &parts[np])) {
			_cleanup_free_ char *q = cni_go_quote(p);
			return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
					     "failed to convert %s version part %s: strconv.Atoi: parsing %s: invalid syntax",
					     names[np], strempty(q), strempty(q));
		}
		np++;
		if (!dot)
			break;
	}
	if (major)
		*major = parts[0];
	if (minor)
		*minor = parts[1];
	if (micro)
		*micro = parts[2];
	return 0;
}

int cni_version_compare(const char *a, const char *b, int *cmp, cni_error **err)
{
	int pa[3], pb[3];
	int r = cni_version_parse(a, &pa[0], &pa[1], &pa[2], err);
	if (r < 0)
		return r;
	r = cni_version_parse(b, &pb[0], &pb[1], &pb[2], err);
	if (r < 0)
		return r;
	int c = 0;
	for (int i = 0; i < 3 && !c; i++)
		c = (pa[i] > pb[i]) - (pa[i] < pb[i]);
	*cmp = c;
	return 0;
}

bool cni_version_ge(const char *a, const char *b)
{
	int c;
	return cni_version_compare(a, b, &c, NULL) == 0 && c >= 0;
}

static int info_make(cni_plugin_info **out, const char *cni_version, const char *const *versions,
		     cni_error **err)
{
	cni_plugin_info *info = calloc(1, sizeof(*info));
	if (!info)
		return cni_error_oom(err);
	info->cni_version = strdup(cni_version);
	if (!info->cni_version || cni_strv_dup(versions, &info->versions) < 0) {
		cni_plugin_info_free(info);
		return cni_error_oom(err);
	}
	*out = info;
	return 0;
}

int cni_plugin_info_new(cni_plugin_info **out, const char *const *versions, cni_error **err)
{
	if (!versions || !versions[0])
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "no supported versions given");
	return info_make(out, CNI_SPEC_VERSION, versions, err);
}

int cni_plugin_info_from(cni_plugin_info **out, const char *min, cni_error **err)
{
	size_t i = 0;
	while (all_versions[i] && !cni_version_ge(all_versions[i], min))
		i++;
	if (!all_versions[i])
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "no known version at or after %s", strempty(min));
	return info_make(out, CNI_SPEC_VERSION, all_versions + i, err);
}

int cni_plugin_info_all(cni_plugin_info **out, cni_error **err)
{
	return info_make(out, CNI_SPEC_VERSION, all_versions, err);
}

int cni_plugin_info_decode(cni_plugin_info **out, const char *json, size_t len, cni_error **err)
{
	_cleanup_json_ json_t *o = NULL;
	_cleanup_strv_ char **versions = NULL;
	int r = cni_json_parse_object(json, len, "decoding version info", &o, err);
	if (r < 0)
		return r;
	const char *cv = cni_json_get_string(o, "cniVersion");
	if (isempty(cv))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "decoding version info: missing field cniVersion");
	json_t *sv = json_object_get(o, "supportedVersions");
	if (!sv || json_is_null(sv) || (json_is_array(sv) && json_array_size(sv) == 0)) {
		if (!streq(cv, "0.2.0"))
			return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
					     "decoding version info: missing field supportedVersions");
		return info_make(out, cv, legacy_versions, err);
	}
	if (!json_is_array(sv))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "decoding version info: supportedVersions is not an array");
	versions = calloc(1, sizeof(char *));
	if (!versions)
		return cni_error_oom(err);
	size_t i;
	json_t *v;
	json_array_foreach(sv, i, v) {
		if (!json_is_string(v))
			return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
					     "decoding version info: supportedVersions[%zu] is not a string",
					     i);
		if (cni_strv_push(&versions, json_string_value(v)) < 0)
			return cni_error_oom(err);
	}
	return info_make(out, cv, (const char *const *)versions, err);
}

int cni_plugin_info_encode(const cni_plugin_info *info, const char *cni_version, char **out,
			   cni_error **err)
{
	_cleanup_json_ json_t *o = json_object();
	json_t *arr = json_array();
	if (!o || !arr || json_object_set_new(o, "cniVersion",
					      json_string(cni_version ? cni_version
								      : CNI_SPEC_VERSION)) ||
	    json_object_set_new(o, "supportedVersions", arr))
		return cni_error_oom(err);
	for (size_t i = 0; info->versions[i]; i++)
		if (json_array_append_new(arr, json_string(info->versions[i])))
			return cni_error_oom(err);
	_cleanup_free_ char *s = cni_json_dump_compact(o);
	if (!s)
		return cni_error_oom(err);
	char *withnl = cni_strdupf("%s\n", s);
	if (!withnl)
		return cni_error_oom(err);
	*out = withnl;
	return 0;
}

const char *cni_plugin_info_cni_version(const cni_plugin_info *info)
{
	return info ? info->cni_version : NULL;
}

size_t cni_plugin_info_count(const cni_plugin_info *info)
{
	return info ? cni_strv_length(info->versions) : 0;
}

const char *cni_plugin_info_version(const cni_plugin_info *info, size_t i)
{
	return i < cni_plugin_info_count(info) ? info->versions[i] : NULL;
}

bool cni_plugin_info_supports(const cni_plugin_info *info, const char *v)
{
	for (size_t i = 0; info && info->versions[i]; i++)
		if (streq(info->versions[i], strempty(v)))
			return true;
	return false;
}

cni_plugin_info *cni_plugin_info_dup(const cni_plugin_info *info)
{
	cni_plugin_info *n = NULL;
	if (!info || info_make(&n, info->cni_version, (const char *const *)info->versions, NULL) < 0)
		return NULL;
	return n;
}

void cni_plugin_info_free(cni_plugin_info *info)
{
	if (!info)
		return;
	free(info->cni_version);
	cni_strv_free(info->versions);
	free(info);
}

int cni_version_check(const char *config_version, const cni_plugin_info *info, cni_error **err)
{
	const char *cv = isempty(config_version) ? "0.1.0" : config_version;
	if (cni_plugin_info_supports(info, cv))
		return 0;
	cni_buf b = CNI_BUF_INIT;
	int r = cni_buf_printf(&b, "config is \"%s\", plugin supports [", cv);
	for (size_t i = 0; r == 0 && info && info->versions[i]; i++)
		r = cni_buf_printf(&b, "%s\"%s\"", i ? " " : "", info->versions[i]);
	if (r == 0)
		r = cni_buf_puts(&b, "]");
	if (r < 0) {
		cni_buf_free(&b);
		return cni_error_oom(err);
	}
	r = cni_error_set(err, CNI_ERR_INCOMPATIBLE_CNI_VERSION, b.data, "incompatible CNI versions");
	cni_buf_free(&b);
	return r;
}

const char *cni_library_version(void)
{
	return LIBCNI_C_VERSION;
}
