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

static inline void strv_freep(char ***p)
{
	cni_strv_free(*p);
}
#define _cleanup_strv_ _cleanup_(strv_freep)

static inline void cni_error_freep(cni_error **p)
{
	cni_error_free(*p);
}
#define _cleanup_error_ _cleanup_(cni_error_freep)

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

/* Fail with -CNI_ERR_NOMEM, setting *err when possible. */
int cni_oom(cni_error **err);
/*
 * Errors read from a plugin's error JSON carry the plugin's own code, which may be
 * anything from 100 up, the library's range included: such an error is "foreign", and
 * its code is printed as it is (cni_error_spec_code), never turned into 999.
 */
void cni_error_set_foreign(cni_error *e);
/* What a function failing with e returns: -code, except that a foreign code in the
 * library's range (it would read as, say, -CNI_ERR_NOT_FOUND) or 0 (the reference's
 * ErrUnknown) returns -CNI_ERR_EXEC, and a library error with code 0 -CNI_ERR_INTERNAL. */
int cni_error_return_code(const cni_error *e);

/* ---- strings (util.c) ---- */
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

/* Append s quoted as Go's %q does (escapes ", \\ and control bytes). */
struct cni_buf;
int cni_buf_go_quote(struct cni_buf *b, const char *s);
/* New string: s quoted as Go's %q. NULL on allocation failure. */
char *cni_go_quote(const char *s);

/* Growable string buffer. */
typedef struct cni_buf {
	char *data;
	size_t len;
	size_t cap;
} cni_buf;
#define CNI_BUF_INIT {NULL, 0, 0}
int cni_buf_append(cni_buf *b, const char *data, size_t len);
int cni_buf_puts(cni_buf *b, const char *s);
int cni_buf_printf(cni_buf *b, const char *fmt, ...) CNI_PRINTF(2, 3);
/* Hand over the NUL-terminated data (an empty string when nothing was added). */
char *cni_buf_steal(cni_buf *b);
void cni_buf_free(cni_buf *b);

/* Read a whole file (O_CLOEXEC), NUL-terminated; at most max bytes (0 = 64 MiB). */
int cni_read_file(const char *path, size_t max, char **out, size_t *len, cni_error **err);
/*
 * Write a file atomically (temp file + rename) with the given mode: readers see the old
 * or the new content, never a mix. durable adds an fsync before the rename, so the new
 * content also survives a power loss (about 2 ms on ext4).
 */
int cni_write_file_atomic(const char *path, const char *data, size_t len, unsigned int mode,
			  bool durable, cni_error **err);
/* A new memfd (close-on-exec) holding data, its offset at the start; -errno on failure. */
int cni_memfd_with(const char *name, const char *data, size_t len);
/* The whole content of fd from its start, NUL-terminated; *len (optional) its length. */
int cni_fd_read_all(int fd, char **out, size_t *len, cni_error **err);
/* Where tools are looked for when $PATH is unset or empty. */
#define CNI_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The first executable regular file called name in the ':'-separated dirs (empty
 * entries skipped), as a new string; NULL when there is none (or out of memory). */
char *cni_find_in_dirs(const char *name, const char *dirs);
/* mkdir -p with mode for the directories it creates. */
int cni_mkdir_p(const char *path, unsigned int mode, cni_error **err);

/* ---- JSON (json.c) ---- */
/* Parse text that must be a JSON object; errors are -CNI_ERR_DECODING_FAILURE with
 * jansson's line/column text prefixed with what (e.g. "error unmarshall network config"). */
int cni_json_parse_object(const char *data, size_t len, const char *what, json_t **out,
			  cni_error **err);
/* Serialize compactly (JSON_COMPACT, keys in insertion order). NULL on failure. */
char *cni_json_dump_compact(const json_t *j);
/* Borrowed string member or NULL when absent or not a string. */
const char *cni_json_get_string(const json_t *obj, const char *key);
/* "an object", "a string", "a number", "null"... for messages. */
const char *cni_json_kind_phrase(const json_t *v);

/*
 * JSON text exactly as Go's encoding/json writes it (compact; <, >, &, U+2028/9 escaped;
 * control bytes as \u00XX). CNI_GOJSON_SORTED sorts object keys (a Go map) instead of
 * keeping their order (a Go struct); CNI_GOJSON_FLOAT64 prints integers as float64, as
 * Go does for numbers it decoded into interface{}.
 */
#define CNI_GOJSON_SORTED  0x1u
#define CNI_GOJSON_FLOAT64 0x2u
int cni_json_append_go(cni_buf *b, const json_t *j, unsigned int flags);
int cni_json_append_go_string(cni_buf *b, const char *s, size_t len);
/* Sorted keys, float64 numbers: how Go re-encodes a config it decoded into a map. */
char *cni_json_marshal_go(const json_t *j);

/* base64 (standard alphabet, padded), as Go encodes []byte in JSON. */
char *cni_base64_encode(const void *data, size_t len);
int cni_base64_decode(const char *in, char **out, size_t *out_len);

#endif
