/* SPDX-License-Identifier: Apache-2.0 */
/* error-json.c: the spec's error JSON, written as the reference writes it and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "error-internal.h"
#include "json-internal.h"

static void test_json_format(void **state)
{
	_cleanup_error_ cni_error *e = cni_error_new(7, NULL, "missing network name");
	_cleanup_free_ char *s = NULL;
	assert_int_equal(cni_error_to_json(e, NULL, &s), 0);
	/* the reference prints 4-space indented JSON with no trailing newline */
	assert_string_equal(s, "{\n    \"code\": 7,\n    \"msg\": \"missing network name\"\n}");
	free(s);
	s = NULL;
	_cleanup_error_ cni_error *d = cni_error_new(1, "config is \"x\"", "incompatible");
	assert_int_equal(cni_error_to_json(d, "1.0.0", &s), 0);
	assert_string_equal(s, "{\n    \"cniVersion\": \"1.0.0\",\n    \"code\": 1,\n"
			       "    \"msg\": \"incompatible\",\n    \"details\": \"config is \\\"x\\\"\"\n}");
}

static void test_json_escapes_as_go(void **state)
{
	/* Go's encoder escapes <, > and & and writes control bytes as \u00XX */
	_cleanup_error_ cni_error *e = cni_error_new(4, NULL, "unknown CNI_COMMAND: <&>\b");
	_cleanup_free_ char *s = NULL;
	assert_int_equal(cni_error_to_json(e, NULL, &s), 0);
	assert_string_equal(s, "{\n    \"code\": 4,\n    \"msg\": \"unknown CNI_COMMAND: "
			       "\\u003c\\u0026\\u003e\\u0008\"\n}");
}

static void test_library_codes_print_as_internal(void **state)
{
	_cleanup_error_ cni_error *e = cni_error_new(CNI_ERR_TIMEOUT, NULL, "timed out");
	_cleanup_free_ char *s = NULL;
	assert_int_equal(cni_error_spec_code(e), 999);
	assert_int_equal(cni_error_code(e), CNI_ERR_TIMEOUT);
	assert_int_equal(cni_error_to_json(e, NULL, &s), 0);
	assert_non_null(strstr(s, "\"code\": 999"));
}

static void test_from_json(void **state)
{
	const char *j = "{\"code\":11,\"msg\":\"later\",\"details\":\"busy\"}";
	cni_error *e = NULL;
	assert_int_equal(cni_error_from_json(&e, j, strlen(j)), 0);
	assert_int_equal(cni_error_code(e), 11);
	assert_string_equal(cni_error_msg(e), "later");
	assert_string_equal(cni_error_details(e), "busy");
	cni_error *c = cni_error_dup(e);
	assert_int_equal(cni_error_prefix(c, "plugin %s", "x"), 0);
	assert_string_equal(cni_error_msg(c), "plugin x: later");
	cni_error_free(c);
	cni_error_free(e);
	e = NULL;
	/* a code read off the wire is the plugin's, printed as it is even from 1000 up; the
	 * library's own codes there print as 999 */
	j = "{\"code\":1003,\"msg\":\"plugin's own\"}";
	assert_int_equal(cni_error_from_json(&e, j, strlen(j)), 0);
	assert_int_equal(cni_error_spec_code(e), 1003);
	cni_error_free(e);
	e = cni_error_new(CNI_ERR_NOT_FOUND, NULL, "ours");
	assert_int_equal(cni_error_spec_code(e), CNI_ERR_INTERNAL);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_error_from_json(&e, "{\"msg\":\"x\"}", 11), -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_error_from_json(&e, "garbage", 7), -CNI_ERR_DECODING_FAILURE);
	assert_null(e);
	cni_error_free(NULL);
}

static void test_to_json_empty_details_left_out(void **state)
{
	_cleanup_error_ cni_error *e = cni_error_new(11, "", "try again");
	_cleanup_free_ char *s = NULL;
	assert_int_equal(cni_error_to_json(e, "", &s), 0);
	/* an empty cniVersion is still printed; empty details are not */
	assert_string_equal(s, "{\n    \"cniVersion\": \"\",\n    \"code\": 11,\n"
			       "    \"msg\": \"try again\"\n}");
}

/* What to_json writes, from_json reads back: code, message and details. */
static void test_round_trip(void **state)
{
	_cleanup_error_ cni_error *e =
	    cni_error_new(CNI_ERR_INVALID_NETWORK_CONFIG, "key \"mtu\" <0>", "bad mtu \u00e9");
	_cleanup_free_ char *s = NULL;
	assert_int_equal(cni_error_to_json(e, "1.1.0", &s), 0);
	_cleanup_error_ cni_error *back = NULL;
	assert_int_equal(cni_error_from_json(&back, s, strlen(s)), 0);
	assert_int_equal(cni_error_code(back), cni_error_code(e));
	assert_string_equal(cni_error_msg(back), cni_error_msg(e));
	assert_string_equal(cni_error_details(back), cni_error_details(e));
}

static void test_from_json_odd_members(void **state)
{
	cni_error *e = NULL;
	/* no msg: an empty one; details that are not a string: none */
	const char *j = "{\"code\":3,\"details\":5}";
	assert_int_equal(cni_error_from_json(&e, j, strlen(j)), 0);
	assert_int_equal(cni_error_code(e), 3);
	assert_string_equal(cni_error_msg(e), "");
	assert_true(cni_error_details(e) == NULL || *cni_error_details(e) == '\0');
	cni_error_free(e);
	e = NULL;
	/* code must be an integer; the text an object; only len bytes are read */
	assert_int_equal(cni_error_from_json(&e, "{\"code\":\"7\"}", 12), -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_error_from_json(&e, "{\"code\":1.5}", 12), -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_error_from_json(&e, "[7]", 3), -CNI_ERR_DECODING_FAILURE);
	j = "{\"code\":7}garbage";
	assert_int_equal(cni_error_from_json(&e, j, 10), 0);
	assert_int_equal(cni_error_code(e), 7);
	cni_error_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_format),
		cmocka_unit_test(test_json_escapes_as_go),
		cmocka_unit_test(test_library_codes_print_as_internal),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_to_json_empty_details_left_out),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_from_json_odd_members),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
