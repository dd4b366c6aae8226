/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/auxv.h>
#include <sys/wait.h>

#include "nft-dl.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"

extern char **environ;

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
 * stderr kept in the context either way. Not the library's process runner (spawn.c): its
 * stdin is a pipe, and nft with -j reads its input once as JSON and, when that fails,
 * again from the start as its own syntax, which only a file can give it: here a memfd.
 */
static int exec_run(struct exec_ctx *x, const char *buf)
{
	_cleanup_close_ int in = cni_memfd_with("cni-nft-in", buf, strlen(buf));
	_cleanup_close_ int out = cni_memfd_with("cni-nft-out", NULL, 0);
	_cleanup_close_ int errfd = cni_memfd_with("cni-nft-err", NULL, 0);
	char *argv[8];
	size_t argc = 0;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int ws, r;

	free(x->out);
	free(x->err);
	x->out = x->err = NULL;
	if (in < 0 || out < 0 || errfd < 0)
		return -1;
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
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	r = posix_spawn(&pid, x->nft, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		x->err = cni_strdupf("cannot run %s: %s", x->nft, strerror(r));
		return -1;
	}
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (cni_fd_read_all(out, &x->out, NULL, NULL) < 0 ||
	    cni_fd_read_all(errfd, &x->err, NULL, NULL) < 0)
		return -1;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : -1;
}

int cni_dl_nft_run_cmd_from_buffer(struct nft_ctx *ctx, const char *buf)
{
	return exec_mode ? exec_run(X(ctx), buf) : api.run_cmd_from_buffer(ctx, buf);
}
