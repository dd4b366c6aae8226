/* SPDX-License-Identifier: Apache-2.0 */
/* Files and descriptors (file.c). Never installed. */
#ifndef CNI_FILE_INTERNAL_H
#define CNI_FILE_INTERNAL_H

#include "internal.h"

/* Read a whole file (O_CLOEXEC), NUL-terminated; at most max bytes (0 = 64 MiB). */
int cni_read_file(const char *path, size_t max, char **out, size_t *len, cni_error **err);
/* A new memfd (close-on-exec) holding data, its offset at the start; -errno on failure. */
int cni_memfd_with(const char *name, const char *data, size_t len);
/* The whole content of fd from its start, NUL-terminated; *len (optional) its length. */
int cni_fd_read_all(int fd, char **out, size_t *len, cni_error **err);
/* Where tools are looked for when $PATH is unset or empty. */
#define CNI_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The first executable regular file called name in the ':'-separated dirs (empty
 * entries skipped), as a new string; NULL when there is none (or out of memory). */
char *cni_find_in_dirs(const char *name, const char *dirs);

#endif
