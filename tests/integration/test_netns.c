/* SPDX-License-Identifier: Apache-2.0 */
/* netns.c: opening namespaces and running work in them, against the real kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cni/cni.h>

#include "nstest.h"

static void test_netns_open_errors(void **state)
{
	cni_netns *ns = NULL;
	cni_error *e = NULL;
	assert_int_equal(cni_netns_open("/nonexistent/netns", &ns, &e), -CNI_ERR_NOT_FOUND);
	cni_error_free(e);
	e = NULL;
	assert_int_equal(cni_netns_open("/etc/hostname", &ns, &e),
			 -CNI_ERR_INVALID_ENVIRONMENT_VARIABLES);
	assert_non_null(strstr(cni_error_msg(e), "/etc/hostname is not a network namespace"));
	cni_error_free(e);
	assert_null(ns);
}

/* What a cni_netns_run() function saw: its thread and the inode of its namespace. */
struct where {
	pid_t tid;
	ino_t ns;
};

static ino_t thread_ns(void)
{
	struct stat st;
	assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
	return st.st_ino;
}

static int note_where(void *ud, cni_error **err)
{
	struct where *w = ud;
	(void)err;
	w->tid = gettid();
	w->ns = thread_ns();
	return 7;
}

struct watcher {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go, done;
	ino_t seen; /* the namespace the other thread was in while the work ran */
};

static void *watch(void *arg)
{
	struct watcher *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->go)
		pthread_cond_wait(&w->cond, &w->lock);
	w->seen = thread_ns();
	w->done = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct watched {
	struct watcher *w;
	struct where where;
};

/* Lets the other thread look at its own namespace while this work runs in the target. */
static int note_while_watched(void *ud, cni_error **err)
{
	struct watched *x = ud;
	pthread_mutex_lock(&x->w->lock);
	x->w->go = true;
	pthread_cond_broadcast(&x->w->cond);
	while (!x->w->done)
		pthread_cond_wait(&x->w->cond, &x->w->lock);
	pthread_mutex_unlock(&x->w->lock);
	return note_where(&x->where, err);
}

/*
 * A single-threaded caller runs the work on its own thread and comes back to its own
 * namespace; a caller with other threads runs it on a thread of its own, and the other
 * threads stay where they were all along.
 */
static void test_netns_run_threads(void **state)
{
	const char *p = nstest_create();
	cni_netns *ns = NULL;
	struct stat target;
	ino_t home = thread_ns();

	assert_int_equal(stat(p, &target), 0);
	assert_int_equal(cni_netns_open(p, &ns, NULL), 0);

	struct where w = {0, 0};
	assert_int_equal(cni_netns_run(ns, note_where, &w, NULL), 7);
	assert_int_equal(w.ns, target.st_ino);
	assert_int_equal(w.tid, gettid());
	assert_int_equal(thread_ns(), home);

	struct watcher wt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, 0};
	struct watched x = {&wt, {0, 0}};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, watch, &wt), 0);
	assert_int_equal(cni_netns_run(ns, note_while_watched, &x, NULL), 7);
	pthread_join(t, NULL);
	assert_int_equal(x.where.ns, target.st_ino);
	assert_int_not_equal(x.where.tid, gettid());
	assert_int_equal(wt.seen, home);
	assert_int_equal(thread_ns(), home);

	/* the other thread is gone: alone again, the caller's thread does it once more */
	struct where again = {0, 0};
	assert_int_equal(cni_netns_run(ns, note_where, &again, NULL), 7);
	assert_int_equal(again.ns, target.st_ino);
	assert_int_equal(again.tid, gettid());
	assert_int_equal(thread_ns(), home);
	cni_netns_close(ns);
}


/* The calling thread's own namespace, another one, and what identifies each. */
static void test_netns_identity(void **state)
{
	const char *p = nstest_create();
	cni_netns *here = NULL, *again = NULL, *other = NULL;
	cni_error *e = NULL;

	assert_int_equal(cni_netns_open_current(&here, NULL), 0);
	assert_int_equal(cni_netns_open_current(&again, NULL), 0);
	assert_int_equal(cni_netns_open(p, &other, NULL), 0);
	assert_true(cni_netns_same(here, again));
	assert_false(cni_netns_same(here, other));
	assert_false(cni_netns_same(here, NULL));
	assert_false(cni_netns_same(NULL, NULL));
	assert_string_equal(cni_netns_path(other), p);
	assert_non_null(strstr(cni_netns_path(here), "/ns/net"));
	assert_true(cni_netns_fd(other) >= 0);
	assert_int_equal(cni_netns_fd(NULL), -1);
	assert_null(cni_netns_path(NULL));

	/* a descriptor of the same namespace, found through the path, is the same */
	struct stat a, b;
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(fstat(cni_netns_fd(other), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);

	cni_netns *none = NULL;
	assert_int_equal(cni_netns_open("", &none, &e), -CNI_ERR_INVALID_ARG);
	assert_string_equal(cni_error_msg(e), "empty netns path");
	cni_error_free(e);
	assert_null(none);
	cni_netns_close(here);
	cni_netns_close(again);
	cni_netns_close(other);
	cni_netns_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netns_open_errors),
		cmocka_unit_test(test_netns_run_threads),
		cmocka_unit_test(test_netns_identity),
	};
	nstest_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
