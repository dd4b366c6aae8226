/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ETCD_IPAM_PROTO_H
#define ETCD_IPAM_PROTO_H

/*
 * The plugin <-> etcd-ipamd protocol, one request and one answer per connection, each
 * a JSON object on one line:
 *   {"version":1,"command":"ADD","containerID":..,"netns":..,"ifname":..,"args":..,
 *    "path":..,"config":"<the plugin's stdin>"}
 *   {"version":1,"result":{...}}        ADD (the result in CNI_SPEC_VERSION)
 *   {"version":1}                       CHECK, DEL, GC, STATUS that succeeded
 *   {"version":1,"error":{"code":..,"msg":..,"details":..}}
 */

#define ETCD_IPAM_DEFAULT_SOCKET "/run/libcni-c/etcd-ipam.sock"
#define ETCD_IPAM_PROTO_VERSION  1
/* the daemon's answer is at most this long (an ADD result is a few hundred bytes) */
#define ETCD_IPAM_MAX_ANSWER (1024 * 1024)
/* the plugin's default wait for the daemon's answer (ipam key "daemonTimeout", seconds) */
#define ETCD_IPAM_DEFAULT_WAIT_S 30

#endif
