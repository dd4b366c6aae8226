/* SPDX-License-Identifier: Apache-2.0 */
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

static void test_go_quote(void **state)
{
	_cleanup_free_ char *q = cni_go_quote("a\"b\\c\n\x01");
	assert_string_equal(q, "\"a\\\"b\\\\c\\n\\x01\"");
}

static void test_base64_round_trip(void **state)
{
	const char *cases[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar", "{\"a\":1}\n"};
	const char *expect[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy",
				"eyJhIjoxfQo="};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *enc = cni_base64_encode(cases[i], strlen(cases[i]));
		assert_string_equal(enc, expect[i]);
		_cleanup_free_ char *dec = NULL;
		size_t n;
		assert_int_equal(cni_base64_decode(enc, &dec, &n), 0);
		assert_int_equal(n, strlen(cases[i]));
		assert_memory_equal(dec, cases[i], n);
	}
	char *dec = NULL;
	size_t n;
	assert_int_equal(cni_base64_decode("Zm9", &dec, &n), -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_base64_decode("Zm=v", &dec, &n), -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_base64_decode("Zm9*", &dec, &n), -CNI_ERR_DECODING_FAILURE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_returns_negative_code),
		cmocka_unit_test(test_json_format),
		cmocka_unit_test(test_json_escapes_as_go),
		cmocka_unit_test(test_library_codes_print_as_internal),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_go_quote),
		cmocka_unit_test(test_base64_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
