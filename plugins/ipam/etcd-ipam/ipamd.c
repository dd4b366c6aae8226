/* SPDX-License-Identifier: Apache-2.0 */
/*
 * etcd-ipamd: the resident etcd-ipam client, and the one-shot plugin.
 *
 * Run with CNI_COMMAND set (or with --oneshot) it is the whole plugin for one call, as a
 * runtime would run it: the thin `etcd-ipam` plugin execs it so when no daemon listens.
 * Otherwise it is the daemon: it listens on a unix socket (systemd socket activation, or
 * -socketpath), and answers one request per connection with the same handlers run
 * through skel as the one-shot plugin runs them (its answer is that run's output), keeping
 * its etcd connections open and the free addresses of the node's own blocks in memory
 * (ipam.h), so a steady-state ADD is one etcd round trip. -threads N (default 1) serves
 * N requests at once, each thread with its own connections and cache (no locks; no
 * process is started per request).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ipam.h"
#include "plugin-daemon.h"
#include "proto.h"

#define ABOUT "CNI etcd-ipam plugin (libcni-c " LIBCNI_C_VERSION ")"
/* a client gets this long to send its request (it holds a serving thread meanwhile) */
#define REQUEST_WAIT_MS 5000
#define MAX_REQUEST     (CNI_SKEL_DEFAULT_MAX_STDIN + 65536)

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void logmsg(const char *fmt, ...) CNI_PRINTF(1, 2);
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("etcd-ipamd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* One line from fd within REQUEST_WAIT_MS; NULL when the client sent none. */
static char *read_request(int fd, size_t *len)
{
	struct timespec t0;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (buf) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = REQUEST_WAIT_MS - ms_since(&t0);
		ssize_t got;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (n + 1 == cap) {
			char *nb = cap >= MAX_REQUEST ? NULL : realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		got = recv(fd, buf + n, cap - 1 - n, MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
		if (memchr(buf + n - (size_t)got, '\n', (size_t)got)) {
			buf[n] = 0;
			*len = n;
			return buf;
		}
	}
	free(buf);
	return NULL;
}

static const char *field(json_t *req, const char *k)
{
	const char *v = json_string_value(json_object_get(req, k));

	return v ? v : "";
}

/* A serving thread's stdin, stdout and stderr for skel: memfds made once and emptied for
 * each request (making and closing three per request cost the daemon about 0.03 ms of CPU
 * per ADD, against 0.2 ms for the rest). */
typedef struct skel_files {
	int fd[3];
} skel_files;

static int skel_files_open(skel_files *f)
{
	static const char *const names[3] = {"etcd-ipamd-in", "etcd-ipamd-out", "etcd-ipamd-err"};

	for (int i = 0; i < 3; i++) {
		f->fd[i] = memfd_create(names[i], MFD_CLOEXEC);
		if (f->fd[i] < 0) {
			while (i-- > 0)
				close(f->fd[i]);
			return -1;
		}
	}
	return 0;
}

static void skel_files_close(skel_files *f)
{
	for (int i = 0; i < 3; i++)
		close(f->fd[i]);
}

/* Empties f and puts the config in its stdin; -1 when that fails. */
static int skel_files_reset(const skel_files *f, const char *config, size_t len)
{
	size_t off = 0;

	for (int i = 0; i < 3; i++)
		if (ftruncate(f->fd[i], 0) < 0 || lseek(f->fd[i], 0, SEEK_SET) < 0)
			return -1;
	while (off < len) {
		ssize_t w = pwrite(f->fd[0], config + off, len - off, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* What was written to the memfd fd, as a new JSON string (NULL: cannot). */
static json_t *memfd_text(int fd)
{
	off_t size = lseek(fd, 0, SEEK_CUR);
	size_t n = 0;
	char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
	json_t *s;

	while (buf && n < (size_t)size) {
		ssize_t got = pread(fd, buf + n, (size_t)size - n, (off_t)n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	s = buf && n == (size_t)size ? json_stringn(buf, n) : NULL;
	free(buf);
	return s;
}

/*
 * Runs one request as the one-shot plugin runs: skel (cni_plugin_main_io) with the
 * request's CNI_* variables as its environment, the config as its stdin and memfds as its
 * stdout and stderr, so the answer is what etcd-ipamd --oneshot would print and its exit
 * code. skel keeps no state between calls, reads only the environment it is given and
 * writes only to the files it is given: each serving thread runs it on its own. The
 * answer object is new; NULL when it cannot be made (the client then gets EOF, which it
 * reports).
 */
static json_t *run_request(json_t *req, const skel_files *f)
{
	static const struct {
		const char *var, *key;
	} vars[] = {
	    {"CNI_COMMAND", "command"},
	    {"CNI_CONTAINERID", "containerID"},
	    {"CNI_NETNS", "netns"},
	    {"CNI_IFNAME", "ifname"},
	    {"CNI_ARGS", "args"},
	    {"CNI_PATH", "path"},
	    {"CNI_NETNS_OVERRIDE", "netnsOverride"},
	};
	char *env[sizeof(vars) / sizeof(vars[0]) + 1] = {NULL};
	const char *config = field(req, "config");
	cni_skel_io io = CNI_SKEL_IO_INIT;
	json_t *ans = NULL, *out, *errs;
	size_t i;
	int r;

	if (json_integer_value(json_object_get(req, "version")) != ETCD_IPAM_PROTO_VERSION) {
		/* a plugin of another version: it reports the connection closed unanswered */
		logmsg("a request of protocol version %lld, this daemon speaks %d: not answered",
		       (long long)json_integer_value(json_object_get(req, "version")),
		       ETCD_IPAM_PROTO_VERSION);
		return NULL;
	}
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		size_t n = strlen(vars[i].var) + strlen(field(req, vars[i].key)) + 2;

		env[i] = malloc(n);
		if (!env[i])
			goto out;
		snprintf(env[i], n, "%s=%s", vars[i].var, field(req, vars[i].key));
	}
	if (skel_files_reset(f, config, strlen(config)) < 0)
		goto out;
	io.envp = (const char *const *)env;
	io.stdin_fd = f->fd[0];
	io.stdout_fd = f->fd[1];
	io.stderr_fd = f->fd[2];
	r = cni_plugin_main_io(&etcd_ipam_funcs, NULL, ABOUT, &io, NULL);
	out = memfd_text(io.stdout_fd);
	errs = memfd_text(io.stderr_fd);
	if (out && errs)
		ans = json_pack("{s:i,s:i,s:o,s:o}", "version", ETCD_IPAM_PROTO_VERSION, "code",
				r < 0 ? 1 : 0, "stdout", out, "stderr", errs);
	else {
		json_decref(out);
		json_decref(errs);
	}
out:
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		free(env[i]);
	return ans;
}

static void serve(int fd, const skel_files *f)
{
	size_t len = 0;
	char *line = read_request(fd, &len), *out;
	json_t *req = line ? json_loadb(line, len, JSON_DISABLE_EOF_CHECK, NULL) : NULL, *ans;

	free(line);
	if (!json_is_object(req)) {
		json_decref(req);
		return; /* nothing to answer: the client gets EOF */
	}
	ans = run_request(req, f);
	json_decref(req);
	out = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
	json_decref(ans);
	if (out) {
		size_t n = strlen(out), off = 0;

		out[n] = '\n';
		while (off < n + 1) {
			ssize_t w = send(fd, out + off, n + 1 - off, MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(out);
}

#define MAX_THREADS 64

typedef struct worker_arg {
	int lfd;
	unsigned idx, n;
} worker_arg;

static void *worker_main(void *p)
{
	const worker_arg *w = p;
	skel_files f;

	if (skel_files_open(&f) < 0) {
		logmsg("thread %u: cannot make its memfds: %s", w->idx, strerror(errno));
		return NULL;
	}
	etcd_ipam_set_worker(w->idx, w->n);
	while (!stop_flag) {
		struct pollfd pf = {.fd = w->lfd, .events = POLLIN};
		int c;

		if (poll(&pf, 1, 1000) <= 0)
			continue;
		/* the listening socket is non-blocking: another thread may have taken it */
		c = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
		serve(c, &f);
		close(c);
	}
	etcd_ipam_forget();
	skel_files_close(&f);
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: etcd-ipamd [-socketpath P] [-pidfile P] [-threads N]\n"
			"       etcd-ipamd --oneshot   (with CNI_COMMAND and the config on stdin)\n");
	return 2;
}

static int daemon_main(int argc, char **argv)
{
	const char *path = ETCD_IPAM_DEFAULT_SOCKET, *pidfile = NULL;
	struct sigaction sa = {.sa_handler = on_stop};
	pthread_t th[MAX_THREADS];
	worker_arg wa[MAX_THREADS];
	unsigned long nth = 1;
	int lfd;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i] + (argv[i][0] == '-' && argv[i][1] == '-');

		if (i + 1 >= argc)
			return usage();
		if (!strcmp(o, "-socketpath"))
			path = argv[++i];
		else if (!strcmp(o, "-pidfile"))
			pidfile = argv[++i];
		else if (!strcmp(o, "-threads")) {
			char *end;

			errno = 0;
			nth = strtoul(argv[++i], &end, 10);
			if (errno || *end || nth < 1 || nth > MAX_THREADS) {
				fprintf(stderr, "etcd-ipamd: -threads %s: 1..%d\n", argv[i],
					MAX_THREADS);
				return 2;
			}
		} else
			return usage();
	}
	cni_error *lerr = NULL;
	lfd = pc_daemon_listen(path, 256, &lerr);
	if (lfd < 0) {
		logmsg("%s", cni_error_msg(lerr));
		cni_error_free(lerr);
		return 1;
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "we");

		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	etcd_ipam_set_resident(true);
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	logmsg("listening on %s, %lu thread%s", path, nth, nth > 1 ? "s" : "");
	for (unsigned i = 0; i < nth; i++) {
		wa[i] = (worker_arg){.lfd = lfd, .idx = i, .n = (unsigned)nth};
		if (i && pthread_create(&th[i], NULL, worker_main, &wa[i]) != 0) {
			logmsg("cannot start thread %u: running with %u", i, i);
			nth = i;
		}
	}
	worker_main(&wa[0]);
	for (unsigned i = 1; i < nth; i++)
		pthread_join(th[i], NULL);
	logmsg("stopping");
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	json_object_seed(0); /* before any thread: jansson seeds its hashes once */
	if (argc == 2 && (!strcmp(argv[1], "--oneshot") || !strcmp(argv[1], "-oneshot")))
		r = cni_plugin_main(&etcd_ipam_funcs, NULL, ABOUT);
	else if (argc == 1 && getenv("CNI_COMMAND"))
		r = cni_plugin_main(&etcd_ipam_funcs, NULL, ABOUT);
	else
		r = daemon_main(argc, argv);
	curl_global_cleanup();
	return r;
}
