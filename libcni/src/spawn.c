/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running a child: the only place the library starts a process. cni_spawn_run() with its
 * stdio on pipes (plugins for invoke.c, iptables tools for netfilter.c); cni_spawn_start()
 * and cni_spawn_wait() with files (ipmasq.c's tools side by side, nft for nft-dl.c).
 *
 * The child runs (clone, as posix_spawn, see child_main()) with exactly three pipes as its
 * stdio and dies with its parent; every other descriptor is closed in the child, and all
 * of ours are close-on-exec, so parallel callers never leak pipes into each other's
 * children. One poll() loop writes stdin and reads stdout and stderr together, so neither
 * side can block the other whatever the sizes. Nothing here is global: each call owns its
 * pipes, buffers and child.
 */
#include "spawn-internal.h"
#include "buf-internal.h"
#include "file-internal.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

/* The reference retries "text file busy" five times; we wait 100 ms, 200 ms, ... */
#define TXTBSY_RETRIES	5
#define TXTBSY_SLEEP_MS 100
#define READ_CHUNK	65536
/* After the child exited, read at most this many chunks still in its pipes. */
#define DRAIN_CHUNKS 64

void cni_spawn_result_free(cni_spawn_result *res)
{
	cni_buf_free(&res->out);
	cni_buf_free(&res->err);
}

/* err_tail mode: res->err was sized for max_err bytes up front, so this never allocates. */
static void tail_add(cni_spawn_result *res, size_t cap, const char *data, size_t len)
{
	cni_buf *t = &res->err;

	if (len >= cap) {
		res->err_cut = res->err_cut || t->len > 0 || len > cap;
		memcpy(t->data, data + len - cap, cap);
		t->len = cap;
	} else {
		if (t->len + len > cap) {
			size_t drop = t->len + len - cap;
			memmove(t->data, t->data + drop, t->len - drop);
			t->len -= drop;
			res->err_cut = true;
		}
		memcpy(t->data + t->len, data, len);
		t->len += len;
	}
	t->data[t->len] = '\0';
}

/* err_tail mode: size res->err once, so keeping the tail never allocates later. */
static int err_tail_init(const cni_spawn_opts *o, cni_spawn_result *res)
{
	if (!o->err_tail)
		return 0;
	res->err.data = o->max_err < SIZE_MAX ? malloc(o->max_err + 1) : NULL;
	if (!res->err.data)
		return -ENOMEM;
	res->err.cap = o->max_err + 1;
	res->err.len = 0;
	res->err.data[0] = '\0';
	return 0;
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

/* What the child needs between clone() and execve(). */
struct child_args {
	char *const *argv, *const *envp;
	const int *fds;
	bool own_group;
	pid_t parent;
	int report; /* write end of a close-on-exec pipe: a failed step's errno */
};

/*
 * The child, on the parent's memory until it execs (CLONE_VM | CLONE_VFORK, as
 * posix_spawn does): only system calls here. Its stdio are the three descriptors, every
 * other one is closed, signals are at their defaults and unblocked (a caller that ignores
 * SIGPIPE must not pass that on), and it dies with the thread that started it
 * (PR_SET_PDEATHSIG): a plugin killed by its runtime leaves no iptables-restore or
 * delegated plugin running on, to finish an ADD behind the runtime's DEL.
 */
static int child_main(void *p)
{
	const struct child_args *a = p;
	struct sigaction dfl;
	sigset_t none;
	int e;

	for (int i = 0; i < 3; i++) {
		if (a->fds[i] == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(a->fds[i], i) < 0)
			goto fail;
	}
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* (the numbers glibc reserves just fail) */
	if (a->own_group && setpgid(0, 0) < 0)
		goto fail;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		goto fail;
	if (getppid() != a->parent)
		_exit(127); /* the parent is gone already */
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		goto fail;
	/* descriptors the caller left inheritable must not reach the child: all above 2
	 * close at exec, the report pipe among them */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
#endif
		for (int fd = 3; fd < 1024; fd++)
			if (fd != a->report)
				close(fd);
	execve(a->argv[0], a->argv, a->envp);
fail:
	e = errno;
	if (write(a->report, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

/* One clone of the child; 0 with *pid, or -errno (of the clone, or of the child's failed
 * step, the child then reaped). */
static int spawn_once(const struct child_args *a, pid_t *pid)
{
	enum { STACK_SIZE = 64 * 1024 };
	struct child_args args = *a;
	sigset_t all, old;
	int pfd[2], e = 0;
	char *stack = malloc(STACK_SIZE);

	if (!stack)
		return -ENOMEM;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		e = errno;
		free(stack);
		return -e;
	}
	args.report = pfd[1];
	args.parent = getpid();
	/* no handler of ours may run in the child before it resets them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t c = clone(child_main, stack + STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
	if (c < 0)
		e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(pfd[1]);
	if (c >= 0) {
		ssize_t n;
		while ((n = read(pfd[0], &e, sizeof(e))) < 0 && errno == EINTR)
			;
		if (n != (ssize_t)sizeof(e))
			e = 0; /* nothing to report: it runs */
		if (e)
			reap(c, &(int){0});
		else
			*pid = c;
	}
	close(pfd[0]);
	free(stack);
	return -e;
}

/* own_group: the child leads a new process group (pgid = its pid), see pump()'s kill. */
static int spawn_child(char *const *argv, char *const *envp, const int child_fds[3], bool own_group,
		       pid_t *pid)
{
	const struct child_args a = {argv, envp, child_fds, own_group, 0, -1};
	int r;
	for (int attempt = 0;; attempt++) {
		r = spawn_once(&a, pid);
		/* The program may be being written right now (an upgrade): try again shortly. */
		if (r != -ETXTBSY || attempt >= TXTBSY_RETRIES)
			break;
		sleep_ms(TXTBSY_SLEEP_MS * (unsigned int)(attempt + 1));
	}
	return r;
}

/* Keep what the child wrote to fd i (1 or 2); false when that ends the run. */
static bool take_output(const cni_spawn_opts *o, cni_spawn_result *res, int i, const char *chunk,
			size_t len, int *r)
{
	if (i == 2 && o->err_tail) {
		tail_add(res, o->max_err, chunk, len);
		return true;
	}
	cni_buf *b = i == 1 ? &res->out : &res->err;
	if (b->len + len > (i == 1 ? o->max_out : o->max_err)) {
		res->end = CNI_SPAWN_OVERFLOW;
		return false;
	}
	if (cni_buf_append(b, chunk, len) < 0) {
		*r = -ENOMEM;
		return false;
	}
	return true;
}

/*
 * The I/O loop. Ends when the child has exited and its pipes are drained, when the
 * deadline passes, or when its output grows past the limits; in the last two cases the
 * child is killed. The child is always reaped before returning.
 */
static int pump(pid_t pid, int pidfd, int fds[3], const cni_spawn_opts *o, int64_t deadline,
		cni_spawn_result *res, bool *got_epipe)
{
	const char *in = o->in;
	size_t in_len = o->in_len, in_off = 0;
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
			/* Whatever the child wrote is already in the pipes; do not wait for
			 * a grandchild that may hold them open. */
			wait = 0;
		} else if (deadline) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				res->end = CNI_SPAWN_TIMEOUT;
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
				if (w < 0 && errno != EAGAIN && errno != EINTR && errno != EPIPE) {
					/* The child would read a cut input as a whole one (an
					 * iptables-restore given nothing changes nothing and
					 * exits 0): the run fails. */
					r = -errno;
					goto kill;
				} else if (w < 0 && errno == EPIPE) {
					/* The child closed stdin early; like the reference we
					 * do not treat that as a failure by itself. */
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
				if (rd <= 0)
					close_fd(&fds[i]);
				else if (!take_output(o, res, i, chunk, (size_t)rd, &r))
					goto kill;
			}
		}
	}
	free(chunk);
	close_fd(&fds[0]);
	if (o->in_all_read && in_off < in_len)
		res->in_unread = true;

	if (pidfd >= 0 || !deadline) {
		reap(pid, &res->status);
		return 0;
	}
	/* No pidfd: the pipes are closed but the child may still be running. */
	for (;;) {
		pid_t w = waitpid(pid, &res->status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline) {
			res->end = CNI_SPAWN_TIMEOUT;
			break;
		}
		sleep_ms(5);
	}
	chunk = NULL;

kill:
	free(chunk);
	/* With a deadline the child leads its own process group: whatever it started (and
	 * did not move elsewhere) goes with it. The group exists until the child is reaped. */
	if (deadline)
		kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	reap(pid, &res->status);
	return r;
}

static int failed_at(enum cni_spawn_step *failed, enum cni_spawn_step step, int r)
{
	if (failed)
		*failed = step;
	return r;
}

int cni_spawn_run(char *const *argv, char *const *envp, const cni_spawn_opts *opts,
		  cni_spawn_result *res, enum cni_spawn_step *failed)
{
	int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
	int parent[3] = {-1, -1, -1}, child[3] = {-1, -1, -1};
	int pidfd = -1, r = 0;
	pid_t pid = 0;

	res->end = CNI_SPAWN_EXITED;
	if (err_tail_init(opts, res) < 0)
		return failed_at(failed, CNI_SPAWN_STEP_ALLOC, -ENOMEM);

	for (int i = 0; i < 3; i++) {
		if (pipe2(pipes[i], O_CLOEXEC) < 0) {
			r = failed_at(failed, CNI_SPAWN_STEP_PIPES, -errno);
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
			r = failed_at(failed, CNI_SPAWN_STEP_SETUP, e);
			goto out;
		}
	}

	/* +1: now_ms() truncates, so the child always gets at least timeout_ms */
	int64_t deadline = opts->timeout_ms ? now_ms() + opts->timeout_ms + 1 : 0;
	r = spawn_child(argv, envp ? envp : environ, child, deadline != 0, &pid);
	/* in_all_read: stdin's read end stays open here, to count what the child left in it
	 * (a tool that takes a failed read for the end of its input exits 0 having done
	 * nothing) */
	for (int i = 0; i < 3; i++)
		if (i > 0 || !opts->in_all_read || r < 0)
			close_fd(&child[i]);
	if (r < 0) {
		r = failed_at(failed, CNI_SPAWN_STEP_EXEC, r);
		goto out;
	}
	pidfd = pidfd_open_child(pid);

	/*
	 * Writing to a child that stopped reading raises SIGPIPE in this thread. Block it
	 * here (only in this thread, the process's dispositions stay as they are) and
	 * swallow the one our write caused, so the caller never sees it.
	 */
	sigset_t pipe_set, old_mask, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
	bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	bool got_epipe = false;

	r = pump(pid, pidfd, parent, opts, deadline, res, &got_epipe);
	int unread = 0;
	if (r == 0 && child[0] >= 0 && ioctl(child[0], FIONREAD, &unread) == 0 && unread > 0)
		res->in_unread = true;

	if (got_epipe && !was_pending) {
		const struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

	if (r < 0)
		r = failed_at(failed, CNI_SPAWN_STEP_IO, r);
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

/* ---- started now, collected later: stdio on files ---- */

struct cni_spawn_proc {
	pid_t pid;
	int pidfd;
	int out, err; /* memfds; err -1 when merged into out */
	int in;	      /* with opts.in_all_read: the stdin memfd, its offset the child's */
	int64_t deadline;
	cni_spawn_opts opts;
};

/* A memfd holding data (may be empty), above stdio; -errno on failure. */
static int memfd_new(const char *name, const char *data, size_t len)
{
	int fd = cni_memfd_with(name, data, len);
	int r = fd < 0 ? fd : fd_above_stdio(&fd);
	if (r < 0 && fd >= 0)
		close(fd);
	return r < 0 ? r : fd;
}

static void proc_free(cni_spawn_proc *p)
{
	close_fd(&p->in);
	close_fd(&p->pidfd);
	close_fd(&p->out);
	close_fd(&p->err);
	free(p);
}

int cni_spawn_start(char *const *argv, char *const *envp, const cni_spawn_opts *opts,
		    cni_spawn_proc **out, enum cni_spawn_step *failed)
{
	cni_spawn_proc *p = calloc(1, sizeof(*p));
	int in = -1, r;
	if (!p)
		return failed_at(failed, CNI_SPAWN_STEP_ALLOC, -ENOMEM);
	p->pidfd = p->out = p->err = p->in = -1;
	p->opts = *opts;
	if (opts->in_is_fd) {
		in = fcntl(opts->in_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		r = in < 0 ? -errno : 0;
	} else {
		in = memfd_new("cni-spawn-in", opts->in, opts->in ? opts->in_len : 0);
		r = in < 0 ? in : 0;
	}
	if (r == 0 && (p->out = memfd_new("cni-spawn-out", NULL, 0)) < 0)
		r = p->out;
	if (r == 0 && !opts->merge_err && (p->err = memfd_new("cni-spawn-err", NULL, 0)) < 0)
		r = p->err;
	if (r < 0) {
		if (in >= 0)
			close(in);
		proc_free(p);
		return failed_at(failed, CNI_SPAWN_STEP_PIPES, r);
	}
	const int child[3] = {in, p->out, opts->merge_err ? p->out : p->err};
	p->deadline = opts->timeout_ms ? now_ms() + opts->timeout_ms + 1 : 0;
	r = spawn_child(argv, envp ? envp : environ, child, p->deadline != 0, &p->pid);
	if (opts->in_all_read && !opts->in_is_fd && r == 0)
		p->in = in; /* the child shares its offset: what it read, see cni_spawn_wait() */
	else
		close(in);
	if (r < 0) {
		proc_free(p);
		return failed_at(failed, CNI_SPAWN_STEP_EXEC, r);
	}
	p->pidfd = pidfd_open_child(p->pid);
	*out = p;
	return 0;
}

/* Whether p exited before its deadline (reaped, status set); false: it is still running. */
static bool wait_until_deadline(cni_spawn_proc *p, int *status)
{
	for (;;) {
		int64_t left = p->deadline - now_ms();
		if (left <= 0)
			return false;
		if (p->pidfd >= 0) {
			struct pollfd pfd = {p->pidfd, POLLIN, 0};
			int n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
			if (n > 0) {
				reap(p->pid, status);
				return true;
			}
			if (n < 0 && errno != EINTR)
				close_fd(&p->pidfd); /* fall back to polling waitpid */
			continue;
		}
		pid_t w = waitpid(p->pid, status, WNOHANG);
		if (w == p->pid)
			return true;
		sleep_ms(left < 5 ? (unsigned int)left : 5);
	}
}

/* Read memfd fd from its start into res's stream i (1 stdout, 2 stderr), within limits. */
static int collect(cni_spawn_proc *p, int fd, int i, cni_spawn_result *res)
{
	char chunk[READ_CHUNK];
	int r = 0;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 || !take_output(&p->opts, res, i, chunk, (size_t)n, &r))
			return r;
	}
}

int cni_spawn_wait(cni_spawn_proc *p, cni_spawn_result *res)
{
	int r = 0;
	if (!p)
		return -EINVAL;
	res->end = CNI_SPAWN_EXITED;
	if (!p->deadline)
		reap(p->pid, &res->status);
	else if (!wait_until_deadline(p, &res->status)) {
		res->end = CNI_SPAWN_TIMEOUT;
		kill(-p->pid, SIGKILL); /* and what it started in its group */
		kill(p->pid, SIGKILL);
		reap(p->pid, &res->status);
	}
	if (p->in >= 0 && lseek(p->in, 0, SEEK_CUR) < (off_t)p->opts.in_len)
		res->in_unread = true;
	r = err_tail_init(&p->opts, res);
	enum cni_spawn_end end = res->end;
	if (r == 0)
		r = collect(p, p->out, 1, res);
	if (r == 0 && p->err >= 0 && res->end != CNI_SPAWN_OVERFLOW)
		r = collect(p, p->err, 2, res);
	if (end == CNI_SPAWN_TIMEOUT)
		res->end = end;
	proc_free(p);
	return r;
}
