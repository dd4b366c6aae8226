/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_NSTEST_H
#define CNI_NSTEST_H

/*
 * Test namespaces: unique names (cni-it-<pid>-<n>), created with ip(8) and removed at
 * exit, on fatal signals and by the tests themselves. Tests skip (exit 77) when the
 * machine cannot create namespaces.
 */

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NSTEST_MAX 16
static char nstest_names[NSTEST_MAX][64];
static int nstest_count;

static void nstest_cleanup(void)
{
	char cmd[256];
	for (int i = 0; i < nstest_count; i++) {
		if (!nstest_names[i][0])
			continue;
		if (snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", nstest_names[i]) >=
		    (int)sizeof(cmd))
			continue; /* cannot happen: names are short */
		if (system(cmd) != 0) {
			/* already gone */
		}
		nstest_names[i][0] = '\0';
	}
}

static void nstest_signal(int sig)
{
	nstest_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void nstest_init(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	if (geteuid() != 0) {
		printf("SKIP: needs root to create network namespaces\n");
		exit(77);
	}
	atexit(nstest_cleanup);
	signal(SIGSEGV, nstest_signal);
	signal(SIGABRT, nstest_signal);
	signal(SIGINT, nstest_signal);
	signal(SIGTERM, nstest_signal);
}

/* Create a namespace; returns its /run/netns path in a static slot. Exits 77 if impossible. */
static const char *nstest_create(void)
{
	static char paths[NSTEST_MAX][96];
	char cmd[256];
	nstest_init();
	if (nstest_count >= NSTEST_MAX) {
		fprintf(stderr, "too many test namespaces\n");
		abort();
	}
	int i = nstest_count++;
	snprintf(nstest_names[i], sizeof(nstest_names[i]), "cni-it-%d-%d", (int)getpid(), i);
	snprintf(cmd, sizeof(cmd), "ip netns add %s", nstest_names[i]);
	if (system(cmd) != 0) {
		nstest_names[i][0] = '\0';
		printf("SKIP: cannot create a network namespace\n");
		exit(77);
	}
	snprintf(paths[i], sizeof(paths[i]), "/run/netns/%s", nstest_names[i]);
	return paths[i];
}

/* Run a shell command inside namespace path's name; returns its exit status. */
static int nstest_exec(const char *path, const char *cmd)
{
	char buf[4096];
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (snprintf(buf, sizeof(buf), "ip netns exec %s %s", name, cmd) >= (int)sizeof(buf)) {
		fprintf(stderr, "nstest_exec: command too long\n");
		return -1;
	}
	return system(buf);
}

/*
 * Output of a shell command run inside namespace path's name (stdout and stderr), in a
 * static buffer that the next call overwrites; aborts if the command cannot be started.
 */
static inline char *nstest_output(const char *path, const char *cmd)
{
	static char out[16384];
	char buf[4096];
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (snprintf(buf, sizeof(buf), "ip netns exec %s %s 2>&1", name, cmd) >= (int)sizeof(buf)) {
		fprintf(stderr, "nstest_output: command too long\n");
		abort();
	}
	FILE *f = popen(buf, "r");
	if (!f) {
		perror("nstest_output: popen");
		abort();
	}
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

/*
 * Whether this kernel's nf_tables has the inet family (checked once, in a namespace of
 * our own). The user-mode kernel of tests/kernel has only the bridge family, so there the
 * nftables tests skip, saying why; they run on the machines' kernel.
 */
static inline int nstest_kernel_has_nft(void)
{
	static int known = -1;
	if (known < 0) {
		const char *ns = nstest_create();
		known = nstest_exec(ns, "nft add table inet cni_nstest_probe 2>/dev/null") == 0;
	}
	return known;
}

#ifdef skip
/* In a cmocka test: skip it where nftables cannot run (see nstest_kernel_has_nft). */
#define NSTEST_NEED_NFT()                                                                          \
	do {                                                                                       \
		if (!nstest_kernel_has_nft()) {                                                    \
			printf("SKIP: this kernel's nf_tables has no inet family "                 \
			       "(tested on the machines' kernel)\n");                              \
			skip();                                                                    \
		}                                                                                  \
	} while (0)
#endif

#if defined(skip) && defined(CNI_CNI_H)
/*
 * In a cmocka test: whether a call (result r, error e) failed only because this kernel
 * lacks a feature (EOPNOTSUPP: VRF, bridge VLAN filtering on the machines' kernel). Where
 * the user-mode kernel runs the suite (CNI_TEST_REQUIRE_KERNEL_FEATURES=1) that is a
 * failure; elsewhere it prints why the part is skipped and returns true.
 */
static inline bool nstest_kernel_lacks(int r, const cni_error *e, const char *what)
{
	if (r == 0 || cni_error_errno(e) != EOPNOTSUPP)
		return false;
	const char *req = getenv("CNI_TEST_REQUIRE_KERNEL_FEATURES");
	assert_false(req && *req == '1');
	printf("SKIP: this kernel has no %s (tested in the user-mode kernel)\n", what);
	return true;
}
#endif

#endif
