/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "plugin-nl.h"

int pc_nl_open(struct nl_sock **out, int code, cni_error **err)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return cni_error_set(err, CNI_ERR_NOMEM, NULL, "out of memory");
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return cni_error_set(err, code, NULL, "failed to open a netlink socket: %s",
				     nl_geterror(r));
	}
	int fd = nl_socket_get_fd(sk);
	fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	*out = sk;
	return 0;
}
