/* SPDX-License-Identifier: Apache-2.0 */
/* Strings, string vectors and a growable buffer (buf.c). They depend on nothing else of the
 * library: a failure is -CNI_ERR_NOMEM, with no cni_error. Never installed. */
#ifndef CNI_BUF_INTERNAL_H
#define CNI_BUF_INTERNAL_H

#include "internal.h"

/* strdup that tolerates NULL (returns NULL for NULL). */
char *cni_strdup0(const char *s);
/* New string from printf; NULL on allocation failure. */
char *cni_strdupf(const char *fmt, ...) CNI_PRINTF(1, 2);
size_t cni_strv_length(char *const *v);
/* New deep copy of a NULL-terminated array (NULL in gives NULL out with 0). */
int cni_strv_dup(const char *const *v, char ***out);
/* Append a copy of s; *v may be NULL. */
int cni_strv_push(char ***v, const char *s);
/* Append s itself (taken) */
int cni_strv_consume(char ***v, char *s);

/* Growable string buffer. */
typedef struct cni_buf {
	char *data;
	size_t len;
	size_t cap;
} cni_buf;
#define CNI_BUF_INIT                                                                               \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}
int cni_buf_append(cni_buf *b, const char *data, size_t len);
int cni_buf_puts(cni_buf *b, const char *s);
int cni_buf_printf(cni_buf *b, const char *fmt, ...) CNI_PRINTF(2, 3);
/* Hand over the NUL-terminated data (an empty string when nothing was added). */
char *cni_buf_steal(cni_buf *b);
void cni_buf_free(cni_buf *b);

DEFINE_TRIVIAL_CLEANUP_FUNC(char **, cni_strv_free)
#define _cleanup_strv_ _cleanup_(cni_strv_freep)

#endif
