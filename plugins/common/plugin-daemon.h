/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What our plugins' resident daemons (dhcp's, etcd-ipamd) share: their listening socket.
 */
#ifndef CNI_PLUGIN_DAEMON_H
#define CNI_PLUGIN_DAEMON_H

#include <cni/cni.h>

/*
 * The daemon's listening socket: fd 3 when systemd socket-activated us (LISTEN_PID is our
 * pid; the LISTEN_* variables are then removed, so children do not take them), else a
 * new unix stream socket bound at path with the given backlog: its directory is made
 * (0700) when missing, a socket file left by an earlier daemon is replaced, and the new
 * one is made 0600 (root's alone). Close-on-exec either way. Returns the descriptor, or
 * a negative code with *err naming the path and the reason.
 */
int pc_daemon_listen(const char *path, int backlog, cni_error **err);

#endif
