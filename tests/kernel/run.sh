#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The kernel suite: boots the user-mode kernel (uml-run.sh) and runs, inside it, the ctest
# tests of a build tree that need a kernel (label integration, which includes every test
# labelled kernel: those that need 802.1Q, ipvlan, dummy, VRF or bridge VLAN filtering).
#
#   tests/kernel/run.sh BUILD_DIR [CTEST ARGS...]
#
# Extra arguments go to ctest, after the defaults (-L integration -LE "packaging|hostonly"
# -E valgrind);
# for example `-R vrf` runs only the vrf test. The valgrind variants (and valgrind runs
# inside tests, CNI_TEST_NO_VALGRIND=1) are left out: they check our memory handling, which
# does not depend on the kernel, and valgrind is very slow under UML. So is the Debian
# packaging test: it installs packages, and the root file system is read-only in there.
# Tests labelled hostonly (userspace: OVS-DPDK needs the host's hugepages and cores) too.
#
# A user-mode kernel has one CPU, so CNI_UML_SHARDS kernels (default: the number of CPUs,
# at most 4) boot once each and run side by side, each taking the next test not yet taken
# from one list (longest first, by the times ctest recorded on the host). The first
# kernel's output streams, the others' follows when they end. The last line counts all of
# them in ctest's words. Exit status: 0 when every test passed (or skipped); 8 when one
# failed; 124 on a timeout; 125 when a kernel did not run its share.
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
CTEST=(ctest --output-on-failure --timeout 900 -L integration -LE "packaging|hostonly" -E valgrind)
UML=("$HERE/uml-run.sh" --timeout "${CNI_UML_TIMEOUT:-3000}" --)
if [ "$SHARDS" -eq 1 ]; then
	exec "${UML[@]}" "${CTEST[@]}" "$@"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cni-uml-shards.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
# The list: "regex name" lines, longest first; unknown tests count as long.
"${CTEST[@]}" -N "$@" | sed -n 's/^ *Test *#[0-9]*: //p' | python3 -c '
import re, sys
cost = {}
try:
    for l in open(sys.argv[1]):
        f = l.split()
        if len(f) == 3:
            cost[f[0]] = float(f[2])
except OSError:
    pass
names = [l.strip() for l in sys.stdin if l.strip()]
for n in sorted(names, key=lambda n: -cost.get(n, 60.0)):
    print("^%s$ %s" % (re.escape(n), n))
' "$BUILD/Testing/Temporary/CTestCostData.txt" >"$WORK/list"
TOTAL=$(wc -l <"$WORK/list")
if [ "$TOTAL" -eq 0 ]; then
	echo "kernel suite: no tests selected"
	exit 0
fi
[ "$SHARDS" -le "$TOTAL" ] || SHARDS=$TOTAL
mkdir -p "$WORK/claims" "$WORK/status"

# Inside each kernel: claim a test (mkdir on the host directory is atomic across kernels),
# run it, record its status; until the list is done.
INNER='
i=0
while read -r re name <&3; do
	i=$((i + 1))
	mkdir "$Q/claims/$i" 2>/dev/null || continue
	"$@" -R "$re" </dev/null
	echo $? >"$Q/status/$i"
done 3<"$Q/list"
true'
pids=()
for k in $(seq 1 "$SHARDS"); do
	cmd=("$HERE/uml-run.sh" --rw "$WORK" --timeout "${CNI_UML_TIMEOUT:-3000}" -e Q --
		bash -c "$INNER" inner "${CTEST[@]}" "$@")
	if [ "$k" -eq 1 ]; then
		Q=$WORK "${cmd[@]}" 2>&1 | tee "$WORK/log-$k" &
	else
		Q=$WORK "${cmd[@]}" >"$WORK/log-$k" 2>&1 &
	fi
	pids+=($!)
done
status=0
for k in $(seq 1 "$SHARDS"); do
	wait "${pids[$((k - 1))]}"
	[ "$k" -eq 1 ] || { echo "=== user-mode kernel $k of $SHARDS" && cat "$WORK/log-$k"; }
done
failed=0 done_=0 names=()
for i in $(seq 1 "$TOTAL"); do
	name=$(sed -n "${i}p" "$WORK/list" | cut -d' ' -f2-)
	if [ ! -s "$WORK/status/$i" ]; then
		names+=("$name (not run)")
		failed=$((failed + 1))
		[ $status -ne 0 ] || status=125
		continue
	fi
	done_=$((done_ + 1))
	if [ "$(cat "$WORK/status/$i")" -ne 0 ]; then
		names+=("$name")
		failed=$((failed + 1))
		[ $status -ne 0 ] || status=8
	fi
done
echo
[ ${#names[@]} -eq 0 ] || printf 'kernel suite: FAILED %s\n' "${names[@]}"
echo "kernel suite ($SHARDS user-mode kernels): $((TOTAL - failed)) passed, $failed tests failed out of $TOTAL"
exit $status
