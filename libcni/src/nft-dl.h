/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_NFT_DL_H
#define CNI_NFT_DL_H

/*
 * libnftables, loaded on first use. Linking it would make every plugin's start-up load
 * libnftables and its dependencies (libnftnl, libmnl, libxtables, libgmp), about a
 * millisecond per exec, even in plugins that never touch nftables. These wrappers
 * dlopen it once (thread-safe) and otherwise behave as the functions they are named
 * after; cni_dl_nft_ctx_new() returns NULL when the library cannot be loaded. In a
 * statically linked process they run nft(8) instead (nft-dl.c says how), and
 * cni_dl_nft_ctx_new() returns NULL when there is no nft in $PATH.
 */

#include <nftables/libnftables.h>

#include "internal.h"

/* Why the last load failed ("" when loaded); static text. */
const char *cni_dl_nft_error(void);

struct nft_ctx *cni_dl_nft_ctx_new(uint32_t flags);
void cni_dl_nft_ctx_free(struct nft_ctx *ctx);
int cni_dl_nft_ctx_buffer_output(struct nft_ctx *ctx);
int cni_dl_nft_ctx_buffer_error(struct nft_ctx *ctx);
const char *cni_dl_nft_ctx_get_output_buffer(struct nft_ctx *ctx);
const char *cni_dl_nft_ctx_get_error_buffer(struct nft_ctx *ctx);
unsigned int cni_dl_nft_ctx_output_get_flags(struct nft_ctx *ctx);
void cni_dl_nft_ctx_output_set_flags(struct nft_ctx *ctx, unsigned int flags);
void cni_dl_nft_ctx_set_dry_run(struct nft_ctx *ctx, bool dry);
int cni_dl_nft_run_cmd_from_buffer(struct nft_ctx *ctx, const char *buf);

#endif
