/* SPDX-License-Identifier: Apache-2.0 */
/* buf.c: strings, string vectors and the growable buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "buf-internal.h"

static void test_buf_empty(void **state)
{
	cni_buf b = CNI_BUF_INIT;
	/* nothing added: an empty string, not NULL */
	char *s = cni_buf_steal(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* an empty append still terminates the data */
	assert_int_equal(cni_buf_append(&b, NULL, 0), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	cni_buf_free(&b);
	assert_null(b.data);
	cni_buf_free(&b); /* twice is fine */
}

/* Growth across many doublings keeps every byte, the NUL and a capacity that fits. */
static void test_buf_growth(void **state)
{
	cni_buf b = CNI_BUF_INIT;
	size_t total = 0;
	for (int i = 0; i < 5000; i++) {
		char chunk[40];
		int n = snprintf(chunk, sizeof(chunk), "%d,", i);
		assert_int_equal(cni_buf_append(&b, chunk, (size_t)n), 0);
		total += (size_t)n;
		assert_int_equal(b.len, total);
		assert_true(b.cap > b.len);
		assert_int_equal(b.data[b.len], '\0');
	}
	assert_int_equal(b.cap & (b.cap - 1), 0); /* 256 doubled: a power of two */
	assert_true(b.cap < 2 * (b.len + 1));
	/* all of it, in order */
	const char *p = b.data;
	for (int i = 0; i < 5000; i++) {
		char *end;
		assert_int_equal(strtol(p, &end, 10), i);
		assert_int_equal(*end, ',');
		p = end + 1;
	}
	assert_int_equal(*p, '\0');

	/* one append larger than several doublings at once */
	cni_buf big = CNI_BUF_INIT;
	char *blob = malloc(100000);
	assert_non_null(blob);
	memset(blob, 'x', 100000);
	assert_int_equal(cni_buf_puts(&big, "a"), 0);
	assert_int_equal(cni_buf_append(&big, blob, 100000), 0);
	assert_int_equal(big.len, 100001);
	assert_true(big.cap >= 100002);
	assert_int_equal(big.data[0], 'a');
	assert_int_equal(big.data[100000], 'x');
	assert_int_equal(big.data[100001], '\0');
	free(blob);
	/* embedded NULs are data too */
	assert_int_equal(cni_buf_append(&big, "\0z", 2), 0);
	assert_int_equal(big.len, 100003);
	assert_int_equal(big.data[100001], '\0');
	assert_int_equal(big.data[100002], 'z');
	size_t len = big.len;
	char *d = cni_buf_steal(&big);
	assert_int_equal(d[len], '\0');
	free(d);
	cni_buf_free(&b);
}

/* Appends that end exactly on a capacity (256, 512): the NUL still has its byte. */
static void test_buf_exact_boundaries(void **state)
{
	char block[512];
	memset(block, 'q', sizeof(block));
	for (size_t first = 254; first <= 258; first++) {
		for (size_t second = 0; second <= 258; second += 1) {
			cni_buf b = CNI_BUF_INIT;
			assert_int_equal(cni_buf_append(&b, block, first), 0);
			assert_true(b.cap > b.len);
			assert_int_equal(cni_buf_append(&b, block, second), 0);
			assert_int_equal(b.len, first + second);
			assert_true(b.cap > b.len);
			assert_int_equal(b.data[b.len], '\0');
			cni_buf_free(&b);
		}
	}
}

static void test_buf_printf(void **state)
{
	cni_buf b = CNI_BUF_INIT;
	assert_int_equal(cni_buf_printf(&b, "%s=%d", "mtu", 1500), 0);
	assert_int_equal(cni_buf_puts(&b, ";"), 0);
	assert_int_equal(cni_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(cni_buf_printf(&b, "%05.1f", 2.5), 0);
	assert_string_equal(b.data, "mtu=1500;002.5");
	assert_int_equal(b.len, strlen("mtu=1500;002.5"));
	cni_buf_free(&b);
}

static void test_strings(void **state)
{
	assert_null(cni_strdup0(NULL));
	char *s = cni_strdup0("abc");
	assert_string_equal(s, "abc");
	free(s);
	s = cni_strdupf("%s/%s-%03d", "/run/cni", "net", 7);
	assert_string_equal(s, "/run/cni/net-007");
	free(s);
	cni_free(NULL);
	cni_free(cni_strdup0(""));
}

static void test_strv(void **state)
{
	char **v = NULL;
	assert_int_equal(cni_strv_length(v), 0);
	assert_int_equal(cni_strv_push(&v, "a"), 0);
	assert_int_equal(cni_strv_push(&v, ""), 0);
	assert_int_equal(cni_strv_consume(&v, strdup("c")), 0);
	assert_int_equal(cni_strv_length(v), 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "");
	assert_string_equal(v[2], "c");
	assert_null(v[3]);
	/* a failed allocation handed to consume is refused, and v is left as it was */
	assert_int_equal(cni_strv_consume(&v, NULL), -CNI_ERR_NOMEM);
	assert_int_equal(cni_strv_length(v), 3);

	char **copy = NULL;
	assert_int_equal(cni_strv_dup((const char *const *)v, &copy), 0);
	assert_int_equal(cni_strv_length(copy), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(copy[i], v[i]);
		assert_ptr_not_equal(copy[i], v[i]); /* deep */
	}
	cni_strv_free(v);
	assert_string_equal(copy[2], "c"); /* still there */
	cni_strv_free(copy);

	/* NULL in: an empty vector out, not NULL */
	char **none = NULL;
	assert_int_equal(cni_strv_dup(NULL, &none), 0);
	assert_non_null(none);
	assert_null(none[0]);
	assert_int_equal(cni_strv_length(none), 0);
	cni_strv_free(none);
	cni_strv_free(NULL);

	_cleanup_strv_ char **auto_freed = NULL;
	assert_int_equal(cni_strv_push(&auto_freed, "x"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_empty),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_buf_exact_boundaries),
		cmocka_unit_test(test_buf_printf),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_strv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
