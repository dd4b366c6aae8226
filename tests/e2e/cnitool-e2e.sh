#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end: our cnitool drives a real chain of our plugins (ptp + host-local, then the
# sample plugin, which needs ptp's result as prevResult) and loopback against throwaway
# network namespaces, and the kernel state, the IPAM store and the result cache are
# checked after every step. (Our runtime API driving the reference plugins is
# tests/interop/api.)
#
# Usage: cnitool-e2e.sh <cnitool> <our-plugins-dir> [<docs/examples/runtime-add binary>]
# Exit 77 (skip) without root or network namespaces. Namespaces are cni-e2e-<random>,
# removed by the EXIT trap even on failure; addresses are 10.200.X.0/24 inside them. The
# "host" side is itself a test namespace (cnitool runs under ip netns exec), so the
# machine's own interfaces and routes are never touched.
set -uo pipefail

CNITOOL=$(readlink -f "$1")
OURBIN=$(readlink -f "$2")
RUNTIME_ADD=${3:+$(readlink -f "$3")}
ROOT_DOCS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../docs" && pwd)

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root"
command -v ip >/dev/null || skip "needs iproute2"
[ -x "$CNITOOL" ] || { echo "FAIL: cnitool not built: $1" >&2; exit 1; }
for p in ptp host-local loopback sample; do
	[ -x "$OURBIN/$p" ] || { echo "FAIL: plugin $p not built in $OURBIN" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/cni-e2e.XXXXXX)
SUFFIX=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NS1=cni-e2e-$SUFFIX-a
NS2=cni-e2e-$SUFFIX-b
NS3=cni-e2e-$SUFFIX-c
NSH=cni-e2e-$SUFFIX-host
OCTET=$(( (16#${SUFFIX:0:2} % 200) + 20 ))
SUBNET=10.200.$OCTET.0/24
GW=10.200.$OCTET.1

. "$(dirname "${BASH_SOURCE[0]}")/../integration/nslib.sh"
nsl_trap 'rm -rf "$TMP"'

nsl_add "$NS1" 2>/dev/null || skip "cannot create network namespaces"
nsl_add "$NS2" || exit 1
nsl_add "$NS3" || exit 1
nsl_add "$NSH" || exit 1
ip -n "$NSH" link set lo up

FAILS=0 PASSES=0
pass() {
	PASSES=$((PASSES + 1))
	echo "ok   - $*"
}
fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL - $*" >&2
}
# expect <description> <condition command...>
expect() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# Only the plugins we name, all ours.
mkdir -p "$TMP/bin" "$TMP/net.d" "$TMP/ipam" "$TMP/cache" "$TMP/empty-bin"
for p in ptp host-local loopback sample; do ln -s "$OURBIN/$p" "$TMP/bin/$p"; done

cat >"$TMP/net.d/10-e2e.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "e2e-net",
  "plugins": [
    {
      "type": "ptp",
      "mtu": 1400,
      "capabilities": {"ips": true},
      "ipam": {
        "type": "host-local",
        "dataDir": "$TMP/ipam",
        "ranges": [[{"subnet": "$SUBNET", "gateway": "$GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {
      "type": "sample",
      "anotherAwesomeArg": "awesome"
    }
  ]
}
EOF
# A single-plugin .conf, promoted to a list by the loader.
cat >"$TMP/net.d/20-lo.conf" <<EOF
{"cniVersion": "1.0.0", "name": "e2e-lo", "type": "loopback"}
EOF

export NETCONFPATH=$TMP/net.d CNI_PATH=$TMP/bin CNI_CACHE_DIR=$TMP/cache
unset CNI_ARGS CAP_ARGS CNI_IFNAME CNI_CONTAINERID CNI_TIMEOUT

# run <name> <cnitool args...>: stdout, stderr, exit code in $TMP/<name>.{out,err,rc}
run() {
	local name=$1
	shift
	ip netns exec "$NSH" "${WRAP[@]}" "$CNITOOL" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	echo $? >"$TMP/$name.rc"
}
rc() { cat "$TMP/$1.rc"; }
ok() {
	if [ "$(rc "$1")" -ne 0 ]; then
		echo "--- $1 stderr:" >&2
		cat "$TMP/$1.err" >&2
		return 1
	fi
}
failed_with() { # <name> <text expected on stderr>
	[ "$(rc "$1")" -eq 1 ] && grep -qF -- "$2" "$TMP/$1.err" || {
		echo "--- $1 (exit $(rc "$1")) stderr:" >&2
		cat "$TMP/$1.err" >&2
		return 1
	}
}
WRAP=()

nspath() { echo "/var/run/netns/$1"; }
# The reference's container id: cnitool- + 20 hex chars of sha512(absolute netns path).
cid_of() { echo "cnitool-$(printf '%s' "$1" | sha512sum | cut -c1-20)"; }
host_veths() { ip -n "$NSH" -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
# lease files only: not the lock, the round-robin cursors or host-local's own index dir
reservations() { find "$TMP/ipam" -path '*/.host-local' -prune -o -type f ! -name 'last_reserved_ip.*' ! -name lock -print 2>/dev/null; }

VETHS_BEFORE=$(host_veths)

# ---- version ---------------------------------------------------------------------------
run version version e2e-net
expect "version: exit 0" ok version
expect "version lists ptp, host-local and sample" \
	sh -c "grep -q 'plugin ptp:' '$TMP/version.out' && grep -q 'ipam   host-local:' '$TMP/version.out' && grep -q 'plugin sample:' '$TMP/version.out'"
expect "version shows ptp's supported versions" grep -q '1.0.0' "$TMP/version.out"

# ---- status (1.0.0 list: nothing to ask the plugins, succeeds) -------------------------
run status status e2e-net "$(nspath "$NS1")"
expect "status: exit 0" ok status

# ---- add -------------------------------------------------------------------------------
P1=$(nspath "$NS1")
CID1=$(cid_of "$P1")
CNI_ARGS="IgnoreUnknown=1;E2E=yes" run add1 add e2e-net "$P1"
expect "add: exit 0" ok add1
ADDR=$(grep -oE '"address": *"10\.200\.[0-9]+\.[0-9]+/24"' "$TMP/add1.out" | grep -oE '10\.200\.[0-9.]+/24' | head -1)
expect "add prints a result with an address in $SUBNET" test -n "$ADDR"
expect "add result is cniVersion 1.0.0" grep -qE '"cniVersion": *"1.0.0"' "$TMP/add1.out"
expect "add result names the sandbox $P1" grep -qF "\"sandbox\": \"$P1\"" "$TMP/add1.out"
expect "add result carries the gateway $GW" grep -qF "\"gateway\": \"$GW\"" "$TMP/add1.out"
expect "eth0 in $NS1 has $ADDR" sh -c "ip -n '$NS1' -o addr show dev eth0 | grep -qF 'inet $ADDR'"
expect "eth0 in $NS1 has mtu 1400" sh -c "ip -n '$NS1' link show dev eth0 | grep -q 'mtu 1400'"
expect "default route in $NS1 via $GW" sh -c "ip -n '$NS1' route show default | grep -qF 'via $GW'"
expect "ping $GW from $NS1" ip netns exec "$NS1" ping -c1 -W2 "$GW" >/dev/null
NEW_VETHS=$(comm -13 <(echo "$VETHS_BEFORE") <(host_veths))
expect "one host veth appeared" test "$(echo "$NEW_VETHS" | grep -c .)" -eq 1
CACHE1=$TMP/cache/results/e2e-net-$CID1-eth0
expect "result cached as $(basename "$CACHE1") (container id from sha512)" test -f "$CACHE1"
expect "cache entry is cniCacheV1 with the CNI_ARGS" \
	sh -c "grep -q '\"kind\": *\"cniCacheV1\"' '$CACHE1' && grep -q 'E2E' '$CACHE1'"
expect "host-local reserved ${ADDR%/*} for $CID1" \
	sh -c "grep -qF '$CID1' '$TMP/ipam/e2e-net/${ADDR%/*}'"

# ---- check -----------------------------------------------------------------------------
CNI_ARGS="IgnoreUnknown=1;E2E=yes" run check1 check e2e-net "$P1"
expect "check: exit 0" ok check1
# Break the attachment behind the plugins' back: check must notice.
ip -n "$NS1" addr flush dev eth0
CNI_ARGS="IgnoreUnknown=1;E2E=yes" run check2 check e2e-net "$P1"
expect "check fails after the address was removed" test "$(rc check2)" -eq 1
expect "check failure printed as 'cnitool: ...'" grep -q '^cnitool: ' "$TMP/check2.err"

# ---- del -------------------------------------------------------------------------------
CNI_ARGS="IgnoreUnknown=1;E2E=yes" run del1 del e2e-net "$P1"
expect "del: exit 0" ok del1
expect "no eth0 left in $NS1" sh -c "! ip -n '$NS1' link show dev eth0 >/dev/null 2>&1"
expect "no host veth left" test "$(host_veths)" = "$VETHS_BEFORE"
expect "no IP reservation left" test -z "$(reservations)"
expect "no cache file left" test ! -e "$CACHE1"
run del2 del e2e-net "$P1"
expect "second del is idempotent (exit 0)" ok del2

# ---- container id override and other ifname --------------------------------------------
P2=$(nspath "$NS2")
CNI_CONTAINERID=e2e-custom-id CNI_IFNAME=net1 run add2 add e2e-net "$P2"
expect "add with CNI_CONTAINERID/CNI_IFNAME: exit 0" ok add2
expect "net1 created in $NS2" ip -n "$NS2" link show dev net1 >/dev/null
expect "cache uses the given container id and ifname" test -f "$TMP/cache/results/e2e-net-e2e-custom-id-net1"

# ---- a relative, unclean netns path gives the same container id as the absolute one -----
(cd /var/run && run rel_add add e2e-net "./netns/../netns//$NS1")
expect "add with a relative netns path: exit 0" ok rel_add
expect "relative path cached under the absolute path's id" test -f "$CACHE1"
run rel_del del e2e-net "$P1"
expect "del by absolute path removes it" test ! -e "$CACHE1"

# ---- gc: every cached attachment of the network is removed ------------------------------
P3=$(nspath "$NS3")
run add3 add e2e-net "$P3"
expect "add in $NS3: exit 0" ok add3
expect "two reservations before gc" test "$(reservations | wc -l)" -eq 2
run gc gc e2e-net "$P1"
expect "gc: exit 0" ok gc
expect "gc removed every cache entry" test -z "$(ls -A "$TMP/cache/results" 2>/dev/null)"
expect "gc released every reservation" test -z "$(reservations)"
expect "gc removed net1 from $NS2" sh -c "! ip -n '$NS2' link show dev net1 >/dev/null 2>&1"
expect "gc removed eth0 from $NS3" sh -c "! ip -n '$NS3' link show dev eth0 >/dev/null 2>&1"
expect "no host veth left after gc" test "$(host_veths)" = "$VETHS_BEFORE"

# ---- loopback (.conf promoted to a list) -----------------------------------------------
ip -n "$NS3" link set lo down
run lo_add add e2e-lo "$P3"
expect "loopback add: exit 0" ok lo_add
expect "lo is up in $NS3" sh -c "ip -n '$NS3' link show dev lo | grep -q ',UP'"
run lo_del del e2e-lo "$P3"
expect "loopback del: exit 0" ok lo_del

# ---- capability args are passed through ------------------------------------------------
CAP_ARGS='{"ips":["10.200.'$OCTET'.77/24"]}' run cap_add add e2e-net "$P1"
expect "add with CAP_ARGS: exit 0" ok cap_add
expect "cache records the capability args" \
	sh -c "grep -q '10.200.$OCTET.77' '$CACHE1'"
expect "host-local honoured runtimeConfig.ips: eth0 has 10.200.$OCTET.77" \
	sh -c "ip -n '$NS1' -o addr show dev eth0 | grep -qF 'inet 10.200.$OCTET.77/24'"
run cap_del del e2e-net "$P1"
expect "del after CAP_ARGS add: exit 0" ok cap_del

# ---- bad input -------------------------------------------------------------------------
run bad_net add no-such-net "$P1"
expect "unknown network fails naming it" failed_with bad_net "no-such-net"
CNI_PATH=$TMP/empty-bin run bad_path add e2e-net "$P1"
expect "plugin missing from CNI_PATH fails" failed_with bad_path "ptp"
expect "missing plugin leaves no veth" test "$(host_veths)" = "$VETHS_BEFORE"
for args in 'FOO' 'A=' '=b' 'a=b=c' 'A=1;' 'A=1;;B=2'; do
	CNI_ARGS=$args run bad_args add e2e-net "$P1"
	expect "CNI_ARGS '$args' rejected" failed_with bad_args "invalid CNI_ARGS pair"
done
CAP_ARGS='[1,2]' run bad_cap add e2e-net "$P1"
expect "CAP_ARGS that is not an object rejected" failed_with bad_cap "CAP_ARGS"
CAP_ARGS='{"ips":' run bad_cap2 add e2e-net "$P1"
expect "CAP_ARGS that is not JSON rejected" failed_with bad_cap2 "CAP_ARGS"
CNI_TIMEOUT=soon run bad_to add e2e-net "$P1"
expect "CNI_TIMEOUT not a number rejected" failed_with bad_to "CNI_TIMEOUT"
run no_ns add e2e-net
expect "missing netns path: usage error" failed_with no_ns "missing network namespace path"
expect "usage text printed" grep -q '^Usage: cnitool' "$TMP/no_ns.err"
run bad_cmd frobnicate e2e-net "$P1"
expect "unknown command rejected" failed_with bad_cmd 'unknown command "frobnicate"'
run bad_ns add e2e-net "$TMP/not-a-netns"
expect "non-existent netns: the plugin's error, printed once (one line)" \
	sh -c "[ \$(cat '$TMP/bad_ns.rc') -eq 1 ] && grep -q '^cnitool: add e2e-net: plugin type=\"ptp\" failed' '$TMP/bad_ns.err' && [ \$(wc -l <'$TMP/bad_ns.err') -eq 1 ]"
expect "failed add wrote no cache entry" test ! -e "$TMP/cache/results/e2e-net-$(cid_of "$TMP/not-a-netns")-eth0"
run bad_ns_del del e2e-net "$TMP/not-a-netns"
expect "del for the failed add: exit 0" ok bad_ns_del
expect "nothing reserved after the failed add and its del" test -z "$(reservations)"
run help --help
expect "--help exits 0 with usage" sh -c "[ \$(cat '$TMP/help.rc') -eq 0 ] && grep -q NETCONFPATH '$TMP/help.out'"

# ---- what cnitool tells an operator ----------------------------------------------------
expect "version names the file each plugin resolved to" \
	sh -c "grep -qF '($TMP/bin/ptp)' '$TMP/version.out' && grep -qF '($TMP/bin/host-local)' '$TMP/version.out'"
# Without CNI_PATH the installed plugin directory (named in --help) is searched.
DEFAULT_DIR=$(sed -n 's/^ *(default \(\/[^)]*\))$/\1/p' "$TMP/help.out")
expect "--help names the default plugin directory" test -n "$DEFAULT_DIR"
(unset CNI_PATH; run nopath version e2e-net)
if [ -x "$DEFAULT_DIR/ptp" ]; then
	expect "CNI_PATH unset: plugins found in $DEFAULT_DIR" grep -qF "($DEFAULT_DIR/ptp)" "$TMP/nopath.out"
else
	expect "CNI_PATH unset: the error says so and names $DEFAULT_DIR" \
		sh -c "grep -qF 'CNI_PATH is unset' '$TMP/nopath.err' && grep -qF '[$DEFAULT_DIR]' '$TMP/nopath.err'"
fi
# A bare namespace name is one of /run/netns.
P3R=/run/netns/$NS3
run bare_add add e2e-net "$NS3"
expect "add with a bare netns name: exit 0" ok bare_add
expect "bare name resolved to $P3R" grep -qF "\"sandbox\": \"$P3R\"" "$TMP/bare_add.out"
expect "bare name cached under $P3R's container id" test -f "$TMP/cache/results/e2e-net-$(cid_of "$P3R")-eth0"
run bare_again add e2e-net "$NS3"
expect "ADD of a cached attachment says it is already attached" failed_with bare_again "is already attached"
expect "... and names the container and interface" \
	grep -qF "container $(cid_of "$P3R"), interface eth0" "$TMP/bare_again.err"
run bare_check check e2e-net "$NS3"
expect "check by bare name: exit 0" ok bare_check
run bare_del del e2e-net "$NS3"
expect "del by bare name: exit 0, nothing on stderr" sh -c "[ \$(cat '$TMP/bare_del.rc') -eq 0 ] && [ ! -s '$TMP/bare_del.err' ]"
run uncached_check check e2e-net "$NS3"
expect "CHECK of an attachment not in the cache says so" failed_with uncached_check "is not attached"
run uncached_del del e2e-net "$NS3"
expect "DEL of an attachment not in the cache: exit 0 and says so" \
	sh -c "[ \$(cat '$TMP/uncached_del.rc') -eq 0 ] && grep -qF 'is not in the result cache' '$TMP/uncached_del.err'"
run no_such_ns add e2e-net "nons-$SUFFIX"
expect "a bare name that is no namespace: said so" failed_with no_such_ns "no such namespace in /run/netns"
# A single plugin's config saved as .conflist, and a broken file.
mkdir -p "$TMP/single.d" "$TMP/broken.d"
echo '{"cniVersion": "1.0.0", "name": "solo", "type": "loopback"}' >"$TMP/single.d/10-solo.conflist"
NETCONFPATH=$TMP/single.d run single version solo
expect "single-plugin .conflist: says there is no 'plugins' key and names the file" \
	sh -c "grep -qF \"no 'plugins' key\" '$TMP/single.err' && grep -qF '$TMP/single.d/10-solo.conflist' '$TMP/single.err'"
echo '{"cniVersion": "1.0.0", "name":' >"$TMP/broken.d/05-broken.conflist"
NETCONFPATH=$TMP/broken.d run broken version e2e-net
expect "broken file: names the network looked for and the file, one line" \
	sh -c "grep -qF 'network \"e2e-net\"' '$TMP/broken.err' && grep -qF '05-broken.conflist' '$TMP/broken.err' && [ \$(wc -l <'$TMP/broken.err') -eq 1 ]"

# The example list of docs/cnitool.md loads and every plugin it names is found.
mkdir -p "$TMP/doc.d"
sed -n "/^cat >.*10-demo-net.conflist <<'EOF'/,/^EOF/p" "$ROOT_DOCS/cnitool.md" | sed '1d;$d' >"$TMP/doc.d/10-demo-net.conflist"
NETCONFPATH=$TMP/doc.d CNI_PATH=$OURBIN run doc_version version demo-net
expect "docs/cnitool.md's example list: every plugin found" \
	sh -c "[ \$(cat '$TMP/doc_version.rc') -eq 0 ] && grep -q 'plugin ptp:' '$TMP/doc_version.out' && grep -q 'plugin firewall:' '$TMP/doc_version.out' && ! grep -q 'NOT supported' '$TMP/doc_version.out'"

# docs/examples/runtime-add: its own cache dir and a container id of its own.
if [ -n "$RUNTIME_ADD" ]; then
	ip netns exec "$NSH" "$RUNTIME_ADD" "$TMP/net.d" e2e-lo "$P3" "$OURBIN" "$TMP/ra-cache" \
		>"$TMP/ra.out" 2>"$TMP/ra.err"
	echo $? >"$TMP/ra.rc"
	expect "runtime-add example: exit 0" ok ra
	expect "runtime-add used the cache dir it was given" test -d "$TMP/ra-cache/results"
	expect "runtime-add left nothing in /var/lib/cni" \
		sh -c "! ls /var/lib/cni/results 2>/dev/null | grep -q runtime-add"
fi

# ---- the same cycle under valgrind: no leak, no memory error in cnitool ---------------
if command -v valgrind >/dev/null && [ -z "${CNI_E2E_NO_VALGRIND:-}" ] &&
	[ "${CNI_TEST_NO_VALGRIND:-0}" != 1 ]; then
	WRAP=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
	for step in add check del; do
		CNI_ARGS="IgnoreUnknown=1" run "vg_$step" "$step" e2e-net "$P2"
		expect "valgrind cnitool $step: clean" ok "vg_$step"
	done
	CNI_ARGS='A=1;;' run vg_bad add e2e-net "$P2"
	expect "valgrind cnitool on bad CNI_ARGS: exit 1, clean" test "$(rc vg_bad)" -eq 1
	run vg_gc gc e2e-net "$P2"
	expect "valgrind cnitool gc: clean" ok vg_gc
	WRAP=()
fi

echo "cnitool e2e: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
