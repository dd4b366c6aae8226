#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2015 # `cond && pass .. || fail ..` on purpose: pass/fail return 0
# Podman acceptance test (issue #5): Debian's podman 4.3, CNI network backend, driving OUR
# plugin set (bridge, host-local, portmap, firewall, tuning, whatever the conflist podman
# writes names) through a real container life cycle:
#   podman network create -> podman run -d -p HOSTPORT:80 (busybox httpd) -> address in the
#   subnet, ping of the gateway, the published port answers on 127.0.0.1 -> a second
#   container with --ip .50 gets it and fetches the first one's page -> podman rm -f ->
#   no host-local reservation, no rule naming a container, no veth, no bridge port left,
#   and every plugin exec was one of ours.
#
# Usage: podman-acceptance.sh <build-dir>
#   PLUGIN_DIR=/usr/lib/cni  run against the reference plugins (default <build-dir>/plugins-bin)
#   PODMAN_TEST_VALGRIND=1   run every plugin call under valgrind memcheck (errors/leaks fail)
#   KEEP_TMP=1               keep the temp dir (logs, conflist, exec records) for a post-mortem
#
# Isolation: everything (podman, conmon, the containers' host side: bridge, veths, the
# iptables/nft rules) runs inside a network namespace made for the run (podman-test-<random>)
# and a private mount namespace, in which /run, /dev/shm and /var/lib (an overlay whose
# writes land in a tmpfs) are private, so the machine's interfaces, firewall, /var/lib
# and /run are never changed. With PLUGIN_DIR other than /usr/lib/cni the reference plugin
# directory is covered by an empty tmpfs inside that mount namespace: a reference plugin
# cannot be executed even by accident. Every plugin call also goes through a logging shim
# (the only directory in cni_plugin_dirs) that records the binary it ran.
#
# Exit: 0 pass, 1 fail (including: a plugin the conflist needs is missing from PLUGIN_DIR),
# 77 skip (not root, podman/runc/conmon/busybox-static missing, no network namespaces).
# Packages: podman (brings conmon), runc, busybox-static, and iproute2 iptables nftables
# util-linux python3. Podman's recommends (uidmap, slirp4netns, fuse-overlayfs, catatonit,
# buildah) are not used: rootful, vfs driver, runc, no init. See docs/podman.md.
set -uo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SRCDIR=${SELF%/*}
STAGE=${1:-}

# ---------------------------------------------------------------------------------------
# Stage 3: inside the test network namespace and the private mount namespace.
# ---------------------------------------------------------------------------------------
stage3() {
	local FAILS=0 PASSES=0
	pass() {
		PASSES=$((PASSES + 1))
		echo "ok   - $*"
	}
	fail() {
		FAILS=$((FAILS + 1))
		echo "FAIL - $*"
	}
	die() {
		echo "FAIL - $*"
		FAILS=$((FAILS + 1))
		finish
	}
	finish() {
		echo "--- tearing down inside the namespace"
		pm rm -af -t 0 >/dev/null 2>&1
		echo "podman: $PASSES passed, $FAILS failed"
		[ "$FAILS" -eq 0 ]
		exit $?
	}

	# ip netns exec mounted a fresh sysfs (this namespace's view of /sys/class/net) which
	# lacks the cgroup hierarchies: put back the ones stage 2 kept aside.
	mount --rbind "$TMP/cgroup" /sys/fs/cgroup || die "cannot re-mount the cgroup hierarchies"
	umount -l "$TMP/cgroup" 2>/dev/null
	# Private /run (podman's netns files, runc state, xtables lock, no host dbus/systemd),
	# /dev/shm (podman's lock segment) and a /var/lib whose writes (host-local store, CNI
	# result cache) land in a tmpfs under the temp dir.
	mount -t tmpfs -o mode=755 podman-test-run /run || die "cannot mount a private /run"
	mkdir -p /run/netns /run/lock
	mount -t tmpfs podman-test-shm /dev/shm || die "cannot mount a private /dev/shm"
	mount -t tmpfs podman-test-ovl "$TMP/ovl" || die "cannot mount tmpfs for the overlay"
	mkdir -p "$TMP/ovl/upper" "$TMP/ovl/work"
	mount -t overlay podman-test-varlib \
		-o "lowerdir=/var/lib,upperdir=$TMP/ovl/upper,workdir=$TMP/ovl/work" /var/lib ||
		die "cannot mount an overlay on /var/lib"
	if [ "$PLUGIN_DIR" != /usr/lib/cni ]; then
		# prove by construction that no reference plugin runs: they are not there
		local d
		for d in /usr/lib/cni /usr/libexec/cni /usr/local/lib/cni /usr/local/libexec/cni \
			/opt/cni/bin; do
			[ -d "$d" ] && { mount -t tmpfs -o ro podman-test-empty "$d" ||
				die "cannot hide $d"; }
		done
		[ -z "$(ls -A /usr/lib/cni 2>/dev/null)" ] || die "/usr/lib/cni still visible"
		echo "reference plugin dirs hidden by empty tmpfs mounts"
	fi
	ip link set lo up || die "cannot bring lo up"

	# -- configuration ----------------------------------------------------------------
	local CONF=$TMP/conf SHIM=$TMP/shim EXECLOG=$TMP/exec.log NETD=$TMP/net.d
	mkdir -p "$CONF" "$SHIM" "$NETD" "$TMP/storage" "$TMP/runroot" "$TMP/libpod-tmp" \
		"$TMP/static" "$TMP/volumes" "$TMP/plugin-out"
	: >"$EXECLOG"
	cat >"$CONF/containers.conf" <<EOF
[containers]
log_driver = "k8s-file"
default_sysctls = []
# Low, fixed limits: podman's defaults (1048576) need CAP_SYS_RESOURCE to set, which a
# sandboxed root may lack (runc: "error setting rlimits"); lowering is always allowed.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$TMP/events.log"
runtime = "runc"
tmp_dir = "$TMP/libpod-tmp"
static_dir = "$TMP/static"
volume_path = "$TMP/volumes"
num_locks = 64

[network]
network_backend = "cni"
cni_plugin_dirs = ["$SHIM"]
network_config_dir = "$NETD"
default_subnet = "10.88.$OCTET.0/24"
EOF
	cat >"$CONF/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$TMP/storage"
runroot = "$TMP/runroot"
EOF
	export CONTAINERS_CONF=$CONF/containers.conf CONTAINERS_STORAGE_CONF=$CONF/storage.conf
	export CONTAINERS_REGISTRIES_CONF=$CONF/registries.conf
	: >"$CONF/registries.conf"
	unset XDG_RUNTIME_DIR XDG_CONFIG_HOME CNI_PATH NETCONFPATH

	# Logging shim: one script per plugin name, the only thing podman (and bridge's IPAM
	# delegation, through CNI_PATH) can find. It records which binary ran, the command, the
	# container and CNI_PATH, and the exit code.
	local p WRAP=
	if [ "${PODMAN_TEST_VALGRIND:-0}" = 1 ]; then
		# every plugin under memcheck: an error or a leak makes the call fail (rc 99)
		WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
		[ -f "$SRCDIR/../integration/libnftables.supp" ] &&
			WRAP="$WRAP --suppressions=$SRCDIR/../integration/libnftables.supp"
		WRAP="$WRAP --log-file=$TMP/plugin-out/vg.%p"
	fi
	for p in "$PLUGIN_DIR"/*; do
		[ -f "$p" ] && [ -x "$p" ] || continue
		cat >"$SHIM/${p##*/}" <<EOF
#!/bin/sh
# run by its own path, not the resolved one: a multi-call link is dispatched by its name
real=\$(readlink -f "$p")
n=\$(date +%s%N)-\$\$
cat >"$TMP/plugin-out/\$n.in"
$WRAP "$p" "\$@" <"$TMP/plugin-out/\$n.in" >"$TMP/plugin-out/\$n.out" 2>"$TMP/plugin-out/\$n.err"
rc=\$?
printf 'exec=%s name=%s cmd=%s cid=%s if=%s path=%s rc=%s io=%s\n' "\$real" "${p##*/}" \\
	"\${CNI_COMMAND:-}" "\${CNI_CONTAINERID:-}" "\${CNI_IFNAME:-}" "\${CNI_PATH:-}" "\$rc" "\$n" \\
	>>"$EXECLOG"
cat "$TMP/plugin-out/\$n.out"
cat "$TMP/plugin-out/\$n.err" >&2
exit \$rc
EOF
		chmod 755 "$SHIM/${p##*/}"
	done

	# busybox rootfs: the static binary plus one link per applet, a page to serve.
	local RootFS=$TMP/rootfs TOKEN="podman-acceptance-$SUFFIX"
	mkdir -p "$RootFS"/{bin,etc,proc,sys,dev,tmp,www,run,var}
	cp /bin/busybox "$RootFS/bin/busybox"
	local a
	for a in $("$RootFS/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$RootFS/bin/$a"
	done
	echo 'root:x:0:0:root:/:/bin/sh' >"$RootFS/etc/passwd"
	echo 'root:x:0:' >"$RootFS/etc/group"
	echo "$TOKEN" >"$RootFS/www/index.html"
	chmod 1777 "$RootFS/tmp"

	pm() {
		timeout 120 podman --cgroup-manager=cgroupfs --events-backend=file --runtime=runc \
			--network-backend=cni --network-config-dir="$NETD" \
			--root "$TMP/storage" --runroot "$TMP/runroot" --tmpdir "$TMP/libpod-tmp" \
			--storage-driver vfs "$@"
	}
	trap 'pm rm -af -t 0 >/dev/null 2>&1' EXIT
	# http_get "<exec prefix>" "<nc>" <ip> <port>: body of GET /. A raw request through
	# busybox nc: the static busybox's wget crashes (SIGSEGV) in a root without libc's NSS
	# modules, and the host may have no curl.
	http_get() {
		local prefix=$1 nc=$2 ip=$3 port=$4
		# shellcheck disable=SC2086 # prefix is a command and its arguments
		$prefix sh -c "printf 'GET / HTTP/1.0\\r\\nHost: $ip\\r\\n\\r\\n' | $nc -w 5 $ip $port" |
			tr -d '\r' | sed '1,/^$/d'
	}

	local NET=podtest$SUFFIX SUBNET=10.89.$OCTET.0/24 HOSTPORT=$((20000 + 16#${SUFFIX:0:3}))
	local STATIC_IP=10.89.$OCTET.50 CGP=/podman-test-$SUFFIX

	# -- 1. the network ------------------------------------------------------------------
	echo "--- podman network create --subnet $SUBNET $NET (plugins: $PLUGIN_DIR)"
	pm network create --subnet "$SUBNET" "$NET" || die "podman network create failed"
	local CONFLIST=$NETD/$NET.conflist
	[ -f "$CONFLIST" ] || die "podman wrote no $CONFLIST ($(ls "$NETD"))"
	echo "--- conflist podman wrote ($CONFLIST):"
	cat "$CONFLIST"
	# every plugin type (and IPAM type) the conflist names must be one of ours
	local TYPES
	TYPES=$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
seen = []
for p in c["plugins"]:
    for t in (p.get("type"), (p.get("ipam") or {}).get("type")):
        if t and t not in seen:
            seen.append(t)
print(" ".join(seen))' "$CONFLIST") || die "cannot parse $CONFLIST"
	echo "plugin types in the conflist: $TYPES"
	local missing=()
	for p in $TYPES; do
		[ -x "$PLUGIN_DIR/$p" ] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] ||
		die "plugin(s) needed by the conflist missing from $PLUGIN_DIR: ${missing[*]}"
	pass "conflist needs [$TYPES], all present in $PLUGIN_DIR"
	local BRIDGE
	BRIDGE=$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print([p for p in c["plugins"] if p["type"] == "bridge"][0]["bridge"])' "$CONFLIST") ||
		die "no bridge plugin in $CONFLIST"

	# -- 2. first container: httpd with a published port ---------------------------------
	echo "--- podman run -d -p $HOSTPORT:80 --network $NET (httpd)"
	local C1 C2
	C1=$(pm run -d --name "web-$SUFFIX" --network "$NET" -p "$HOSTPORT:80" \
		--cgroup-parent "$CGP" --cap-add NET_RAW --rootfs "$RootFS" \
		/bin/httpd -f -p 80 -h /www) || die "podman run (httpd) failed"
	pass "container 1 running ($C1)"
	local IP1 GW
	IP1=$(pm inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$C1")
	GW=$(pm inspect -f "{{(index .NetworkSettings.Networks \"$NET\").Gateway}}" "$C1")
	echo "container 1: ip=$IP1 gateway=$GW"
	case $IP1 in
	10.89.$OCTET.*) pass "container 1 address $IP1 is in $SUBNET" ;;
	*) die "container 1 address '$IP1' not in $SUBNET" ;;
	esac
	[ "$GW" = "10.89.$OCTET.1" ] && pass "gateway $GW" || fail "gateway '$GW', want 10.89.$OCTET.1"
	# the address is on the container's eth0
	pm exec "$C1" ip -o -4 addr show dev eth0 | grep -q "inet $IP1/24" &&
		pass "eth0 in container 1 has $IP1/24" || fail "eth0 in container 1 lacks $IP1/24"
	pm exec "$C1" ping -c1 -W3 "$GW" >/dev/null &&
		pass "container 1 pings its gateway $GW" || fail "container 1 cannot ping $GW"

	local out
	for _ in 1 2 3 4 5; do
		out=$(http_get "" "/bin/busybox nc" 127.0.0.1 "$HOSTPORT") && [ -n "$out" ] && break
		sleep 1
	done
	if [ "$out" = "$TOKEN" ]; then
		pass "127.0.0.1:$HOSTPORT (published port) serves the page"
	else
		fail "127.0.0.1:$HOSTPORT answered '$out', want '$TOKEN'"
		echo "# container 1 log:"; pm logs "$C1" 2>&1 | sed 's/^/#   /'
		echo "# fetch inside container 1:"
		http_get "pm exec $C1" nc 127.0.0.1 80 2>&1 | sed 's/^/#   /'
		echo "# nat table:"
		iptables-save -t nat 2>&1 | sed 's/^/#   /'
	fi

	# -- 3. second container with a static address ---------------------------------------
	echo "--- podman run -d --ip $STATIC_IP --network $NET"
	C2=$(pm run -d --name "client-$SUFFIX" --network "$NET" --ip "$STATIC_IP" \
		--cgroup-parent "$CGP" --rootfs "$RootFS" /bin/sleep 600) ||
		die "podman run --ip $STATIC_IP failed"
	local IP2
	IP2=$(pm inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$C2")
	[ "$IP2" = "$STATIC_IP" ] && pass "container 2 got --ip $STATIC_IP" ||
		fail "container 2 address '$IP2', want $STATIC_IP"
	out=$(http_get "pm exec $C2" nc "$IP1" 80 2>&1)
	[ "$out" = "$TOKEN" ] && pass "container 2 fetched http://$IP1:80/ from container 1" ||
		fail "container 2 fetching http://$IP1:80/ got '$out'"

	# -- 4. state while both run (so the absence checks below can fail) ------------------
	local HLDIR=/var/lib/cni/networks/$NET
	[ -e "$HLDIR/$IP1" ] && [ -e "$HLDIR/$STATIC_IP" ] &&
		pass "host-local reservations $IP1 and $STATIC_IP exist in $HLDIR" ||
		fail "host-local reservations missing while running: $(find "$HLDIR" -maxdepth 1 2>&1 | tr '\n' ' ')"
	local ports
	ports=$(ip -o link show master "$BRIDGE" 2>/dev/null | grep -c .)
	[ "$ports" -eq 2 ] && pass "bridge $BRIDGE has 2 ports while running" ||
		fail "bridge $BRIDGE has $ports ports while running, want 2"
	rules_snapshot >"$TMP/rules-running.txt"
	grep -q -- "$HOSTPORT" "$TMP/rules-running.txt" && grep -q -- "$IP1" "$TMP/rules-running.txt" &&
		pass "firewall rules for port $HOSTPORT -> $IP1 present while running" ||
		fail "no rule for port $HOSTPORT -> $IP1 while running (see $TMP/rules-running.txt)"

	# -- 5. remove both, nothing may be left ---------------------------------------------
	echo "--- podman rm -f"
	pm rm -f -t 0 "$C1" "$C2" >/dev/null && pass "podman rm -f both" || fail "podman rm -f failed"
	[ -z "$(pm ps -aq)" ] && pass "no container left" || fail "containers left: $(pm ps -a)"
	local left
	# A reservation is a file named by the address (the reference's layout); what else
	# stays (lock, last_reserved_ip.N, our .host-local/ index) is listed for the record,
	# and the check after this one proves none of it still names a container.
	echo "# left in $HLDIR: $(cd "$HLDIR" 2>/dev/null && find . -mindepth 1 | sort | tr '\n' ' ')"
	left=$(find "$HLDIR" -mindepth 1 2>/dev/null | grep -E '/([0-9]+\.){3}[0-9]+$|/[0-9a-fA-F:]*:[0-9a-fA-F:]*$')
	[ -z "$left" ] && pass "no host-local reservation file left in $HLDIR" ||
		fail "host-local reservations left: ${left//$'\n'/ }"
	# (last_reserved_ip.N keeps the last address handed out by design)
	left=$( (grep -rlsE "$C1|$C2" /var/lib/cni
		grep -rlsE --exclude='last_reserved_ip.*' "$IP1|$IP2" /var/lib/cni; find /var/lib/cni -name "*${C1:0:12}*" \
		-o -name "*${C2:0:12}*" -o -name "*$IP1" -o -name "*$IP2") 2>/dev/null | sort -u)
	[ -z "$left" ] && pass "no file under /var/lib/cni names either container or address" ||
		fail "files naming a container left: ${left//$'\n'/ }"
	left=$(ip -o link show type veth 2>/dev/null)
	[ -z "$left" ] && pass "no veth left" || fail "veths left: $left"
	left=$(ip -o link show master "$BRIDGE" 2>/dev/null)
	[ -z "$left" ] && pass "bridge $BRIDGE has no ports left" || fail "bridge ports left: $left"
	rules_snapshot >"$TMP/rules-after.txt"
	left=$(grep -nE -- "$IP1|$IP2|${C1:0:12}|${C2:0:12}|dport $HOSTPORT|CNI-DN-" "$TMP/rules-after.txt")
	[ -z "$left" ] && pass "no iptables/nft rule or chain for either container left" ||
		fail "rules left after rm:"$'\n'"$left"
	left=$(ls /run/netns)
	[ -z "$left" ] && pass "no container netns left" || fail "netns left: $left"

	# -- 6. only our binaries ran --------------------------------------------------------
	echo "--- plugin execs ($EXECLOG):"
	cat "$EXECLOG"
	local bad
	# the binaries PLUGIN_DIR holds, symlinks resolved: the only ones allowed to run
	for p in "$PLUGIN_DIR"/*; do readlink -f "$p"; done >"$TMP/allowed.txt"
	bad=$(awk 'NR == FNR { ok[$0] = 1; next }
		{ e = $1; sub(/^exec=/, "", e); if (!(e in ok)) print }' "$TMP/allowed.txt" "$EXECLOG")
	[ -s "$EXECLOG" ] || fail "no plugin exec was recorded"
	[ -z "$bad" ] && pass "every plugin exec ran a binary of $PLUGIN_DIR" ||
		fail "execs of binaries not in $PLUGIN_DIR: $bad"
	bad=$(grep -v " path=$SHIM rc=" "$EXECLOG" | grep -v ' cmd=VERSION ')
	[ -z "$bad" ] && pass "CNI_PATH was only the shim dir on every call" ||
		fail "CNI_PATH other than $SHIM: $bad"
	bad=$(grep -v ' rc=0 ' "$EXECLOG")
	[ -z "$bad" ] && pass "every plugin call exited 0" || fail "plugin calls that failed: $bad"
	if [ -n "$WRAP" ]; then
		# memcheck's reports are "==pid==" lines; "--pid--" ones are valgrind's own notes
		# (e.g. a syscall it does not know, which then fails with ENOSYS)
		bad=$(find "$TMP/plugin-out" -name 'vg.*' -exec grep -hE '^==[0-9]+==' {} +)
		[ -z "$bad" ] && pass "valgrind: no error or leak in any plugin call" ||
			fail "valgrind reports:"$'\n'"$bad"
	fi
	local c cmd nocall=()
	for c in "$C1" "$C2"; do
		for cmd in ADD DEL; do
			for p in $TYPES; do
				grep -q "name=$p cmd=$cmd cid=$c " "$EXECLOG" ||
					nocall+=("$cmd/$p/${c:0:12}")
			done
		done
	done
	[ ${#nocall[@]} -eq 0 ] && pass "each of [$TYPES] ran ADD and DEL for both containers" ||
		fail "calls missing from the exec record: ${nocall[*]}"
	if [ "$PLUGIN_DIR" != /usr/lib/cni ]; then
		grep -q '^exec=/usr/lib/cni/' "$EXECLOG" &&
			fail "a /usr/lib/cni binary appears in the exec record" ||
			pass "no /usr/lib/cni binary in the exec record (and the dir was hidden)"
	fi
	echo "# written under /var/lib during the run (private overlay): $(cd "$TMP/ovl/upper" &&
		find . -mindepth 1 -maxdepth 5 | sort | tr '\n' ' ')"

	# -- 7. a conflist using multus: bridge on eth0 (the master), ptp on net0 -------------
	# (the reference set has no multus: then skipped)
	local MNET=multus$SUFFIX MBR=cnim${SUFFIX:0:6} C3 IP3
	if [ -x "$PLUGIN_DIR/multus" ]; then
	cat >"$NETD/$MNET.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "$MNET", "plugins": [{"type": "multus", "delegates": [
  {"type": "bridge", "name": "$MNET-main", "bridge": "$MBR", "isGateway": true,
   "isDefaultGateway": true, "masterplugin": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.87.$OCTET.0/24"}]]}},
  {"type": "ptp", "name": "$MNET-data",
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.86.$OCTET.0/24"}]]}}]}]}
EOF
	echo "--- podman run --network $MNET (multus: bridge + ptp)"
	C3=$(pm run -d --name "multi-$SUFFIX" --network "$MNET" --cgroup-parent "$CGP" \
		--rootfs "$RootFS" /bin/sleep 600) || die "podman run --network $MNET failed"
	IP3=$(pm inspect -f "{{(index .NetworkSettings.Networks \"$MNET\").IPAddress}}" "$C3")
	case $IP3 in
	10.87.$OCTET.*) pass "multus container's address $IP3 is the master's (bridge)" ;;
	*) fail "multus container's address '$IP3', want one in 10.87.$OCTET.0/24" ;;
	esac
	pm exec "$C3" ip -o -4 addr show dev eth0 | grep -q "inet 10.87.$OCTET." &&
		pass "eth0 (bridge) in the multus container" || fail "no bridge address on eth0"
	pm exec "$C3" ip -o -4 addr show dev net0 | grep -q "inet 10.86.$OCTET." &&
		pass "net0 (ptp) in the multus container" || fail "no ptp address on net0"
	out=$(pm exec "$C3" ip route | grep "^default")
	[ "$(echo "$out" | grep -c .)" = 1 ] && echo "$out" | grep -q "dev eth0" &&
		pass "one default route, the master's: $out" || fail "default routes: $out"
	[ "$(find /var/lib/cni/multus -type f 2>/dev/null | grep -c .)" = 1 ] &&
		pass "multus saved its delegate list" || fail "no multus state under /var/lib/cni/multus"
	pm rm -f -t 0 "$C3" >/dev/null && pass "podman rm -f the multus container" ||
		fail "podman rm -f the multus container failed"
	left=$(find "/var/lib/cni/networks/$MNET-main" "/var/lib/cni/networks/$MNET-data" \
		/var/lib/cni/multus -type f 2>/dev/null | grep -E '/([0-9]+\.){3}[0-9]+$|/multus/')
	[ -z "$left" ] && pass "no reservation or multus state left" || fail "left: $left"
	left=$(ip -o link show type veth 2>/dev/null)
	[ -z "$left" ] && pass "no veth left after the multus container" || fail "veths left: $left"
	local calls=0
	for p in multus bridge ptp; do
		for cmd in ADD DEL; do
			grep -q "name=$p cmd=$cmd cid=$C3 .* rc=0 " "$EXECLOG" && calls=$((calls + 1)) ||
				fail "no successful $cmd of $p for the multus container"
		done
	done
	[ "$calls" = 6 ] && grep -q "name=ptp cmd=ADD cid=$C3 if=net0 " "$EXECLOG" &&
		pass "multus ran ptp on net0 and bridge on eth0, ADD and DEL" ||
		fail "ptp was not run on net0 (see $EXECLOG)"
	ip link del "$MBR" 2>/dev/null
	else
		echo "# no multus in $PLUGIN_DIR: the multus conflist is not tried"
	fi

	pm network rm -f "$NET" >/dev/null && pass "podman network rm" || fail "podman network rm failed"
	finish
}

# Rules of every family/backend in this netns, counters stripped.
rules_snapshot() {
	local t
	for t in nat filter mangle raw; do
		iptables-save -t "$t" 2>/dev/null
		ip6tables-save -t "$t" 2>/dev/null
	done | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
	nft list ruleset 2>/dev/null
}

# ---------------------------------------------------------------------------------------
# Stage 2: private mount namespace, still in the host network namespace.
# ---------------------------------------------------------------------------------------
stage2() {
	# Keep the cgroup hierarchies aside: ip netns exec replaces /sys.
	mkdir -p "$TMP/cgroup" "$TMP/ovl"
	mount --rbind /sys/fs/cgroup "$TMP/cgroup" || { echo "FAIL - cannot bind /sys/fs/cgroup"; exit 1; }
	ip netns exec "$NS" "$SELF" --stage3
}

# ---------------------------------------------------------------------------------------
# Stage 1: checks, the namespaces, cleanup.
# ---------------------------------------------------------------------------------------
stage1() {
	skip() {
		echo "SKIP: $*"
		exit 77
	}
	[ $# -ge 1 ] || { echo "usage: $0 <build-dir>" >&2; exit 2; }
	local BUILD
	BUILD=$(readlink -m "$1")
	PLUGIN_DIR=$(readlink -m "${PLUGIN_DIR:-$BUILD/plugins-bin}")
	[ "$(id -u)" -eq 0 ] || skip "needs root (podman rootful + network namespaces)"
	local t
	for t in podman runc conmon ip unshare iptables-save nft python3 timeout; do
		command -v "$t" >/dev/null ||
			skip "'$t' not installed (apt-get install podman runc conmon iproute2 iptables nftables util-linux python3)"
	done
	[ -x /usr/bin/conmon ] || command -v conmon >/dev/null || skip "conmon missing"
	[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
		skip "/bin/busybox is not a static busybox (apt-get install busybox-static)"
	podman --version >/dev/null 2>&1 || skip "podman does not run: $(podman --version 2>&1 | head -1)"
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
	grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs (needed for a private /var/lib)"
	[ -d /sys/fs/cgroup ] && [ -n "$(ls -A /sys/fs/cgroup)" ] || skip "no cgroup hierarchy mounted"
	[ -d "$PLUGIN_DIR" ] || { echo "FAIL - plugin dir $PLUGIN_DIR does not exist (build first)"; exit 1; }
	# podman's CNI conflist for a bridge network names these (checked again against the
	# file podman writes): a missing one is a failure, never a silent fallback.
	local missing=() p
	for p in bridge host-local portmap firewall tuning; do
		[ -x "$PLUGIN_DIR/$p" ] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] ||
		{ echo "FAIL - plugin(s) missing from $PLUGIN_DIR: ${missing[*]}"; exit 1; }

	. "$(dirname "$SELF")/../integration/nslib.sh"
	SUFFIX=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	OCTET=$(((16#${SUFFIX:0:2} % 200) + 20))
	NS=podman-test-$SUFFIX
	TMP=$(mktemp -d /tmp/podman-test.XXXXXX)
	chmod 755 "$TMP"
	export PLUGIN_DIR SUFFIX OCTET NS TMP

	cleanup() {
		local d
		# a second signal must not cut the cleanup short
		trap '' INT TERM HUP
		[ -n "${CHILD:-}" ] && kill -9 "$CHILD" 2>/dev/null
		# anything still in the namespace (podman, conmon; killed and the namespace
		# removed by nslib) or in the containers' cgroups
		nsl_cleanup
		for d in /sys/fs/cgroup/*/podman-test-"$SUFFIX" /sys/fs/cgroup/podman-test-"$SUFFIX"; do
			[ -d "$d" ] || continue
			# shellcheck disable=SC2038 # the files hold pids, one a line
			find "$d" \( -name cgroup.procs -o -name tasks \) -exec cat {} + 2>/dev/null |
				xargs -r kill -9 2>/dev/null
			sleep 0.2
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		done
		if [ "${KEEP_TMP:-0}" = 1 ]; then
			echo "kept $TMP"
		else
			rm -rf "$TMP"
		fi
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM HUP

	nsl_add "$NS" 2>/dev/null || skip "cannot create a network namespace"
	echo "podman acceptance: namespace $NS, temp $TMP, plugins $PLUGIN_DIR"
	# In the background and waited for, so that a signal runs the traps at once (bash
	# defers them while a foreground child runs).
	unshare --mount --propagation private -- "$SELF" --stage2 &
	CHILD=$!
	wait "$CHILD"
	local rc=$?
	CHILD=
	return $rc
}

case $STAGE in
--stage2) stage2 ;;
--stage3) stage3 ;;
*) stage1 "$@" ;;
esac
