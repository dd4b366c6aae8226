/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spawn.c: running a child on three pipes: its output and status, large input and output
 * with no deadlock, a child that fails to start, times out, writes too much or stops
 * reading, and what it inherits; and the start/wait pair, whose children write to files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "buf-internal.h"
#include "file-internal.h"
#include "spawn-internal.h"

static const cni_spawn_opts plain = {.max_out = 1 << 20, .max_err = 1 << 16};

/* Run sh -c script with opts; returns cni_spawn_run()'s value. */
static int sh(const char *script, const cni_spawn_opts *o, cni_spawn_result *res,
	      enum cni_spawn_step *failed)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
	return cni_spawn_run(argv, NULL, o, res, failed);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_output_and_status(void **state)
{
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_opts o = plain;
	o.in = "hello";
	o.in_len = 5;
	assert_int_equal(sh("cat; echo; echo oops >&2; exit 3", &o, &res, NULL), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_true(WIFEXITED(res.status));
	assert_int_equal(WEXITSTATUS(res.status), 3);
	assert_string_equal(res.out.data, "hello\n");
	assert_string_equal(res.err.data, "oops\n");
	assert_false(res.err_cut);
	cni_spawn_result_free(&res);

	/* killed by a signal on its own: still EXITED, the status says how */
	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	assert_int_equal(sh("kill -TERM $$", &plain, &res, NULL), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_true(WIFSIGNALED(res.status));
	assert_int_equal(WTERMSIG(res.status), SIGTERM);
	assert_int_equal(res.out.len, 0);
	cni_spawn_result_free(&res);
}

/* The environment given, and only stdin, stdout and stderr open. */
static void test_environment_and_descriptors(void **state)
{
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	char *argv[] = {"/bin/sh", "-c", "echo \"$CNI_COMMAND\"; ls /proc/self/fd | wc -l", NULL};
	char *envp[] = {"CNI_COMMAND=VERSION", "PATH=/usr/bin:/bin", NULL};
	/* a descriptor of ours without close-on-exec must not leak in */
	int leak = dup(0);
	assert_true(leak >= 0);
	assert_int_equal(cni_spawn_run(argv, envp, &plain, &res, NULL), 0);
	close(leak);
	/* ls's own directory descriptor makes the fourth */
	assert_string_equal(res.out.data, "VERSION\n4\n");
	cni_spawn_result_free(&res);
}

/* A megabyte in and out through cat: stdin, stdout and stderr share one poll loop. */
static void test_large_input_no_deadlock(void **state)
{
	size_t n = 1 << 20;
	char *big = malloc(n);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 23);
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_opts o = plain;
	o.in = big;
	o.in_len = n;
	o.max_out = n;
	o.timeout_ms = 20000;
	assert_int_equal(sh("cat >&2", &o, &res, NULL), 0);
	/* stderr is capped at max_err (64k) and is not a tail: that is an overflow */
	assert_int_equal(res.end, CNI_SPAWN_OVERFLOW);
	cni_spawn_result_free(&res);

	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	assert_int_equal(sh("cat", &o, &res, NULL), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_int_equal(res.out.len, n);
	assert_memory_equal(res.out.data, big, n);
	cni_spawn_result_free(&res);
	free(big);
}

static void test_overflow_and_tail(void **state)
{
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_opts o = plain;
	o.max_out = 1000;
	int64_t t0 = now_ms();
	/* endless output: stopped at the limit and killed, not waited for */
	assert_int_equal(sh("yes", &o, &res, NULL), 0);
	assert_int_equal(res.end, CNI_SPAWN_OVERFLOW);
	assert_true(res.out.len <= 1000);
	assert_true(WIFSIGNALED(res.status));
	assert_int_equal(WTERMSIG(res.status), SIGKILL);
	assert_true(now_ms() - t0 < 5000);
	cni_spawn_result_free(&res);

	/* exactly the limit is fine */
	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	o.max_out = 4;
	assert_int_equal(sh("printf 1234", &o, &res, NULL), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_string_equal(res.out.data, "1234");
	cni_spawn_result_free(&res);

	/* stderr as a tail: the last max_err bytes, and a note that some were dropped */
	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	o = plain;
	o.max_err = 6;
	o.err_tail = true;
	assert_int_equal(sh("printf 'first line\\nlast\\n' >&2", &o, &res, NULL), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_true(res.err_cut);
	assert_string_equal(res.err.data, "\nlast\n");
	cni_spawn_result_free(&res);

	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	assert_int_equal(sh("printf ab >&2", &o, &res, NULL), 0);
	assert_false(res.err_cut);
	assert_string_equal(res.err.data, "ab");
	cni_spawn_result_free(&res);
}

/* A child past its deadline is killed, with what it started in its process group. */
static void test_timeout(void **state)
{
	char dir[] = "/tmp/cni-test-spawn-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char script[256];
	snprintf(script, sizeof(script),
		 "sleep 30 & echo $! > %s/grandchild; echo started; sleep 30", dir);
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_opts o = plain;
	o.timeout_ms = 300;
	int64_t t0 = now_ms();
	assert_int_equal(sh(script, &o, &res, NULL), 0);
	int64_t took = now_ms() - t0;
	assert_int_equal(res.end, CNI_SPAWN_TIMEOUT);
	assert_true(took >= 300);
	assert_true(took < 10000);
	assert_true(WIFSIGNALED(res.status));
	assert_int_equal(WTERMSIG(res.status), SIGKILL);
	assert_string_equal(res.out.data, "started\n");
	cni_spawn_result_free(&res);

	/* the background sleep went with it */
	char path[128], pidtext[32] = "";
	snprintf(path, sizeof(path), "%s/grandchild", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(pidtext, sizeof(pidtext), f));
	fclose(f);
	pid_t gc = (pid_t)atoi(pidtext);
	assert_true(gc > 0);
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		char st[64];
		snprintf(st, sizeof(st), "/proc/%d/stat", (int)gc);
		FILE *s = fopen(st, "r");
		char state_char = 'Z';
		if (s) {
			/* "pid (comm) S ...": a zombie waiting for init counts as gone */
			if (fscanf(s, "%*d %*s %c", &state_char) != 1)
				state_char = 'Z';
			fclose(s);
		}
		gone = state_char == 'Z';
		if (!gone)
			usleep(10000);
	}
	assert_true(gone);
	unlink(path);
	rmdir(dir);

	/* a child that ends in time is not a timeout */
	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	o.timeout_ms = 5000;
	assert_int_equal(sh("exit 0", &o, &res, NULL), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_true(WIFEXITED(res.status));
	cni_spawn_result_free(&res);
}

/* Under valgrind, posix_spawn() reports a failed exec as a child exiting 127, not as
 * its return value: the exec-failure cases check the real library only. */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload");
}

static void test_exec_failure(void **state)
{
	if (under_valgrind()) {
		printf("SKIP: valgrind's posix_spawn reports exec failures as exit 127\n");
		skip();
	}
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	enum cni_spawn_step step = CNI_SPAWN_STEP_ALLOC;
	char *argv[] = {"/nonexistent/plugin", NULL};
	assert_int_equal(cni_spawn_run(argv, NULL, &plain, &res, &step), -ENOENT);
	assert_int_equal(step, CNI_SPAWN_STEP_EXEC);
	cni_spawn_result_free(&res);

	/* not executable; executable but not a program */
	char path[] = "/tmp/cni-test-spawn-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x01\x02junk", 6), 6);
	close(fd);
	assert_int_equal(chmod(path, 0644), 0);
	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	char *noexec[] = {path, NULL};
	step = CNI_SPAWN_STEP_ALLOC;
	assert_int_equal(cni_spawn_run(noexec, NULL, &plain, &res, &step), -EACCES);
	assert_int_equal(step, CNI_SPAWN_STEP_EXEC);
	cni_spawn_result_free(&res);
	assert_int_equal(chmod(path, 0755), 0);
	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	step = CNI_SPAWN_STEP_ALLOC;
	assert_int_equal(cni_spawn_run(noexec, NULL, &plain, &res, &step), -ENOEXEC);
	assert_int_equal(step, CNI_SPAWN_STEP_EXEC);
	cni_spawn_result_free(&res);
	unlink(path);
	/* argv[0] is a path, not looked up in $PATH */
	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	char *bare[] = {"sh", NULL};
	assert_int_equal(cni_spawn_run(bare, NULL, &plain, &res, NULL), -ENOENT);
	cni_spawn_result_free(&res);
}

/*
 * A caller killed while its child runs (a runtime killing a plugin in the middle of its
 * iptables-restore) takes the child with it: nothing finishes behind the runtime's DEL.
 * The caller is a forked process here; the child writes its pid and sleeps.
 */
static void test_child_dies_with_caller(void **state)
{
	char path[] = "/tmp/cni-test-spawn-pid-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	pid_t caller = fork();
	assert_true(caller >= 0);
	if (caller == 0) {
		char script[256];
		cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
		snprintf(script, sizeof(script), "echo $$ > %s.new && mv %s.new %s; exec sleep 30",
			 path, path, path);
		char *argv[] = {"/bin/sh", "-c", script, NULL};
		cni_spawn_run(argv, NULL, &plain, &res, NULL);
		_exit(0);
	}
	pid_t child = 0;
	int64_t deadline = now_ms() + 5000;
	while (child <= 0 && now_ms() < deadline) {
		char *text = NULL;
		if (cni_read_file(path, 0, &text, NULL, NULL) == 0)
			child = (pid_t)atoi(text);
		free(text);
		if (child <= 0)
			usleep(10000);
	}
	unlink(path);
	assert_true(child > 0);
	assert_int_equal(kill(child, 0), 0); /* running */
	assert_int_equal(kill(caller, SIGKILL), 0);
	assert_int_equal(waitpid(caller, NULL, 0), caller);
	/* killed with its caller (then reaped by init): gone within a moment */
	deadline = now_ms() + 5000;
	while (kill(child, 0) == 0 && now_ms() < deadline)
		usleep(10000);
	assert_int_equal(kill(child, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* ---- cni_spawn_start() and cni_spawn_wait(): stdio on files ---- */

static char *files_sh_argv[] = {"/bin/sh", "-c", NULL, NULL};

static cni_spawn_proc *files_start_sh(const char *script, const cni_spawn_opts *o)
{
	cni_spawn_proc *p = NULL;
	enum cni_spawn_step step;
	files_sh_argv[2] = (char *)script;
	assert_int_equal(cni_spawn_start(files_sh_argv, NULL, o, &p, &step), 0);
	assert_non_null(p);
	return p;
}

static void files_input_output_status(void **state)
{
	const cni_spawn_opts o = {.in = "hello\n", .in_len = 6, .max_out = 1024, .max_err = 1024};
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_proc *p = files_start_sh("cat; echo oops >&2; exit 3", &o);
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_true(WIFEXITED(res.status));
	assert_int_equal(WEXITSTATUS(res.status), 3);
	assert_string_equal(res.out.data, "hello\n");
	assert_string_equal(res.err.data, "oops\n");
	cni_spawn_result_free(&res);
}

/* in_all_read with stdin on a memfd: its offset tells what the child read. */
static void files_input_all_read(void **state)
{
	const struct {
		const char *script;
		bool unread;
	} cases[] = {{"cat >/dev/null", false}, {"exit 0", true}, {"exec 0<&-; exit 0", true}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cni_spawn_opts o = {.in = "batch\n", .in_len = 6, .max_out = 1024, .max_err = 1024};
		for (int opt = 1; opt >= 0; opt--) {
			cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
			o.in_all_read = opt;
			cni_spawn_proc *p = files_start_sh(cases[i].script, &o);
			assert_int_equal(cni_spawn_wait(p, &res), 0);
			assert_true(WIFEXITED(res.status));
			assert_int_equal(WEXITSTATUS(res.status), 0);
			if (res.in_unread != (opt && cases[i].unread))
				fail_msg("%s (in_all_read %d): in_unread %d", cases[i].script, opt,
					 res.in_unread);
			cni_spawn_result_free(&res);
		}
	}
}

static void files_merge_err_and_fd_input(void **state)
{
	int fd = cni_memfd_with("test-in", "abcdef", 6);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 2, SEEK_SET), 2); /* read from the descriptor's offset */
	const cni_spawn_opts o = {.max_out = 1024, .in_is_fd = true, .in_fd = fd, .merge_err = true};
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_proc *p = files_start_sh("cat; echo; echo to-err >&2", &o);
	close(fd); /* the child has its own copy */
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	assert_string_equal(res.out.data, "cdef\nto-err\n");
	assert_int_equal(res.err.len, 0);
	cni_spawn_result_free(&res);
}

/* Several children with large outputs run side by side: nobody reads them until the end,
 * and none blocks (a pipe would fill at 64 KiB). */
static void files_side_by_side_large_output(void **state)
{
	const cni_spawn_opts o = {.max_out = 4u << 20, .max_err = 1024};
	cni_spawn_proc *p[3];
	for (int i = 0; i < 3; i++)
		p[i] = files_start_sh("head -c 1048576 /dev/zero", &o);
	for (int i = 0; i < 3; i++) {
		cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
		assert_int_equal(cni_spawn_wait(p[i], &res), 0);
		assert_int_equal(res.end, CNI_SPAWN_EXITED);
		assert_int_equal(res.out.len, 1048576);
		cni_spawn_result_free(&res);
	}
}

/* Running (a zombie waiting for whoever reaps orphans here does not count). */
static bool files_alive(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *st = strrchr(buf, ')');
	return st && st[1] == ' ' && st[2] != 'Z' && st[2] != 'X';
}

static void files_timeout_kills_group(void **state)
{
	const cni_spawn_opts o = {.max_out = 1024, .max_err = 1024, .timeout_ms = 200};
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the grandchild writes its pid first: it must be gone too */
	cni_spawn_proc *p = files_start_sh("sleep 30 & echo $!; wait", &o);
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(res.end, CNI_SPAWN_TIMEOUT);
	assert_true(WIFSIGNALED(res.status));
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	pid_t grandchild = (pid_t)atoi(res.out.data);
	assert_true(grandchild > 0);
	for (int i = 0; i < 100 && files_alive(grandchild); i++)
		usleep(10000);
	assert_false(files_alive(grandchild));
	cni_spawn_result_free(&res);
}

static void files_overflow_and_tail(void **state)
{
	cni_spawn_opts o = {.max_out = 100, .max_err = 8};
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_proc *p = files_start_sh("head -c 1000 /dev/zero", &o);
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	assert_int_equal(res.end, CNI_SPAWN_OVERFLOW);
	cni_spawn_result_free(&res);

	o.max_out = 100;
	o.err_tail = true;
	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	p = files_start_sh("printf 0123456789abcdef >&2", &o);
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_string_equal(res.err.data, "89abcdef");
	assert_true(res.err_cut);
	cni_spawn_result_free(&res);
}

static void files_missing_program(void **state)
{
	if (under_valgrind()) {
		printf("SKIP: valgrind's posix_spawn reports exec failures as exit 127\n");
		skip();
	}
	char *argv[] = {"/nonexistent/program", NULL};
	const cni_spawn_opts o = {.max_out = 10};
	cni_spawn_proc *p = NULL;
	enum cni_spawn_step step = CNI_SPAWN_STEP_ALLOC;
	assert_int_equal(cni_spawn_start(argv, NULL, &o, &p, &step), -ENOENT);
	assert_int_equal(step, CNI_SPAWN_STEP_EXEC);
	assert_null(p);
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	assert_int_equal(cni_spawn_wait(NULL, &res), -EINVAL);
}

static volatile sig_atomic_t got_sigpipe;

static void on_sigpipe(int sig)
{
	(void)sig;
	got_sigpipe = 1;
}

/* A child that never reads a large stdin: no SIGPIPE reaches us, the run ends normally. */
static void test_child_stops_reading(void **state)
{
	struct sigaction sa = {0}, old;
	sa.sa_handler = on_sigpipe;
	assert_int_equal(sigaction(SIGPIPE, &sa, &old), 0);
	size_t n = 4 << 20;
	char *big = calloc(1, n);
	assert_non_null(big);
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_opts o = plain;
	o.in = big;
	o.in_len = n;
	o.timeout_ms = 20000;
	assert_int_equal(sh("exec 0<&-; echo closed", &o, &res, NULL), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_true(WIFEXITED(res.status));
	assert_int_equal(WEXITSTATUS(res.status), 0);
	assert_string_equal(res.out.data, "closed\n");
	assert_int_equal(got_sigpipe, 0);
	cni_spawn_result_free(&res);
	free(big);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
	cni_spawn_result_free(&res); /* twice is fine */
}

/* in_all_read: a child that exits 0 without reading all of stdin is told apart from one
 * that read it (small input: all of it sat in the pipe; large: never all written). */
static void test_input_all_read(void **state)
{
	size_t n = 1 << 20;
	char *big = calloc(1, n);
	assert_non_null(big);
	const struct {
		const char *script;
		const char *in;
		size_t len;
		bool unread;
	} cases[] = {
	    {"cat >/dev/null", "batch\n", 6, false},
	    {"exit 0", "batch\n", 6, true},
	    {"head -c 3 >/dev/null", "batch\n", 6, true},
	    {"exec 0<&-; exit 0", big, n, true},
	    {"cat >/dev/null", big, n, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
		cni_spawn_opts o = plain;
		o.in = cases[i].in;
		o.in_len = cases[i].len;
		o.in_all_read = true;
		o.timeout_ms = 20000;
		assert_int_equal(sh(cases[i].script, &o, &res, NULL), 0);
		assert_true(WIFEXITED(res.status));
		assert_int_equal(WEXITSTATUS(res.status), 0);
		if (res.in_unread != cases[i].unread)
			fail_msg("%s: in_unread %d", cases[i].script, res.in_unread);
		cni_spawn_result_free(&res);
		/* without the option nothing is told */
		o.in_all_read = false;
		res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
		assert_int_equal(sh(cases[i].script, &o, &res, NULL), 0);
		assert_false(res.in_unread);
		cni_spawn_result_free(&res);
	}
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_and_status),
		cmocka_unit_test(test_environment_and_descriptors),
		cmocka_unit_test(test_large_input_no_deadlock),
		cmocka_unit_test(test_overflow_and_tail),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_child_stops_reading),
		cmocka_unit_test(test_input_all_read),
		cmocka_unit_test(files_input_output_status),
		cmocka_unit_test(files_input_all_read),
		cmocka_unit_test(files_merge_err_and_fd_input),
		cmocka_unit_test(files_side_by_side_large_output),
		cmocka_unit_test(files_timeout_kills_group),
		cmocka_unit_test(files_overflow_and_tail),
		cmocka_unit_test(files_missing_program),
		cmocka_unit_test(test_child_dies_with_caller),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
