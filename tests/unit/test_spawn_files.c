/* SPDX-License-Identifier: Apache-2.0 */
/* spawn.c's start/wait pair: children with files for their stdio, collected later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "file-internal.h"
#include "spawn-internal.h"

static char *sh_argv[] = {"/bin/sh", "-c", NULL, NULL};

static cni_spawn_proc *start_sh(const char *script, const cni_spawn_opts *o)
{
	cni_spawn_proc *p = NULL;
	enum cni_spawn_step step;
	sh_argv[2] = (char *)script;
	assert_int_equal(cni_spawn_start(sh_argv, NULL, o, &p, &step), 0);
	assert_non_null(p);
	return p;
}

static void test_input_output_status(void **state)
{
	const cni_spawn_opts o = {.in = "hello\n", .in_len = 6, .max_out = 1024, .max_err = 1024};
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_proc *p = start_sh("cat; echo oops >&2; exit 3", &o);
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_true(WIFEXITED(res.status));
	assert_int_equal(WEXITSTATUS(res.status), 3);
	assert_string_equal(res.out.data, "hello\n");
	assert_string_equal(res.err.data, "oops\n");
	cni_spawn_result_free(&res);
}

static void test_merge_err_and_fd_input(void **state)
{
	int fd = cni_memfd_with("test-in", "abcdef", 6);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 2, SEEK_SET), 2); /* read from the descriptor's offset */
	const cni_spawn_opts o = {.max_out = 1024, .in_is_fd = true, .in_fd = fd, .merge_err = true};
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_proc *p = start_sh("cat; echo; echo to-err >&2", &o);
	close(fd); /* the child has its own copy */
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	assert_string_equal(res.out.data, "cdef\nto-err\n");
	assert_int_equal(res.err.len, 0);
	cni_spawn_result_free(&res);
}

/* Several children with large outputs run side by side: nobody reads them until the end,
 * and none blocks (a pipe would fill at 64 KiB). */
static void test_side_by_side_large_output(void **state)
{
	const cni_spawn_opts o = {.max_out = 4u << 20, .max_err = 1024};
	cni_spawn_proc *p[3];
	for (int i = 0; i < 3; i++)
		p[i] = start_sh("head -c 1048576 /dev/zero", &o);
	for (int i = 0; i < 3; i++) {
		cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
		assert_int_equal(cni_spawn_wait(p[i], &res), 0);
		assert_int_equal(res.end, CNI_SPAWN_EXITED);
		assert_int_equal(res.out.len, 1048576);
		cni_spawn_result_free(&res);
	}
}

/* Running (a zombie waiting for whoever reaps orphans here does not count). */
static bool alive(pid_t pid)
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

static void test_timeout_kills_group(void **state)
{
	const cni_spawn_opts o = {.max_out = 1024, .max_err = 1024, .timeout_ms = 200};
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the grandchild writes its pid first: it must be gone too */
	cni_spawn_proc *p = start_sh("sleep 30 & echo $!; wait", &o);
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(res.end, CNI_SPAWN_TIMEOUT);
	assert_true(WIFSIGNALED(res.status));
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	pid_t grandchild = (pid_t)atoi(res.out.data);
	assert_true(grandchild > 0);
	for (int i = 0; i < 100 && alive(grandchild); i++)
		usleep(10000);
	assert_false(alive(grandchild));
	cni_spawn_result_free(&res);
}

static void test_overflow_and_tail(void **state)
{
	cni_spawn_opts o = {.max_out = 100, .max_err = 8};
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	cni_spawn_proc *p = start_sh("head -c 1000 /dev/zero", &o);
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	assert_int_equal(res.end, CNI_SPAWN_OVERFLOW);
	cni_spawn_result_free(&res);

	o.max_out = 100;
	o.err_tail = true;
	res = (cni_spawn_result)CNI_SPAWN_RESULT_INIT;
	p = start_sh("printf 0123456789abcdef >&2", &o);
	assert_int_equal(cni_spawn_wait(p, &res), 0);
	assert_int_equal(res.end, CNI_SPAWN_EXITED);
	assert_string_equal(res.err.data, "89abcdef");
	assert_true(res.err_cut);
	cni_spawn_result_free(&res);
}

static void test_missing_program(void **state)
{
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_input_output_status),
	    cmocka_unit_test(test_merge_err_and_fd_input),
	    cmocka_unit_test(test_side_by_side_large_output),
	    cmocka_unit_test(test_timeout_kills_group),
	    cmocka_unit_test(test_overflow_and_tail),
	    cmocka_unit_test(test_missing_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
