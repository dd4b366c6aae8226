/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gojson.c: JSON as Go's encoding/json reads and writes it. The expected texts are what
 * Go 1.19 (the reference's toolchain) prints for the same input: its decoder's syntax
 * errors, its field matching, its encoder's escaping and number format, %q and %T.
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
#include "gojson-internal.h"

static uint32_t rune(const char *s, size_t *len)
{
	return cni_utf8_decode((const unsigned char *)s, strlen(s), len);
}

static void test_utf8_decode(void **state)
{
	size_t len;
	(void)state;
	assert_int_equal(rune("A", &len), 'A');
	assert_int_equal(len, 1);
	assert_int_equal(rune("\xc3\xa9", &len), 0xe9);
	assert_int_equal(len, 2);
	assert_int_equal(rune("\xe2\x82\xac", &len), 0x20ac);
	assert_int_equal(len, 3);
	assert_int_equal(rune("\xf0\x9f\x98\x80", &len), 0x1f600);
	assert_int_equal(len, 4);
	/* invalid: U+FFFD, one byte consumed */
	static const char *bad[] = {
	    "\xc0\x80",		/* overlong NUL */
	    "\xe0\x80\xaf",	/* overlong '/' */
	    "\xed\xa0\x80",	/* surrogate U+D800 */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xe2\x82",		/* cut short */
	    "\x80",		/* continuation byte alone */
	    "\xff",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rune(bad[i], &len), 0xfffd);
		assert_int_equal(len, 1);
	}
}

static void test_utf8_valid_and_sanitize(void **state)
{
	cni_buf b = CNI_BUF_INIT;
	(void)state;
	assert_true(cni_utf8_valid("caf\xc3\xa9"));
	assert_false(cni_utf8_valid("caf\xc3"));
	assert_false(cni_utf8_valid("\xed\xa0\x80"));
	/* every invalid byte becomes U+FFFD (EF BF BD); valid runes are kept */
	assert_int_equal(cni_utf8_sanitize("a\xff\xc3\xa9\xe2\x82z", 7, &b), 0);
	assert_string_equal(b.data, "a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbdz");
	cni_buf_free(&b);
}

/* Go's decoder matches a key to a struct field exactly or with Unicode case folding. */
static void test_key_matches(void **state)
{
	(void)state;
	assert_true(cni_go_key_matches("cniVersion", 10, "cniVersion"));
	assert_true(cni_go_key_matches("CNIVERSION", 10, "cniVersion"));
	assert_true(cni_go_key_matches("cniversion", 10, "cniVersion"));
	assert_false(cni_go_key_matches("cniVersio", 9, "cniVersion"));
	assert_false(cni_go_key_matches("cni_version", 11, "cniVersion"));
	/* U+017F (long s) folds to s, U+212A (Kelvin) to k */
	assert_true(cni_go_key_matches("\xc5\xbfubnet", 7, "subnet"));
	assert_true(cni_go_key_matches("\xe2\x84\xaa" "ey", 5, "key"));
	assert_false(cni_go_key_matches("\xc5\xbfubnet", 7, "kubnet"));
	/* non-letters must be equal */
	assert_true(cni_go_key_matches("ip-Masq", 7, "ip-masq"));
	assert_false(cni_go_key_matches("ip_Masq", 7, "ip-masq"));
}

static int scan(const char *s, cni_go_conf *c, char **msg)
{
	*msg = NULL;
	return cni_go_json_scan(s, strlen(s), c, msg);
}

static void expect_syntax(const char *in, const char *want)
{
	cni_go_conf c = CNI_GO_CONF_INIT;
	char *msg;
	assert_int_equal(scan(in, &c, &msg), -CNI_ERR_DECODING_FAILURE);
	assert_non_null(msg);
	assert_string_equal(msg, want);
	free(msg);
	cni_go_conf_clear(&c);
}

static void test_scan_syntax_errors(void **state)
{
	(void)state;
	expect_syntax("", "unexpected end of JSON input");
	expect_syntax("{\"a\":1", "unexpected end of JSON input");
	expect_syntax("{\"a\":1}x", "invalid character 'x' after top-level value");
	expect_syntax("{a:1}", "invalid character 'a' looking for beginning of object key string");
	expect_syntax("{\"a\" 1}", "invalid character '1' after object key");
	expect_syntax("{\"a\":1 \"b\":2}",
		      "invalid character '\"' after object key:value pair");
	expect_syntax("[1 2]", "invalid character '2' after array element");
	expect_syntax("{\"a\":tru}", "invalid character '}' in literal true (expecting 'e')");
	expect_syntax("{\"a\":-}", "invalid character '}' in numeric literal");
	expect_syntax("{\"a\":1.}", "invalid character '}' after decimal point in numeric literal");
	expect_syntax("{\"a\":1e}", "invalid character '}' in exponent of numeric literal");
	expect_syntax("{\"a\":\"\\q\"}", "invalid character 'q' in string escape code");
	expect_syntax("{\"a\":\"\\u12g4\"}",
		      "invalid character 'g' in \\u hexadecimal character escape");
	expect_syntax("{\"a\":\"x\ty\"}", "invalid character '\\t' in string literal");
	expect_syntax("{\"a\":@}", "invalid character '@' looking for beginning of value");
	/* a space fed at the end: the error a space makes inside a literal */
	expect_syntax("nul", "invalid character ' ' in literal null (expecting 'l')");
}

static void test_scan_fields(void **state)
{
	cni_go_conf c = CNI_GO_CONF_INIT;
	char *msg;
	(void)state;
	/* the last matching key wins, case folded; null leaves the field; escapes decoded */
	assert_int_equal(scan("{\"name\":\"a\",\"NAME\":\"b\",\"Name\":null,"
			      "\"cniversion\":\"1.0.\\u0030\",\"x\":{\"name\":\"inner\"}}",
			      &c, &msg),
			 0);
	assert_string_equal(c.top_kind, "object");
	assert_string_equal(c.name.value, "b");
	assert_string_equal(c.version.value, "1.0.0");
	assert_null(c.name.bad_kind);
	cni_go_conf_clear(&c);

	/* a surrogate pair joins; a lone surrogate and invalid UTF-8 become U+FFFD */
	c = (cni_go_conf)CNI_GO_CONF_INIT;
	assert_int_equal(scan("{\"name\":\"\\ud83d\\ude00|\\ud800|\xff\"}", &c, &msg), 0);
	assert_string_equal(c.name.value, "\xf0\x9f\x98\x80|\xef\xbf\xbd|\xef\xbf\xbd");
	cni_go_conf_clear(&c);

	/* a field given a number is remembered as such (Go's UnmarshalTypeError) */
	c = (cni_go_conf)CNI_GO_CONF_INIT;
	assert_int_equal(scan("{\"cniVersion\":1.0,\"name\":true}", &c, &msg), 0);
	assert_string_equal(c.version.bad_kind, "number");
	assert_string_equal(c.name.bad_kind, "bool");
	cni_go_conf_clear(&c);

	c = (cni_go_conf)CNI_GO_CONF_INIT;
	assert_int_equal(scan(" [1, {\"a\": [true, false, null]}] ", &c, &msg), 0);
	assert_string_equal(c.top_kind, "array");
	cni_go_conf_clear(&c);
}

static void test_scan_depth(void **state)
{
	enum { N = 10001 };
	char *deep = malloc(N + 1);
	cni_go_conf c = CNI_GO_CONF_INIT;
	char *msg;
	(void)state;
	assert_non_null(deep);
	memset(deep, '[', N);
	deep[N] = 0;
	assert_int_equal(scan(deep, &c, &msg), -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(msg, "invalid character '[' exceeded max depth");
	free(msg);
	free(deep);
	cni_go_conf_clear(&c);
}

static void test_member_and_kinds(void **state)
{
	json_t *o = json_loads("{\"mtu\":1,\"MTU\":2,\"Mtu\":null,\"s\":\"x\",\"a\":[],\"o\":{},"
			       "\"t\":true,\"r\":1.5}",
			       0, NULL);
	(void)state;
	assert_non_null(o);
	/* the last match; a null one skipped only when asked */
	assert_int_equal(json_integer_value(cni_json_go_member(o, "mtu", true)), 2);
	assert_true(json_is_null(cni_json_go_member(o, "mtu", false)));
	assert_null(cni_json_go_member(o, "nope", true));
	assert_null(cni_json_go_member(json_object_get(o, "s"), "s", true));

	static const struct {
		const char *key, *kind, *type;
	} k[] = {{"s", "string", "string"},
		 {"a", "array", "[]interface {}"},
		 {"o", "object", "map[string]interface {}"},
		 {"t", "bool", "bool"},
		 {"r", "number", "float64"},
		 {"mtu", "number", "float64"},
		 {"Mtu", "null", "<nil>"}};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		json_t *v = json_object_get(o, k[i].key);
		assert_string_equal(cni_json_go_kind(v), k[i].kind);
		assert_string_equal(cni_json_go_type_name(v), k[i].type);
	}
	json_decref(o);
}

static void test_unmarshal_error_and_strerror(void **state)
{
	cni_error *e = NULL;
	char *s;
	(void)state;
	assert_int_equal(cni_go_unmarshal_error(&e, "failed to load netconf", "string",
						"struct field NetConf.%s of type int", "mtu"),
			 -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_error_code(e), CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "failed to load netconf: json: cannot unmarshal "
					      "string into Go struct field NetConf.mtu of type int");
	cni_error_free(e);
	/* syscall.Errno's text: lower-case first letter */
	s = cni_go_strerror(ENOENT);
	assert_string_equal(s, "no such file or directory");
	free(s);
}

static void test_parse_go(void **state)
{
	json_t *j = NULL;
	cni_error *e = NULL;
	(void)state;
	/* numbers as float64, duplicate keys: the last one */
	assert_int_equal(cni_json_parse_go("{\"a\":1,\"a\":2}", 13, "x", &j, &e), 0);
	assert_true(json_is_real(json_object_get(j, "a")));
	assert_true(json_real_value(json_object_get(j, "a")) == 2.0);
	json_decref(j);
	assert_int_equal(cni_json_parse_go("  \n", 3, "failed to load", &j, &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "failed to load: unexpected end of JSON input");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_json_parse_go("{", 1, "what", &j, &e), -CNI_ERR_DECODING_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "what: "));
	cni_error_free(e);
}

static char *go_string(const char *s, size_t n)
{
	cni_buf b = CNI_BUF_INIT;
	assert_int_equal(cni_json_append_go_string(&b, s, n), 0);
	return cni_buf_steal(&b);
}

static void test_encode(void **state)
{
	char *s;
	(void)state;
	/* <, >, & and U+2028/9 escaped; control bytes as \u00XX; \n \r \t short; invalid
	 * UTF-8 as \ufffd */
	s = go_string("<a&b>\n\t\x01\xe2\x80\xa8\xff\"\\", 14);
	assert_string_equal(s, "\"\\u003ca\\u0026b\\u003e\\n\\t\\u0001\\u2028\\ufffd\\\"\\\\\"");
	free(s);

	/* map order (sorted), float64 numbers as Go formats them */
	json_t *j = json_loads("{\"b\":[1,1.5,1e21,0.000001,1e-7,-0.0],\"a\":{\"z\":null,\"y\":true}}",
			       JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	s = cni_json_marshal_go(j);
	assert_string_equal(s, "{\"a\":{\"y\":true,\"z\":null},"
			       "\"b\":[1,1.5,1e+21,0.000001,1e-7,-0]}");
	free(s);

	/* struct order (as given) and indentation as json.MarshalIndent(v, "", "    ") */
	cni_buf b = CNI_BUF_INIT;
	json_t *o = json_pack("{s:s,s:i,s:[]}", "z", "x", "a", 5, "e");
	assert_int_equal(cni_json_append_go(&b, o, CNI_GOJSON_INDENT), 0);
	assert_string_equal(b.data, "{\n    \"z\": \"x\",\n    \"a\": 5,\n    \"e\": []\n}");
	cni_buf_free(&b);
	json_decref(o);
	json_decref(j);
}

static void test_quote(void **state)
{
	char q[16], *s;
	(void)state;
	s = cni_go_quote("a\"b\\c\nd\x01\x7f");
	assert_string_equal(s, "\"a\\\"b\\\\c\\nd\\x01\\x7f\"");
	free(s);
	cni_go_quote_char('x', q, sizeof(q));
	assert_string_equal(q, "'x'");
	cni_go_quote_char('\'', q, sizeof(q));
	assert_string_equal(q, "'\\''");
	cni_go_quote_char('\n', q, sizeof(q));
	assert_string_equal(q, "'\\n'");
	cni_go_quote_char(0x1b, q, sizeof(q));
	assert_string_equal(q, "'\\x1b'");
	cni_go_quote_char(0x85, q, sizeof(q));
	assert_string_equal(q, "'\\u0085'");
	cni_go_quote_char(0xe9, q, sizeof(q));
	assert_string_equal(q, "'\xc3\xa9'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_decode),
	    cmocka_unit_test(test_utf8_valid_and_sanitize),
	    cmocka_unit_test(test_key_matches),
	    cmocka_unit_test(test_scan_syntax_errors),
	    cmocka_unit_test(test_scan_fields),
	    cmocka_unit_test(test_scan_depth),
	    cmocka_unit_test(test_member_and_kinds),
	    cmocka_unit_test(test_unmarshal_error_and_strerror),
	    cmocka_unit_test(test_parse_go),
	    cmocka_unit_test(test_encode),
	    cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
