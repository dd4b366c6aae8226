/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cnitool's own SHA-512 (tools/cnitool/sha512.c), which derives the container id from the
 * netns path. Checked against the FIPS 180-4 examples and against sha512sum on inputs
 * around every padding boundary, fed in several chunk sizes.
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

#include "../../tools/cnitool/sha512.c"

static void hex(const uint8_t d[SHA512_DIGEST_SIZE], char out[2 * SHA512_DIGEST_SIZE + 1])
{
	for (size_t i = 0; i < SHA512_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void digest_chunked(const uint8_t *data, size_t len, size_t chunk,
			   char out[2 * SHA512_DIGEST_SIZE + 1])
{
	struct sha512_ctx ctx;
	uint8_t d[SHA512_DIGEST_SIZE];

	sha512_init(&ctx);
	for (size_t off = 0; off < len; off += chunk)
		sha512_update(&ctx, data + off, len - off < chunk ? len - off : chunk);
	sha512_final(&ctx, d);
	hex(d, out);
}

static void test_known_vectors(void **state)
{
	/* FIPS 180-4 / NIST example values. */
	static const struct {
		const char *in;
		const char *want;
	} v[] = {
	    {"", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		 "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
	    {"abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
	    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
	     "klmnopqrlmnopqrsmnopqrstnopqrstu",
	     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
	     "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"},
	};
	char got[2 * SHA512_DIGEST_SIZE + 1];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t d[SHA512_DIGEST_SIZE];

		sha512(v[i].in, strlen(v[i].in), d);
		hex(d, got);
		assert_string_equal(got, v[i].want);
		digest_chunked((const uint8_t *)v[i].in, strlen(v[i].in), 1, got);
		assert_string_equal(got, v[i].want);
	}
}

static void test_million_a(void **state)
{
	size_t len = 1000000;
	uint8_t *buf = malloc(len);
	char got[2 * SHA512_DIGEST_SIZE + 1];

	assert_non_null(buf);
	memset(buf, 'a', len);
	digest_chunked(buf, len, 4096, got);
	assert_string_equal(got,
			    "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
			    "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
	free(buf);
}

/* Our digest of data must equal what sha512sum prints for the same bytes. */
static void compare_with_sha512sum(const uint8_t *data, size_t len)
{
	char tmpl[] = "/tmp/cnitool-sha512-XXXXXX";
	char cmd[128], line[256];
	char got[2 * SHA512_DIGEST_SIZE + 1];
	static const size_t chunks[] = {1, 7, 64, 127, 128, 129, 1000};
	FILE *p;
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "sha512sum < %s", tmpl);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	assert_int_equal(pclose(p), 0);
	unlink(tmpl);
	line[2 * SHA512_DIGEST_SIZE] = '\0';

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		digest_chunked(data, len, chunks[c], got);
		assert_string_equal(got, line);
	}
}

static void test_against_sha512sum(void **state)
{
	/* Lengths around the 112-byte padding limit and the 128-byte block. */
	static const size_t lens[] = {0,   1,	55,  56,  63,  64,  111, 112,  113,  127,  128,
				      129, 239, 240, 241, 255, 256, 257, 1000, 4097, 65536};
	uint8_t *buf = malloc(65536);
	uint32_t x = 0x12345678;

	if (system("command -v sha512sum >/dev/null 2>&1") != 0) {
		free(buf);
		skip();
	}
	assert_non_null(buf);
	for (size_t i = 0; i < 65536; i++) {
		x = x * 1103515245u + 12345u; /* fixed pseudo-random bytes */
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		compare_with_sha512sum(buf, lens[i]);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_vectors),
	    cmocka_unit_test(test_million_a),
	    cmocka_unit_test(test_against_sha512sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
