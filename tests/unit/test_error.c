/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "error-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

static void test_set_returns_negative_code(void **state)
{
	cni_error *e = NULL;
	assert_int_equal(cni_error_set(&e, CNI_ERR_DECODING_FAILURE, "d", "bad %s", "x"), -6);
	assert_int_equal(cni_error_code(e), 6);
	assert_string_equal(cni_error_msg(e), "bad x");
	assert_string_equal(cni_error_details(e), "d");
	/* the first error wins */
	assert_int_equal(cni_error_set(&e, CNI_ERR_IO_FAILURE, NULL, "second"), -5);
	assert_string_equal(cni_error_msg(e), "bad x");
	cni_error_free(e);
	/* NULL err is allowed */
	assert_int_equal(cni_error_set(NULL, CNI_ERR_IO_FAILURE, NULL, "x"), -5);
}

/* cni_error_set_buf: the built message, or out of memory when building it failed; b is
 * freed either way (valgrind and ASan see a leak otherwise). */
static void test_set_buf(void **state)
{
	cni_error *e = NULL;
	cni_buf b = CNI_BUF_INIT;

	assert_int_equal(cni_buf_printf(&b, "failed %d%%", 50), 0);
	assert_int_equal(cni_error_set_buf(&e, CNI_ERR_NOT_FOUND, 0, &b), -CNI_ERR_NOT_FOUND);
	assert_null(b.data);
	assert_string_equal(cni_error_msg(e), "failed 50%");
	cni_error_free(e);
	e = NULL;

	assert_int_equal(cni_buf_puts(&b, "cut sho"), 0);
	assert_int_equal(cni_error_set_buf(&e, CNI_ERR_NOT_FOUND, -CNI_ERR_NOMEM, &b),
			 -CNI_ERR_NOMEM);
	assert_null(b.data);
	assert_string_equal(cni_error_msg(e), "out of memory");
	cni_error_free(e);
}

static void test_errno_dup_and_prefix(void **state)
{
	cni_error *e = NULL;
	assert_int_equal(cni_error_set_errno(&e, EEXIST, CNI_ERR_SYSTEM, "add %s", "eth0"),
			 -CNI_ERR_SYSTEM);
	assert_int_equal(cni_error_errno(e), EEXIST);
	assert_string_equal(cni_error_msg(e), "add eth0");
	assert_null(cni_error_details(e));
	cni_error *c = cni_error_dup(e);
	assert_int_equal(cni_error_errno(c), EEXIST);
	assert_int_equal(cni_error_code(c), CNI_ERR_SYSTEM);
	assert_int_equal(cni_error_prefix(c, "plugin %d", 2), 0);
	assert_int_equal(cni_error_prefix(c, "outer"), 0);
	assert_string_equal(cni_error_msg(c), "outer: plugin 2: add eth0");
	assert_string_equal(cni_error_msg(e), "add eth0"); /* the copy is its own */
	cni_error_free(c);
	cni_error_free(e);
	assert_int_equal(cni_error_prefix(NULL, "x"), 0);
	assert_null(cni_error_dup(NULL));
	assert_int_equal(cni_error_errno(NULL), 0);
	assert_string_equal(cni_error_msg(NULL), "");
	assert_null(cni_error_details(NULL));
	assert_int_equal(cni_error_code(NULL), CNI_ERR_UNKNOWN);

	e = NULL;
	assert_int_equal(cni_error_oom(&e), -CNI_ERR_NOMEM);
	assert_string_equal(cni_error_msg(e), "out of memory");
	assert_int_equal(cni_error_errno(e), 0);
	cni_error_free(e);
}

/* What a caller returns for an error: the plugin's own codes, ours, and foreign nonsense. */
static void test_return_code(void **state)
{
	cni_error *e = cni_error_new(CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "x");
	assert_int_equal(cni_error_return_code(e), -CNI_ERR_INVALID_NETWORK_CONFIG);
	cni_error_set_foreign(e);
	assert_int_equal(cni_error_return_code(e), -CNI_ERR_INVALID_NETWORK_CONFIG);
	cni_error_free(e);
	e = cni_error_new(CNI_ERR_TIMEOUT, NULL, "x");
	assert_int_equal(cni_error_return_code(e), -CNI_ERR_TIMEOUT);
	cni_error_set_foreign(e); /* a plugin claiming one of the library's codes */
	assert_int_equal(cni_error_return_code(e), -CNI_ERR_EXEC);
	cni_error_free(e);
	e = cni_error_new(0, NULL, "x");
	assert_int_equal(cni_error_return_code(e), -CNI_ERR_INTERNAL);
	cni_error_set_foreign(e);
	assert_int_equal(cni_error_return_code(e), -CNI_ERR_EXEC);
	cni_error_free(e);
	assert_int_equal(cni_error_return_code(NULL), -CNI_ERR_INTERNAL);
	assert_int_equal(cni_error_spec_code(NULL), CNI_ERR_INTERNAL);
	cni_error_set_foreign(NULL);
}

static void test_code_names(void **state)
{
	assert_string_equal(cni_error_code_name(CNI_ERR_DECODING_FAILURE), "CNI_ERR_DECODING_FAILURE");
	assert_string_equal(cni_error_code_name(CNI_ERR_TRY_AGAIN_LATER), "CNI_ERR_TRY_AGAIN_LATER");
	assert_string_equal(cni_error_code_name(CNI_ERR_UNSUPPORTED), "CNI_ERR_UNSUPPORTED");
	assert_string_equal(cni_error_code_name(12345), "unknown");
}

static void test_go_quote(void **state)
{
	_cleanup_free_ char *q = cni_go_quote("a\"b\\c\n\x01");
	assert_string_equal(q, "\"a\\\"b\\\\c\\n\\x01\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_returns_negative_code),
		cmocka_unit_test(test_errno_dup_and_prefix),
		cmocka_unit_test(test_set_buf),
		cmocka_unit_test(test_return_code),
		cmocka_unit_test(test_code_names),
		cmocka_unit_test(test_go_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
