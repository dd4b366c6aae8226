#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The user-mode kernel itself (ctest kernel/uml-selftest, label kernel): one boot that
# checks every kernel feature the plugins and their tests rely on, and the runner's own
# contract (the command's exit status comes back, --rw writes reach the host, the build
# tree is writable inside without its writes reaching the host, the environment passes).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/cni-uml-selftest.XXXXXX")
FAILS=0
fail() {
	echo "FAIL - $*"
	FAILS=$((FAILS + 1))
}

# Inside: each feature in a namespace of its own; a line per feature; status 7 at the end
# so that a status passed through is told apart from a plain success.
INSIDE='
n=0
t() { local what=$1; shift; if "$@" >/dev/null 2>&1; then echo "ok $what"; else echo "missing $what"; n=$((n+1)); fi; }
. "$CNI_UML_SELFTEST_NSLIB" && nsl_trap
nsl_add st && ip -n st link set lo up
x() { ip -n st "$@"; }
t veth x link add v0 type veth peer name v1
t bridge x link add b0 type bridge
t bridge-vlan-filtering x link add b1 type bridge vlan_filtering 1
t bridge-vlan-add sh -c "ip -n st link set v1 master b1 && ip netns exec st bridge vlan add dev v1 vid 100 pvid untagged"
t dummy x link add d0 type dummy
t vlan-8021q x link add link d0 name d0.100 type vlan id 100
t macvlan x link add link d0 name mv0 type macvlan mode bridge
x link add d1 type dummy
t ipvlan-l2 x link add link d1 name iv0 type ipvlan mode l2
t ipvlan-l3s x link add link d1 name iv1 type ipvlan mode l3s
t vrf x link add vrf0 type vrf table 10
t tap x tuntap add mode tap name tap0 multi_queue
t ifb x link add ifb0 type ifb
t tbf-qdisc tc -n st qdisc add dev v0 root tbf rate 1mbit burst 10k latency 50ms
t ingress-qdisc tc -n st qdisc add dev v0 ingress
t iptables-nat ip netns exec st iptables -t nat -A POSTROUTING -s 10.1.0.0/24 -m comment --comment st -j MASQUERADE
t ip6tables-nat ip netns exec st ip6tables -t nat -A POSTROUTING -s fd00::/64 -j MASQUERADE
t sysctl-ipv6 ip netns exec st sysctl -qw net.ipv6.conf.all.forwarding=1
nsl_cleanup
t var-lib-cni-writable touch /var/lib/cni/probe
t build-tree-writable touch "$CNI_UML_SELFTEST_TREE/uml-selftest-probe"
echo "$CNI_UML_SELFTEST_TOKEN" >"$CNI_UML_SELFTEST_OUT/token"
echo "missing: $n"
exit 7
'
TOKEN=$RANDOM$RANDOM
TREE=$(mktemp -d "${TMPDIR:-/tmp}/cni-uml-tree.XXXXXX")
: >"$TREE/CMakeCache.txt"
trap 'rm -rf "$OUT" "$TREE"' EXIT
LOG=$OUT/log
mkdir -p "$OUT/rw"
(cd "$TREE" && CNI_UML_SELFTEST_TOKEN=$TOKEN CNI_UML_SELFTEST_OUT=$OUT/rw \
	CNI_UML_SELFTEST_NSLIB=$HERE/../integration/nslib.sh \
	CNI_UML_SELFTEST_TREE=$TREE "$HERE/uml-run.sh" --rw "$OUT/rw" --timeout 300 \
	-- bash -c "$INSIDE") >"$LOG" 2>&1
rc=$?
cat "$LOG"
[ $rc -eq 7 ] || fail "the command's exit status 7 came back as $rc"
grep -q "^missing: 0$" "$LOG" || fail "kernel features missing: $(grep '^missing ' "$LOG" | tr '\n' ' ')"
[ "$(cat "$OUT/rw/token" 2>/dev/null)" = "$TOKEN" ] ||
	fail "a --rw directory's write did not reach the host (or CNI_* did not pass)"
[ ! -e "$TREE/uml-selftest-probe" ] || fail "a write to the build tree reached the host"
grep -q "^ok build-tree-writable$" "$LOG" || fail "the build tree is not writable inside"

# a timeout ends the kernel and says so
"$HERE/uml-run.sh" --timeout 8 -- sleep 60 >"$OUT/timeout.log" 2>&1
rc=$?
[ $rc -eq 124 ] || { cat "$OUT/timeout.log"; fail "a timed-out command returned $rc, not 124"; }

if [ $FAILS -eq 0 ]; then
	echo "uml selftest: 6 passed, 0 failed"
	exit 0
fi
echo "uml selftest: $((6 - FAILS < 0 ? 0 : 6 - FAILS)) passed, $FAILS failed"
exit 1
