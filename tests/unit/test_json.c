/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.c, its plain part: parsing an object, compact dumps, string members, the kind
 * phrases of messages, and base64. (The Go encoding of json.c is tested through the
 * modules that print it: test_error_json, test_result, test_api.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "error-internal.h"
#include "json-internal.h"

static void test_parse_object(void **state)
{
	json_t *j = NULL;
	cni_error *e = NULL;
	const char *ok = "{\"name\":\"net\",\"mtu\":1500} trailing";
	/* only len bytes are looked at */
	assert_int_equal(cni_json_parse_object(ok, 26, "config", &j, NULL), 0);
	assert_string_equal(cni_json_get_string(j, "name"), "net");
	json_decref(j);
	j = NULL;

	assert_int_equal(cni_json_parse_object(ok, strlen(ok), "error unmarshall", &j, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "error unmarshall: "));
	assert_non_null(strstr(cni_error_msg(e), "(line 1, column"));
	cni_error_free(e);
	e = NULL;

	const char *dup = "{\"a\":1,\n\"a\":2}";
	assert_int_equal(cni_json_parse_object(dup, strlen(dup), "conf", &j, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "duplicate object key"));
	assert_non_null(strstr(cni_error_msg(e), "line 2"));
	cni_error_free(e);
	e = NULL;

	assert_int_equal(cni_json_parse_object("[1,2]", 5, "conf", &j, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "conf: expected a JSON object");
	cni_error_free(e);
	e = NULL;

	/* no data at all is an error, not a crash */
	assert_int_equal(cni_json_parse_object(NULL, 0, "conf", &j, &e), -CNI_ERR_DECODING_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "conf: "));
	cni_error_free(e);
	assert_null(j);
}

static void test_dump_compact(void **state)
{
	json_t *j = NULL;
	const char *in = "{ \"z\": 1, \"a\": [ true, null ], \"m\": { \"k\": \"v\" } }";
	assert_int_equal(cni_json_parse_object(in, strlen(in), "x", &j, NULL), 0);
	char *s = cni_json_dump_compact(j);
	/* insertion order kept, no spaces */
	assert_string_equal(s, "{\"z\":1,\"a\":[true,null],\"m\":{\"k\":\"v\"}}");
	free(s);
	/* any value, not only objects */
	json_t *str = json_string("a/b");
	s = cni_json_dump_compact(str);
	assert_string_equal(s, "\"a/b\"");
	free(s);
	json_decref(str);
	json_decref(j);
}

static void test_get_string(void **state)
{
	json_t *j = NULL;
	const char *in = "{\"s\":\"v\",\"n\":1,\"z\":null,\"e\":\"\"}";
	assert_int_equal(cni_json_parse_object(in, strlen(in), "x", &j, NULL), 0);
	assert_string_equal(cni_json_get_string(j, "s"), "v");
	assert_string_equal(cni_json_get_string(j, "e"), "");
	assert_null(cni_json_get_string(j, "n"));
	assert_null(cni_json_get_string(j, "z"));
	assert_null(cni_json_get_string(j, "absent"));
	assert_null(cni_json_get_string(NULL, "s"));
	json_decref(j);
}

static void test_kind_phrase(void **state)
{
	const char *in = "{\"o\":{},\"a\":[],\"s\":\"\",\"i\":1,\"r\":1.5,\"t\":true,\"f\":false,"
			 "\"n\":null}";
	const char *want[][2] = {{"o", "an object"}, {"a", "an array"},  {"s", "a string"},
				 {"i", "a number"},  {"r", "a number"},  {"t", "a boolean"},
				 {"f", "a boolean"}, {"n", "null"}};
	json_t *j = NULL;
	assert_int_equal(cni_json_parse_object(in, strlen(in), "x", &j, NULL), 0);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(cni_json_kind_phrase(json_object_get(j, want[i][0])), want[i][1]);
	/* an absent member reads as null */
	assert_string_equal(cni_json_kind_phrase(json_object_get(j, "absent")), "null");
	json_decref(j);
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

/* Every byte value, every length mod 3; and what base64 -d(1) makes of ours. */
static void test_base64_binary(void **state)
{
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);
	for (size_t len = 0; len <= sizeof(all); len += len < 8 ? 1 : 61) {
		_cleanup_free_ char *enc = cni_base64_encode(all, len);
		assert_int_equal(strlen(enc), (len + 2) / 3 * 4);
		_cleanup_free_ char *dec = NULL;
		size_t n = 0;
		assert_int_equal(cni_base64_decode(enc, &dec, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, all, len);
	}
	_cleanup_free_ char *enc = cni_base64_encode(all, sizeof(all));
	char cmd[512 + 64];
	snprintf(cmd, sizeof(cmd), "echo %s | base64 -d | od -An -tu1 | head -c 16", enc);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char out[64] = "";
	assert_non_null(fgets(out, sizeof(out), f));
	pclose(f);
	assert_non_null(strstr(out, "255 254 253 252"));

	/* padding only at the end, and not in the first two places of a group */
	char *dec = NULL;
	size_t n;
	assert_int_equal(cni_base64_decode("Zg==Zg==", &dec, &n), -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_base64_decode("Z===", &dec, &n), -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_base64_decode("Zm9v\n", &dec, &n), -CNI_ERR_DECODING_FAILURE);
	assert_null(dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_object),
		cmocka_unit_test(test_dump_compact),
		cmocka_unit_test(test_get_string),
		cmocka_unit_test(test_kind_phrase),
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_base64_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
