#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# loopback, ours against the reference (/usr/lib/cni/loopback), each in a fresh namespace
# of its own: ADD results (every config version), lo state, CHECK, DEL, DEL after the
# namespace is gone, chained prevResult pass-through, and bad input. The one intended
# difference (0.1.0/0.2.0 results, which the reference 1.1.1 prints in the 1.0 shape) is
# checked for what it should be.
# Usage: loopback-test.sh <our loopback>
set -uo pipefail
OURS=$(realpath -s "$1")  # not -f: a multi-call link is dispatched by its name
REF=${CNI_REFERENCE_BIN:-/usr/lib/cni}/loopback
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$REF" ] || { echo "SKIP: $REF missing (containernetworking-plugins)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }

. "$(dirname "$0")/../nslib.sh"
SUFFIX=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
TMP=$(mktemp -d /tmp/cni-lo.XXXXXX)
nsl_trap 'rm -rf "$TMP"'

PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# run <plugin> <command> <netns> <conf> -> stdout in $OUT, exit code in $RC
run() {
	OUT=$(printf '%s' "$4" | CNI_COMMAND=$2 CNI_CONTAINERID=c1 CNI_NETNS=$3 CNI_IFNAME=eth0 \
		CNI_PATH=/nonexistent "$1" 2>"$TMP/stderr")
	RC=$?
}
# JSON equal after replacing each side's sandbox path by a placeholder. The reference
# 1.1.1 never converts its result to the config's version, so for 0.3.x/0.4.0 it omits
# ips[].version, which those versions require: ours must carry the right one, and is
# compared without it.
same_json() {
	python3 - "$1" "$2" "$3" "$4" <<'PY'
import json, sys
a, b, pa, pb = sys.argv[1:5]
ours, ref = json.loads(a.replace(pa, "NETNS")), json.loads(b.replace(pb, "NETNS"))
if ours.get("cniVersion", "").startswith("0."):
    for ip in ours.get("ips", []):
        want = "6" if ":" in ip["address"] else "4"
        if ip.pop("version", None) != want:
            sys.exit(1)
sys.exit(0 if ours == ref else 1)
PY
}

for v in 0.3.0 0.3.1 0.4.0 1.0.0; do
	nsl_cleanup
	nsl_new_or_skip NSO cni-lo-ours
	nsl_new_or_skip NSR cni-lo-ref
	conf="{\"cniVersion\":\"$v\",\"name\":\"lo-net\",\"type\":\"loopback\"}"
	run "$OURS" ADD "/run/netns/$NSO" "$conf"; o=$OUT orc=$RC
	run "$REF" ADD "/run/netns/$NSR" "$conf"; r=$OUT rrc=$RC
	check "$v: ADD exit codes ($orc, $rrc)" test "$orc" -eq 0 -a "$rrc" -eq 0
	check "$v: ADD results equal" same_json "$o" "$r" "/run/netns/$NSO" "/run/netns/$NSR"
	check "$v: lo is up in both" sh -c "ip -n $NSO link show lo | grep -q ',UP' && ip -n $NSR link show lo | grep -q ',UP'"
	check "$v: same lo addresses" test "$(ip -n "$NSO" -br addr show lo | awk '{$1=\"\";print}')" = \
		"$(ip -n "$NSR" -br addr show lo | awk '{$1=\"\";print}')"
	run "$OURS" CHECK "/run/netns/$NSO" "$conf"
	case $v in
	0.3.*) check "$v: CHECK refused for versions before 0.4.0 (code 1)" sh -c "[ $RC -ne 0 ] && echo '$OUT' | grep -q '\"code\": 1'" ;;
	*) check "$v: CHECK passes" test "$RC" -eq 0 ;;
	esac
	run "$OURS" DEL "/run/netns/$NSO" "$conf"; orc=$RC
	run "$REF" DEL "/run/netns/$NSR" "$conf"; rrc=$RC
	check "$v: DEL exit codes ($orc, $rrc)" test "$orc" -eq 0 -a "$rrc" -eq 0
	check "$v: lo is down again in ours" sh -c "! ip -n $NSO link show lo | grep -q ',UP'"
done

conf='{"cniVersion":"1.0.0","name":"lo-net","type":"loopback"}'
run "$OURS" CHECK "/run/netns/$NSO" "$conf"
check "CHECK with lo down fails" sh -c "[ $RC -ne 0 ] && echo '$OUT' | grep -q 'loopback interface is down'"
run "$OURS" DEL "/run/netns/gone-$SUFFIX" "$conf"
check "DEL with the netns gone succeeds" test "$RC" -eq 0
run "$OURS" ADD "/run/netns/gone-$SUFFIX" "$conf"
check "ADD with a missing netns fails with error JSON" sh -c "[ $RC -ne 0 ] && echo '$OUT' | grep -q '\"code\"'"

# chained: prevResult passes through untouched (in the config's version)
prev='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"10.9.0.2/24","interface":0}]}'
chained="{\"cniVersion\":\"1.0.0\",\"name\":\"lo-net\",\"type\":\"loopback\",\"prevResult\":$prev}"
run "$OURS" ADD "/run/netns/$NSO" "$chained"; o=$OUT
run "$REF" ADD "/run/netns/$NSR" "$chained"; r=$OUT
check "chained: prevResult passed through as the reference does" same_json "$o" "$r" x x

# 0.2.0: ours prints a real 0.2.0 result; the reference 1.1.1 a 1.0-shaped one (a bug)
conf='{"cniVersion":"0.2.0","name":"lo-net","type":"loopback"}'
run "$OURS" ADD "/run/netns/$NSO" "$conf"
check "0.2.0: ours prints ip4/ip6 (spec shape; the reference differs on purpose)" python3 -c "
import json,sys; r=json.loads(sys.argv[1])
sys.exit(0 if r['cniVersion']=='0.2.0' and r['ip4']['ip']=='127.0.0.1/8' and r['ip6']['ip']=='::1/128' and 'interfaces' not in r else 1)" "$OUT"

run "$OURS" ADD "/run/netns/$NSO" '{"cniVersion":"1.0.0","name":"lo net","type":"loopback"}'
check "bad network name: code 7" sh -c "[ $RC -ne 0 ] && echo '$OUT' | grep -q '\"code\": 7'"
run "$OURS" ADD "/run/netns/$NSO" '{"cniVersion":"1.0.0","name":"x","type":"loopback"'
check "malformed JSON: code 6" sh -c "[ $RC -ne 0 ] && echo '$OUT' | grep -q '\"code\": 6'"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
