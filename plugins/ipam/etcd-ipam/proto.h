/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ETCD_IPAM_PROTO_H
#define ETCD_IPAM_PROTO_H

/*
 * The plugin <-> etcd-ipamd protocol, one request and one answer per connection, each
 * a JSON object on one line:
 *   {"version":2,"command":"ADD","containerID":..,"netns":..,"ifname":..,"args":..,
 *    "path":..,"netnsOverride":..,"config":"<the plugin's stdin>"}
 *   {"version":2,"code":0,"stdout":"..","stderr":".."}
 * The request's strings are the plugin's CNI_* variables (CNI_COMMAND .. CNI_NETNS_OVERRIDE,
 * "" for unset); the daemon runs them through skel as the one-shot plugin would run, and
 * the answer is that run's exit code and everything it wrote to stdout (the result, or
 * the spec's error JSON) and stderr. A daemon does not answer a request of another
 * version (it closes the connection), and a plugin takes no answer of another version.
 */

#define ETCD_IPAM_DEFAULT_SOCKET "/run/libcni-c/etcd-ipam.sock"
#define ETCD_IPAM_PROTO_VERSION  2
/* the daemon's answer is at most this long (an ADD result is a few hundred bytes) */
#define ETCD_IPAM_MAX_ANSWER (1024 * 1024)
/* the plugin's default wait for the daemon's answer (ipam key "daemonTimeout", seconds) */
#define ETCD_IPAM_DEFAULT_WAIT_S 30

#endif
