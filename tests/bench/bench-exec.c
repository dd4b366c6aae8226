/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-exec: the plugin-only half of tests/bench, built by run.sh with plain gcc.
 *
 * Loop mode: run PROG COUNT times, the way a runtime runs a plugin (stdin from a file,
 * stdout drained through a pipe, the environment given with -e), timing each run from
 * fork to reaped child and reading the child's peak RSS from wait4():
 *
 *   bench-exec -n COUNT [-s START] [-i STDIN] [-e NAME=VALUE]... -- PROG [ARG]...
 *
 * "%d" in an -e value becomes START+k for run k, so every run can get its own container
 * id. Prints one JSON line per run: {"k":0,"us":812.3,"rc":0,"maxrss_kb":1840}. A run that
 * exits non-zero has its stdout copied to stderr; the exit status is 1 when any run failed.
 *
 * Wrapper mode: when BENCH_RSS_REAL_DIR is set and the program is invoked under another
 * name (a symlink named after a plugin in a plugin dir), it runs
 * $BENCH_RSS_REAL_DIR/<name> with the same argv, stdin, stdout and environment, appends
 * {"plugin":"<name>","cmd":"$CNI_COMMAND","us":T,"maxrss_kb":N,"rc":R} to $BENCH_RSS_LOG
 * (T: fork to reaped child, as in loop mode) and exits with the plugin's status. A
 * runtime driven through such a dir measures every plugin it runs, delegated IPAM
 * plugins included (unless the dir links them to the real ones).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 64

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static int wrap(const char *name, char **argv)
{
	const char *dir = getenv("BENCH_RSS_REAL_DIR"), *log = getenv("BENCH_RSS_LOG");
	const char *cmd = getenv("CNI_COMMAND");
	char real[4096], line[512];
	struct rusage ru;
	int status, fd, n;
	double t0, us;
	pid_t pid;

	if (snprintf(real, sizeof(real), "%s/%s", dir, name) >= (int)sizeof(real))
		return 127;
	t0 = now_us();
	pid = fork();
	if (pid < 0)
		return 127;
	if (pid == 0) {
		execv(real, argv);
		fprintf(stderr, "bench-exec: cannot run %s: %s\n", real, strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return 127;
	us = now_us() - t0;
	if (log) {
		n = snprintf(line, sizeof(line),
			     "{\"plugin\":\"%s\",\"cmd\":\"%s\",\"us\":%.1f,\"maxrss_kb\":%ld,"
			     "\"rc\":%d}\n",
			     name, cmd ? cmd : "", us, ru.ru_maxrss, exit_code(status));
		fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0 && n > 0 && n < (int)sizeof(line)) {
			if (write(fd, line, (size_t)n) != n)
				fprintf(stderr, "bench-exec: short write to %s\n", log);
		}
		if (fd >= 0)
			close(fd);
	}
	return exit_code(status);
}

/* value with every "%d" replaced by k */
static char *expand(const char *value, long k)
{
	char num[32], *out;
	size_t len = 0, nlen;
	const char *p;

	nlen = (size_t)snprintf(num, sizeof(num), "%ld", k);
	for (p = value; *p; p++)
		len += (p[0] == '%' && p[1] == 'd') ? (p++, nlen) : 1;
	out = malloc(len + 1);
	if (!out)
		return NULL;
	len = 0;
	for (p = value; *p; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			memcpy(out + len, num, nlen);
			len += nlen;
			p++;
		} else {
			out[len++] = *p;
		}
	}
	out[len] = '\0';
	return out;
}

static int run_once(char **argv, const char *in, char **env, long k, int *rc, long *rss, double *us)
{
	char buf[65536], *outbuf = NULL;
	size_t outlen = 0;
	struct rusage ru;
	int pfd[2], status;
	double t0;
	ssize_t r;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	t0 = now_us();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(in ? in : "/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(pfd[1], 1) < 0)
			_exit(127);
		execve(argv[0], argv, env);
		_exit(127);
	}
	close(pfd[1]);
	while ((r = read(pfd[0], buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* keep the output only for error reports; a plugin answer is small */
		char *n = realloc(outbuf, outlen + (size_t)r + 1);
		if (n) {
			outbuf = n;
			memcpy(outbuf + outlen, buf, (size_t)r);
			outlen += (size_t)r;
			outbuf[outlen] = '\0';
		}
	}
	close(pfd[0]);
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			free(outbuf);
			return -1;
		}
	*us = now_us() - t0;
	*rc = exit_code(status);
	*rss = ru.ru_maxrss;
	if (*rc != 0)
		fprintf(stderr, "bench-exec: run %ld of %s exited %d: %s\n", k, argv[0], *rc,
			outbuf ? outbuf : "");
	free(outbuf);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-exec -n COUNT [-s START] [-i STDIN] [-e NAME=VALUE]... -- "
			"PROG [ARG]...\n");
	exit(2);
}

static long parse_long(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const char *in = NULL, *envspec[MAX_ENV];
	char *env[MAX_ENV + 1], *name = basename(argv[0]);
	long count = -1, start = 0, k;
	size_t n_env = 0, i;
	int c, failed = 0;

	if (getenv("BENCH_RSS_REAL_DIR") && strcmp(name, "bench-exec") != 0)
		return wrap(name, argv);

	while ((c = getopt(argc, argv, "+n:s:i:e:")) != -1) {
		switch (c) {
		case 'n':
			count = parse_long(optarg);
			break;
		case 's':
			start = parse_long(optarg);
			break;
		case 'i':
			in = optarg;
			break;
		case 'e':
			if (n_env == MAX_ENV || !strchr(optarg, '='))
				usage();
			envspec[n_env++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (count < 0 || optind >= argc)
		usage();

	for (k = 0; k < count; k++) {
		double us;
		long rss;
		int rc;

		for (i = 0; i < n_env; i++) {
			env[i] = expand(envspec[i], start + k);
			if (!env[i])
				return 1;
		}
		env[n_env] = NULL;
		if (run_once(argv + optind, in, env, start + k, &rc, &rss, &us) < 0) {
			fprintf(stderr, "bench-exec: cannot run %s: %s\n", argv[optind],
				strerror(errno));
			return 1;
		}
		for (i = 0; i < n_env; i++)
			free(env[i]);
		printf("{\"k\":%ld,\"us\":%.1f,\"rc\":%d,\"maxrss_kb\":%ld}\n", start + k, us, rc,
		       rss);
		failed |= rc != 0;
	}
	return failed;
}
