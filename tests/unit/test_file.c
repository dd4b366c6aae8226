/* SPDX-License-Identifier: Apache-2.0 */
/* file.c: whole reads, atomic writes and their removal, mkdir -p, memfds, directory lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"

static char dir[] = "/tmp/cni-test-file-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "chmod -R u+w %s; rm -rf %s", dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *in_dir(const char *name)
{
	char *p = cni_strdupf("%s/%s", dir, name);
	assert_non_null(p);
	return p;
}

/* How many entries dir holds whose name starts with prefix. */
static int count_entries(const char *d, const char *prefix)
{
	DIR *dh = opendir(d);
	assert_non_null(dh);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(dh)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(dh);
	return n;
}

static void test_write_then_read(void **state)
{
	_cleanup_free_ char *p = in_dir("conf");
	const char data[] = "first\0second"; /* NULs pass through */
	assert_int_equal(cni_file_write_atomic(p, data, sizeof(data) - 1, 0640, 0, NULL), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(cni_read_file(p, 0, &out, &len, NULL), 0);
	assert_int_equal(len, sizeof(data) - 1);
	assert_memory_equal(out, data, len);
	assert_int_equal(out[len], '\0');
	free(out);

	/* replaced whole, durable this time, with the new mode */
	assert_int_equal(cni_file_write_atomic(p, "new", 3, 0600, CNI_FILE_DURABLE, NULL), 0);
	assert_int_equal(cni_read_file(p, 0, &out, NULL, NULL), 0);
	assert_string_equal(out, "new");
	free(out);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no temporary file left behind */
	assert_int_equal(count_entries(dir, "conf.tmp"), 0);

	/* an empty file */
	assert_int_equal(cni_file_write_atomic(p, "", 0, 0600, 0, NULL), 0);
	assert_int_equal(cni_read_file(p, 0, &out, &len, NULL), 0);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);
}

static void test_read_errors(void **state)
{
	_cleanup_free_ char *p = in_dir("big");
	char *out = NULL;
	cni_error *e = NULL;
	char blob[20000];
	memset(blob, 'b', sizeof(blob));
	assert_int_equal(cni_file_write_atomic(p, blob, sizeof(blob), 0600, 0, NULL), 0);
	/* the limit is inclusive: exactly max bytes are fine, one more is not */
	assert_int_equal(cni_read_file(p, sizeof(blob), &out, NULL, NULL), 0);
	free(out);
	out = NULL;
	assert_int_equal(cni_read_file(p, sizeof(blob) - 1, &out, NULL, &e), -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "larger than 19999 bytes"));
	assert_null(out);
	cni_error_free(e);
	e = NULL;

	_cleanup_free_ char *missing = in_dir("missing");
	assert_int_equal(cni_read_file(missing, 0, &out, NULL, &e), -CNI_ERR_NOT_FOUND);
	assert_non_null(strstr(cni_error_msg(e), "No such file or directory"));
	cni_error_free(e);
	e = NULL;
	/* a directory opens but does not read */
	assert_int_equal(cni_read_file(dir, 0, &out, NULL, &e), -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "Is a directory"));
	cni_error_free(e);
	assert_null(out);
}

/* The target is a directory: the rename fails and the temporary file goes again. */
static void test_write_onto_directory(void **state)
{
	_cleanup_free_ char *p = in_dir("adir");
	cni_error *e = NULL;
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(cni_file_write_atomic(p, "x", 1, 0600, 0, &e), -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "failed to write"));
	assert_non_null(strstr(cni_error_msg(e), "Is a directory"));
	cni_error_free(e);
	assert_int_equal(count_entries(dir, "adir.tmp"), 0);

	_cleanup_free_ char *orphan = in_dir("nodir/file");
	e = NULL;
	assert_int_equal(cni_file_write_atomic(orphan, "x", 1, 0600, 0, &e),
			 -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "failed to create"));
	cni_error_free(e);
}

/*
 * A read-only directory (as an unprivileged user: root writes anyway): the write fails,
 * the old content stays, and nothing is left behind. Run in a child that drops to nobody.
 */
static void test_write_in_read_only_dir(void **state)
{
	_cleanup_free_ char *ro = in_dir("ro");
	_cleanup_free_ char *p = in_dir("ro/file");
	assert_int_equal(mkdir(ro, 0755), 0);
	assert_int_equal(cni_file_write_atomic(p, "old", 3, 0644, 0, NULL), 0);
	assert_int_equal(chmod(ro, 0555), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* (everything freed before _exit: under valgrind the child's leaks count too) */
		int code = 0;
		cni_error *e = NULL;
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			code = 10;
		else if (cni_file_write_atomic(p, "new", 3, 0644, 0, &e) != -CNI_ERR_IO_FAILURE)
			code = 11;
		else if (!strstr(cni_error_msg(e), "Permission denied") ||
			 !strstr(cni_error_msg(e), "failed to create"))
			code = 12;
		cni_error_free(e);
		free(ro);
		free(p);
		_exit(code);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	char *out = NULL;
	assert_int_equal(cni_read_file(p, 0, &out, NULL, NULL), 0);
	assert_string_equal(out, "old");
	free(out);
	assert_int_equal(count_entries(ro, "file.tmp"), 0);
	assert_int_equal(chmod(dir, 0700), 0);
}

/*
 * What a write killed between its link and its rename leaves ("<path>.tmp.<tag>", or the
 * "<path>.tmp" of older versions) stays beside the file until cni_file_remove() or
 * cni_file_remove_leftover() takes it; both are also fine with nothing there.
 */
static void test_stale_tmp_and_remove(void **state)
{
	_cleanup_free_ char *p = in_dir("state");
	_cleanup_free_ char *tmp = in_dir("state.tmp");
	_cleanup_free_ char *tagged = in_dir("state.tmp.0123456789abcdef");
	_cleanup_free_ char *other = in_dir("state.tmp.not-ours");
	_cleanup_free_ char *longer = in_dir("statefile.tmp.0123456789abcdef");
	char *out = NULL;
	cni_error *e = NULL;

	assert_int_equal(cni_file_write_atomic(tmp, "half", 4, 0600, 0, NULL), 0);
	assert_int_equal(cni_file_write_atomic(tagged, "half", 4, 0600, 0, NULL), 0);
	assert_int_equal(cni_file_write_atomic(p, "whole", 5, 0600, CNI_FILE_DURABLE, NULL), 0);
	assert_int_equal(cni_read_file(p, 0, &out, NULL, NULL), 0);
	assert_string_equal(out, "whole");
	free(out);

	/* only the leftovers go: the file, a name that only looks alike and another file's
	 * leftover stay */
	assert_int_equal(cni_file_write_atomic(other, "x", 1, 0600, 0, NULL), 0);
	assert_int_equal(cni_file_write_atomic(longer, "x", 1, 0600, 0, NULL), 0);
	assert_int_equal(cni_file_remove_leftover(p, NULL), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(tagged, F_OK), -1);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(access(other, F_OK), 0);
	assert_int_equal(access(longer, F_OK), 0);
	assert_int_equal(cni_file_remove_leftover(p, NULL), 0); /* nothing left over */
	assert_int_equal(unlink(other), 0);
	assert_int_equal(unlink(longer), 0);

	/* a crash leftover beside the file: both go */
	assert_int_equal(cni_file_write_atomic(tagged, "half", 4, 0600, 0, NULL), 0);
	assert_int_equal(cni_file_remove(p, NULL), 0);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(access(tagged, F_OK), -1);
	/* only the leftover (the kill came before the first rename) */
	assert_int_equal(cni_file_write_atomic(tmp, "half", 4, 0600, 0, NULL), 0);
	assert_int_equal(cni_file_remove(p, NULL), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(cni_file_remove(p, NULL), 0); /* nothing there */
	/* a path whose directory is gone has nothing left over */
	_cleanup_free_ char *gone = in_dir("nodir/state");
	assert_int_equal(cni_file_remove(gone, NULL), 0);

	/* what cannot be removed is an error naming it */
	_cleanup_free_ char *d = in_dir("full");
	_cleanup_free_ char *inner = in_dir("full/x");
	assert_int_equal(cni_mkdir_p(d, 0700, NULL), 0);
	assert_int_equal(cni_file_write_atomic(inner, "x", 1, 0600, 0, NULL), 0);
	assert_int_equal(cni_file_remove(d, &e), -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), d));
	assert_int_equal(cni_error_errno(e), EISDIR);
	cni_error_free(e);
	e = NULL;

	assert_int_equal(cni_file_write_atomic(NULL, "x", 1, 0600, 0, &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_file_write_atomic(p, NULL, 1, 0600, 0, &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_file_remove("", &e), -CNI_ERR_INVALID_ARG);
	cni_error_free(e);
}

/* The content never shows up under its final name before it is complete: a reader racing
 * a writer of growing files sees whole ones only. */
static void test_readers_see_whole_files(void **state)
{
	_cleanup_free_ char *p = in_dir("race");
	static char big[1 << 18];
	assert_int_equal(cni_file_write_atomic(p, "0", 1, 0600, 0, NULL), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;
		for (int i = 0; i < 300; i++) {
			char *out = NULL;
			size_t len = 0;
			if (cni_read_file(p, 0, &out, &len, NULL) == 0 && len != 1 && len != sizeof(big))
				bad++;
			free(out);
		}
		free(p);
		_exit(bad ? 1 : 0);
	}
	memset(big, 'z', sizeof(big));
	for (int i = 0; i < 100; i++) {
		assert_int_equal(cni_file_write_atomic(p, big, sizeof(big), 0600, 0, NULL), 0);
		assert_int_equal(cni_file_write_atomic(p, "1", 1, 0600, 0, NULL), 0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_entries(dir, "race.tmp"), 0);
}

/*
 * Writers of one path at once (processes, as plugins for one network are): every write
 * succeeds, the file always holds one writer's whole content, and no temporary is left.
 * With one shared temporary name, a writer renamed another's file or lost its own.
 */
static void test_concurrent_writers(void **state)
{
	enum { WRITERS = 4, ROUNDS = 300, SIZE = 4096 };
	_cleanup_free_ char *p = in_dir("shared");
	pid_t pids[WRITERS];
	assert_int_equal(cni_file_write_atomic(p, "0", 1, 0600, 0, NULL), 0);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			static char content[SIZE];
			int bad = 0;
			memset(content, 'a' + w, sizeof(content));
			for (int i = 0; i < ROUNDS; i++) {
				cni_error *e = NULL;
				char *out = NULL;
				size_t len = 0;
				if (cni_file_write_atomic(p, content, sizeof(content), 0600, 0,
							  &e) < 0)
					bad |= 1;
				cni_error_free(e);
				if (cni_read_file(p, 0, &out, &len, NULL) < 0 ||
				    (len != SIZE && len != 1))
					bad |= 2;
				for (size_t k = 1; out && len == SIZE && k < len; k++)
					if (out[k] != out[0])
						bad |= 4;
				free(out);
			}
			free(p);
			_exit(bad);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int status;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(count_entries(dir, "shared.tmp"), 0);
}

static void test_mkdir_p(void **state)
{
	_cleanup_free_ char *deep = in_dir("a/b/c/");
	_cleanup_free_ char *mid = in_dir("a/b");
	assert_int_equal(cni_mkdir_p(deep, 0700, NULL), 0);
	struct stat st;
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat(mid, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* existing: fine */
	assert_int_equal(cni_mkdir_p(deep, 0700, NULL), 0);
	/* a file in the way */
	_cleanup_free_ char *f = in_dir("a/file");
	_cleanup_free_ char *under = in_dir("a/file/sub");
	assert_int_equal(cni_file_write_atomic(f, "", 0, 0600, 0, NULL), 0);
	cni_error *e = NULL;
	assert_int_equal(cni_mkdir_p(under, 0700, &e), -CNI_ERR_IO_FAILURE);
	assert_non_null(strstr(cni_error_msg(e), "failed to create directory"));
	assert_non_null(strstr(cni_error_msg(e), "a/file/sub: Not a directory"));
	cni_error_free(e);
}

static void test_memfd_and_fd_read(void **state)
{
	char blob[10000];
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (char)('a' + i % 26);
	int fd = cni_memfd_with("cni-test", blob, sizeof(blob));
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0); /* at the start */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(cni_fd_read_all(fd, &out, &len, NULL), 0);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(out, blob, len);
	free(out);
	/* from the start again, wherever the offset was */
	assert_int_equal(lseek(fd, 500, SEEK_SET), 500);
	assert_int_equal(cni_fd_read_all(fd, &out, NULL, NULL), 0);
	assert_int_equal(strlen(out), sizeof(blob));
	free(out);
	close(fd);

	/* a pipe cannot seek */
	int p[2];
	cni_error *e = NULL;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(cni_fd_read_all(p[0], &out, NULL, &e), -CNI_ERR_SYSTEM);
	assert_non_null(strstr(cni_error_msg(e), "lseek"));
	cni_error_free(e);
	close(p[0]);
	close(p[1]);
}

static void test_find_in_dirs(void **state)
{
	_cleanup_free_ char *bin = in_dir("bin");
	_cleanup_free_ char *exe = in_dir("bin/tool");
	_cleanup_free_ char *noexec = in_dir("bin/data");
	_cleanup_free_ char *sub = in_dir("bin/subdir");
	assert_int_equal(mkdir(bin, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(cni_file_write_atomic(exe, "#!/bin/sh\n", 10, 0755, 0, NULL), 0);
	assert_int_equal(cni_file_write_atomic(noexec, "", 0, 0644, 0, NULL), 0);

	_cleanup_free_ char *dirs = cni_strdupf("::/nonexistent:%s:", bin);
	_cleanup_free_ char *found = cni_find_in_dirs("tool", dirs);
	assert_non_null(found);
	assert_string_equal(found, exe);
	/* not executable (root would pass access(X_OK) only with some x bit), a directory,
	 * absent */
	assert_null(cni_find_in_dirs("data", dirs));
	assert_null(cni_find_in_dirs("subdir", dirs));
	assert_null(cni_find_in_dirs("absent", dirs));
	assert_null(cni_find_in_dirs("tool", ""));
	assert_null(cni_find_in_dirs("tool", NULL));
	/* the first match wins */
	_cleanup_free_ char *sh = cni_find_in_dirs("sh", "/nonexistent:/bin:/usr/bin");
	assert_non_null(sh);
	assert_string_equal(sh, "/bin/sh");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_then_read),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_write_onto_directory),
		cmocka_unit_test(test_write_in_read_only_dir),
		cmocka_unit_test(test_stale_tmp_and_remove),
		cmocka_unit_test(test_readers_see_whole_files),
		cmocka_unit_test(test_concurrent_writers),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_memfd_and_fd_read),
		cmocka_unit_test(test_find_in_dirs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
