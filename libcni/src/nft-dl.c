/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/wait.h>

#include "nft-dl.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"
#include "spawn-internal.h"

/* What nft answers is a ruleset: bounded so a runaway process cannot eat memory. */
#define NFT_MAX_OUTPUT (256u * 1024u * 1024u)


/*
 * Two ways to reach nftables. Normally libnftables, dlopen()ed. A statically linked
 * process (the multi-call plugins built with CNI_MULTICALL_STATIC) must not dlopen it:
 * libnftables would bring a second C library into the process. There each command goes
 * to nft(8) instead, `nft [-j] [-a] [-c] -f -` with the command on stdin, and the
 * "context" is ours (struct exec_ctx), handed out as the opaque struct nft_ctx *.
 * LIBCNI_C_NFT_EXEC=1 picks the exec way in any process (for tests).
 */
struct exec_ctx {
	unsigned int flags;
	bool dry_run;
	char *out, *err;
	char *nft; /* found in $PATH when the context was made */
};
static bool exec_mode;

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

/* nft in $PATH (a default when unset), new string; NULL when there is none. */
static char *find_nft(void)
{
	const char *path = getenv("PATH");
	return cni_find_in_dirs("nft", isempty(path) ? CNI_DEFAULT_PATH : path);
}

static void load(void)
{
	const char *force = getenv("LIBCNI_C_NFT_EXEC");

	/* no program interpreter: linked statically */
	exec_mode = getauxval(AT_BASE) == 0 || (force && streq(force, "1"));
	if (exec_mode) {
		load_error = ""; /* each context looks for nft */
		return;
	}
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
	if (exec_mode) {
		_cleanup_free_ char *nft = find_nft();
		if (!nft)
			return "nft not found in $PATH (nftables goes through nft(8) here)";
	}
	return load_error;
}

struct nft_ctx *cni_dl_nft_ctx_new(uint32_t flags)
{
	pthread_once(&once, load);
	if (exec_mode) {
		struct exec_ctx *x = calloc(1, sizeof(*x));
		(void)flags;
		if (x && !(x->nft = find_nft())) {
			free(x);
			x = NULL;
		}
		return (struct nft_ctx *)x;
	}
	return api.ctx_new ? api.ctx_new(flags) : NULL;
}

#define X(ctx) ((struct exec_ctx *)(void *)(ctx))

/* Every other wrapper takes a ctx, which only exists once loading succeeded. */
void cni_dl_nft_ctx_free(struct nft_ctx *ctx)
{
	if (!ctx)
		return;
	if (exec_mode) {
		free(X(ctx)->out);
		free(X(ctx)->err);
		free(X(ctx)->nft);
		free(X(ctx));
		return;
	}
	api.ctx_free(ctx);
}

/* exec mode always collects both outputs */
int cni_dl_nft_ctx_buffer_output(struct nft_ctx *ctx)
{
	return exec_mode ? 0 : api.buffer_output(ctx);
}

int cni_dl_nft_ctx_buffer_error(struct nft_ctx *ctx)
{
	return exec_mode ? 0 : api.buffer_error(ctx);
}

const char *cni_dl_nft_ctx_get_output_buffer(struct nft_ctx *ctx)
{
	return exec_mode ? strempty(X(ctx)->out) : api.get_output_buffer(ctx);
}

const char *cni_dl_nft_ctx_get_error_buffer(struct nft_ctx *ctx)
{
	return exec_mode ? strempty(X(ctx)->err) : api.get_error_buffer(ctx);
}

unsigned int cni_dl_nft_ctx_output_get_flags(struct nft_ctx *ctx)
{
	return exec_mode ? X(ctx)->flags : api.output_get_flags(ctx);
}

void cni_dl_nft_ctx_output_set_flags(struct nft_ctx *ctx, unsigned int flags)
{
	if (exec_mode)
		X(ctx)->flags = flags;
	else
		api.output_set_flags(ctx, flags);
}

void cni_dl_nft_ctx_set_dry_run(struct nft_ctx *ctx, bool dry)
{
	if (exec_mode)
		X(ctx)->dry_run = dry;
	else
		api.set_dry_run(ctx, dry);
}

/*
 * nft -f - with buf on stdin; 0 when it exits 0, else -1 (as libnftables), its stdout and
 * stderr kept in the context either way. stdin is a file (spawn.c's start and wait): nft
 * with -j reads its input once as JSON and, when that fails, again from the start as its
 * own syntax, which a pipe cannot give it.
 */
static int exec_run(struct exec_ctx *x, const char *buf)
{
	const cni_spawn_opts o = {
	    .in = buf,
	    .in_len = strlen(buf),
	    .max_out = NFT_MAX_OUTPUT,
	    .max_err = NFT_MAX_OUTPUT,
	};
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_proc *p = NULL;
	char *argv[8];
	size_t argc = 0;

	free(x->out);
	free(x->err);
	x->out = x->err = NULL;
	argv[argc++] = x->nft;
	if (x->flags & NFT_CTX_OUTPUT_JSON)
		argv[argc++] = "-j";
	if (x->flags & NFT_CTX_OUTPUT_HANDLE)
		argv[argc++] = "-a";
	if (x->flags & NFT_CTX_OUTPUT_ECHO)
		argv[argc++] = "-e";
	if (x->dry_run)
		argv[argc++] = "-c";
	argv[argc++] = "-f";
	argv[argc++] = "-";
	argv[argc] = NULL;
	int r = cni_spawn_start(argv, NULL, &o, &p, NULL);
	if (r < 0) {
		x->err = cni_strdupf("cannot run %s: %s", x->nft, strerror(-r));
		return -1;
	}
	r = cni_spawn_wait(p, &res);
	if (r == 0 && res.end == CNI_SPAWN_EXITED) {
		x->out = cni_buf_steal(&res.out);
		x->err = cni_buf_steal(&res.err);
	}
	bool ok = r == 0 && x->out && x->err && WIFEXITED(res.status) &&
		  WEXITSTATUS(res.status) == 0;
	cni_spawn_result_free(&res);
	return ok ? 0 : -1;
}

int cni_dl_nft_run_cmd_from_buffer(struct nft_ctx *ctx, const char *buf)
{
	return exec_mode ? exec_run(X(ctx), buf) : api.run_cmd_from_buffer(ctx, buf);
}
