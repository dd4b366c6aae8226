/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growable string for our plugins (internal, never installed), for building rule
 * batches a line at a time. Start from sbuf b = {0}; s is NUL-terminated once anything
 * was written (NULL before), free(b.s) when done. Out of memory is sticky: it sets oom,
 * later writes do nothing, and the caller checks oom once at the end.
 */
#ifndef CNI_PLUGIN_BUF_H
#define CNI_PLUGIN_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
} sbuf;

void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
