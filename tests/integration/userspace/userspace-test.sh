#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# userspace against a private OVS-DPDK (ovsdb-server and ovs-vswitchd-dpdk on sockets under
# a temp dir, 384 hugepages of our own, --no-pci, the PMD pinned to one core), driven by
# cnitool with a conflist like the reference's examples:
#  1. ADD/CHECK/DEL in server and client mode: OVS ports, sockets and the application's
#     file appear and go, the host-local reservation is released, DEL twice is fine;
#     CHECK fails, naming it, when the application's file is gone.
#  2. error cases: vpp, memif, a bad mode, OVS not running (bounded), a failed ADD leaves
#     no port, file, reservation, or bridge and sharedDir it made; it keeps a bridge it
#     made when a concurrent ADD's port is on it; an ADD whose bridge a rollback deleted
#     under it makes the bridge anew; DEL never deletes the bridge.
#  3. the data path both ways: two dpdk-testpmd with virtio_user devices on the two
#     sockets bounce packets through the bridge (io mode, --tx-first); the ports' own
#     OVS interface statistics (rx and tx) and testpmd's counters rise.
# The daemons are stopped by PID and the hugepages given back on every exit.
#
# Usage: userspace-test.sh <our-plugins-dir> <cnitool>
# Exit 77 (skip) without root, OVS-DPDK, or when the hugepages cannot be had.
set -uo pipefail

OURBIN=$(readlink -f "$1")
CNITOOL=$2
VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
SCHEMA=/usr/share/openvswitch/vswitch.ovsschema

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in ovsdb-server ovsdb-tool ovs-vsctl; do
	command -v $t >/dev/null || skip "needs $t (openvswitch-switch-dpdk)"
done
[ -x "$VSWITCHD" ] || skip "needs $VSWITCHD (openvswitch-switch-dpdk)"
[ -x "$OURBIN/userspace" ] || { echo "FAIL: userspace not built in $OURBIN" >&2; exit 1; }

TMP=$(mktemp -d /tmp/cni-it-userspace.XXXXXX)
SUFFIX=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
RUN=$TMP/run
DB=$RUN/db.sock
HUGE_OLD=$(cat /proc/sys/vm/nr_hugepages)
HUGE_SET=""
PIDS=()
NS_LIST=()
cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	for f in "$RUN"/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		kill "$p" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	for ns in "${NS_LIST[@]}"; do ip netns del "$ns" 2>/dev/null; done
	mountpoint -q "$TMP/huge" && umount "$TMP/huge"
	rm -f /dev/hugepages-cni-it-"$SUFFIX" 2>/dev/null
	[ -n "$HUGE_SET" ] && echo "$HUGE_OLD" >/proc/sys/vm/nr_hugepages
	if [ -n "${CNI_TEST_KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILS=0 PASSES=0
pass() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $*" >&2; }
expect() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
expect_not() { local d=$1; shift; if "$@"; then fail "$d"; else pass "$d"; fi; }
vsctl() { ovs-vsctl --db=unix:"$DB" --timeout=20 "$@"; }

# ---- hugepages and OVS-DPDK ----
mkdir -p "$RUN" "$TMP/huge" "$TMP/log"
HUGE_SET=1
echo $((HUGE_OLD + 384)) >/proc/sys/vm/nr_hugepages 2>/dev/null
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
[ "${free:-0}" -ge 384 ] || skip "hugepages cannot be had: only ${free:-0} of 384 free 2 MiB pages"
mount -t hugetlbfs -o pagesize=2M nodev "$TMP/huge" || skip "hugetlbfs cannot be mounted"

# the daemons run in a namespace of ours: the bridge's internal port appears there
NSOVS=cni-it-usr-$SUFFIX-ovs
ip netns add "$NSOVS" || skip "cannot create network namespaces"
NS_LIST+=("$NSOVS")
export OVS_RUNDIR=$RUN OVS_LOGDIR=$TMP/log OVS_DBDIR=$TMP
ovsdb-tool create "$TMP/conf.db" "$SCHEMA" || exit 1
ip netns exec "$NSOVS" ovsdb-server --remote=punix:"$DB" --pidfile="$RUN/ovsdb-server.pid" --detach \
	-vconsole:off --log-file="$TMP/log/ovsdb.log" --unixctl="$RUN/ovsdb-server.ctl" "$TMP/conf.db" || exit 1
vsctl --no-wait init || exit 1
vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
	other_config:dpdk-extra="--no-pci --huge-dir $TMP/huge --file-prefix ovs$SUFFIX" \
	other_config:dpdk-socket-mem=256 other_config:dpdk-socket-limit=320 \
	other_config:per-port-memory=true \
	other_config:dpdk-lcore-mask=0x1 \
	other_config:pmd-cpu-mask=0x1 || exit 1
ip netns exec "$NSOVS" "$VSWITCHD" unix:"$DB" --pidfile="$RUN/ovs-vswitchd.pid" --detach \
	-vconsole:off --log-file="$TMP/log/vswitchd.log" --unixctl="$RUN/ovs-vswitchd.ctl" ||
	{ cat "$TMP/log/vswitchd.log"; echo "FAIL: ovs-vswitchd-dpdk did not start" >&2; exit 1; }
for _ in $(seq 100); do
	[ "$(vsctl get Open_vSwitch . dpdk_initialized 2>/dev/null)" = true ] && break
	sleep 0.2
done
[ "$(vsctl get Open_vSwitch . dpdk_initialized)" = true ] ||
	{ tail -20 "$TMP/log/vswitchd.log"; echo "FAIL: DPDK not initialised" >&2; exit 1; }
pass "OVS-DPDK up on $DB"

# ---- configs ----
NETDIR=$TMP/net
CACHE=$TMP/cache
IPAMDIR=$TMP/ipam
SHARED=$TMP/shared
mkdir -p "$NETDIR" "$CACHE" "$IPAMDIR"
BR=cniusr$SUFFIX
conflist() { # conflist <name> <host mode> [extra host keys] [extra top keys]
	cat >"$NETDIR/$1.conflist" <<JSON
{
  "cniVersion": "1.1.0",
  "name": "$1",
  "plugins": [{
    "type": "userspace",
    "name": "$1",
    "ovsdbSocket": "$DB",
    "host": {
      "engine": "${3:-ovs-dpdk}",
      "iftype": "${4:-vhostuser}",
      "netType": "bridge",
      "vhost": {"mode": "$2"},
      "bridge": {"bridgeName": "$BR"}
    },
    "container": {
      "engine": "ovs-dpdk",
      "iftype": "vhostuser",
      "netType": "interface",
      "vhost": {"mode": "$([ "$2" = server ] && echo client || echo server)"}
    },
    "sharedDir": "$SHARED/$1"${5:-},
    "ipam": {"type": "host-local", "dataDir": "$IPAMDIR", "subnet": "10.211.$6.0/24",
             "routes": [{"dst": "0.0.0.0/0"}]}
  }]
}
JSON
}
conflist srv server "" "" "" 1
conflist cli client "" "" "" 2
conflist vpp server vpp "" "" 3
conflist memif server ovs-dpdk memif "" 4
conflist dead server "" "" ", \"ovsdbSocket\": \"$TMP/nothing/db.sock\", \"ovsdbTimeout\": 2" 5
sed -i "0,/\"ovsdbSocket\": \"[^\"]*\",/s///" "$NETDIR/dead.conflist"
conflist badmode server "" "" "" 6
sed -i 's/"mode": "server"/"mode": "both"/' "$NETDIR/badmode.conflist"

newns() { # newns VAR tag
	local name=cni-it-usr-$SUFFIX-$2
	ip netns add "$name" || skip "cannot create network namespaces"
	NS_LIST+=("$name")
	printf -v "$1" '%s' "$name"
}
WRAP=() # a command cnitool runs under (strace)
cni() { # cni <verb> <net> <ns> <cid>
	env NETCONFPATH="$NETDIR" CNI_IFNAME=net1 CNI_PATH="$OURBIN" CNI_CACHE_DIR="$CACHE" CNI_CONTAINERID="$4" \
		"${WRAP[@]}" "$CNITOOL" "$1" "$2" "/run/netns/$3"
}
reserved() { # reserved <net>: host-local's reservations of that network
	ls "$IPAMDIR/$1" 2>/dev/null | grep -c '^10\.'
}
port_type() { vsctl get Interface "$1" type 2>/dev/null | tr -d '"'; }

# ---- 1. ADD/CHECK/DEL in both modes ----
newns NSA a
newns NSB b
CIDA=aaaaaaaaaaaa0123456789
CIDB=bbbbbbbbbbbb0123456789
PA=aaaaaaaaaaaa-net1
PB=bbbbbbbbbbbb-net1

out=$(cni add srv "$NSA" $CIDA) || fail "ADD server mode: $out"
echo "$out" >"$TMP/srv.json"
expect "server: port $PA on $BR" sh -c "ovs-vsctl --db=unix:$DB list-ports $BR | grep -qx $PA"
expect "server: bridge has the netdev datapath" \
	test "$(vsctl get Bridge "$BR" datapath_type)" = netdev
expect "server: port is dpdkvhostuser" test "$(port_type $PA)" = dpdkvhostuser
expect "server: OVS made its socket" test -S "$RUN/$PA"
expect "server: the socket is in the shared dir" test -S "$SHARED/srv/$PA"
expect "server: the application's file" test -f "$SHARED/srv/$PA.json"
expect "server: the file has mode client, MAC, IP and route" python3 - "$SHARED/srv/$PA.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mode"] == "client", d
assert d["socketPath"].endswith("/aaaaaaaaaaaa-net1"), d
assert len(d["mac"]) == 17 and d["ips"][0]["address"].startswith("10.211.1."), d
assert d["ips"][0]["gateway"] == "10.211.1.1" and d["routes"][0]["dst"] == "0.0.0.0/0", d
PY
expect "server: the result names the socket" python3 - "$TMP/srv.json" "$SHARED/srv/$PA" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
i = r["interfaces"][0]
assert i["name"] == "net1" and i["socketPath"] == sys.argv[2], r
assert r["ips"][0]["interface"] == 0 and r["ips"][0]["address"].startswith("10.211.1."), r
PY
expect "server: an address is reserved" test "$(reserved srv)" = 1
expect "server: CHECK" cni check srv "$NSA" $CIDA
# CHECK notices the application's file gone from the shared dir, and names it
mv "$SHARED/srv/$PA.json" "$TMP/srv-app.json"
out=$(cni check srv "$NSA" $CIDA 2>&1)
rc=$?
expect "server: CHECK fails without the application's file" test $rc -ne 0
expect "server: ... and names it" grep -qF "$SHARED/srv/$PA.json" <<<"$out"
mv "$TMP/srv-app.json" "$SHARED/srv/$PA.json"
expect "server: CHECK with the file back" cni check srv "$NSA" $CIDA

out=$(cni add cli "$NSB" $CIDB) || fail "ADD client mode: $out"
expect "client: port $PB is dpdkvhostuserclient" test "$(port_type $PB)" = dpdkvhostuserclient
expect "client: vhost-server-path in the shared dir" \
	test "$(vsctl get Interface $PB options:vhost-server-path | tr -d '"')" = "$SHARED/cli/$PB"
expect "client: the file says server" grep -q '"mode": "server"' "$SHARED/cli/$PB.json"
expect "client: CHECK" cni check cli "$NSB" $CIDB

# ---- 3. the data path (while both ports exist) ----
TESTPMD=$(command -v dpdk-testpmd)
if [ -z "$TESTPMD" ]; then
	fail "dpdk-testpmd missing (package dpdk-dev): the data path is not tested"
else
	# port A: testpmd is the vhost-user client of OVS's socket; port B: testpmd is the
	# server OVS connects to. Both run in io mode and send a first burst (--tx-first):
	# whatever arrives goes straight back out, so the bursts bounce A <-> B through the
	# bridge's normal switching (their destination MAC is never learnt: always flooded).
	# Forwarding on core 1 (both testpmds), OVS's PMD on core 0.
	pmd() { # pmd <ns> <name> <socket> <server 0|1>
		ip netns exec "$1" timeout -s INT 40 "$TESTPMD" -l 0,1 --main-lcore 0 --no-pci --in-memory \
			--single-file-segments --huge-dir "$TMP/huge" -m 64 --file-prefix "$2$SUFFIX" \
			--vdev "net_virtio_user0,path=$3,queues=1,queue_size=256,server=$4" -- \
			--no-mlockall --stats-period 1 --forward-mode=io --tx-first --burst=32 --total-num-mbufs=2048 \
			--auto-start --txpkts=64 >"$TMP/$2.log" 2>&1 &
		PIDS+=($!)
	}
	# each port's own Interface statistics (OVS refreshes them every 5 s): rx is what
	# OVS took from the container's testpmd, tx what it gave to it. OVS 3.1 publishes
	# them for dpdkvhostuserclient ports only (a dpdkvhostuser port shows just its ovs_*
	# drop counters; dpctl/show says "could not retrieve stats (Protocol error)", but
	# asking it here kept that port's socket after DEL): where they are missing,
	# testpmd's own counters stand in.
	ifstats() { # ifstats <port>: "rx tx", empty when OVS has none
		vsctl get Interface "$1" statistics 2>/dev/null | tr -d '{}" ' | tr ',' '\n' |
			awk -F= '$1 == "rx_packets" {rx = $2} $1 == "tx_packets" {tx = $2}
				END {if (rx != "" && tx != "") print rx, tx}'
	}
	declare -A base now
	for p in $PA $PB; do base[$p]=$(ifstats $p); now[$p]=${base[$p]}; done
	rose() { # rose <port>: both counters up by more than 1000
		local b=(${base[$1]:-0 0}) n=(${now[$1]:-0 0})
		[ "${n[0]}" -gt $((b[0] + 1000)) ] && [ "${n[1]}" -gt $((b[1] + 1000)) ]
	}
	pmd "$NSB" b "$SHARED/cli/$PB" 1
	sleep 1
	pmd "$NSA" a "$SHARED/srv/$PA" 0
	t_end=$((SECONDS + 15))
	while [ $SECONDS -lt $t_end ]; do
		sleep 0.5
		for p in $PA $PB; do now[$p]=$(ifstats $p); done
		rose $PB && { [ -z "${now[$PA]}" ] || rose $PA; } && break
	done
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
	for p in $PA $PB; do
		echo "# OVS Interface $p rx_packets tx_packets: ${base[$p]:-none} -> ${now[$p]:-none}"
	done
	expect "data path: OVS counts packets in and out of $PB (${now[$PB]:-none})" rose $PB
	if [ -n "${now[$PA]}" ]; then
		expect "data path: OVS counts packets in and out of $PA (${now[$PA]})" rose $PA
	else
		echo "# OVS has no rx/tx statistics for the dpdkvhostuser port $PA"
	fi
	pmdcount() { # pmdcount <name> RX|TX: testpmd's last total
		sed -n "s/.*$2-packets: *\([0-9]*\) .*$2-dropped.*/\1/p" "$TMP/$1.log" | tail -n 1
	}
	for t in a b; do
		rx=$(pmdcount $t RX) tx=$(pmdcount $t TX)
		echo "# testpmd $t: RX ${rx:-none} TX ${tx:-none}"
		expect "data path: testpmd $t received and sent (RX ${rx:-none}, TX ${tx:-none})" \
			test "${rx:-0}" -gt 1000 -a "${tx:-0}" -gt 1000
	done
	rose $PB || tail -n 25 "$TMP/a.log" "$TMP/b.log" >&2
fi

# CHECK notices a port removed behind its back (after the data path, which uses it)
vsctl del-port "$BR" $PB
expect_not "client: CHECK fails without the port" cni check cli "$NSB" $CIDB

# ---- DEL ----
expect "server: DEL" cni del srv "$NSA" $CIDA
expect_not "server: port gone" sh -c "ovs-vsctl --db=unix:$DB list-ports $BR | grep -qx $PA"
gone() { for _ in $(seq 40); do [ -e "$1" ] || return 0; sleep 0.1; done; return 1; }
expect "server: OVS's socket gone" gone "$RUN/$PA"
expect_not "server: shared socket gone" test -e "$SHARED/srv/$PA"
expect_not "server: file gone" test -e "$SHARED/srv/$PA.json"
expect "server: reservation released" test "$(reserved srv)" = 0
expect "server: DEL again" cni del srv "$NSA" $CIDA
expect "client: DEL" cni del cli "$NSB" $CIDB
expect_not "client: port gone" sh -c "ovs-vsctl --db=unix:$DB list-ports $BR | grep -qx $PB"
expect_not "client: file gone" test -e "$SHARED/cli/$PB.json"
expect "client: reservation released" test "$(reserved cli)" = 0

# ---- 2. error cases ----
# a failed ADD leaves nothing: no reservation, no file, and the sharedDir (with the
# parents it made) only when it was there before
errcase() { # errcase <net> <cid> <pattern> [sharedDir: $SHARED/<net>]
	local out dir=${4:-$SHARED/$1} rel top had=""
	rel=${dir#"$SHARED"/}
	top=$SHARED/${rel%%/*} # the outermost directory the ADD would make
	[ -e "$dir" ] && had=1
	out=$(cni add "$1" "$NSA" "$2" 2>&1)
	local rc=$?
	expect "$1: ADD fails" test $rc -ne 0
	expect "$1: the error says \"$3\"" grep -q -- "$3" <<<"$out"
	expect "$1: no reservation left" test "$(reserved "$1")" = 0
	expect "$1: no file left" test -z "$(ls -A "$dir" 2>/dev/null)"
	if [ -n "$had" ]; then
		expect "$1: the sharedDir that was there stays" test -d "$dir"
	else
		expect "$1: no sharedDir left (${top#"$TMP"/})" test ! -e "$top"
	fi
}
# the conflist <net> with another bridge and sharedDir
rebase() { # rebase <net> <bridge> <sharedDir>
	sed -i -e "s|\"bridgeName\": \"$BR\"|\"bridgeName\": \"$2\"|" \
		-e "s|\"sharedDir\": \"[^\"]*\"|\"sharedDir\": \"$3\"|" "$NETDIR/$1.conflist"
}
has_port() { vsctl list-ports "$1" 2>/dev/null | grep -qx -- "$2"; }
errcase vpp cccccccccccc0 "host.engine vpp is not supported"
errcase memif cccccccccccc1 "host.iftype memif is not supported"
errcase badmode cccccccccccc2 "host.vhost.mode must be client or server"
t0=$(date +%s)
errcase dead cccccccccccc3 "is Open vSwitch running"
expect "dead: answered within the timeout" test $(($(date +%s) - t0)) -lt 10

# failures after IPAM and the port: OVS cannot make the socket (its directory is not
# where the plugin looks), so everything is rolled back.
# On the existing bridge, with a stranger's port: the bridge and that port stay.
vsctl add-port "$BR" eeeeeeeeeeee-net1 -- set Interface eeeeeeeeeeee-net1 type=dpdkvhostuser
conflist late server "" "" ", \"vhostSocketDir\": \"$TMP/elsewhere\", \"ovsdbTimeout\": 1" 7
errcase late dddddddddddd0 "did not create the socket"
expect_not "late: no port left" has_port "$BR" dddddddddddd-net1
expect "late: the bridge it found stays" vsctl br-exists "$BR"
expect "late: the other port on it stays" has_port "$BR" eeeeeeeeeeee-net1
# On a bridge and in a sharedDir (two levels) the failing ADD made: both go.
BRN=cninew$SUFFIX
conflist fresh server "" "" ", \"vhostSocketDir\": \"$TMP/elsewhere\", \"ovsdbTimeout\": 1" 8
rebase fresh "$BRN" "$SHARED/fresh/deep"
errcase fresh dddddddddddd1 "did not create the socket" "$SHARED/fresh/deep"
expect_not "fresh: the bridge it made is gone" vsctl br-exists "$BRN"
expect_not "fresh: its internal port is gone" sh -c "ovs-vsctl --db=unix:$DB list Interface | grep -q 'name *: \"*$BRN\"*$'"
# On a bridge it made, while a concurrent ADD put its port there: the bridge and that
# port stay. The failing ADD waits 3 s for the socket; the other ADD comes meanwhile.
# failing_add <net> <bridge> <timeout> <subnet> <cid>: in the background, an ADD that
# makes <bridge> and fails <timeout> s later (OVS's socket is not where it looks); back
# once the bridge is there, with the ADD's PID in FAILING
failing_add() {
	conflist "$1" server "" "" ", \"vhostSocketDir\": \"$TMP/elsewhere\", \"ovsdbTimeout\": $3" "$4"
	rebase "$1" "$2" "$SHARED/$1"
	cni add "$1" "$NSA" "$5" >"$TMP/$1.out" 2>&1 &
	FAILING=$!
	PIDS+=($FAILING)
	for _ in $(seq 100); do vsctl br-exists "$2" && break; sleep 0.02; done
}
BRR=cnirace$SUFFIX
conflist other server "" "" "" 10
rebase other "$BRR" "$SHARED/other"
failing_add race "$BRR" 3 9 dddddddddddd2
out=$(cni add other "$NSB" ffffffffffff0 2>&1) || fail "other: ADD on the failing ADD's bridge: $out"
wait $FAILING
rc=$?
PIDS=()
expect "race: ADD fails" test $rc -ne 0
expect "race: the error says the socket" grep -q "did not create the socket" "$TMP/race.out"
expect "race: the bridge stays (another ADD's port is on it)" vsctl br-exists "$BRR"
expect "race: the other ADD's port stays" has_port "$BRR" ffffffffffff-net1
expect_not "race: its own port is gone" has_port "$BRR" dddddddddddd-net1
expect "race: no reservation left" test "$(reserved race)" = 0
expect "race: no sharedDir left" test ! -e "$SHARED/race"
expect "other: CHECK" cni check other "$NSB" ffffffffffff0
# DEL takes the port and never the bridge, even one an ADD made (as the reference)
expect "other: DEL" cni del other "$NSB" ffffffffffff0
expect_not "other: port gone" has_port "$BRR" ffffffffffff-net1
expect "other: the bridge stays after DEL" vsctl br-exists "$BRR"

# The other order: an ADD looked and found the bridge, but a failing ADD's rollback
# deletes it before the port goes in. strace holds the third OVSDB request (the port's
# insert, after the interface and bridge lookups) for 3 s: the insert's wait for the
# bridge fails, the ADD looks again and makes the bridge anew (a new row).
if command -v strace >/dev/null; then
	BRD=cniback$SUFFIX
	conflist later server "" "" ", \"ovsdbTimeout\": 10" 12
	rebase later "$BRD" "$SHARED/later"
	failing_add back "$BRD" 1 11 dddddddddddd3
	uuid1=$(vsctl get Bridge "$BRD" _uuid 2>/dev/null)
	WRAP=(strace -f -qq -s 600 -o "$TMP/later.strace" -e trace=sendto
		-e inject=sendto:delay_enter=3000000:when=3)
	out=$(cni add later "$NSB" ffffffffffff1 2>&1)
	rc=$?
	WRAP=()
	wait $FAILING
	back_rc=$?
	PIDS=()
	expect "back: the failing ADD fails" test $back_rc -ne 0
	expect "later: strace held the port's insert" grep -q 'insert.*Bridge.*(DELAYED)' "$TMP/later.strace"
	expect "later: ADD succeeds after the bridge it saw was deleted" test $rc -eq 0
	[ $rc -eq 0 ] || echo "$out" >&2
	uuid2=$(vsctl get Bridge "$BRD" _uuid 2>/dev/null)
	expect "later: the bridge was made anew ($uuid1 -> $uuid2)" \
		test -n "$uuid1" -a -n "$uuid2" -a "$uuid1" != "$uuid2"
	expect "later: its port is on it" has_port "$BRD" ffffffffffff-net1
	expect "later: CHECK" cni check later "$NSB" ffffffffffff1
	expect "later: DEL" cni del later "$NSB" ffffffffffff1
else
	echo "# strace missing: the insert racing a rollback is not tested"
fi

# a port name already in OVS (the stranger's above)
errcase srv eeeeeeeeeeee0 "already exists"
expect "srv: the stranger's port is left alone" test "$(port_type eeeeeeeeeeee-net1)" = dpdkvhostuser

echo "# $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
