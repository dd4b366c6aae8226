/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNITOOL_SHA512_H
#define CNITOOL_SHA512_H

/*
 * A small SHA-512 (FIPS 180-4) so cnitool can derive the reference's container id
 * from the netns path without pulling in a crypto library.
 */

#include <stddef.h>
#include <stdint.h>

#define SHA512_DIGEST_SIZE 64
#define SHA512_BLOCK_SIZE  128

struct sha512_ctx {
	uint64_t state[8];
	uint64_t len_lo, len_hi; /* message length in bytes, 128-bit */
	uint8_t block[SHA512_BLOCK_SIZE];
	size_t fill;
};

void sha512_init(struct sha512_ctx *ctx);
void sha512_update(struct sha512_ctx *ctx, const void *data, size_t len);
void sha512_final(struct sha512_ctx *ctx, uint8_t digest[SHA512_DIGEST_SIZE]);
void sha512(const void *data, size_t len, uint8_t digest[SHA512_DIGEST_SIZE]);

#endif
