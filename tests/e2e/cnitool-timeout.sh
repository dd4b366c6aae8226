#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cnitool's CNI_TIMEOUT, end to end: a plugin that starts a long-lived child (which keeps
# no pipe of cnitool's open, so only the timeout can end the wait) and then hangs itself.
# After the timeout cnitool must have failed with CNI_ERR_TIMEOUT's message, and both the
# plugin and its child must be dead: the plugin runs as the leader of a process group of
# its own and the whole group is killed (libcni/src/spawn.c), not only the plugin.
#
# Usage: cnitool-timeout.sh <cnitool>
# Exit 77 (skip) without root or network namespaces.
set -uo pipefail

CNITOOL=$(readlink -f "$1")
[ -x "$CNITOOL" ] || { echo "FAIL: cnitool not built: $1" >&2; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../integration/nslib.sh"
nsl_need_root

TMP=$(mktemp -d /tmp/cni-timeout.XXXXXX)
cleanup() {
	# whatever survived a failed run (by the PIDs it wrote, never by name)
	for f in "$TMP"/plugin.pid "$TMP"/child.pid; do
		[ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$TMP"
}
nsl_trap cleanup
nsl_new_or_skip NS cni-timeout

mkdir -p "$TMP/bin" "$TMP/net.d" "$TMP/cache"
# The plugin: reads its config, starts a child that sleeps with its standard streams
# elsewhere (so cnitool's pipes close when the plugin dies), records both PIDs and hangs.
cat >"$TMP/bin/hang" <<EOF
#!/bin/sh
cat >/dev/null
sleep 600 </dev/null >/dev/null 2>&1 &
echo \$! >"$TMP/child.pid.tmp" && mv "$TMP/child.pid.tmp" "$TMP/child.pid"
echo \$\$ >"$TMP/plugin.pid"
exec sleep 600
EOF
chmod +x "$TMP/bin/hang"
cat >"$TMP/net.d/10-hang.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "hangnet", "plugins": [{"type": "hang"}]}
EOF

FAILS=0
fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL - $*" >&2
}
alive() {
	# a PID alive and not a zombie
	[ -s "$1" ] || return 1
	local st
	st=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

start=$(date +%s)
NETCONFPATH=$TMP/net.d CNI_PATH=$TMP/bin CNI_CACHE_DIR=$TMP/cache CNI_TIMEOUT=3 \
	timeout 60 "$CNITOOL" add hangnet "$(nsl_path "$NS")" >"$TMP/out" 2>"$TMP/err"
rc=$?
took=$(($(date +%s) - start))
[ "$rc" -eq 124 ] && fail "cnitool did not return within 60 s (CNI_TIMEOUT=3)"
[ "$rc" -ne 0 ] || fail "cnitool add succeeded against a hanging plugin"
grep -qi "time" "$TMP/err" || fail "cnitool's error does not name the timeout: $(cat "$TMP/err")"
[ "$took" -le 30 ] || fail "cnitool took $took s with CNI_TIMEOUT=3"
[ -s "$TMP/plugin.pid" ] && [ -s "$TMP/child.pid" ] ||
	fail "the plugin never started its child (no PIDs written)"
# SIGKILL is delivered at once, but give a loaded machine a moment to reap
for _ in $(seq 1 50); do
	alive "$TMP/plugin.pid" || alive "$TMP/child.pid" || break
	sleep 0.1
done
alive "$TMP/plugin.pid" && fail "the plugin (pid $(cat "$TMP/plugin.pid")) outlived CNI_TIMEOUT"
alive "$TMP/child.pid" && fail "the plugin's child (pid $(cat "$TMP/child.pid")) outlived CNI_TIMEOUT"

if [ "$FAILS" -eq 0 ]; then
	echo "ok   - CNI_TIMEOUT=3: cnitool failed after ${took}s ($(head -c 200 "$TMP/err")), plugin and child dead"
	exit 0
fi
exit 1
