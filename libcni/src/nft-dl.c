/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>
#include <pthread.h>

#include "nft-dl.h"

static struct {
	struct nft_ctx *(*ctx_new)(uint32_t);
	void (*ctx_free)(struct nft_ctx *);
	int (*buffer_output)(struct nft_ctx *);
	int (*buffer_error)(struct nft_ctx *);
	const char *(*get_output_buffer)(struct nft_ctx *);
	const char *(*get_error_buffer)(struct nft_ctx *);
	unsigned int (*output_get_flags)(struct nft_ctx *);
	void (*output_set_flags)(struct nft_ctx *, unsigned int);
	void (*set_dry_run)(struct nft_ctx *, bool);
	int (*run_cmd_from_buffer)(struct nft_ctx *, const char *);
} api;
static const char *load_error = "not loaded";
/* written once under pthread_once and only read afterwards */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	/* the library stays loaded for the life of the process, as a linked one would */
	void *h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		load_error = "libnftables.so.1 cannot be loaded (is libnftables1 installed?)";
		return;
	}
#define SYM(field, name)                                                                           \
	do {                                                                                       \
		*(void **)&api.field = dlsym(h, name);                                             \
		if (!api.field) {                                                                  \
			load_error = "libnftables.so.1 lacks " name;                               \
			return;                                                                    \
		}                                                                                  \
	} while (0)
	SYM(ctx_free, "nft_ctx_free");
	SYM(buffer_output, "nft_ctx_buffer_output");
	SYM(buffer_error, "nft_ctx_buffer_error");
	SYM(get_output_buffer, "nft_ctx_get_output_buffer");
	SYM(get_error_buffer, "nft_ctx_get_error_buffer");
	SYM(output_get_flags, "nft_ctx_output_get_flags");
	SYM(output_set_flags, "nft_ctx_output_set_flags");
	SYM(set_dry_run, "nft_ctx_set_dry_run");
	SYM(run_cmd_from_buffer, "nft_run_cmd_from_buffer");
	/* last: a non-NULL ctx_new means everything resolved */
	SYM(ctx_new, "nft_ctx_new");
#undef SYM
	load_error = "";
}

const char *cni_dl_nft_error(void)
{
	pthread_once(&once, load);
	return load_error;
}

struct nft_ctx *cni_dl_nft_ctx_new(uint32_t flags)
{
	pthread_once(&once, load);
	return api.ctx_new ? api.ctx_new(flags) : NULL;
}

/* Every other wrapper takes a ctx, which only exists once loading succeeded. */
void cni_dl_nft_ctx_free(struct nft_ctx *ctx)
{
	if (ctx)
		api.ctx_free(ctx);
}

int cni_dl_nft_ctx_buffer_output(struct nft_ctx *ctx)
{
	return api.buffer_output(ctx);
}

int cni_dl_nft_ctx_buffer_error(struct nft_ctx *ctx)
{
	return api.buffer_error(ctx);
}

const char *cni_dl_nft_ctx_get_output_buffer(struct nft_ctx *ctx)
{
	return api.get_output_buffer(ctx);
}

const char *cni_dl_nft_ctx_get_error_buffer(struct nft_ctx *ctx)
{
	return api.get_error_buffer(ctx);
}

unsigned int cni_dl_nft_ctx_output_get_flags(struct nft_ctx *ctx)
{
	return api.output_get_flags(ctx);
}

void cni_dl_nft_ctx_output_set_flags(struct nft_ctx *ctx, unsigned int flags)
{
	api.output_set_flags(ctx, flags);
}

void cni_dl_nft_ctx_set_dry_run(struct nft_ctx *ctx, bool dry)
{
	api.set_dry_run(ctx, dry);
}

int cni_dl_nft_run_cmd_from_buffer(struct nft_ctx *ctx, const char *buf)
{
	return api.run_cmd_from_buffer(ctx, buf);
}
