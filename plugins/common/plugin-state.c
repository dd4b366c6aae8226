/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin-state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_parents(const char *path, cni_error **err)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "path too long: %s", path);
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = '\0';
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
					     "failed to create directory %s: %s", buf,
					     strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

int ps_save(const char *path, const json_t *v, cni_error **err)
{
	int r = mkdir_parents(path, err);
	if (r < 0)
		return r;
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "path too long: %s", path);
	char *text = json_dumps(v, JSON_COMPACT);
	if (!text)
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to write %s: %s", tmp,
				  strerror(errno));
		free(text);
		return r;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	int saved_errno = errno;
	free(text);
	if (off < len || fsync(fd) < 0) {
		if (off == len)
			saved_errno = errno;
		close(fd);
		unlink(tmp);
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to write %s: %s", tmp,
				     strerror(saved_errno));
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		r = cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to rename %s to %s: %s",
				  tmp, path, strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

int ps_load(const char *path, json_t **out, cni_error **err)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to read %s: %s", path,
				     strerror(errno));
	}
	json_error_t je;
	json_t *v = json_loadf(f, 0, &je);
	fclose(f);
	if (!v)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL, "failed to parse %s: %s",
				     path, je.text);
	*out = v;
	return 0;
}

int ps_remove(const char *path, cni_error **err)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to remove %s: %s", path,
				     strerror(errno));
	return 0;
}
