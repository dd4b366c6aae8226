/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "plugin-daemon.h"

#define SD_LISTEN_FDS_START 3

static bool socket_activated(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (!pid || !fds || strtol(pid, NULL, 10) != getpid() || strtol(fds, NULL, 10) < 1)
		return false;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return true;
}

int pc_daemon_listen(const char *path, int backlog, cni_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)], *slash;
	int fd;

	if (socket_activated()) {
		if (fcntl(SD_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC) < 0)
			return cni_error_set_errno(err, errno, CNI_ERR_IO_FAILURE,
						   "socket activation: descriptor %d: %s",
						   SD_LISTEN_FDS_START, strerror(errno));
		return SD_LISTEN_FDS_START;
	}
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "socket path too long (at most %zu bytes): %s",
				     sizeof(sa.sun_path) - 1, path ? path : "(none)");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return cni_error_set_errno(err, errno, CNI_ERR_IO_FAILURE,
						   "cannot make the socket's directory %s: %s", dir,
						   strerror(errno));
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0 ||
	    chmod(path, 0600) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return cni_error_set_errno(err, e, CNI_ERR_IO_FAILURE, "cannot listen on %s: %s", path,
					   strerror(e));
	}
	return fd;
}
