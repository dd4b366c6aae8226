/* SPDX-License-Identifier: Apache-2.0 */
/*
 * path.c: lexical cleaning against what Go's filepath.Clean gives for the same input
 * (the expected values were checked with go1.19's filepath.Clean).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
	const char *in, *want;
} cases[] = {
    /* already clean */
    {"", "."},
    {".", "."},
    {"/", "/"},
    {"abc", "abc"},
    {"/abc/def", "/abc/def"},
    {"..", ".."},
    {"../..", "../.."},
    {"../../abc", "../../abc"},
    /* trailing and repeated slashes */
    {"abc/", "abc"},
    {"/abc/def/", "/abc/def"},
    {"//", "/"},
    {"///abc//def///", "/abc/def"},
    {"abc//def//ghi", "abc/def/ghi"},
    /* "." elements */
    {"./", "."},
    {"/./", "/"},
    {"abc/./def", "abc/def"},
    {"/./abc/def/.", "/abc/def"},
    {"./abc/.", "abc"},
    /* ".." elements */
    {"abc/def/..", "abc"},
    {"abc/def/../..", "."},
    {"abc/def/../../..", ".."},
    {"/abc/def/../..", "/"},
    {"/abc/def/../../..", "/"},
    {"/..", "/"},
    {"/../abc", "/abc"},
    {"abc/../../def", "../def"},
    {"../abc/../..", "../.."},
    {"abc/../def/../ghi", "ghi"},
    {"..abc/...", "..abc/..."},
    {".abc/..def", ".abc/..def"},
    /* what tuning builds: every '.' of the key became '/' */
    {"/proc/sys/net//ipv4//conf", "/proc/sys/net/ipv4/conf"},
    {"/proc/sys/net/../kernel/x", "/proc/sys/kernel/x"},
    {"/proc/sys/../../../etc/passwd", "/etc/passwd"},
};

static void test_clean_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = cni_path_clean(cases[i].in);
		assert_non_null(got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("cni_path_clean(\"%s\") = \"%s\", want \"%s\"", cases[i].in, got,
				 cases[i].want);
		cni_free(got);
	}
	assert_null(cni_path_clean(NULL));
}

/* Cleaning a clean path changes nothing. */
static void test_clean_is_idempotent(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *once = cni_path_clean(cases[i].in);
		assert_non_null(once);
		char *twice = cni_path_clean(once);
		assert_non_null(twice);
		assert_string_equal(once, twice);
		cni_free(twice);
		cni_free(once);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean_cases),
	    cmocka_unit_test(test_clean_is_idempotent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
