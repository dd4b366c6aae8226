/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "internal.h"

const char *cni_library_version(void)
{
	return LIBCNI_C_VERSION;
}

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

int cni_read_file(const char *path, size_t max, char **out, size_t *len, cni_error **err)
{
	_cleanup_close_ int fd = -1;
	cni_buf b = CNI_BUF_INIT;
	char chunk[8192];

	if (!max)
		max = 64u << 20;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cni_error_set(err, errno == ENOENT ? CNI_ERR_NOT_FOUND : CNI_ERR_IO_FAILURE,
				     NULL, "error reading %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			cni_buf_free(&b);
			return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "error reading %s: %s",
					     path, strerror(e));
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			cni_buf_free(&b);
			return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
					     "error reading %s: larger than %zu bytes", path, max);
		}
		if (cni_buf_append(&b, chunk, (size_t)n) < 0) {
			cni_buf_free(&b);
			return cni_oom(err);
		}
	}
	size_t l = b.len;
	char *d = cni_buf_steal(&b);
	if (!d)
		return cni_oom(err);
	*out = d;
	if (len)
		*len = l;
	return 0;
}

int cni_write_file_atomic(const char *path, const char *data, size_t len, unsigned int mode,
			  bool durable, cni_error **err)
{
	_cleanup_free_ char *tmp = cni_strdupf("%s.tmp.XXXXXX", path);
	if (!tmp)
		return cni_oom(err);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to create %s: %s", tmp,
				     strerror(errno));
	if (fchmod(fd, mode) < 0)
		goto fail;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (durable && fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to write %s: %s", path,
			     strerror(e));
}

int cni_mkdir_p(const char *path, unsigned int mode, cni_error **err)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return cni_oom(err);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
						     "failed to create directory %s: %s", p,
						     strerror(errno));
			*s = c;
			if (!c)
				break;
		}
	}
	return 0;
}

int cni_buf_go_quote(cni_buf *b, const char *s)
{
	int r = cni_buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; r == 0 && *p; p++) {
		switch (*p) {
		case '"': r = cni_buf_puts(b, "\\\""); break;
		case '\\': r = cni_buf_puts(b, "\\\\"); break;
		case '\n': r = cni_buf_puts(b, "\\n"); break;
		case '\r': r = cni_buf_puts(b, "\\r"); break;
		case '\t': r = cni_buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				r = cni_buf_printf(b, "\\x%02x", *p);
			else
				r = cni_buf_append(b, (const char *)p, 1);
		}
	}
	return r ? r : cni_buf_puts(b, "\"");
}

char *cni_go_quote(const char *s)
{
	cni_buf b = CNI_BUF_INIT;
	if (cni_buf_go_quote(&b, s) < 0) {
		cni_buf_free(&b);
		return NULL;
	}
	return cni_buf_steal(&b);
}

int cni_memfd_with(const char *name, const char *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			return -saved;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		int saved = errno;
		close(fd);
		return -saved;
	}
	return fd;
}

int cni_fd_read_all(int fd, char **out, size_t *len, cni_error **err)
{
	cni_buf b = CNI_BUF_INIT;
	char chunk[4096];

	if (lseek(fd, 0, SEEK_SET) < 0)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "lseek: %s", strerror(errno));
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cni_buf_free(&b);
			return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "read: %s",
					     strerror(errno));
		}
		if (n == 0)
			break;
		if (cni_buf_append(&b, chunk, (size_t)n) < 0) {
			cni_buf_free(&b);
			return cni_oom(err);
		}
	}
	if (len)
		*len = b.len;
	if (!(*out = cni_buf_steal(&b)))
		return cni_oom(err);
	return 0;
}

char *cni_find_in_dirs(const char *name, const char *dirs)
{
	struct stat st;

	for (const char *p = strempty(dirs); *p;) {
		size_t len = strcspn(p, ":");
		if (len > 0) {
			char *cand = cni_strdupf("%.*s/%s", (int)len, p, name);
			if (!cand)
				return NULL;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
				return cand;
			free(cand);
		}
		p += len + (p[len] == ':');
	}
	return NULL;
}
