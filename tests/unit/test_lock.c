/* SPDX-License-Identifier: Apache-2.0 */
/* lock.c: advisory file locks, between holders in one process and between processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cni/cni.h>

static void test_filelock(void **state)
{
	char path[] = "/tmp/cni-lock-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	cni_filelock *a = NULL, *b = NULL;
	assert_int_equal(cni_filelock_open(path, &a, NULL), 0);
	assert_int_equal(cni_filelock_open(path, &b, NULL), 0);
	assert_int_equal(cni_filelock_lock(a, true, NULL), 0);
	/* another holder cannot take it while a has it */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "flock -n -x %s true", path);
	assert_int_not_equal(system(cmd), 0);
	assert_int_equal(cni_filelock_unlock(a, NULL), 0);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(cni_filelock_lock(a, false, NULL), 0);
	assert_int_equal(cni_filelock_lock(b, false, NULL), 0);
	cni_filelock_close(a);
	cni_filelock_close(b);
	cni_filelock_close(NULL);
	unlink(path);
}

/* Whether fd has something to read right now. */
static bool readable(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, 0) == 1;
}

/*
 * Two processes: the child holds the lock exclusively, and the parent's lock call waits
 * until the child lets go; the child then waits for the parent's exclusive lock in turn.
 */
static void test_contention_between_processes(void **state)
{
	char dir[] = "/tmp/cni-lock-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/lock", dir); /* created by the open */
	int held[2], released[2], go[2];
	assert_int_equal(pipe(held), 0);
	assert_int_equal(pipe(released), 0);
	assert_int_equal(pipe(go), 0);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		cni_filelock *l = NULL;
		char c;
		/* only the ends it uses: if the parent dies, the read below sees EOF */
		close(held[0]);
		close(released[0]);
		close(go[1]);
		if (cni_filelock_open(path, &l, NULL) < 0 || cni_filelock_lock(l, true, NULL) < 0)
			_exit(1);
		if (write(held[1], "h", 1) != 1)
			_exit(2);
		usleep(200 * 1000);
		/* say so first: the parent must not have the lock before this byte is there */
		if (write(released[1], "r", 1) != 1 || cni_filelock_unlock(l, NULL) < 0)
			_exit(3);
		if (read(go[0], &c, 1) != 1)
			_exit(4);
		/* the parent holds it now: a shared lock must wait for it too */
		int fd = open(path, O_RDONLY);
		if (fd < 0 || flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
			_exit(5);
		cni_filelock_close(l);
		_exit(0);
	}
	char c;
	close(held[1]);
	close(released[1]);
	close(go[0]);
	assert_int_equal(read(held[0], &c, 1), 1);
	cni_filelock *l = NULL;
	assert_int_equal(cni_filelock_open(path, &l, NULL), 0);
	/* waits for the child: it says "released" before it unlocks, so the byte is there */
	assert_int_equal(cni_filelock_lock(l, true, NULL), 0);
	assert_true(readable(released[0]));
	assert_int_equal(write(go[1], "g", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	cni_filelock_close(l);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(held[0]);
	close(released[0]);
	close(go[1]);
	unlink(path);
	rmdir(dir);
}

static void test_open_errors(void **state)
{
	cni_filelock *l = NULL;
	cni_error *e = NULL;
	assert_int_equal(cni_filelock_open("/nonexistent-dir/lock", &l, &e), -CNI_ERR_IO_FAILURE);
	assert_string_equal(cni_error_msg(e),
			    "failed to open lock /nonexistent-dir/lock: No such file or directory");
	cni_error_free(e);
	e = NULL;
	assert_null(l);

	/* a symlink is not followed */
	char dir[] = "/tmp/cni-lock-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char link[64];
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink("/etc/hostname", link), 0);
	assert_int_equal(cni_filelock_open(link, &l, &e), -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "failed to open lock"));
	cni_error_free(e);
	assert_null(l);
	unlink(link);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filelock),
		cmocka_unit_test(test_contention_between_processes),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
