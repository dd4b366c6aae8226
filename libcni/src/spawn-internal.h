/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_SPAWN_INTERNAL_H
#define CNI_SPAWN_INTERNAL_H

/*
 * Running a child process: the one place the library starts processes. cni_spawn_run()
 * runs one to its end with its stdio on pipes (plugins for invoke.c, firewall tools for
 * netfilter.c); cni_spawn_start() and cni_spawn_wait() start one with files for its stdio
 * and collect it later, so that several run side by side (ipmasq.c) or one can read its
 * input twice (nft -j -f -, nft-dl.c). Never installed; not exported.
 */

#include "internal.h"
#include "buf-internal.h"

/* How the child's run ended (its wait status is in cni_spawn_result.status). */
enum cni_spawn_end {
	CNI_SPAWN_EXITED,   /* it exited or was killed by a signal on its own */
	CNI_SPAWN_TIMEOUT,  /* the deadline passed: we killed it */
	CNI_SPAWN_OVERFLOW, /* it wrote more than allowed: we killed it */
};

/* Which step failed when cni_spawn_run() returns an error. */
enum cni_spawn_step {
	CNI_SPAWN_STEP_ALLOC, /* the stderr tail buffer */
	CNI_SPAWN_STEP_PIPES, /* pipe2() */
	CNI_SPAWN_STEP_SETUP, /* moving the pipe ends above stdio, O_NONBLOCK */
	CNI_SPAWN_STEP_EXEC,  /* posix_spawn() and its attributes */
	CNI_SPAWN_STEP_IO,    /* the I/O loop; the child was killed and reaped */
};

typedef struct cni_spawn_opts {
	const char *in; /* written to the child's stdin, then stdin is closed */
	size_t in_len;
	unsigned int timeout_ms; /* 0: no deadline */
	size_t max_out;		 /* more stdout than this ends the run: CNI_SPAWN_OVERFLOW */
	size_t max_err;		 /* stderr bytes kept, see err_tail */
	bool err_tail; /* true: keep the last max_err bytes of stderr (err_cut tells whether
			* any were dropped); false: more stderr than that is an overflow too */
	/* the child should read all of in: res->in_unread says when it exited without (in
	 * cni_spawn_run() its early close of stdin is then no EPIPE, it is waited for; in
	 * cni_spawn_start(), with in/in_len, the memfd's offset tells) */
	bool in_all_read;
	/* cni_spawn_start() only: */
	bool in_is_fd;	/* stdin is in_fd (read from its offset) instead of in/in_len */
	int in_fd;
	bool merge_err; /* stderr goes where stdout goes (res->out), as a shell's 2>&1 */
} cni_spawn_opts;

/* Everything one run produced; free with cni_spawn_result_free(). */
typedef struct cni_spawn_result {
	cni_buf out;  /* stdout */
	cni_buf err;  /* stderr (or its tail), NUL-terminated when not empty */
	bool err_cut; /* earlier stderr was dropped (err_tail mode) */
	int status;   /* waitpid() status */
	enum cni_spawn_end end;
	bool in_unread; /* with opts.in_all_read: part of stdin was never read */
} cni_spawn_result;

#define CNI_SPAWN_RESULT_INIT {CNI_BUF_INIT, CNI_BUF_INIT, false, 0, CNI_SPAWN_EXITED, false}

void cni_spawn_result_free(cni_spawn_result *res);

/*
 * Run argv[0] (a path, not searched in $PATH) with argv and envp (NULL: the process
 * environment). The child gets exactly three pipes as its stdio, no other descriptor,
 * an empty signal mask and default dispositions; "text file busy" is retried a few
 * times. stdin, stdout and stderr go through one poll loop, so no size can deadlock.
 * SIGPIPE from writing to a child that stopped reading never reaches the caller.
 *
 * Returns 0 when the child ran and was reaped (res->end and res->status say how it
 * ended), or a negative errno with *failed (when not NULL) naming the step; res is filled
 * as far as the run went either way and must be freed by the caller.
 */
int cni_spawn_run(char *const *argv, char *const *envp, const cni_spawn_opts *opts,
		  cni_spawn_result *res, enum cni_spawn_step *failed);

/* A child started by cni_spawn_start(), not yet collected. */
typedef struct cni_spawn_proc cni_spawn_proc;

/*
 * Start argv as cni_spawn_run() does, but with files for its stdio: stdin from opts
 * (in_fd, or in/in_len through a memfd), stdout and stderr into memfds, so a child that
 * nobody reads from yet never blocks. opts is copied; the deadline (timeout_ms) runs from
 * now. Returns 0 and *out, or a negative errno with *failed (when not NULL) set.
 */
int cni_spawn_start(char *const *argv, char *const *envp, const cni_spawn_opts *opts,
		    cni_spawn_proc **out, enum cni_spawn_step *failed);

/*
 * Wait for p (killed when its deadline passes: CNI_SPAWN_TIMEOUT), then collect what it
 * wrote into res within max_out/max_err (more is CNI_SPAWN_OVERFLOW), and free p.
 * Returns 0 when the child was reaped, or a negative errno when its output could not be
 * read (it is reaped and p freed all the same).
 */
int cni_spawn_wait(cni_spawn_proc *p, cni_spawn_result *res);

#endif
