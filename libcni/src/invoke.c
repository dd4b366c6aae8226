/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding and running plugins (the reference's pkg/invoke).
 *
 * A plugin runs through posix_spawn with exactly three pipes as its stdio; every other
 * descriptor is closed in the child, and all of ours are close-on-exec, so parallel
 * callers never leak pipes into each other's plugins. One poll() loop writes stdin and
 * reads stdout and stderr together, so neither side can block the other whatever the
 * sizes. Nothing here is global: each call owns its pipes, buffers and child.
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define DEFAULT_STDERR_TAIL 4096
#define DEFAULT_MAX_OUTPUT  (16u * 1024 * 1024)
/* The reference retries "text file busy" five times; we wait 100 ms, 200 ms, ... */
#define TXTBSY_RETRIES	5
#define TXTBSY_SLEEP_MS 100
#define READ_CHUNK	65536
/* After the plugin exited, read at most this many chunks still in its pipes. */
#define DRAIN_CHUNKS 64
/* How much of unparsable stdout an error message quotes. */
#define QUOTE_STDOUT_MAX 4096

/* ---- CNI_PATH lookup ---- */

int cni_split_path(const char *list, char ***out, cni_error **err)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	if (!v)
		return cni_oom(err);
	for (const char *p = list; p && *p;) {
		const char *end = strchrnul(p, ':');
		if (end > p && cni_strv_consume(&v, strndup(p, (size_t)(end - p))) < 0)
			return cni_oom(err);
		p = *end ? end + 1 : end;
	}
	*out = TAKE_PTR(v);
	return 0;
}

/*
 * Lexical path cleaning as the reference's filepath.Join does it: repeated slashes
 * collapse, "." elements go, ".." removes the previous element (never above "/").
 */
static char *path_clean(const char *path)
{
	size_t n = strlen(path);
	bool rooted = path[0] == '/';
	char *out = malloc(n + 2);
	if (!out)
		return NULL;
	size_t w = 0, dotdot = 0; /* dotdot: where ".." may backtrack to */
	if (rooted) {
		out[w++] = '/';
		dotdot = 1;
	}
	for (size_t r = 0; r < n;) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' &&
			   (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && path[r] != '/')
				out[w++] = path[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

static int format_go_list(cni_buf *b, const char *const *v)
{
	/* Go prints a []string with %s as "[a b c]". */
	int r = cni_buf_puts(b, "[");
	for (size_t i = 0; r == 0 && v[i]; i++)
		r = cni_buf_printf(b, "%s%s", i ? " " : "", v[i]);
	return r ? r : cni_buf_puts(b, "]");
}

int cni_find_in_path(const char *plugin, const char *const *paths, char **out, cni_error **err)
{
	if (isempty(plugin))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "no plugin name provided");
	if (strchr(plugin, '/'))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid plugin name: %s",
				     plugin);
	if (!paths || !paths[0])
		return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "no paths provided");

	for (size_t i = 0; paths[i]; i++) {
		_cleanup_free_ char *joined = cni_strdupf("%s/%s", paths[i], plugin);
		if (!joined)
			return cni_oom(err);
		_cleanup_free_ char *full = path_clean(joined);
		if (!full)
			return cni_oom(err);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			*out = TAKE_PTR(full);
			return 0;
		}
	}

	cni_buf b = CNI_BUF_INIT;
	int r = cni_buf_puts(&b, "failed to find plugin ");
	if (!r)
		r = cni_buf_go_quote(&b, plugin);
	if (!r)
		r = cni_buf_puts(&b, " in path ");
	if (!r)
		r = format_go_list(&b, paths);
	if (r) {
		cni_buf_free(&b);
		return cni_oom(err);
	}
	r = cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "%s", b.data);
	cni_buf_free(&b);
	return r;
}

/* ---- environment (AsEnv) ---- */

static size_t env_name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : SIZE_MAX;
}

/*
 * Add kv to env (n entries used) so each name appears once: a later value replaces an
 * earlier one in its place. Entries without '=' are kept as they are, as the reference
 * does. kv is taken.
 */
static int env_set(char **env, size_t *n, char *kv)
{
	if (!kv)
		return -CNI_ERR_NOMEM;
	size_t len = env_name_len(kv);
	if (len != SIZE_MAX) {
		for (size_t i = 0; i < *n; i++) {
			if (env_name_len(env[i]) == len && strncmp(env[i], kv, len) == 0) {
				free(env[i]);
				env[i] = kv;
				return 0;
			}
		}
	}
	env[(*n)++] = kv;
	return 0;
}

static char *join_plugin_args(const cni_exec_args *args)
{
	cni_buf b = CNI_BUF_INIT;
	for (size_t i = 0; i < args->n_plugin_args; i++) {
		if (cni_buf_printf(&b, "%s%s=%s", i ? ";" : "", strempty(args->plugin_args[i][0]),
				   strempty(args->plugin_args[i][1])) < 0) {
			cni_buf_free(&b);
			return NULL;
		}
	}
	return cni_buf_steal(&b);
}

/* base (NULL = process environment) with the extra entries merged in, later winning. */
static int env_merge(const char *const *base, char **extra, size_t n_extra, char ***out)
{
	if (!base)
		base = (const char *const *)environ;
	size_t n_base = cni_strv_length((char *const *)base);
	char **env = calloc(n_base + n_extra + 1, sizeof(char *));
	if (!env)
		return -CNI_ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < n_base; i++) {
		if (env_set(env, &n, strdup(base[i])) < 0)
			goto oom;
	}
	for (size_t i = 0; i < n_extra; i++) {
		if (env_set(env, &n, TAKE_PTR(extra[i])) < 0)
			goto oom;
	}
	env[n] = NULL;
	*out = env;
	return 0;
oom:
	env[n] = NULL;
	cni_strv_free(env);
	return -CNI_ERR_NOMEM;
}

int cni_exec_args_to_env(const cni_exec_args *args, const char *const *base_env, char ***out,
			 cni_error **err)
{
	if (!args || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_exec_args_to_env: args and out are required");
	if (args->n_plugin_args && !args->plugin_args)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_exec_args_to_env: n_plugin_args is %zu but plugin_args "
				     "is NULL",
				     args->n_plugin_args);

	_cleanup_free_ char *joined = NULL;
	const char *args_str = args->plugin_args_str;
	if (isempty(args_str)) {
		joined = join_plugin_args(args);
		if (!joined)
			return cni_oom(err);
		args_str = joined;
	}

	char *extra[] = {
	    cni_strdupf("CNI_COMMAND=%s", strempty(args->command)),
	    cni_strdupf("CNI_CONTAINERID=%s", strempty(args->container_id)),
	    cni_strdupf("CNI_NETNS=%s", strempty(args->netns)),
	    cni_strdupf("CNI_ARGS=%s", args_str),
	    cni_strdupf("CNI_IFNAME=%s", strempty(args->ifname)),
	    cni_strdupf("CNI_PATH=%s", strempty(args->path)),
	};
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		if (!extra[i])
			r = -CNI_ERR_NOMEM;
	if (r == 0)
		r = env_merge(base_env, extra, ARRAY_SIZE(extra), out);
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		free(extra[i]);
	return r < 0 ? cni_oom(err) : 0;
}

/* ---- running a plugin ---- */

/* Everything one run produced; owned by the caller of run_plugin(). */
typedef struct plugin_run {
	cni_buf out;
	char *tail; /* last tail_cap bytes of stderr (not NUL-terminated) */
	size_t tail_cap;
	size_t tail_len;
	bool tail_cut; /* earlier stderr was dropped */
	int status;    /* waitpid() status */
} plugin_run;

static void plugin_run_done(plugin_run *pr)
{
	cni_buf_free(&pr->out);
	free(pr->tail);
}

static void tail_add(plugin_run *pr, const char *data, size_t len)
{
	if (len >= pr->tail_cap) {
		pr->tail_cut = pr->tail_cut || pr->tail_len > 0 || len > pr->tail_cap;
		memcpy(pr->tail, data + len - pr->tail_cap, pr->tail_cap);
		pr->tail_len = pr->tail_cap;
		return;
	}
	if (pr->tail_len + len > pr->tail_cap) {
		size_t drop = pr->tail_len + len - pr->tail_cap;
		memmove(pr->tail, pr->tail + drop, pr->tail_len - drop);
		pr->tail_len -= drop;
		pr->tail_cut = true;
	}
	memcpy(pr->tail + pr->tail_len, data, len);
	pr->tail_len += len;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/*
 * Keep our pipe ends away from 0..2: if the caller closed its stdio, pipe2() may hand
 * those out, and dup2() onto the same number would not clear close-on-exec.
 */
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

static int pidfd_open_child(pid_t pid)
{
#ifdef SYS_pidfd_open
	/* pidfd_open() descriptors are always close-on-exec. */
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static void reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

static int spawn_child(const char *path, char *const *envp, const int child_fds[3], pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	r = posix_spawnattr_init(&attr);
	if (r) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	for (int i = 0; i < 3 && !r; i++)
		r = posix_spawn_file_actions_adddup2(&fa, child_fds[i], i);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* Descriptors the caller left inheritable must not reach the plugin either. */
	if (!r)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
	/* The plugin starts with no blocked signals and default dispositions (a caller that
	 * ignores SIGPIPE must not pass that on). */
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
	for (int attempt = 0; !r; attempt++) {
		r = posix_spawn(pid, path, &fa, &attr, (char *const[]){(char *)path, NULL}, envp);
		/* The plugin may be being written right now (an upgrade): try again shortly. */
		if (r != ETXTBSY || attempt >= TXTBSY_RETRIES)
			break;
		sleep_ms(TXTBSY_SLEEP_MS * (unsigned int)(attempt + 1));
		r = 0;
	}
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

enum run_outcome { RUN_EXITED, RUN_TIMEOUT, RUN_OVERFLOW };

/*
 * The I/O loop. Ends when the plugin has exited and its pipes are drained, when the
 * deadline passes, or when stdout grows past max_out; in the last two cases the plugin
 * is killed. The child is always reaped before returning.
 */
static int pump(pid_t pid, int pidfd, int fds[3], const char *in, size_t in_len, int64_t deadline,
		size_t max_out, plugin_run *pr, enum run_outcome *outcome, bool *got_epipe)
{
	size_t in_off = 0;
	bool exited = false;
	unsigned int drained = 0;
	char *chunk = malloc(READ_CHUNK);
	int r = 0;

	if (!chunk) {
		r = -ENOMEM;
		goto kill;
	}
	if (in_len == 0)
		close_fd(&fds[0]);

	for (;;) {
		struct pollfd pfd[4];
		int idx[4], np = 0;

		for (int i = 0; i < 3; i++) {
			if (fds[i] < 0)
				continue;
			pfd[np] = (struct pollfd){fds[i], i == 0 ? POLLOUT : POLLIN, 0};
			idx[np++] = i;
		}
		if (pidfd >= 0 && !exited) {
			pfd[np] = (struct pollfd){pidfd, POLLIN, 0};
			idx[np++] = 3;
		}
		/* Done when stdout and stderr are closed and (with a pidfd) the child exited. */
		if (fds[1] < 0 && fds[2] < 0 && (pidfd < 0 || exited))
			break;

		int wait = -1;
		if (exited) {
			/* Whatever the plugin wrote is already in the pipes; do not wait for
			 * a grandchild that may hold them open. */
			wait = 0;
		} else if (deadline) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				*outcome = RUN_TIMEOUT;
				goto kill;
			}
			wait = left > INT_MAX ? INT_MAX : (int)left;
		}
		int n = poll(pfd, (nfds_t)np, wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto kill;
		}
		if (n == 0 || (exited && ++drained > DRAIN_CHUNKS)) {
			if (exited) {
				close_fd(&fds[1]);
				close_fd(&fds[2]);
			}
			continue; /* or the deadline check above fires */
		}
		for (int k = 0; k < np; k++) {
			int i = idx[k];
			if (!pfd[k].revents)
				continue;
			if (i == 3) {
				exited = true;
				close_fd(&fds[0]);
			} else if (i == 0) {
				ssize_t w = write(fds[0], in + in_off, in_len - in_off);
				if (w < 0 && errno == EPIPE)
					*got_epipe = true;
				if (w < 0 && errno != EAGAIN && errno != EINTR) {
					/* The plugin closed stdin early; like the reference
					 * we do not treat that as a failure by itself. */
					close_fd(&fds[0]);
				} else if (w > 0) {
					in_off += (size_t)w;
					if (in_off == in_len)
						close_fd(&fds[0]);
				}
			} else {
				ssize_t rd = read(fds[i], chunk, READ_CHUNK);
				if (rd < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (rd <= 0) {
					close_fd(&fds[i]);
				} else if (i == 1) {
					if (pr->out.len + (size_t)rd > max_out) {
						*outcome = RUN_OVERFLOW;
						goto kill;
					}
					if (cni_buf_append(&pr->out, chunk, (size_t)rd) < 0) {
						r = -ENOMEM;
						goto kill;
					}
				} else {
					tail_add(pr, chunk, (size_t)rd);
				}
			}
		}
	}
	free(chunk);
	close_fd(&fds[0]);

	if (pidfd >= 0 || !deadline) {
		reap(pid, &pr->status);
		return 0;
	}
	/* No pidfd: the pipes are closed but the plugin may still be running. */
	for (;;) {
		pid_t w = waitpid(pid, &pr->status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline) {
			*outcome = RUN_TIMEOUT;
			break;
		}
		sleep_ms(5);
	}
	chunk = NULL;

kill:
	free(chunk);
	kill(pid, SIGKILL);
	reap(pid, &pr->status);
	return r;
}

static int run_plugin(const char *path, char *const *envp, const char *in, size_t in_len,
		      const cni_exec_options *opts, plugin_run *pr, enum run_outcome *outcome,
		      cni_error **err)
{
	unsigned int timeout_ms = opts ? opts->timeout_ms : 0;
	size_t max_out = opts && opts->max_output ? opts->max_output : DEFAULT_MAX_OUTPUT;
	int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
	int parent[3] = {-1, -1, -1}, child[3] = {-1, -1, -1};
	int pidfd = -1, r = 0;
	pid_t pid = 0;

	pr->tail_cap = opts && opts->stderr_tail ? opts->stderr_tail : DEFAULT_STDERR_TAIL;
	pr->tail = malloc(pr->tail_cap);
	if (!pr->tail)
		return cni_oom(err);

	for (int i = 0; i < 3; i++) {
		if (pipe2(pipes[i], O_CLOEXEC) < 0) {
			r = cni_error_set(err, CNI_ERR_SYSTEM, NULL,
					  "failed to create pipes for plugin \"%s\": %s", path,
					  strerror(errno));
			goto out;
		}
		/* stdin: the child reads [0], we write [1]; stdout/stderr the other way. */
		child[i] = pipes[i][i == 0 ? 0 : 1];
		parent[i] = pipes[i][i == 0 ? 1 : 0];
		int e = fd_above_stdio(&child[i]);
		if (!e)
			e = fd_above_stdio(&parent[i]);
		if (!e)
			e = set_nonblock(parent[i]);
		pipes[i][0] = pipes[i][1] = -1; /* now tracked in parent[] and child[] */
		if (e) {
			r = cni_error_set(err, CNI_ERR_SYSTEM, NULL,
					  "failed to set up pipes for plugin \"%s\": %s", path,
					  strerror(-e));
			goto out;
		}
	}

	/* +1: now_ms() truncates, so the plugin always gets at least timeout_ms */
	int64_t deadline = timeout_ms ? now_ms() + timeout_ms + 1 : 0;
	r = spawn_child(path, envp ? envp : environ, child, &pid);
	for (int i = 0; i < 3; i++)
		close_fd(&child[i]);
	if (r < 0) {
		r = cni_error_set(err, CNI_ERR_EXEC, NULL, "failed to run plugin \"%s\": %s", path,
				  strerror(-r));
		goto out;
	}
	pidfd = pidfd_open_child(pid);

	/*
	 * Writing to a plugin that stopped reading raises SIGPIPE in this thread. Block it
	 * here (only in this thread, the process's dispositions stay as they are) and
	 * swallow the one our write caused, so the caller never sees it.
	 */
	sigset_t pipe_set, old_mask, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
	bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	bool got_epipe = false;

	*outcome = RUN_EXITED;
	r = pump(pid, pidfd, parent, in, in_len, deadline, max_out, pr, outcome, &got_epipe);

	if (got_epipe && !was_pending) {
		const struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

	if (r < 0)
		r = cni_error_set(err, r == -ENOMEM ? CNI_ERR_NOMEM : CNI_ERR_SYSTEM, NULL,
				  "failed to run plugin \"%s\": %s", path, strerror(-r));
out:
	for (int i = 0; i < 3; i++) {
		close_fd(&parent[i]);
		close_fd(&child[i]);
		close_fd(&pipes[i][0]);
		close_fd(&pipes[i][1]);
	}
	close_fd(&pidfd);
	return r;
}

static int how_it_ended(cni_buf *b, int status)
{
	if (WIFEXITED(status))
		return cni_buf_printf(b, "exit status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));
		if (abbrev)
			return cni_buf_printf(b, "killed by signal SIG%s", abbrev);
		return cni_buf_printf(b, "killed by signal %d", WTERMSIG(status));
	}
	return cni_buf_printf(b, "wait status %#x", (unsigned int)status);
}

static int quote_tail(cni_buf *b, const plugin_run *pr)
{
	_cleanup_free_ char *t = malloc(pr->tail_len + 4);
	if (!t)
		return -CNI_ERR_NOMEM;
	size_t off = 0;
	if (pr->tail_cut) {
		memcpy(t, "...", 3);
		off = 3;
	}
	memcpy(t + off, pr->tail, pr->tail_len);
	t[off + pr->tail_len] = '\0';
	/* A NUL inside stderr would end the quoted text early; the message stays valid. */
	return cni_buf_go_quote(b, t);
}

/*
 * The plugin failed and printed error JSON (the spec's way): take it as it is. The
 * reference decodes into types.Error, which accepts any object (missing code = 0) but
 * rejects mistyped fields; the same rules here. Returns 1 when stdout is not an error
 * object (*why says why).
 */
static int error_from_stdout(const plugin_run *pr, cni_error **out, char **why)
{
	json_error_t jerr;
	_cleanup_json_ json_t *o = json_loadb(pr->out.data, pr->out.len, 0, &jerr);
	if (!o) {
		*why = cni_strdupf("%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
		return *why ? 1 : -CNI_ERR_NOMEM;
	}
	if (!json_is_object(o) && !json_is_null(o)) {
		*why = strdup("expected a JSON object");
		return *why ? 1 : -CNI_ERR_NOMEM;
	}
	json_t *code = json_object_get(o, "code");
	json_t *msg = json_object_get(o, "msg");
	json_t *details = json_object_get(o, "details");
	if ((code && !json_is_null(code) &&
	     (!json_is_integer(code) || json_integer_value(code) < 0 ||
	      json_integer_value(code) > INT_MAX)) ||
	    (msg && !json_is_null(msg) && !json_is_string(msg)) ||
	    (details && !json_is_null(details) && !json_is_string(details))) {
		*why = strdup("\"code\" must be a non-negative integer, \"msg\" and \"details\" "
			      "strings");
		return *why ? 1 : -CNI_ERR_NOMEM;
	}
	cni_error *e =
	    cni_error_new(json_is_integer(code) ? (int)json_integer_value(code) : 0,
			  json_string_value(details), "%s", strempty(json_string_value(msg)));
	if (!e)
		return -CNI_ERR_NOMEM;
	*out = e;
	return 0;
}

/* Build the error for a plugin that did not succeed. Always returns a negative code. */
static int plugin_failed(const char *path, const plugin_run *pr, enum run_outcome outcome,
			 size_t max_out, unsigned int timeout_ms, cni_error **err)
{
	cni_buf b = CNI_BUF_INIT;
	int code = CNI_ERR_EXEC, r = 0;

	if (outcome == RUN_EXITED && pr->out.len > 0) {
		cni_error *pe = NULL;
		_cleanup_free_ char *why = NULL;
		r = error_from_stdout(pr, &pe, &why);
		if (r < 0)
			return cni_oom(err);
		if (r == 0) {
			int c = cni_error_code(pe);
			if (err && !*err)
				*err = pe;
			else
				cni_error_free(pe);
			/* The plugin's own code stays in the error; a code of 0 (the
			 * reference's ErrUnknown) must still fail. */
			return c > 0 ? -c : -CNI_ERR_EXEC;
		}
		_cleanup_free_ char *head =
		    cni_strdupf("%.*s%s", QUOTE_STDOUT_MAX, pr->out.data,
				pr->out.len > QUOTE_STDOUT_MAX ? "..." : "");
		if (!head)
			return cni_oom(err);
		r = cni_buf_puts(&b, "netplugin failed but error parsing its diagnostic message ");
		if (!r)
			r = cni_buf_go_quote(&b, head);
		if (!r)
			r = cni_buf_printf(&b, ": %s: plugin \"%s\": ", why, path);
		if (!r)
			r = how_it_ended(&b, pr->status);
		if (!r && pr->tail_len) {
			r = cni_buf_puts(&b, ", stderr ");
			if (!r)
				r = quote_tail(&b, pr);
		}
	} else if (outcome == RUN_TIMEOUT || outcome == RUN_OVERFLOW) {
		if (outcome == RUN_TIMEOUT) {
			code = CNI_ERR_TIMEOUT;
			r = cni_buf_printf(&b, "plugin \"%s\" timed out after %u ms", path,
					   timeout_ms);
		} else {
			r = cni_buf_printf(&b, "plugin \"%s\" wrote more than %zu bytes to stdout",
					   path, max_out);
		}
		if (!r && pr->tail_len) {
			r = cni_buf_puts(&b, ": stderr ");
			if (!r)
				r = quote_tail(&b, pr);
		}
	} else if (pr->tail_len) {
		r = cni_buf_puts(&b, "netplugin failed: ");
		if (!r)
			r = quote_tail(&b, pr);
		if (!r)
			r = cni_buf_printf(&b, ": plugin \"%s\": ", path);
		if (!r)
			r = how_it_ended(&b, pr->status);
	} else {
		r = cni_buf_printf(&b,
				   "netplugin failed with no error message: plugin \"%s\": ", path);
		if (!r)
			r = how_it_ended(&b, pr->status);
	}
	if (r) {
		cni_buf_free(&b);
		return cni_oom(err);
	}
	r = cni_error_set(err, code, NULL, "%s", b.data);
	cni_buf_free(&b);
	return r;
}

int cni_exec_plugin_raw(const char *plugin_path, const char *const *envp, const char *stdin_data,
			size_t stdin_len, const cni_exec_options *opts, char **out, size_t *out_len,
			cni_error **err)
{
	if (isempty(plugin_path))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "no plugin path provided");
	if (!stdin_data && stdin_len)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "stdin_data is NULL but stdin_len is %zu", stdin_len);

	plugin_run pr = {CNI_BUF_INIT, NULL, 0, 0, false, 0};
	enum run_outcome outcome = RUN_EXITED;
	int r = run_plugin(plugin_path, (char *const *)envp, stdin_data, stdin_len, opts, &pr,
			   &outcome, err);
	if (r < 0)
		goto done;
	if (outcome != RUN_EXITED || !WIFEXITED(pr.status) || WEXITSTATUS(pr.status) != 0) {
		r = plugin_failed(plugin_path, &pr, outcome,
				  opts && opts->max_output ? opts->max_output : DEFAULT_MAX_OUTPUT,
				  opts ? opts->timeout_ms : 0, err);
		goto done;
	}
	/* Success. The plugin's stderr is informational; the library prints nothing. */
	if (out_len)
		*out_len = pr.out.len;
	if (out) {
		*out = cni_buf_steal(&pr.out);
		if (!*out)
			r = cni_oom(err);
	}
done:
	plugin_run_done(&pr);
	return r;
}

/* ---- with and without a result ---- */

static int exec_with_env(const char *plugin_path, const char *conf, size_t conf_len,
			 const cni_exec_args *args, const cni_exec_options *opts, char **out,
			 size_t *out_len, cni_error **err)
{
	_cleanup_strv_ char **env = NULL;
	int r = cni_exec_args_to_env(args, opts ? opts->base_env : NULL, &env, err);
	if (r < 0)
		return r;
	return cni_exec_plugin_raw(plugin_path, (const char *const *)env, conf, conf_len, opts, out,
				   out_len, err);
}

/* ConfigDecoder: the config's cniVersion, "" or missing meaning 0.1.0. */
static int conf_version(const char *conf, size_t len, char **out, cni_error **err)
{
	json_error_t jerr;
	_cleanup_json_ json_t *o = json_loadb(conf ? conf : "", conf ? len : 0, 0, &jerr);
	if (!o)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "decoding version from network config: %s", jerr.text);
	if (!json_is_object(o))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "decoding version from network config: expected a JSON "
				     "object");
	json_t *v = json_object_get(o, "cniVersion");
	if (v && !json_is_null(v) && !json_is_string(v))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "decoding version from network config: \"cniVersion\" must "
				     "be a string");
	const char *s = json_string_value(v);
	*out = strdup(isempty(s) ? "0.1.0" : s);
	return *out ? 0 : cni_oom(err);
}

/* A result without cniVersion is taken to be in the config's version (issue #895). */
static int parse_result(const char *conf, size_t conf_len, const char *stdout_data,
			size_t stdout_len, cni_result **out, cni_error **err)
{
	_cleanup_free_ char *cv = NULL;
	int r = conf_version(conf, conf_len, &cv, err);
	if (r < 0)
		return r;

	json_error_t jerr;
	_cleanup_json_ json_t *o = json_loadb(stdout_data, stdout_len, 0, &jerr);
	if (!o)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to unmarshal raw result: %s", jerr.text);
	if (json_is_null(o)) {
		json_decref(o);
		o = json_object();
		if (!o)
			return cni_oom(err);
	}
	if (!json_is_object(o))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to unmarshal raw result: expected a JSON object");

	const char *rv = cni_json_get_string(o, "cniVersion");
	if (!isempty(rv))
		return cni_result_from_json(out, rv, stdout_data, stdout_len, err);

	if (json_object_set_new(o, "cniVersion", json_string(cv)) < 0)
		return cni_oom(err);
	_cleanup_free_ char *fixed = cni_json_dump_compact(o);
	if (!fixed)
		return cni_oom(err);
	return cni_result_from_json(out, cv, fixed, strlen(fixed), err);
}

int cni_exec_plugin_with_result(const char *plugin_path, const char *conf, size_t conf_len,
				const cni_exec_args *args, const cni_exec_options *opts,
				cni_result **out, cni_error **err)
{
	if (!out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_exec_plugin_with_result: out is required");
	_cleanup_free_ char *stdout_data = NULL;
	size_t stdout_len = 0;
	int r =
	    exec_with_env(plugin_path, conf, conf_len, args, opts, &stdout_data, &stdout_len, err);
	if (r < 0)
		return r;
	return parse_result(conf, conf_len, stdout_data, stdout_len, out, err);
}

int cni_exec_plugin_without_result(const char *plugin_path, const char *conf, size_t conf_len,
				   const cni_exec_args *args, const cni_exec_options *opts,
				   cni_error **err)
{
	return exec_with_env(plugin_path, conf, conf_len, args, opts, NULL, NULL, err);
}

/* ---- VERSION ---- */

int cni_get_version_info(const char *plugin_path, const cni_exec_options *opts,
			 cni_plugin_info **out, cni_error **err)
{
	if (!out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_get_version_info: out is required");
	/* Plugins built with an old skel insist on these being set. */
	cni_exec_args args = CNI_EXEC_ARGS_INIT;
	args.command = "VERSION";
	args.netns = "dummy";
	args.ifname = "dummy";
	args.path = "dummy";

	_cleanup_free_ char *in = cni_strdupf("{\"cniVersion\":\"%s\"}", cni_version_current());
	if (!in)
		return cni_oom(err);

	_cleanup_free_ char *reply = NULL;
	size_t reply_len = 0;
	_cleanup_error_ cni_error *e = NULL;
	int r = exec_with_env(plugin_path, in, strlen(in), &args, opts, &reply, &reply_len, &e);
	if (r < 0) {
		/* A plugin older than VERSION answers this way; it speaks 0.1.0 only. */
		if (e && streq(cni_error_msg(e), "unknown CNI_COMMAND: VERSION") &&
		    isempty(cni_error_details(e))) {
			static const char *const legacy[] = {"0.1.0", NULL};
			return cni_plugin_info_new(out, legacy, err);
		}
		if (err && !*err)
			*err = TAKE_PTR(e);
		return r;
	}
	return cni_plugin_info_decode(out, reply, reply_len, err);
}

/* ---- delegation ---- */

static int delegate(const char *type, const char *verb, const char *conf, size_t conf_len,
		    cni_result **out, cni_error **err)
{
	_cleanup_strv_ char **paths = NULL;
	int r = cni_split_path(getenv("CNI_PATH"), &paths, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *plugin = NULL;
	r = cni_find_in_path(type, (const char *const *)paths, &plugin, err);
	if (r < 0)
		return r;

	/* The inherited environment with only CNI_COMMAND replaced (DelegateArgs). */
	char *extra[] = {cni_strdupf("CNI_COMMAND=%s", verb)};
	if (!extra[0])
		return cni_oom(err);
	_cleanup_strv_ char **env = NULL;
	r = env_merge(NULL, extra, 1, &env);
	free(extra[0]);
	if (r < 0)
		return cni_oom(err);

	_cleanup_free_ char *stdout_data = NULL;
	size_t stdout_len = 0;
	r = cni_exec_plugin_raw(plugin, (const char *const *)env, conf, conf_len, NULL,
				out ? &stdout_data : NULL, out ? &stdout_len : NULL, err);
	if (r < 0 || !out)
		return r;
	return parse_result(conf, conf_len, stdout_data, stdout_len, out, err);
}

int cni_delegate_add(const char *type, const char *conf, size_t conf_len, cni_result **out,
		     cni_error **err)
{
	if (!out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_delegate_add: out is required");
	return delegate(type, "ADD", conf, conf_len, out, err);
}

int cni_delegate_check(const char *type, const char *conf, size_t conf_len, cni_error **err)
{
	return delegate(type, "CHECK", conf, conf_len, NULL, err);
}

int cni_delegate_del(const char *type, const char *conf, size_t conf_len, cni_error **err)
{
	return delegate(type, "DEL", conf, conf_len, NULL, err);
}

int cni_delegate_gc(const char *type, const char *conf, size_t conf_len, cni_error **err)
{
	return delegate(type, "GC", conf, conf_len, NULL, err);
}

int cni_delegate_status(const char *type, const char *conf, size_t conf_len, cni_error **err)
{
	return delegate(type, "STATUS", conf, conf_len, NULL, err);
}
