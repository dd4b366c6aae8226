#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The full fault-injection sweep (every N of every class, every scenario; ours with
# --strict-del: a DEL that reports success must have left nothing) and 100 kills per
# scenario, for our plugins and for the reference's in /usr/lib/cni, with a JSON report
# each; docs/reliability.md has the numbers. Needs root and strace; takes about an hour or more on two cores.
# The scenarios this kernel cannot run (vrf, ipvlan, vlan, dummy) are skipped by name; they
# run in the user-mode kernel, sampled (docs/reliability.md has the commands).
#   tests/fault/sweep.sh [plugin dir (default build/plugins-bin)] [out dir (default .)]
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OURS=${1:-$HERE/../../build/plugins-bin}
OUT=${2:-.}
# the chain scenario drives a conflist through our cnitool (for the reference's plugins too)
CNITOOL=${CNITOOL:-$(dirname "$OURS")/tools/cnitool/cnitool}
CHAIN=()
[ -x "$CNITOOL" ] && CHAIN=(--cnitool "$CNITOOL")
# userspace in server mode needs ovs-vswitchd-dpdk: 384 hugepages and a core its PMD
# polls while a port exists (NO_DPDK=1 leaves that scenario out)
DPDK=(--dpdk)
[ -n "${NO_DPDK:-}" ] && DPDK=()
python3 "$HERE/faultsweep.py" --plugins "$OURS" --label ours --json "$OUT/fault-ours.json" \
	--strict-del --regressions "$HERE/regressions.txt" "${CHAIN[@]}" "${DPDK[@]}"
ours=$?
python3 "$HERE/crashsweep.py" --plugins "$OURS" --label ours --runs 100 \
	--json "$OUT/crash-ours.json" "${DPDK[@]}" || ours=1
if [ -d /usr/lib/cni ]; then
	python3 "$HERE/faultsweep.py" --plugins /usr/lib/cni --label reference \
		--json "$OUT/fault-reference.json" --report-only "${CHAIN[@]}"
	python3 "$HERE/crashsweep.py" --plugins /usr/lib/cni --label reference --runs 100 \
		--json "$OUT/crash-reference.json" --report-only
fi
exit $ours
