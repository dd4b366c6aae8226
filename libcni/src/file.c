/* SPDX-License-Identifier: Apache-2.0 */
/* Files and descriptors: whole reads, atomic writes, mkdir -p, memfds, $PATH lookups. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"

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
			return cni_error_oom(err);
		}
	}
	size_t l = b.len;
	char *d = cni_buf_steal(&b);
	if (!d)
		return cni_error_oom(err);
	*out = d;
	if (len)
		*len = l;
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

/* An unnamed file in path's directory (-errno when O_TMPFILE cannot be had there). */
static int open_unnamed(const char *dir, unsigned int mode)
{
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode & 07777);
	return fd < 0 ? -errno : fd;
}

/* The unnamed file fd as name: with AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH), else
 * through /proc. */
static int link_unnamed(int fd, const char *name)
{
	char proc[64];
	if (linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno == EEXIST)
		return -EEXIST;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}

#define TMP_SUFFIX  ".tmp."
#define TMP_TAG_LEN 16

/* "<path>.tmp.<16 hex digits>": a name no other writer of path uses at the same time. */
static void tmp_name(char *tmp, size_t path_len)
{
	static _Atomic uint64_t counter;
	uint64_t tag = 0;
	if (getrandom(&tag, sizeof(tag), GRND_NONBLOCK) != (ssize_t)sizeof(tag)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		tag =
		    ((uint64_t)gettid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
	}
	tag ^= counter++;
	snprintf(tmp + path_len, sizeof(TMP_SUFFIX) + TMP_TAG_LEN, TMP_SUFFIX "%016" PRIx64, tag);
}

/* Whether name is base's temporary: "<base>.tmp" (older writers) or "<base>.tmp.<tag>". */
static bool is_tmp_of(const char *name, const char *base)
{
	size_t bl = strlen(base);
	if (strncmp(name, base, bl) != 0)
		return false;
	name += bl;
	if (strcmp(name, ".tmp") == 0)
		return true;
	if (strncmp(name, TMP_SUFFIX, strlen(TMP_SUFFIX)) != 0)
		return false;
	name += strlen(TMP_SUFFIX);
	return strlen(name) == TMP_TAG_LEN && strspn(name, "0123456789abcdef") == TMP_TAG_LEN;
}

/* path's directory as a new string ("." when path has none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
}

int cni_file_write_atomic(const char *path, const void *data, size_t len, unsigned int mode,
			  unsigned int flags, cni_error **err)
{
	if (isempty(path) || (!data && len))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_file_write_atomic: no path or no data");
	size_t pl = strlen(path);
	_cleanup_free_ char *dir = dir_of(path);
	_cleanup_free_ char *tmp = malloc(pl + sizeof(TMP_SUFFIX) + TMP_TAG_LEN);
	if (!dir || !tmp)
		return cni_error_oom(err);
	memcpy(tmp, path, pl);
	bool named = false;
	int fd = open_unnamed(dir, mode), r;
	if (fd < 0) {
		/* no O_TMPFILE here: a new file under a fresh temporary name */
		for (int i = 0; i < 16 && fd < 0; i++) {
			tmp_name(tmp, pl);
			fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
				  mode & 07777);
			if (fd < 0 && errno != EEXIST)
				break;
		}
		if (fd < 0)
			return cni_error_set_errno(err, errno, CNI_ERR_IO_FAILURE,
						   "failed to create %s: %s", tmp, strerror(errno));
		named = true;
	}
	if ((r = fchmod(fd, mode & 07777) < 0 ? -errno : 0) < 0 ||
	    (r = write_all(fd, data, len)) < 0 ||
	    (r = (flags & CNI_FILE_DURABLE) && fsync(fd) < 0 ? -errno : 0) < 0)
		goto fail;
	for (int i = 0; !named && i < 16; i++) {
		tmp_name(tmp, pl);
		if ((r = link_unnamed(fd, tmp)) == 0)
			named = true;
		else if (r != -EEXIST)
			goto fail;
	}
	if (!named)
		goto fail;
	r = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (r < 0 || (r = rename(tmp, path) < 0 ? -errno : 0) < 0)
		goto fail;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (named)
		unlink(tmp);
	return cni_error_set_errno(err, -r, CNI_ERR_IO_FAILURE, "failed to write %s: %s", path,
				   strerror(-r));
}

/* unlink(path); 0 also when it is not there. */
static int remove_one(const char *path, cni_error **err)
{
	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	int e = errno;
	return cni_error_set_errno(err, e, CNI_ERR_IO_FAILURE, "failed to remove %s: %s", path,
				   strerror(e));
}

int cni_file_remove_leftover(const char *path, cni_error **err)
{
	if (isempty(path))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "cni_file_remove: no path");
	_cleanup_free_ char *dir = dir_of(path);
	if (!dir)
		return cni_error_oom(err);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return cni_error_set_errno(err, errno, CNI_ERR_IO_FAILURE,
					   "failed to read directory %s: %s", dir, strerror(errno));
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return cni_error_oom(err);
	}
	int r = 0;
	for (struct dirent *de; r == 0 && (de = readdir(d));) {
		if (!is_tmp_of(de->d_name, base))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			int e = errno;
			r = cni_error_set_errno(err, e, CNI_ERR_IO_FAILURE,
						"failed to remove %s/%s: %s", dir, de->d_name,
						strerror(e));
		}
	}
	closedir(d);
	return r;
}

int cni_file_remove(const char *path, cni_error **err)
{
	if (isempty(path))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "cni_file_remove: no path");
	/* the file first: a directory that cannot be read for leftovers must not keep it */
	int r = remove_one(path, err);
	return r < 0 ? r : cni_file_remove_leftover(path, err);
}

int cni_mkdir_p(const char *path, unsigned int mode, cni_error **err)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return cni_error_oom(err);
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
			return cni_error_oom(err);
		}
	}
	if (len)
		*len = b.len;
	if (!(*out = cni_buf_steal(&b)))
		return cni_error_oom(err);
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
