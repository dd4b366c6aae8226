/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void test_empty(void **state)
{
	cni_args *a = NULL;
	assert_int_equal(cni_args_parse(&a, "", NULL), 0);
	assert_int_equal(cni_args_count(a), 0);
	assert_int_equal(cni_args_check_known(a, NULL, NULL), 0);
	cni_args_free(a);
	assert_int_equal(cni_args_parse(&a, NULL, NULL), 0);
	cni_args_free(a);
}

static void test_pairs_last_wins(void **state)
{
	cni_args *a = NULL;
	assert_int_equal(cni_args_parse(&a, "IP=10.0.0.2;MAC=aa:bb;IP=10.0.0.3;E=", NULL), 0);
	assert_int_equal(cni_args_count(a), 4);
	assert_string_equal(cni_args_get(a, "IP"), "10.0.0.3");
	assert_string_equal(cni_args_get(a, "E"), "");
	assert_null(cni_args_get(a, "ip")); /* keys are case-sensitive */
	assert_string_equal(cni_args_key(a, 1), "MAC");
	assert_string_equal(cni_args_value(a, 1), "aa:bb");
	assert_null(cni_args_key(a, 4));
	cni_args_free(a);
}

static void test_invalid_pairs(void **state)
{
	const char *bad[] = {"FOO", "A=1;", "A=1=2", ";", "A=1;;B=2"};
	const char *msg[] = {"ARGS: invalid pair \"FOO\"", "ARGS: invalid pair \"\"",
			     "ARGS: invalid pair \"A=1=2\"", "ARGS: invalid pair \"\"",
			     "ARGS: invalid pair \"\""};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cni_args *a = NULL;
		cni_error *e = NULL;
		assert_int_equal(cni_args_parse(&a, bad[i], &e), -CNI_ERR_INTERNAL);
		assert_null(a);
		assert_string_equal(cni_error_msg(e), msg[i]);
		cni_error_free(e);
	}
}

static void test_unknown(void **state)
{
	const char *known[] = {"IP", NULL};
	cni_args *a = NULL;
	cni_error *e = NULL;
	assert_int_equal(cni_args_parse(&a, "FOO=bar;IP=1.2.3.4;X=\"y\"", NULL), 0);
	assert_int_equal(cni_args_check_known(a, known, &e), -CNI_ERR_INTERNAL);
	assert_string_equal(cni_error_msg(e), "ARGS: unknown args [\"FOO=bar\" \"X=\\\"y\\\"\"]");
	cni_error_free(e);
	cni_args_free(a);

	/* IgnoreUnknown anywhere, any case of true/1 */
	const char *ok[] = {"FOO=bar;IgnoreUnknown=1", "IgnoreUnknown=TRUE;FOO=bar",
			    "IgnoreUnknown=true;K8S_POD_NAME=x"};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		assert_int_equal(cni_args_parse(&a, ok[i], NULL), 0);
		assert_int_equal(cni_args_check_known(a, known, NULL), 0);
		cni_args_free(a);
	}
	/* false keeps the check, last value wins */
	assert_int_equal(cni_args_parse(&a, "IgnoreUnknown=1;FOO=bar;IgnoreUnknown=0", NULL), 0);
	assert_int_equal(cni_args_check_known(a, known, NULL), -CNI_ERR_INTERNAL);
	cni_args_free(a);
	/* a bad boolean is an error of its own */
	e = NULL;
	assert_int_equal(cni_args_parse(&a, "IgnoreUnknown=Yes", NULL), 0);
	assert_int_equal(cni_args_check_known(a, known, &e), -CNI_ERR_INTERNAL);
	assert_string_equal(cni_error_msg(e), "ARGS: error parsing value of pair \"IgnoreUnknown=Yes\": "
					      "boolean unmarshal error: invalid input yes");
	cni_error_free(e);
	cni_args_free(a);
}

static void test_get_bool(void **state)
{
	cni_args *a = NULL;
	bool b;
	assert_int_equal(cni_args_parse(&a, "A=True;B=0;C=maybe", NULL), 0);
	assert_int_equal(cni_args_get_bool(a, "A", false, &b, NULL), 0);
	assert_true(b);
	assert_int_equal(cni_args_get_bool(a, "B", true, &b, NULL), 0);
	assert_false(b);
	assert_int_equal(cni_args_get_bool(a, "Z", true, &b, NULL), 0);
	assert_true(b);
	b = false;
	assert_int_equal(cni_args_get_bool(a, "C", false, &b, NULL), -CNI_ERR_INTERNAL);
	cni_args_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_pairs_last_wins),
		cmocka_unit_test(test_invalid_pairs),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_get_bool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
