/* SPDX-License-Identifier: Apache-2.0 */
/* Strings, string vectors and the growable buffer; nothing else of the library. */
#include <stdarg.h>
#include <stdio.h>

#include "buf-internal.h"

void cni_free(void *ptr)
{
	free(ptr);
}

void cni_strv_free(char **strv)
{
	if (!strv)
		return;
	for (char **p = strv; *p; p++)
		free(*p);
	free(strv);
}

char *cni_strdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *cni_strdupf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

size_t cni_strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int cni_strv_consume(char ***v, char *s)
{
	if (!s)
		return -CNI_ERR_NOMEM;
	size_t n = cni_strv_length(*v);
	char **nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv) {
		free(s);
		return -CNI_ERR_NOMEM;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

int cni_strv_push(char ***v, const char *s)
{
	return cni_strv_consume(v, strdup(s));
}

int cni_strv_dup(const char *const *v, char ***out)
{
	char **nv = calloc(1, sizeof(char *));
	if (!nv)
		return -CNI_ERR_NOMEM;
	for (size_t i = 0; v && v[i]; i++) {
		if (cni_strv_push(&nv, v[i]) < 0) {
			cni_strv_free(nv);
			return -CNI_ERR_NOMEM;
		}
	}
	*out = nv;
	return 0;
}

int cni_buf_append(cni_buf *b, const char *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *nd = realloc(b->data, cap);
		if (!nd)
			return -CNI_ERR_NOMEM;
		b->data = nd;
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int cni_buf_puts(cni_buf *b, const char *s)
{
	return cni_buf_append(b, s, strlen(s));
}

int cni_buf_printf(cni_buf *b, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -CNI_ERR_NOMEM;
	int r = cni_buf_append(b, s, (size_t)n);
	free(s);
	return r;
}

char *cni_buf_steal(cni_buf *b)
{
	if (!b->data && cni_buf_append(b, "", 0) < 0)
		return NULL;
	char *d = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void cni_buf_free(cni_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
