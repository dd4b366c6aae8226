/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_DHCP_DAEMON_H
#define CNI_DHCP_DAEMON_H

#include "dhcp-client.h"

#define DHCP_PROTO_VERSION 1
#define DHCP_DEFAULT_SOCKET "/run/cni/dhcp.sock"
/* How long the plugin waits for the daemon's answer: the daemon's own acquisition
 * timeout (10 s by default) and some. A lease acquired after the plugin gave up is
 * released by the daemon (it sees the plugin's end of the socket closed). */
#define DHCP_PLUGIN_TIMEOUT_MS 30000
#define DHCP_DEFAULT_STATEDIR "/run/cni/dhcp-leases"
#define DHCP_MAX_REQUEST_BYTES 65536

/* `dhcp daemon [options]`: argv starts after "daemon". Returns the exit code. */
int dhcp_daemon_main(int argc, char **argv);

/* The CNI result (1.1.0 JSON, new string) of a lease; priority 0 = none. */
char *dhcp_lease_result_json(const struct dhcp_lease *l, int priority);

#endif
