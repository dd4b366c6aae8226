/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_INTERNAL_H
#define CNI_INTERNAL_H

/*
 * Private helpers shared by the library's modules. Never installed.
 * Style follows systemd: _cleanup_ attributes, TAKE_PTR, negative codes.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/cni.h"

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* func##p(type *p), which calls func(*p) unless *p is NULL: the function _cleanup_(func##p)
 * wants, as systemd's DEFINE_TRIVIAL_CLEANUP_FUNC makes it. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* A versioned struct handed in by a caller: 0 was never initialised (no *_INIT), a
 * version above the one this library knows comes from newer headers. */
static inline bool cni_struct_version_ok(unsigned int version, unsigned int current)
{
	return version > 0 && version <= current;
}

/* jansson provides json_decrefp() */
#define _cleanup_json_ _cleanup_(json_decrefp)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define streq(a, b) (strcmp((a), (b)) == 0)

static inline const char *strempty(const char *s)
{
	return s ? s : "";
}

/* qsort comparator for an array of strings, byte order */
static inline int cni_strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static inline bool isempty(const char *s)
{
	return !s || !*s;
}

#endif
