/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cni-bench: times ADD / CHECK / DEL of one network list through our runtime API, all in
 * one process, so the runtime's own start-up is not part of any number. It is the C half
 * of tests/bench (tests/bench/go/refbench.go is the same program on the reference libcni;
 * keep the two in step: same flags, same output).
 *
 *   cni-bench -l LIST -p DIRS -c CACHEDIR [-f IFNAME] [-i PREFIX] [-s START]
 *             [-o add,check,del] [-P HOSTPORT] [-j JOBS] NETNS...
 *
 * Attachment k (0-based, in the order the netns paths are given) uses container id
 * PREFIX-(START+k), interface IFNAME and the k-th netns. Each op of -o is one phase run
 * over every attachment before the next op starts; with -j the phase is split among JOBS
 * threads sharing one cni_config (as a runtime would). -P adds the portMappings
 * capability arg {hostPort: HOSTPORT+START+k, containerPort: 80, tcp}.
 *
 * Output, JSON lines on stdout, printed after each phase so printing is never timed:
 *   {"op":"add","k":3,"us":1234.5,"ok":true}
 *   {"op":"add","k":4,"us":99.1,"ok":false,"err":"..."}
 *   {"phase":"add","n":10,"jobs":1,"wall_us":12345.6,"errors":0}
 * Exit status: 0 when every op succeeded, 1 when one failed, 2 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cni/cni.h"

enum bench_op { OP_ADD, OP_CHECK, OP_DEL };
static const char *const op_names[] = {"add", "check", "del"};

struct bench_item {
	char id[64];
	char caps[160];
	double us;
	char *err; /* NULL on success */
};

struct bench_run {
	const cni_config *cfg;
	const cni_conflist *list;
	const char *ifname;
	char **netns;
	struct bench_item *items;
	size_t n;
	bool with_caps;
	enum bench_op op;
	atomic_size_t next;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Error text as a JSON string body: quotes, backslashes and control bytes escaped. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static char *error_text(cni_error *e, int r)
{
	char *s = NULL;

	if (e) {
		if (asprintf(&s, "code %d: %s", cni_error_spec_code(e), cni_error_msg(e)) < 0)
			s = NULL;
	} else if (asprintf(&s, "failed with %d and no error object", r) < 0) {
		s = NULL;
	}
	return s ? s : strdup("out of memory");
}

static void run_one(struct bench_run *run, size_t k)
{
	struct bench_item *it = &run->items[k];
	cni_runtime_conf rt = CNI_RUNTIME_CONF_INIT;
	cni_result *res = NULL;
	cni_error *e = NULL;
	double t0;
	int r;

	rt.container_id = it->id;
	rt.netns = run->netns[k];
	rt.ifname = run->ifname;
	rt.capability_args = run->with_caps ? it->caps : NULL;

	t0 = now_us();
	switch (run->op) {
	case OP_ADD:
		r = cni_add_network_list(run->cfg, run->list, &rt, &res, &e);
		break;
	case OP_CHECK:
		r = cni_check_network_list(run->cfg, run->list, &rt, &e);
		break;
	default:
		r = cni_del_network_list(run->cfg, run->list, &rt, &e);
		break;
	}
	it->us = now_us() - t0;
	free(it->err);
	it->err = r < 0 ? error_text(e, r) : NULL;
	cni_result_free(res);
	cni_error_free(e);
}

static void *worker(void *arg)
{
	struct bench_run *run = arg;
	size_t k;

	while ((k = atomic_fetch_add(&run->next, 1)) < run->n)
		run_one(run, k);
	return NULL;
}

/* One phase over every attachment; returns the number of failed ops, or -1. */
static long run_phase(struct bench_run *run, unsigned int jobs)
{
	pthread_t threads[64];
	unsigned int started = 0, i;
	double t0, wall;
	long errors = 0;
	size_t k;

	atomic_store(&run->next, 0);
	t0 = now_us();
	if (jobs <= 1) {
		worker(run);
	} else {
		for (i = 0; i < jobs; i++) {
			if (pthread_create(&threads[i], NULL, worker, run) != 0)
				break;
			started++;
		}
		/* If thread creation fell short, the threads that exist still drain the queue. */
		if (started == 0)
			worker(run);
		for (i = 0; i < started; i++)
			pthread_join(threads[i], NULL);
	}
	wall = now_us() - t0;

	for (k = 0; k < run->n; k++) {
		struct bench_item *it = &run->items[k];
		printf("{\"op\":\"%s\",\"k\":%zu,\"us\":%.1f,\"ok\":%s", op_names[run->op], k,
		       it->us, it->err ? "false" : "true");
		if (it->err) {
			printf(",\"err\":");
			print_json_string(it->err);
			fprintf(stderr, "cni-bench: %s %s: %s\n", op_names[run->op], it->id,
				it->err);
			errors++;
		}
		printf("}\n");
	}
	printf("{\"phase\":\"%s\",\"n\":%zu,\"jobs\":%u,\"wall_us\":%.1f,\"errors\":%ld}\n",
	       op_names[run->op], run->n, jobs, wall, errors);
	fflush(stdout);
	return errors;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_ops(const char *s, enum bench_op *ops, size_t *n_ops)
{
	char *copy = strdup(s), *save = NULL, *tok;
	size_t n = 0;
	int r = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum bench_op op;
		if (strcmp(tok, "add") == 0)
			op = OP_ADD;
		else if (strcmp(tok, "check") == 0)
			op = OP_CHECK;
		else if (strcmp(tok, "del") == 0)
			op = OP_DEL;
		else {
			fprintf(stderr, "cni-bench: unknown op '%s' (add, check, del)\n", tok);
			r = -1;
			break;
		}
		if (n == 8) {
			r = -1;
			break;
		}
		ops[n++] = op;
	}
	free(copy);
	if (r == 0 && n == 0)
		r = -1;
	*n_ops = n;
	return r;
}

/* "a:b:c" -> NULL-terminated array of pointers into a private copy. */
static char **split_path(const char *s)
{
	size_t n = 2;
	const char *q;
	char *copy, **v, *p;

	for (q = s; *q; q++)
		n += *q == ':';
	copy = strdup(s);
	v = calloc(n + 1, sizeof(*v));
	if (!copy || !v) {
		free(copy);
		free(v);
		return NULL;
	}
	n = 0;
	v[n++] = copy; /* slot 0 keeps the buffer for free() */
	for (p = strtok(copy, ":"); p; p = strtok(NULL, ":"))
		v[n++] = p;
	v[n] = NULL;
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cni-bench -l LIST -p DIRS -c CACHEDIR [-f IFNAME] [-i PREFIX] [-s START]\n"
		"                 [-o add,check,del] [-P HOSTPORT] [-j JOBS] NETNS...\n");
}

int main(int argc, char **argv)
{
	const char *list_path = NULL, *dirs = NULL, *cache = NULL, *ifname = "eth0";
	const char *prefix = "bench";
	unsigned long start = 0, hostport = 0, jobs = 1;
	enum bench_op ops[8] = {OP_ADD, OP_CHECK, OP_DEL};
	size_t n_ops = 3, i, k;
	cni_config_options opts = CNI_CONFIG_OPTIONS_INIT;
	cni_config *cfg = NULL;
	cni_conflist *list = NULL;
	cni_error *e = NULL;
	struct bench_run run;
	char **path = NULL;
	long errors = 0;
	int c, rc = 0;

	while ((c = getopt(argc, argv, "l:p:c:f:i:s:o:P:j:h")) != -1) {
		switch (c) {
		case 'l':
			list_path = optarg;
			break;
		case 'p':
			dirs = optarg;
			break;
		case 'c':
			cache = optarg;
			break;
		case 'f':
			ifname = optarg;
			break;
		case 'i':
			prefix = optarg;
			break;
		case 's':
			if (parse_ulong(optarg, 1000000, &start) < 0)
				goto bad;
			break;
		case 'o':
			if (parse_ops(optarg, ops, &n_ops) < 0)
				goto bad;
			break;
		case 'P':
			if (parse_ulong(optarg, 65535, &hostport) < 0 || hostport == 0)
				goto bad;
			break;
		case 'j':
			if (parse_ulong(optarg, 64, &jobs) < 0 || jobs == 0)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (!list_path || !dirs || !cache || optind >= argc)
		goto bad;

	memset(&run, 0, sizeof(run));
	run.n = (size_t)(argc - optind);
	run.netns = argv + optind;
	run.ifname = ifname;
	run.with_caps = hostport != 0;
	run.items = calloc(run.n, sizeof(*run.items));
	if (!run.items)
		return 1;
	for (k = 0; k < run.n; k++) {
		snprintf(run.items[k].id, sizeof(run.items[k].id), "%s-%lu", prefix, start + k);
		if (run.with_caps && hostport + start + k > 65535) {
			fprintf(stderr, "cni-bench: host port %lu out of range\n",
				hostport + start + k);
			rc = 2;
			goto out;
		}
		snprintf(run.items[k].caps, sizeof(run.items[k].caps),
			 "{\"portMappings\":[{\"hostPort\":%lu,\"containerPort\":80,"
			 "\"protocol\":\"tcp\"}]}",
			 hostport + start + k);
	}

	if (cni_conflist_from_file(&list, list_path, &e) < 0) {
		fprintf(stderr, "cni-bench: %s: %s\n", list_path, cni_error_msg(e));
		rc = 1;
		goto out;
	}
	path = split_path(dirs);
	if (!path) {
		rc = 1;
		goto out;
	}
	opts.path = (const char *const *)(path + 1);
	opts.cache_dir = cache;
	if (cni_config_new(&cfg, &opts, &e) < 0) {
		fprintf(stderr, "cni-bench: config: %s\n", cni_error_msg(e));
		rc = 1;
		goto out;
	}
	run.cfg = cfg;
	run.list = list;

	for (i = 0; i < n_ops; i++) {
		long r;
		run.op = ops[i];
		r = run_phase(&run, (unsigned int)jobs);
		if (r < 0) {
			rc = 1;
			goto out;
		}
		errors += r;
	}
	rc = errors ? 1 : 0;

out:
	for (k = 0; k < run.n; k++)
		free(run.items[k].err);
	free(run.items);
	if (path)
		free(path[0]);
	free(path);
	cni_config_free(cfg);
	cni_conflist_free(list);
	cni_error_free(e);
	return rc;

bad:
	usage(stderr);
	return 2;
}
