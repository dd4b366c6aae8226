/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define HAVE_SINGLE_THREADED 1
#endif
#endif

#include "internal.h"
#include "error-internal.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

struct cni_netns {
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
};

static int netns_from_fd(int fd, const char *path, cni_netns **out, cni_error **err)
{
	struct statfs sfs;
	struct stat st;

	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to stat netns %s: %s", path,
				     strerror(e));
	}
	/* /proc/<pid>/ns/net is on procfs in old kernels, nsfs in new ones */
	if ((unsigned long)sfs.f_type != NSFS_MAGIC && (unsigned long)sfs.f_type != PROC_SUPER_MAGIC) {
		close(fd);
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "%s is not a network namespace (unknown FS magic 0x%lx)", path,
				     (unsigned long)sfs.f_type);
	}
	cni_netns *ns = calloc(1, sizeof(*ns));
	if (!ns || !(ns->path = strdup(path))) {
		free(ns);
		close(fd);
		return cni_error_oom(err);
	}
	ns->fd = fd;
	ns->dev = st.st_dev;
	ns->ino = st.st_ino;
	*out = ns;
	return 0;
}

int cni_netns_open(const char *path, cni_netns **out, cni_error **err)
{
	if (isempty(path))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "empty netns path");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL,
					     "failed to open netns %s: %s", path, strerror(errno));
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to open netns %s: %s", path,
				     strerror(errno));
	}
	return netns_from_fd(fd, path, out, err);
}

int cni_netns_open_current(cni_netns **out, cni_error **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
	return cni_netns_open(path, out, err);
}

int cni_netns_fd(const cni_netns *ns)
{
	return ns ? ns->fd : -1;
}

const char *cni_netns_path(const cni_netns *ns)
{
	return ns ? ns->path : NULL;
}

bool cni_netns_same(const cni_netns *a, const cni_netns *b)
{
	return a && b && a->dev == b->dev && a->ino == b->ino;
}

void cni_netns_close(cni_netns *ns)
{
	if (!ns)
		return;
	if (ns->fd >= 0)
		close(ns->fd);
	free(ns->path);
	free(ns);
}

struct run_ctx {
	const cni_netns *ns;
	cni_netns_fn fn;
	void *userdata;
	cni_error *err;
	int ret;
};

static void *run_thread(void *arg)
{
	struct run_ctx *c = arg;
	/* A thread that shares fs info with others may not join a namespace for some types;
	 * for network namespaces setns works directly. The thread dies afterwards, so it never
	 * needs to switch back. */
	if (setns(c->ns->fd, CLONE_NEWNET) < 0) {
		c->ret = cni_error_set(&c->err, CNI_ERR_SYSTEM, NULL, "failed to enter netns %s: %s",
				       c->ns->path, strerror(errno));
		return NULL;
	}
	c->ret = c->fn(c->userdata, &c->err);
	return NULL;
}

/* The number of threads of this process: procfs gives /proc/self/task one link per
 * thread besides "." and ".."; 0 when it cannot be read. */
static long thread_count(void)
{
	struct stat st;
	return stat("/proc/self/task", &st) == 0 ? (long)st.st_nlink - 2 : 0;
}

/*
 * A process whose only thread is the caller (a plugin) switches that thread there and
 * back: a thread costs a clone, a join and two wake-ups, which on a busy machine is
 * milliseconds of scheduling latency per call. With no other thread, nothing can see the
 * caller's thread in the other namespace. Any other process gets a short-lived thread, so
 * none of its threads is ever seen in another namespace. A process that had threads and
 * is down to one again (a plugin that ran work side by side) counts as alone.
 */
static bool switch_in_place(void)
{
#ifdef HAVE_SINGLE_THREADED
	if (__libc_single_threaded)
		return true;
#endif
	return thread_count() == 1;
}

/* Run fn in ns on this thread, back is this thread's namespace (taken). */
static int run_here(const cni_netns *ns, int back, cni_netns_fn fn, void *userdata,
		    cni_error **err)
{
	if (setns(ns->fd, CLONE_NEWNET) < 0) {
		int saved = errno;
		close(back);
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to enter netns %s: %s",
				     ns->path, strerror(saved));
	}
	cni_error *e = NULL;
	int r = fn(userdata, &e);
	/* Entering a namespace we were in a moment ago, through a descriptor we hold, has no
	 * way to fail short of the kernel running out of memory, so it is tried again; a
	 * process that cannot get back must not go on configuring the wrong namespace. */
	for (int tries = 0; setns(back, CLONE_NEWNET) < 0; tries++)
		if (tries == 3)
			abort();
	close(back);
	if (r < 0 && err && !*err)
		*err = e;
	else
		cni_error_free(e);
	return r;
}

int cni_netns_run(const cni_netns *ns, cni_netns_fn fn, void *userdata, cni_error **err)
{
	struct run_ctx c = {ns, fn, userdata, NULL, 0};
	pthread_t t;

	if (!ns || !fn)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "cni_netns_run: no netns or function");
	if (switch_in_place()) {
		/* the namespace to come back to: this thread's, which need not be the
		 * process's; without /proc, a thread does it */
		int back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (back >= 0)
			return run_here(ns, back, fn, userdata, err);
	}
	int r = pthread_create(&t, NULL, run_thread, &c);
	if (r)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to start a thread: %s",
				     strerror(r));
	pthread_join(t, NULL);
	if (c.ret < 0 && err && !*err)
		*err = c.err;
	else
		cni_error_free(c.err);
	return c.ret;
}
