/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sys/file.h>

#include "internal.h"
#include "error-internal.h"

struct cni_filelock {
	int fd;
	char *path;
};

int cni_filelock_open(const char *path, cni_filelock **out, cni_error **err)
{
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to open lock %s: %s", path,
				     strerror(errno));
	cni_filelock *l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		close(fd);
		return cni_error_oom(err);
	}
	l->fd = fd;
	*out = l;
	return 0;
}

int cni_filelock_lock(cni_filelock *l, bool exclusive, cni_error **err)
{
	int r;
	do
		r = flock(l->fd, exclusive ? LOCK_EX : LOCK_SH);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to lock %s: %s", l->path,
				     strerror(errno));
	return 0;
}

int cni_filelock_unlock(cni_filelock *l, cni_error **err)
{
	if (flock(l->fd, LOCK_UN) < 0)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "failed to unlock %s: %s",
				     l->path, strerror(errno));
	return 0;
}

void cni_filelock_close(cni_filelock *l)
{
	if (!l)
		return;
	close(l->fd);
	free(l->path);
	free(l);
}
