#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# host-local at scale, plugin only (case 7 of tests/bench/run.sh, usable alone): SIZE
# sequential ADDs into one /16 (a new container id each), then a DEL of every one, run
# straight through bench-exec as a runtime would exec the plugin. Ours and the reference
# share the run: each phase goes in chunks, the two sides taking turns (ABBA), so machine
# noise lands on both. The reference is capped (--ref-cap): it gets slower as the store
# grows and 60,000 would take hours. Nothing is extrapolated past the cap.
#
# Functional checks (exit 1 when one fails): every ADD and DEL exits 0, the store holds
# exactly SIZE leases after the ADDs and none after the DELs, and no address is handed out
# twice.
#
# usage: host-local-scale.sh [--runner BENCH_EXEC] [--raw DIR] [--ours BIN] [--ref BIN]
#                            [--sizes 1000,60000] [--ref-cap 2000] [--chunk 1000] [BIN]
# A lone BIN is --ours BIN; alone (no --raw), the reference defaults to
# /usr/lib/cni/host-local, bench-exec is built from this dir, and a summary is printed.
# Raw output in DIR: c7.<size>.<side>.<add|del>.jsonl (bench-exec lines) and
# c7.meta.jsonl (one line per size and side: count, capped, lease counts, ok).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
RUNNER="" RAW="" OURS="" REF="" SIZES=1000,60000 REF_CAP=2000 CHUNK=1000 SUMMARY=0
while [ $# -gt 0 ]; do
	case $1 in
	-*) ;;
	*) OURS=$1; shift; continue ;;
	esac
	case $1 in
	--runner) RUNNER=$2; shift 2 ;;
	--raw) RAW=$2; shift 2 ;;
	--ours) OURS=$2; shift 2 ;;
	--ref) REF=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--ref-cap) REF_CAP=$2; shift 2 ;;
	--chunk) CHUNK=$2; shift 2 ;;
	*) echo "host-local-scale.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
if [ -z "$OURS" ] && [ -z "$REF" ]; then
	echo "usage: host-local-scale.sh [--runner BENCH_EXEC] [--raw DIR] [--ours BIN] [--ref BIN]" \
		"[--sizes 1000,60000] [--ref-cap 2000] [--chunk 1000] [BIN]" >&2
	exit 2
fi
for v in "$REF_CAP" "$CHUNK" ${SIZES//,/ }; do
	case $v in '' | *[!0-9]*) echo "host-local-scale.sh: not a count: '$v'" >&2; exit 2 ;; esac
done
[ "$CHUNK" -gt 0 ] || CHUNK=1000

WORK=$(mktemp -d /tmp/cni-bench-hl.XXXXXX) || exit 1
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
if [ -z "$RAW" ]; then
	# standalone: compare with the reference when it is there, print a summary
	SUMMARY=1 RAW=$WORK/raw
	[ -z "$REF" ] && [ -x /usr/lib/cni/host-local ] && REF=/usr/lib/cni/host-local
fi
mkdir -p "$RAW" || exit 1
if [ -z "$RUNNER" ]; then
	RUNNER=$WORK/bench-exec
	gcc -O2 -D_GNU_SOURCE -o "$RUNNER" "$HERE/bench-exec.c" || exit 1
fi

FAIL=0
declare -A BIN COUNT_ADD COUNT_DEL
SIDES=()
[ -n "$REF" ] && { BIN[ref]=$REF; SIDES+=(ref); }
[ -n "$OURS" ] && { BIN[ours]=$OURS; SIDES+=(ours); }

# Leases are files named after the address; the store also holds a lock and the
# last-reserved marker, which are not leases.
leases() { find "$1" -maxdepth 1 -type f -regex '.*/[0-9.]+' 2>/dev/null | wc -l; }

# run SIDE SIZE OP START COUNT
run_chunk() {
	local side=$1 size=$2 op=$3 start=$4 count=$5
	local dir=$WORK/$size-$side
	"$RUNNER" -n "$count" -s "$start" -i "$dir/conf.json" \
		-e CNI_COMMAND="$op" -e CNI_CONTAINERID=scale-%d -e CNI_NETNS=/var/run/netns/cni-bench-none \
		-e CNI_IFNAME=eth0 -e CNI_PATH="$(dirname "${BIN[$side]}")" -e PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		-- "${BIN[$side]}" >>"$RAW/c7.$size.$side.${op,,}.jsonl"
}

for size in ${SIZES//,/ }; do
	declare -A COUNT
	for side in "${SIDES[@]}"; do
		COUNT[$side]=$size
		[ "$side" = ref ] && [ "$size" -gt "$REF_CAP" ] && COUNT[$side]=$REF_CAP
		mkdir -p "$WORK/$size-$side"
		cat >"$WORK/$size-$side/conf.json" <<JSON
{"cniVersion":"1.0.0","name":"scale","type":"host-local",
 "ipam":{"type":"host-local","dataDir":"$WORK/$size-$side/ipam",
  "ranges":[[{"subnet":"10.200.0.0/16"}]]}}
JSON
		rm -f "$RAW/c7.$size.$side".*.jsonl
	done
	for op in ADD DEL; do
		start=0 turn=0
		while :; do
			any=0
			# ABBA: the side that went second in one chunk goes first in the next
			if [ $((turn % 2)) -eq 0 ]; then order=("${SIDES[@]}"); else
				order=(); for ((i = ${#SIDES[@]} - 1; i >= 0; i--)); do order+=("${SIDES[i]}"); done
			fi
			for side in "${order[@]}"; do
				left=$((COUNT[$side] - start))
				[ "$left" -gt 0 ] || continue
				any=1
				n=$((left < CHUNK ? left : CHUNK))
				run_chunk "$side" "$size" "$op" "$start" "$n" || {
					echo "host-local-scale: $side $op failed in runs $start..$((start + n - 1))" >&2
					FAIL=1
				}
			done
			[ "$any" = 1 ] || break
			start=$((start + CHUNK)) turn=$((turn + 1))
		done
		for side in "${SIDES[@]}"; do
			store=$WORK/$size-$side/ipam/scale
			if [ "$op" = ADD ]; then
				COUNT_ADD[$side]=$(leases "$store")
				# every lease file holds the address once; a duplicate grant would show as
				# fewer files than ADDs, so comparing the count is enough
			else
				COUNT_DEL[$side]=$(leases "$store")
			fi
		done
	done
	for side in "${SIDES[@]}"; do
		ok=true
		if [ "${COUNT_ADD[$side]}" != "${COUNT[$side]}" ] || [ "${COUNT_DEL[$side]}" != 0 ]; then
			ok=false FAIL=1
			echo "host-local-scale: $side size $size: ${COUNT_ADD[$side]} leases after" \
				"${COUNT[$side]} ADDs, ${COUNT_DEL[$side]} left after DEL" >&2
		fi
		capped=false
		[ "${COUNT[$side]}" -lt "$size" ] && capped=true
		printf '{"size":%d,"side":"%s","count":%d,"capped":%s,"leases_after_add":%d,"leases_after_del":%d,"ok":%s}\n' \
			"$size" "$side" "${COUNT[$side]}" "$capped" "${COUNT_ADD[$side]}" \
			"${COUNT_DEL[$side]}" "$ok" >>"$RAW/c7.meta.jsonl"
	done
	rm -rf "${WORK:?}"/"$size"-*
done
if [ "$SUMMARY" = 1 ]; then
	python3 - "$RAW" <<'PY'
import json, os, sys
raw = sys.argv[1]
def med(v):
    v = sorted(v)
    return v[len(v) // 2] / 1000 if v else float("nan")
print(f"{'size':>6} {'side':<5} {'count':>6} {'ADD med ms':>11} {'ADD s':>7} {'DEL med ms':>11} {'DEL s':>7}  ADD median first/last 1000")
for line in open(os.path.join(raw, "c7.meta.jsonl")):
    m = json.loads(line)
    us = {op: [json.loads(l)["us"] for l in open(os.path.join(raw, f"c7.{m['size']}.{m['side']}.{op}.jsonl"))]
          for op in ("add", "del")}
    growth = f"{med(us['add'][:1000]):.2f} -> {med(us['add'][-1000:]):.2f}" if len(us["add"]) >= 2000 else ""
    print(f"{m['size']:>6} {m['side']:<5} {m['count']:>6} {med(us['add']):>11.2f} {sum(us['add']) / 1e6:>7.1f} "
          f"{med(us['del']):>11.2f} {sum(us['del']) / 1e6:>7.1f}  {growth}"
          + (" (capped)" if m["capped"] else "") + ("" if m["ok"] else " FAILED"))
PY
fi
exit $FAIL
