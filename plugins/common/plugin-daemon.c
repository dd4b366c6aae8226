/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
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

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int pc_daemon_exchange(int fd, const char *line, long timeout_ms, size_t cap, json_int_t version,
		       json_t **ans)
{
	struct timespec t0;
	size_t off = 0, olen = strlen(line), len = 0, have = 0;
	char *buf = NULL;

	*ans = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		bool sending = off < olen;
		struct pollfd p = {.fd = fd, .events = sending ? POLLOUT : POLLIN};
		long left = timeout_ms - ms_since(&t0);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (sending) {
			n = send(fd, line + off, olen - off, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				break;
			if (n > 0)
				off += (size_t)n;
			continue;
		}
		/* the buffer grows as the answer comes, up to cap */
		if (len + 1 >= have) {
			size_t want = have ? have * 2 : 4096;
			char *nb;

			if (want > cap)
				want = cap;
			nb = realloc(buf, want);
			if (!nb)
				break;
			buf = nb;
			have = want;
		}
		n = recv(fd, buf + len, have - 1 - len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n) || len == cap - 1)
			break;
	}
	*ans = buf ? json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	free(buf);
	if (!json_is_object(*ans) ||
	    json_integer_value(json_object_get(*ans, "version")) != version) {
		json_decref(*ans);
		*ans = NULL;
		return -EPROTO;
	}
	return 0;
}
