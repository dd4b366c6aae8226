/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hash.c: SHA-512 against sha512sum(1) on inputs around every padding boundary, and the
 * chain names and comments the reference derives from it (values seen in rules the
 * reference ptp plugin created).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* sha512sum of data, run as a separate program (the oracle). */
static void sha512sum(const void *data, size_t len, char out[CNI_SHA512_HEX_LEN + 1])
{
	char path[] = "/tmp/cni-test-hash-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "sha512sum %s", path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fread(out, 1, CNI_SHA512_HEX_LEN, f), CNI_SHA512_HEX_LEN);
	out[CNI_SHA512_HEX_LEN] = '\0';
	assert_int_equal(pclose(f), 0);
	unlink(path);
}

static void test_sha512_vs_sha512sum(void **state)
{
	/* one and two padding blocks, exact blocks, several blocks */
	static const size_t lens[] = {0,   1,	3,   55,   56,	      63,   64,	 111,
				      112, 113, 127, 128,  129,	      239,  240, 241,
				      255, 256, 257, 1000, 4096 + 17, 65536};
	uint8_t *buf = malloc(65536);
	assert_non_null(buf);
	for (size_t i = 0; i < 65536; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		char want[CNI_SHA512_HEX_LEN + 1], got[CNI_SHA512_HEX_LEN + 1];
		sha512sum(buf, lens[i], want);
		cni_sha512_hex(buf, lens[i], got);
		if (strcmp(want, got) != 0)
			fail_msg("length %zu: want %s got %s", lens[i], want, got);
	}
	free(buf);
}

static void test_sha512_fips_vectors(void **state)
{
	char got[CNI_SHA512_HEX_LEN + 1];
	cni_sha512_hex("abc", 3, got);
	assert_string_equal(got,
			    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	cni_sha512_hex("", 0, got);
	assert_string_equal(got,
			    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
			    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
	const char *two = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
			  "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	cni_sha512_hex(two, strlen(two), got);
	assert_string_equal(got,
			    "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
			    "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

/* FIPS 180-4's long example: one million 'a' (7813 blocks). */
static void test_sha512_million_a(void **state)
{
	size_t len = 1000000;
	char *buf = malloc(len);
	char got[CNI_SHA512_HEX_LEN + 1];
	assert_non_null(buf);
	memset(buf, 'a', len);
	cni_sha512_hex(buf, len, got);
	free(buf);
	assert_string_equal(got,
			    "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
			    "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

static void test_format_hash(void **state)
{
	char buf[129], hex[CNI_SHA512_HEX_LEN + 1];
	cni_sha512_hex("net", 3, hex);
	assert_int_equal(cni_format_hash("", "net", 16, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 16);
	assert_memory_equal(buf, hex, 16);
	assert_int_equal(cni_format_hash("AB-", "net", 10, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, "AB-", 3);
	assert_memory_equal(buf + 3, hex, 7);
	assert_int_equal(strlen(buf), 10);
	assert_int_equal(cni_format_hash("", "net", 128, buf, sizeof(buf)), 0);
	assert_string_equal(buf, hex);
	/* the reference panics on these */
	assert_int_equal(cni_format_hash("abc", "net", 3, buf, sizeof(buf)), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_format_hash("", "net", 129, buf, 200), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_format_hash("", "net", 16, buf, 16), -CNI_ERR_INVALID_ARG);
	assert_int_equal(cni_format_hash("", "net", 16, NULL, 17), -CNI_ERR_INVALID_ARG);
}

static void test_chain_name(void **state)
{
	char buf[64];
	/* as /usr/lib/cni/ptp named its chain for network "ptpnet", container "cid1" */
	assert_int_equal(cni_format_chain_name("ptpnet", "cid1", "", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "CNI-644891d2cceba23d79f924a6");
	assert_int_equal(cni_format_chain_name("ptpnet", "cid1", "DN-", buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 28);
	assert_memory_equal(buf, "CNI-DN-644891d2cceba23d79f9", 27);
	assert_int_equal(cni_format_chain_name("a", "b", "", buf, 28), -CNI_ERR_INVALID_ARG);
	assert_int_equal(
	    cni_format_chain_name("a", "b", "0123456789012345678901234", buf, sizeof(buf)),
	    -CNI_ERR_INVALID_ARG);
}

static void test_comment(void **state)
{
	char *c = cni_format_comment("ptpnet", "cid1");
	assert_string_equal(c, "name: \"ptpnet\" id: \"cid1\"");
	cni_free(c);
	c = cni_format_comment("a\"b", "x\\y\n");
	assert_string_equal(c, "name: \"a\\\"b\" id: \"x\\\\y\\n\"");
	cni_free(c);
	c = cni_format_comment(NULL, "");
	assert_string_equal(c, "name: \"\" id: \"\"");
	cni_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha512_vs_sha512sum),
	    cmocka_unit_test(test_sha512_fips_vectors),
	    cmocka_unit_test(test_sha512_million_a),
	    cmocka_unit_test(test_format_hash),
	    cmocka_unit_test(test_chain_name),
	    cmocka_unit_test(test_comment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
