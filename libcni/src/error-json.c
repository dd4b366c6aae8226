/* SPDX-License-Identifier: Apache-2.0 */
/* The spec's error JSON: what a plugin prints when it fails, and reading it back. */
#include <stdio.h>

#include "error-internal.h"
#include "json-internal.h"
#include "buf-internal.h"
#include "gojson-internal.h"

/* "    \"key\": " + Go-escaped string value */
static int put_member(cni_buf *b, bool *first, const char *key, const char *val)
{
	int r = cni_buf_printf(b, "%s\n    \"%s\": ", *first ? "" : ",", key);
	*first = false;
	return r ? r : cni_json_append_go_string(b, val, strlen(val));
}

int cni_error_to_json(const cni_error *e, const char *cni_version, char **out)
{
	/* As Go's json.MarshalIndent(err, "", "    ") prints types.Error, escapes included. */
	cni_buf b = CNI_BUF_INIT;
	bool first = true;
	int r = cni_buf_puts(&b, "{");
	if (r == 0 && cni_version)
		r = put_member(&b, &first, "cniVersion", cni_version);
	if (r == 0)
		r = cni_buf_printf(&b, "%s\n    \"code\": %d", first ? "" : ",",
				   cni_error_spec_code(e));
	first = false;
	if (r == 0)
		r = put_member(&b, &first, "msg", cni_error_msg(e));
	if (r == 0 && !isempty(cni_error_details(e)))
		r = put_member(&b, &first, "details", cni_error_details(e));
	if (r == 0)
		r = cni_buf_puts(&b, "\n}");
	if (r < 0) {
		cni_buf_free(&b);
		return -CNI_ERR_NOMEM;
	}
	*out = cni_buf_steal(&b);
	return *out ? 0 : -CNI_ERR_NOMEM;
}

int cni_error_from_json(cni_error **out, const char *json, size_t len)
{
	json_error_t jerr;
	_cleanup_json_ json_t *o = json_loadb(json, len, 0, &jerr);
	if (!o || !json_is_object(o))
		return -CNI_ERR_DECODING_FAILURE;
	json_t *code = json_object_get(o, "code");
	if (!json_is_integer(code))
		return -CNI_ERR_DECODING_FAILURE;
	const char *msg = cni_json_get_string(o, "msg");
	const char *details = cni_json_get_string(o, "details");
	cni_error *e = cni_error_new((int)json_integer_value(code), details, "%s", strempty(msg));
	if (!e)
		return -CNI_ERR_NOMEM;
	cni_error_set_foreign(e); /* a code read off the wire is printed as it is */
	*out = e;
	return 0;
}
