/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What our plugins' resident daemons (dhcp's, etcd-ipamd) share: their listening socket,
 * and on the plugin's side, one request and its answer.
 */
#ifndef CNI_PLUGIN_DAEMON_H
#define CNI_PLUGIN_DAEMON_H

#include <stddef.h>

#include <jansson.h>

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

/*
 * The plugin's side of the daemons' protocol (one JSON object a line each way): send line
 * (ending with its newline) on fd, a connected non-blocking stream socket, then read the
 * answer up to its first newline, the daemon's close, or cap - 1 bytes, all within
 * timeout_ms from now. The answer must be a JSON object (what follows its first value is
 * ignored) whose "version" is version. 0 with *ans (new); -ETIMEDOUT when the daemon took
 * longer; -EPROTO when what came back (maybe nothing: the daemon closed, or sending failed)
 * is not such an answer. *ans is NULL on failure; fd stays open.
 */
int pc_daemon_exchange(int fd, const char *line, long timeout_ms, size_t cap, json_int_t version,
		       json_t **ans);

#endif
