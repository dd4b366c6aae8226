/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_FILE_H
#define CNI_FILE_H

/**
 * @file cni/file.h
 * @brief State files a plugin keeps between ADD and DEL, written so that a reader (or the
 * next run, after a crash) sees the old content or the new one, and so that a DEL can
 * remove everything a killed write left; and the lexical cleaning of a path.
 */

#include "error.h"

CNI_BEGIN_DECL

/** cni_file_write_atomic() flag: fsync the new content before it replaces the old. */
#define CNI_FILE_DURABLE 1u

/**
 * Replace path's content with data (len bytes), mode for a new file.
 *
 * The content is written to an unnamed file in path's directory (O_TMPFILE), linked as
 * "<path>.tmp.<16 hex digits>", a name of this write's own, and renamed over path; where
 * O_TMPFILE is missing, that temporary name is created directly. Writers of one path may
 * run at once: each renames its own whole file, and the last rename wins. A process killed
 * at any point leaves path whole (old or new) and at most its temporary file, which
 * cni_file_remove() and cni_file_remove_leftover() remove. The directory must exist.
 */
CNI_EXPORT int cni_file_write_atomic(const char *path, const void *data, size_t len,
				     unsigned int mode, unsigned int flags, cni_error **err);

/**
 * Remove path and the temporary files ("<path>.tmp.<tag>", and the "<path>.tmp" of versions
 * before 0.2) that interrupted cni_file_write_atomic() calls may have left. Nothing being
 * there is success. Do not run it while another process writes path: its temporary file
 * would go and its write fail.
 */
CNI_EXPORT int cni_file_remove(const char *path, cni_error **err);

/**
 * Remove only what interrupted cni_file_write_atomic() calls of path may have left, keeping
 * path itself (path's directory is read to find them). Nothing there is success.
 */
CNI_EXPORT int cni_file_remove_leftover(const char *path, cni_error **err);

/** mkdir -p: path and its missing parents, made with mode; existing ones are fine. */
CNI_EXPORT int cni_mkdir_p(const char *path, unsigned int mode, cni_error **err);

/**
 * path cleaned lexically, as Go's filepath.Clean does (so a name built the reference's
 * way comes out the same): repeated '/' become one, "." elements go, ".." takes back the
 * element before it ("/.." is "/"; a relative path keeps the ".." it cannot resolve), no
 * trailing '/' but for "/" itself, and "" is ".". The file system is not looked at
 * (symbolic links stay as they are). Since LIBCNI_C_0.2.
 *
 * Returns a new string (cni_free()), NULL when out of memory or path is NULL.
 */
CNI_EXPORT char *cni_path_clean(const char *path);

CNI_END_DECL

#endif
