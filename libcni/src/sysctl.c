/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>

#include "internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"

/* "/proc/sys/" + name with the reference's separator rule applied. */
static int sysctl_path(const char *name, char **out, cni_error **err)
{
	if (isempty(name))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "empty sysctl name");
	_cleanup_free_ char *n = strdup(name);
	if (!n)
		return cni_error_oom(err);
	const char *sep = strpbrk(n, "./");
	if (sep && *sep == '.')
		for (char *c = n; *c; c++)
			*c = *c == '.' ? '/' : *c == '/' ? '.' : *c;
	/* no way out of /proc/sys */
	for (char *c = n; *c;) {
		size_t len = strcspn(c, "/");
		if ((len == 2 && c[0] == '.' && c[1] == '.') || len == 0)
			return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid sysctl name %s", name);
		c += len;
		if (*c)
			c++;
	}
	char *p = cni_strdupf("/proc/sys/%s", n);
	if (!p)
		return cni_error_oom(err);
	*out = p;
	return 0;
}

int cni_sysctl_get(const char *name, char **out, cni_error **err)
{
	_cleanup_free_ char *path = NULL;
	char *data = NULL;
	size_t len;
	int r = sysctl_path(name, &path, err);
	if (r < 0)
		return r;
	r = cni_read_file(path, 1 << 20, &data, &len, NULL);
	if (r < 0)
		return cni_error_set(err, r == -CNI_ERR_NOT_FOUND ? CNI_ERR_NOT_FOUND : CNI_ERR_SYSTEM,
				     NULL, "failed to read sysctl %s: %s", name,
				     r == -CNI_ERR_NOT_FOUND ? "no such sysctl" : "read error");
	while (len && (data[len - 1] == '\n'))
		data[--len] = '\0';
	*out = data;
	return 0;
}

int cni_sysctl_set(const char *name, const char *value, cni_error **err)
{
	_cleanup_free_ char *path = NULL;
	int r = sysctl_path(name, &path, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return cni_error_set(err, errno == ENOENT ? CNI_ERR_NOT_FOUND : CNI_ERR_SYSTEM, NULL,
				     "failed to set sysctl %s to %s: %s", name, value, strerror(errno));
	size_t len = strlen(value);
	ssize_t n;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to set sysctl %s to %s: %s",
				     name, value, n < 0 ? strerror(errno) : "short write");
	return 0;
}
