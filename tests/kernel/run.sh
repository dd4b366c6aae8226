#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The kernel suite: boots the user-mode kernel (uml-run.sh) and runs, inside it, the ctest
# tests of a build tree that need a kernel (label integration, which includes every test
# labelled kernel: those that need 802.1Q, ipvlan, dummy, VRF or bridge VLAN filtering).
#
#   tests/kernel/run.sh BUILD_DIR [CTEST ARGS...]
#
# Extra arguments go to ctest, after the defaults (-L integration -E valgrind); for
# example `-R vrf` runs only the vrf test. The valgrind variants (and valgrind runs inside
# tests, CNI_TEST_NO_VALGRIND=1) are left out: they check our memory handling, which does
# not depend on the kernel, and valgrind is very slow under UML.
#
# A user-mode kernel has one CPU, so the tests are split over CNI_UML_SHARDS kernels
# (default: the number of CPUs, at most 4) that boot once each and run side by side; the
# first one's output streams, the others' follows when they end. The last line counts
# all of them in ctest's words. Exit status: 0 when every shard passed; else the first
# failing shard's (124 timeout, 125 the kernel did not run the tests).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 1 ] || [ ! -f "$1/CTestTestfile.cmake" ]; then
	echo "usage: tests/kernel/run.sh BUILD_DIR [CTEST ARGS...] (BUILD_DIR: a configured build tree)" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
shift
cd "$BUILD" || exit 2
# memory checks inside tests are left to the machines' kernel too
export CNI_TEST_NO_VALGRIND=1

SHARDS=${CNI_UML_SHARDS:-$(nproc 2>/dev/null || echo 1)}
[ "$SHARDS" -ge 1 ] 2>/dev/null || SHARDS=1
[ "$SHARDS" -le 4 ] || SHARDS=4
CTEST=(ctest --output-on-failure --timeout 900 -L integration -E valgrind)
UML=("$HERE/uml-run.sh" --timeout "${CNI_UML_TIMEOUT:-3000}" --)
if [ "$SHARDS" -eq 1 ]; then
	exec "${UML[@]}" "${CTEST[@]}" "$@"
fi

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/cni-uml-shards.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT
trap 'exit 130' INT TERM
# The tests, spread over the shards longest first (by the times ctest recorded for them
# on the host; unknown ones count as long), each shard getting an exact -R list.
mapfile -t REGEX < <("${CTEST[@]}" -N "$@" | sed -n 's/^ *Test *#[0-9]*: //p' |
	python3 -c '
import re, sys
shards, costfile = int(sys.argv[1]), sys.argv[2]
names = [l.strip() for l in sys.stdin if l.strip()]
cost = {}
try:
    for l in open(costfile):
        f = l.split()
        if len(f) == 3:
            cost[f[0]] = float(f[2])
except OSError:
    pass
load = [0.0] * shards
part = [[] for _ in range(shards)]
for n in sorted(names, key=lambda n: -cost.get(n, 60.0)):
    i = load.index(min(load))
    load[i] += cost.get(n, 60.0)
    part[i].append(n)
for p in part:
    if p:
        print("^(" + "|".join(re.escape(n) for n in p) + ")$")
' "$SHARDS" "$BUILD/Testing/Temporary/CTestCostData.txt")
if [ ${#REGEX[@]} -eq 0 ]; then
	echo "kernel suite: no tests selected"
	exit 0
fi
SHARDS=${#REGEX[@]}
pids=()
for i in $(seq 1 "$SHARDS"); do
	if [ "$i" -eq 1 ]; then
		"${UML[@]}" "${CTEST[@]}" "$@" -R "${REGEX[0]}" 2>&1 | tee "$LOGS/$i" &
	else
		"${UML[@]}" "${CTEST[@]}" "$@" -R "${REGEX[$((i - 1))]}" >"$LOGS/$i" 2>&1 &
	fi
	pids+=($!)
done
status=0 total=0 failed=0
for i in $(seq 1 "$SHARDS"); do
	# with tee in the pipeline, $? of wait is tee's: each shard's outcome is read back
	# from its log instead
	wait "${pids[$((i - 1))]}"
	[ "$i" -eq 1 ] || { echo "=== kernel shard $i of $SHARDS" && cat "$LOGS/$i"; }
	t=$(sed -n 's/.* tests failed out of \([0-9]*\).*/\1/p' "$LOGS/$i" | tail -1)
	f=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$LOGS/$i" | tail -1)
	if [ -z "$t" ]; then
		echo "kernel shard $i: no ctest summary (the kernel did not run the tests, or timed out)"
		[ $status -ne 0 ] || status=125
		continue
	fi
	total=$((total + t)) failed=$((failed + ${f:-0}))
	[ "${f:-0}" -eq 0 ] || [ $status -ne 0 ] || status=8
done
echo
echo "kernel suite ($SHARDS user-mode kernels): $((total - failed)) passed, $failed tests failed out of $total"
exit $status
