/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"
#include "error-internal.h"

struct cni_error {
	int code;
	char *msg;
	char *details;
	bool foreign; /* the code came from a plugin's error JSON: printed as it is */
	int sys_errno; /* the system's reason (errno), 0 when there is none */
};

cni_error *cni_error_newv(int code, const char *details, const char *fmt, va_list ap)
{
	cni_error *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->code = code;
	if (fmt && vasprintf(&e->msg, fmt, ap) < 0)
		e->msg = NULL;
	if (!e->msg)
		e->msg = strdup("");
	if (details && *details)
		e->details = strdup(details);
	if (!e->msg || (details && *details && !e->details)) {
		cni_error_free(e);
		return NULL;
	}
	return e;
}

cni_error *cni_error_new(int code, const char *details, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cni_error *e = cni_error_newv(code, details, fmt, ap);
	va_end(ap);
	return e;
}

static int error_setv(cni_error **err, int errnum, int code, const char *details,
		      const char *fmt, va_list ap)
{
	if (code < 0)
		code = -code;
	/* a failure must never read as success: code 0 (unknown) is kept in the object but
	 * the call fails as internal */
	if (err && !*err) {
		*err = cni_error_newv(code, details, fmt, ap);
		if (*err)
			(*err)->sys_errno = errnum;
	}
	return code ? -code : -CNI_ERR_INTERNAL;
}

int cni_error_set(cni_error **err, int code, const char *details, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_setv(err, 0, code, details, fmt, ap);
	va_end(ap);
	return r;
}

int cni_error_set_errno(cni_error **err, int errnum, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_setv(err, errnum, code, NULL, fmt, ap);
	va_end(ap);
	return r;
}

int cni_error_errno(const cni_error *e)
{
	return e ? e->sys_errno : 0;
}

int cni_struct_check(cni_error **err, const char *fn, const char *type, unsigned int version,
		     unsigned int current)
{
	if (cni_struct_version_ok(version, current))
		return 0;
	return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
			     "%s: %s version %u is not supported (1 to %u; set it with its _INIT)",
			     fn, type, version, current);
}

int cni_error_oom(cni_error **err)
{
	return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
}

int cni_error_set_buf(cni_error **err, int code, int r, cni_buf *b)
{
	r = r ? cni_error_oom(err) : cni_error_set(err, code, NULL, "%s", b->data);
	cni_buf_free(b);
	return r;
}

int cni_error_prefix(cni_error *e, const char *fmt, ...)
{
	char *prefix = NULL, *msg = NULL;
	va_list ap;

	if (!e)
		return 0;
	va_start(ap, fmt);
	int r = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -CNI_ERR_NOMEM;
	r = asprintf(&msg, "%s: %s", prefix, e->msg);
	free(prefix);
	if (r < 0)
		return -CNI_ERR_NOMEM;
	free(e->msg);
	e->msg = msg;
	return 0;
}

int cni_error_code(const cni_error *e)
{
	return e ? e->code : CNI_ERR_UNKNOWN;
}

int cni_error_spec_code(const cni_error *e)
{
	if (!e)
		return CNI_ERR_INTERNAL;
	return e->code >= CNI_ERR_LIB_BASE && !e->foreign ? CNI_ERR_INTERNAL : e->code;
}

void cni_error_set_foreign(cni_error *e)
{
	if (e)
		e->foreign = true;
}

int cni_error_return_code(const cni_error *e)
{
	if (!e)
		return -CNI_ERR_INTERNAL;
	if (e->foreign && (e->code <= 0 || e->code >= CNI_ERR_LIB_BASE))
		return -CNI_ERR_EXEC;
	return e->code > 0 ? -e->code : -CNI_ERR_INTERNAL;
}

const char *cni_error_msg(const cni_error *e)
{
	return e && e->msg ? e->msg : "";
}

const char *cni_error_details(const cni_error *e)
{
	return e ? e->details : NULL;
}

cni_error *cni_error_dup(const cni_error *e)
{
	if (!e)
		return NULL;
	cni_error *copy = cni_error_new(e->code, e->details, "%s", e->msg);
	if (copy) {
		copy->foreign = e->foreign;
		copy->sys_errno = e->sys_errno;
	}
	return copy;
}

void cni_error_free(cni_error *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e->details);
	free(e);
}

const char *cni_error_code_name(int code)
{
	switch (code) {
	case CNI_ERR_UNKNOWN: return "CNI_ERR_UNKNOWN";
	case CNI_ERR_INCOMPATIBLE_CNI_VERSION: return "CNI_ERR_INCOMPATIBLE_CNI_VERSION";
	case CNI_ERR_UNSUPPORTED_FIELD: return "CNI_ERR_UNSUPPORTED_FIELD";
	case CNI_ERR_UNKNOWN_CONTAINER: return "CNI_ERR_UNKNOWN_CONTAINER";
	case CNI_ERR_INVALID_ENVIRONMENT_VARIABLES: return "CNI_ERR_INVALID_ENVIRONMENT_VARIABLES";
	case CNI_ERR_IO_FAILURE: return "CNI_ERR_IO_FAILURE";
	case CNI_ERR_DECODING_FAILURE: return "CNI_ERR_DECODING_FAILURE";
	case CNI_ERR_INVALID_NETWORK_CONFIG: return "CNI_ERR_INVALID_NETWORK_CONFIG";
	case CNI_ERR_INVALID_NETNS: return "CNI_ERR_INVALID_NETNS";
	case CNI_ERR_TRY_AGAIN_LATER: return "CNI_ERR_TRY_AGAIN_LATER";
	case CNI_ERR_PLUGIN_NOT_AVAILABLE: return "CNI_ERR_PLUGIN_NOT_AVAILABLE";
	case CNI_ERR_PLUGIN_NOT_AVAILABLE_LIMITED: return "CNI_ERR_PLUGIN_NOT_AVAILABLE_LIMITED";
	case CNI_ERR_INTERNAL: return "CNI_ERR_INTERNAL";
	case CNI_ERR_NOMEM: return "CNI_ERR_NOMEM";
	case CNI_ERR_INVALID_ARG: return "CNI_ERR_INVALID_ARG";
	case CNI_ERR_NOT_FOUND: return "CNI_ERR_NOT_FOUND";
	case CNI_ERR_NO_CONFIGS: return "CNI_ERR_NO_CONFIGS";
	case CNI_ERR_TIMEOUT: return "CNI_ERR_TIMEOUT";
	case CNI_ERR_EXEC: return "CNI_ERR_EXEC";
	case CNI_ERR_SYSTEM: return "CNI_ERR_SYSTEM";
	case CNI_ERR_UNSUPPORTED: return "CNI_ERR_UNSUPPORTED";
	default: return "unknown";
	}
}
