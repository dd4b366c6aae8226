/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firewall batches. iptables changes go through one iptables-restore --noflush per family,
 * so a plugin's whole change is atomic and costs one exec however many rules it has (the
 * reference runs one iptables process per rule and per check). nftables scripts run
 * in-process through libnftables, one transaction per script.
 *
 * The tools run in the calling thread's network namespace: callers wanting another one
 * use cni_netns_run(), and the spawned process inherits the thread's namespace.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "nft-dl.h"

extern char **environ;

/* Tools live in sbin, which a runtime's PATH does not always contain. */
static const char *const tool_dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin",
					"/usr/local/sbin"};

/* Output of a tool is a firewall dump: bounded so a runaway process cannot eat memory. */
#define TOOL_MAX_OUTPUT (256u * 1024u * 1024u)

static char *find_tool(const char *name)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (path) {
		const char *p = path;
		while (*p) {
			const char *end = strchr(p, ':');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			if (len > 0) {
				char *cand = cni_strdupf("%.*s/%s", (int)len, p, name);
				if (!cand)
					return NULL;
				if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
				    access(cand, X_OK) == 0)
					return cand;
				free(cand);
			}
			if (!end)
				break;
			p = end + 1;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(tool_dirs); i++) {
		char *cand = cni_strdupf("%s/%s", tool_dirs[i], name);
		if (!cand)
			return NULL;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
	}
	return NULL;
}

static int fd_above_stdio(int *fd)
{
	if (*fd > STDERR_FILENO)
		return 0;
	int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

typedef struct tool_run {
	cni_buf out;
	cni_buf err;
	int status;
} tool_run;

static void tool_run_free(tool_run *tr)
{
	cni_buf_free(&tr->out);
	cni_buf_free(&tr->err);
}

/*
 * Run argv[0] (a full path) with in on stdin; collect stdout and stderr. Returns 0 when
 * the tool ran (its exit status in tr->status) or a negative errno.
 */
static int run_tool(char *const *argv, const char *in, tool_run *tr)
{
	int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
	int ours[3], theirs[3];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid;
	int r = 0;

	for (int i = 0; i < 3; i++) {
		if (pipe2(pipes[i], O_CLOEXEC) < 0) {
			r = -errno;
			goto fail_pipes;
		}
		if ((r = fd_above_stdio(&pipes[i][0])) < 0 ||
		    (r = fd_above_stdio(&pipes[i][1])) < 0)
			goto fail_pipes;
	}
	/* stdin: the child reads [0][0]; stdout/stderr: the child writes [i][1] */
	theirs[0] = pipes[0][0];
	ours[0] = pipes[0][1];
	for (int i = 1; i < 3; i++) {
		theirs[i] = pipes[i][1];
		ours[i] = pipes[i][0];
	}

	if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
		r = -r;
		goto fail_pipes;
	}
	if ((r = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		r = -r;
		goto fail_pipes;
	}
	for (int i = 0; i < 3 && !r; i++)
		r = posix_spawn_file_actions_adddup2(&fa, theirs[i], i);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	if (!r)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (!r)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (!r)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!r)
		r = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 3; i++)
		close_fd(&theirs[i]);
	if (r) {
		for (int i = 0; i < 3; i++)
			close_fd(&ours[i]);
		return -r;
	}

	/* stdin and the two outputs through one poll loop, so a large batch and a large
	 * answer cannot deadlock each other */
	size_t in_len = in ? strlen(in) : 0, in_off = 0;
	/* A tool that stops reading makes our write raise SIGPIPE in this thread: block it
	 * here (this thread only) and swallow the one we caused. */
	sigset_t pipe_set, old_mask, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
	bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	bool got_epipe = false;
	if (in_len == 0)
		close_fd(&ours[0]);
	else
		fcntl(ours[0], F_SETFL, fcntl(ours[0], F_GETFL) | O_NONBLOCK);
	while (ours[0] >= 0 || ours[1] >= 0 || ours[2] >= 0) {
		struct pollfd pfd[3];
		int map[3];
		nfds_t n = 0;
		for (int i = 0; i < 3; i++) {
			if (ours[i] < 0)
				continue;
			pfd[n] = (struct pollfd){ours[i], i == 0 ? POLLOUT : POLLIN, 0};
			map[n++] = i;
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		for (nfds_t k = 0; k < n; k++) {
			int i = map[k];
			if (!pfd[k].revents)
				continue;
			if (i == 0) {
				ssize_t w = write(ours[0], in + in_off, in_len - in_off);
				if (w < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (w < 0) {
					/* the tool stopped reading (EPIPE): its status says why */
					got_epipe = got_epipe || errno == EPIPE;
					close_fd(&ours[0]);
					continue;
				}
				in_off += (size_t)w;
				if (in_off >= in_len)
					close_fd(&ours[0]);
				continue;
			}
			char chunk[8192];
			ssize_t got = read(ours[i], chunk, sizeof(chunk));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close_fd(&ours[i]);
				continue;
			}
			cni_buf *b = i == 1 ? &tr->out : &tr->err;
			if (b->len + (size_t)got > TOOL_MAX_OUTPUT) {
				r = -EFBIG;
				close_fd(&ours[i]);
				continue;
			}
			if (cni_buf_append(b, chunk, (size_t)got) < 0) {
				r = -ENOMEM;
				close_fd(&ours[i]);
			}
		}
		if (r < 0)
			break;
	}
	if (got_epipe && !was_pending) {
		const struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	for (int i = 0; i < 3; i++)
		close_fd(&ours[i]);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &tr->status, 0) < 0 && errno == EINTR)
		;
	return r;

fail_pipes:
	for (int i = 0; i < 3; i++) {
		close_fd(&pipes[i][0]);
		close_fd(&pipes[i][1]);
	}
	return r;
}

static bool family_ok(int family)
{
	return family == AF_INET || family == AF_INET6;
}

/* The tool's stderr without trailing newlines, for messages. */
static const char *stderr_text(tool_run *tr)
{
	if (cni_buf_puts(&tr->err, "") < 0 || !tr->err.data)
		return "";
	while (tr->err.len > 0 &&
	       (tr->err.data[tr->err.len - 1] == '\n' || tr->err.data[tr->err.len - 1] == ' '))
		tr->err.data[--tr->err.len] = '\0';
	return tr->err.data;
}

static int run_named(const char *name, char *const *args, const char *in, tool_run *tr,
		     cni_error **err)
{
	_cleanup_free_ char *path = find_tool(name);
	char *argv[16];
	size_t n = 0;

	if (!path)
		return cni_error_set(err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL,
				     "%s not found in $PATH", name);
	argv[n++] = path;
	for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int r = run_tool(argv, in, tr);
	if (r == -ENOMEM)
		return cni_oom(err);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to run %s: %s", name,
				     strerror(-r));
	return 0;
}

static bool exited_ok(const tool_run *tr)
{
	return WIFEXITED(tr->status) && WEXITSTATUS(tr->status) == 0;
}

static void describe_status(const tool_run *tr, char *buf, size_t len)
{
	if (WIFEXITED(tr->status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(tr->status));
	else if (WIFSIGNALED(tr->status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(tr->status));
	else
		snprintf(buf, len, "status %d", tr->status);
}

CNI_EXPORT bool cni_iptables_usable(int family)
{
	tool_run tr = {CNI_BUF_INIT, CNI_BUF_INIT, 0};
	char *args[] = {"--wait", "-t", "filter", "-n", "-L", "INPUT", NULL};
	bool ok;

	if (!family_ok(family))
		return false;
	if (run_named(family == AF_INET ? "iptables" : "ip6tables", args, NULL, &tr, NULL) < 0)
		ok = false;
	else
		ok = exited_ok(&tr);
	tool_run_free(&tr);
	return ok;
}

CNI_EXPORT int cni_iptables_restore(int family, const char *batch, cni_error **err)
{
	tool_run tr = {CNI_BUF_INIT, CNI_BUF_INIT, 0};
	char *args[] = {"--noflush", "--wait", NULL};
	const char *tool = family == AF_INET6 ? "ip6tables-restore" : "iptables-restore";
	char st[64];
	int r;

	if (!family_ok(family) || !batch)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "iptables restore: bad family %d or no batch", family);
	r = run_named(tool, args, batch, &tr, err);
	if (r == 0 && !exited_ok(&tr)) {
		describe_status(&tr, st, sizeof(st));
		r = cni_error_set(err, CNI_ERR_INTERNAL, batch, "%s failed (%s): %s", tool, st,
				  stderr_text(&tr));
	}
	tool_run_free(&tr);
	return r;
}

CNI_EXPORT int cni_iptables_save(int family, const char *table, char **out, cni_error **err)
{
	tool_run tr = {CNI_BUF_INIT, CNI_BUF_INIT, 0};
	const char *tool = family == AF_INET6 ? "ip6tables-save" : "iptables-save";
	char st[64];
	int r;

	if (!family_ok(family) || isempty(table) || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "iptables save: bad family %d or table", family);
	char *args[] = {"-t", (char *)table, NULL};
	r = run_named(tool, args, NULL, &tr, err);
	if (r == 0 && !exited_ok(&tr)) {
		describe_status(&tr, st, sizeof(st));
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "%s -t %s failed (%s): %s", tool,
				  table, st, stderr_text(&tr));
	}
	if (r == 0) {
		char *s = cni_buf_steal(&tr.out);
		if (!s)
			r = cni_oom(err);
		else
			*out = s;
	}
	tool_run_free(&tr);
	return r;
}

static void nft_ctx_freep(struct nft_ctx **ctx)
{
	if (*ctx)
		cni_dl_nft_ctx_free(*ctx);
}

/* Runs script; on success *out (when out is non-NULL) gets the output text. */
static int nft_exec(const char *script, bool json, char **out, cni_error **err)
{
	_cleanup_(nft_ctx_freep) struct nft_ctx *ctx = cni_dl_nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "nftables: cannot create context: %s",
				     *cni_dl_nft_error() ? cni_dl_nft_error() : "out of memory");
	if (cni_dl_nft_ctx_buffer_output(ctx) != 0 || cni_dl_nft_ctx_buffer_error(ctx) != 0)
		return cni_oom(err);
	if (json)
		cni_dl_nft_ctx_output_set_flags(ctx, cni_dl_nft_ctx_output_get_flags(ctx) |
							     NFT_CTX_OUTPUT_JSON |
							     NFT_CTX_OUTPUT_HANDLE);
	if (cni_dl_nft_run_cmd_from_buffer(ctx, script) != 0) {
		const char *e = cni_dl_nft_ctx_get_error_buffer(ctx);
		_cleanup_free_ char *msg = cni_strdup0(strempty(e));
		if (!msg)
			return cni_oom(err);
		for (size_t l = strlen(msg); l > 0 && msg[l - 1] == '\n'; l--)
			msg[l - 1] = '\0';
		return cni_error_set(err, CNI_ERR_INTERNAL, script, "nftables: %s",
				     *msg ? msg : "command failed");
	}
	if (out) {
		char *s = cni_strdup0(strempty(cni_dl_nft_ctx_get_output_buffer(ctx)));
		if (!s)
			return cni_oom(err);
		*out = s;
	}
	return 0;
}

CNI_EXPORT bool cni_nftables_usable(void)
{
	return nft_exec("list tables", false, NULL, NULL) == 0;
}

CNI_EXPORT int cni_nft_run(const char *script, bool json, char **out, cni_error **err)
{
	if (!script)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "nftables: no script");
	return nft_exec(script, json, out, err);
}
