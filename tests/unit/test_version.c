/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void test_parse(void **state)
{
	int a, b, c;
	assert_int_equal(cni_version_parse("", &a, &b, &c, NULL), 0);
	assert_true(a == 0 && b == 1 && c == 0);
	assert_int_equal(cni_version_parse("1", &a, &b, &c, NULL), 0);
	assert_true(a == 1 && b == 0 && c == 0);
	assert_int_equal(cni_version_parse("0.4", &a, &b, &c, NULL), 0);
	assert_true(a == 0 && b == 4 && c == 0);
	assert_int_equal(cni_version_parse("1.1.0", &a, &b, &c, NULL), 0);
	assert_true(a == 1 && b == 1 && c == 0);

	cni_error *e = NULL;
	assert_int_equal(cni_version_parse("1.2.3.4", &a, &b, &c, &e), -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "invalid version \"1.2.3.4\": too many parts");
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_version_parse("1.x", &a, &b, &c, &e), -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "failed to convert minor version part \"x\": "
					      "strconv.Atoi: parsing \"x\": invalid syntax");
	cni_error_free(e);
	assert_int_equal(cni_version_parse("1..0", &a, &b, &c, NULL), -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_version_parse("99999999999", &a, &b, &c, NULL),
			 -CNI_ERR_DECODING_FAILURE);
}

static void test_compare(void **state)
{
	int c;
	assert_int_equal(cni_version_compare("0.4.0", "1.0.0", &c, NULL), 0);
	assert_true(c < 0);
	assert_int_equal(cni_version_compare("1.1.0", "1.0.0", &c, NULL), 0);
	assert_true(c > 0);
	assert_int_equal(cni_version_compare("", "0.1.0", &c, NULL), 0);
	assert_int_equal(c, 0);
	assert_true(cni_version_ge("0.3.1", "0.3.0"));
	assert_false(cni_version_ge("0.3.0", "0.3.1"));
	assert_false(cni_version_ge("bad", "0.1.0"));
}

static void test_known_versions(void **state)
{
	const char *const *all = cni_version_all();
	const char *expect[] = {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
	for (size_t i = 0; i < ARRAY_SIZE(expect); i++)
		assert_string_equal(all[i], expect[i]);
	assert_null(all[ARRAY_SIZE(expect)]);
	assert_string_equal(cni_version_current(), "1.1.0");
	assert_true(cni_version_is_known("0.3.1"));
	assert_false(cni_version_is_known("0.3"));
	assert_false(cni_version_is_known(NULL));
}

static void test_plugin_info_encode_decode(void **state)
{
	cni_plugin_info *info = NULL;
	assert_int_equal(cni_plugin_info_from(&info, "0.4.0", NULL), 0);
	assert_int_equal(cni_plugin_info_count(info), 3);
	assert_string_equal(cni_plugin_info_version(info, 0), "0.4.0");
	assert_null(cni_plugin_info_version(info, 3));
	_cleanup_free_ char *s = NULL;
	assert_int_equal(cni_plugin_info_encode(info, NULL, &s, NULL), 0);
	assert_string_equal(s, "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":"
			       "[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
	cni_plugin_info *back = NULL;
	assert_int_equal(cni_plugin_info_decode(&back, s, strlen(s), NULL), 0);
	assert_true(cni_plugin_info_supports(back, "1.0.0"));
	assert_false(cni_plugin_info_supports(back, "0.3.1"));
	cni_plugin_info *d = cni_plugin_info_dup(back);
	assert_int_equal(cni_plugin_info_count(d), 3);
	cni_plugin_info_free(d);
	cni_plugin_info_free(back);
	cni_plugin_info_free(info);
}

static void test_plugin_info_decode_rules(void **state)
{
	cni_plugin_info *info = NULL;
	cni_error *e = NULL;
	const char *legacy = "{\"cniVersion\":\"0.2.0\"}";
	assert_int_equal(cni_plugin_info_decode(&info, legacy, strlen(legacy), NULL), 0);
	assert_int_equal(cni_plugin_info_count(info), 2);
	assert_true(cni_plugin_info_supports(info, "0.1.0"));
	cni_plugin_info_free(info);

	const char *nosv = "{\"cniVersion\":\"0.3.0\"}";
	assert_int_equal(cni_plugin_info_decode(&info, nosv, strlen(nosv), &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "decoding version info: missing field supportedVersions");
	cni_error_free(e);
	e = NULL;
	const char *nocv = "{\"supportedVersions\":[\"0.3.0\"]}";
	assert_int_equal(cni_plugin_info_decode(&info, nocv, strlen(nocv), &e),
			 -CNI_ERR_DECODING_FAILURE);
	assert_string_equal(cni_error_msg(e), "decoding version info: missing field cniVersion");
	cni_error_free(e);
	const char *bad = "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[1]}";
	assert_int_equal(cni_plugin_info_decode(&info, bad, strlen(bad), NULL),
			 -CNI_ERR_DECODING_FAILURE);
	assert_int_equal(cni_plugin_info_decode(&info, "[", 1, NULL), -CNI_ERR_DECODING_FAILURE);
}

static void test_check(void **state)
{
	const char *vs[] = {"0.3.1", "1.0.0", NULL};
	cni_plugin_info *info = NULL;
	cni_error *e = NULL;
	assert_int_equal(cni_plugin_info_new(&info, vs, NULL), 0);
	assert_int_equal(cni_version_check("1.0.0", info, NULL), 0);
	assert_int_equal(cni_version_check("0.4.0", info, &e), -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_string_equal(cni_error_msg(e), "incompatible CNI versions");
	assert_string_equal(cni_error_details(e),
			    "config is \"0.4.0\", plugin supports [\"0.3.1\" \"1.0.0\"]");
	cni_error_free(e);
	e = NULL;
	/* "" means 0.1.0 */
	assert_int_equal(cni_version_check("", info, &e), -CNI_ERR_INCOMPATIBLE_CNI_VERSION);
	assert_non_null(strstr(cni_error_details(e), "config is \"0.1.0\""));
	cni_error_free(e);
	cni_plugin_info_free(info);
	const char *none[] = {NULL};
	assert_int_equal(cni_plugin_info_new(&info, none, NULL), -CNI_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_known_versions),
		cmocka_unit_test(test_plugin_info_encode_decode),
		cmocka_unit_test(test_plugin_info_decode_rules),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
