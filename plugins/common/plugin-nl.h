/* SPDX-License-Identifier: Apache-2.0 */
/* libnl sockets for plugins that talk rtnetlink themselves (internal, never installed);
 * a plugin calling these links libnl itself. */
#ifndef CNI_PLUGIN_NL_H
#define CNI_PLUGIN_NL_H

#include <cni/cni.h>

struct nl_sock;

/* A new NETLINK_ROUTE socket, close-on-exec, in *out (free with nl_socket_free()). A
 * failure to connect is reported with code (plugins differ: SYSTEM or INTERNAL). */
int pc_nl_open(struct nl_sock **out, int code, cni_error **err);

#endif
