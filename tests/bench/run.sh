#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The benchmark suite: the reference (Go libcni + /usr/lib/cni plugins) and ours (libcni-c
# + our plugins) measured side by side in one run. See docs/benchmarks.md.
#
#   tests/bench/run.sh [-b BUILD_DIR] [-n N] [--cases 1,2,...] [--out results.json]
#                      [--smoke] [--batch B] [--startup-runs R] [--hl-sizes 1000,60000]
#                      [--hl-ref-cap 2000] [--ref-dir /usr/lib/cni] [--mixed] [--keep]
#
# Cases: 1 loopback, 2 ptp + host-local, 3 bridge + host-local, 4 the podman bridge chain,
# 5 plugin start-up (VERSION) next to a static exec floor, 6 peak RSS and size on disk,
# 7 host-local at scale, 8 parallel ADD streams, 9 bridge -> portmap -> bandwidth, the
# chain and each plugin, 10 macvlan + host-local, 11 vlan + host-local (both on a veth
# master in each side's host namespace; 11 needs 802.1Q: the user-mode kernel of
# tests/kernel has it). Cases 1-4 and 9 show the kernel's floor beside each operation.
#
# Sides take turns in batches (ABBA), so noise on the machine hits both. Timings are never
# judged; the exit status is 1 only when an operation fails (an ADD, CHECK, DEL, or a
# functional check), 2 on usage errors, 77 when the suite cannot run here (not root).
#
# All network work happens in namespaces created here with unique names: each side gets
# its own "host" namespace in which its runtime runs (ip netns exec), so the host's
# interfaces, routes and firewall are never touched. IPAM stores and caches live in a
# temp dir. Everything is removed on exit, failure and interrupt included.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

BUILD="" N="" CASES="" OUT="" SMOKE=0 BATCH="" RUNS="" HL_SIZES=1000,60000 HL_REF_CAP=2000
REF_DIR=/usr/lib/cni MIXED=0 KEEP=0
usage() {
	sed -n '4,7p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
need() { [ $# -ge 2 ] || usage; }
while [ $# -gt 0 ]; do
	case $1 in
	-b | --build) need "$@"; BUILD=$2; shift 2 ;;
	-n) need "$@"; N=$2; shift 2 ;;
	--cases) need "$@"; CASES=$2; shift 2 ;;
	--out) need "$@"; OUT=$2; shift 2 ;;
	--smoke) SMOKE=1; shift ;;
	--batch) need "$@"; BATCH=$2; shift 2 ;;
	--startup-runs) need "$@"; RUNS=$2; shift 2 ;;
	--hl-sizes) need "$@"; HL_SIZES=$2; shift 2 ;;
	--hl-ref-cap) need "$@"; HL_REF_CAP=$2; shift 2 ;;
	--ref-dir) need "$@"; REF_DIR=$2; shift 2 ;;
	--mixed) MIXED=1; shift ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage ;;
	*) echo "run.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
if [ "$SMOKE" = 1 ]; then
	: "${N:=3}" "${CASES:=1,2,5,6}" "${RUNS:=10}"
fi
: "${N:=100}" "${CASES:=1,2,3,4,5,6,7,8,9}" "${RUNS:=200}"
for v in "$N" "$RUNS" "$HL_REF_CAP" ${BATCH:+"$BATCH"} ${HL_SIZES//,/ }; do
	case $v in '' | *[!0-9]* | 0) echo "run.sh: not a positive count: '$v'" >&2; exit 2 ;; esac
done
for c in ${CASES//,/ }; do
	case $c in [1-9] | 1[01]) ;; *) echo "run.sh: no case '$c' (1..11)" >&2; exit 2 ;; esac
done
# Batches of 10 by default: small enough that both sides see the same conditions, large
# enough that the batch set-up (namespaces, a driver process) stays off the critical path.
: "${BATCH:=$((N < 10 ? N : 10))}"

if [ -z "$BUILD" ]; then
	for d in "$ROOT/build" "$ROOT"/build-*; do
		[ -x "$d/tools/cni-bench/cni-bench" ] && { BUILD=$d; break; }
	done
fi
[ -n "$BUILD" ] || { echo "run.sh: no build dir with tools/cni-bench/cni-bench; give -b" >&2; exit 2; }
BUILD=$(cd "$BUILD" && pwd) || exit 2
OURS_DIR=$BUILD/plugins-bin
OURS_DRV=$BUILD/tools/cni-bench/cni-bench
[ -x "$OURS_DRV" ] || { echo "run.sh: $OURS_DRV not built (make cni-bench)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: the benchmarks need root (network namespaces)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the report"; exit 77; }
command -v gcc >/dev/null || { echo "SKIP: gcc is needed for the exec helpers"; exit 77; }

WORK=$(mktemp -d /tmp/cni-bench.XXXXXX) || exit 1
RAW=$WORK/raw
mkdir -p "$RAW"
. "$(dirname "${BASH_SOURCE[0]}")/../integration/nslib.sh"
cleanup() {
	if [ "$KEEP" = 1 ]; then echo "raw results kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
nsl_trap cleanup

FAIL=0
T0=$(date +%s)
log() { echo "[bench $(($(date +%s) - T0))s] $*" >&2; }
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
note() { # note CASE TEXT
	log "case $1: $2"
	printf '{"case":%s,"note":%s}\n' "$1" "$(jstr "$2")" >>"$WORK/notes.jsonl"
}
error() { # error CASE TEXT: a functional failure
	FAIL=1
	log "case $1: ERROR: $2"
	printf '{"case":%s,"error":%s}\n' "$1" "$(jstr "$2")" >>"$WORK/notes.jsonl"
}

# mkns VAR: a new namespace with a unique name, its name in VAR
mkns() { nsl_new "$1" cnib; }
delns() { nsl_del "$1"; }

# ---- helpers: build them here -----------------------------------------------------------
BIN=$BUILD/tests/bench/bin
mkdir -p "$BIN"
build_c() { # build_c OUT SRC FLAGS...
	local out=$1 src=$2
	shift 2
	[ -x "$out" ] && [ "$out" -nt "$src" ] && return 0
	gcc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE "$@" -o "$out" "$src"
}
build_c "$BIN/bench-exec" "$HERE/bench-exec.c" || { echo "run.sh: cannot build bench-exec" >&2; exit 1; }
EXEC=$BIN/bench-exec
FLOOR=""
if build_c "$BIN/floor" "$HERE/floor.c" -static 2>"$WORK/floor.err"; then
	FLOOR=$BIN/floor
else
	note 5 "no static exec floor: gcc -static failed ($(head -c 200 "$WORK/floor.err"))"
fi
KFLOOR=""
build_c "$BIN/kfloor" "$HERE/kfloor.c" 2>>"$WORK/floor.err" && KFLOOR=$BIN/kfloor
echo '{"cniVersion":"1.0.0"}' >"$WORK/version.json"

REF_PLUGINS=0 REF_DRV=""
if [ -d "$REF_DIR" ] && [ -x "$REF_DIR/loopback" ]; then
	REF_PLUGINS=1
	GOSRC=/usr/share/gocode/src/github.com/containernetworking/cni/libcni
	GODIR=$BUILD/tests/bench/go
	if ! command -v go >/dev/null; then
		note 0 "go not installed: no reference runtime driver, cases 1-4, 6, 8 run ours only"
	elif [ ! -d "$GOSRC" ]; then
		note 0 "Go libcni sources ($GOSRC) missing: cases 1-4, 6, 8 run ours only"
	else
		mkdir -p "$GODIR"
		if [ ! -x "$GODIR/refbench" ] || [ "$HERE/go/refbench.go" -nt "$GODIR/refbench" ]; then
			log "building the reference driver (Go libcni)"
			cp "$HERE/go/refbench.go" "$GODIR/" &&
				(cd "$GODIR" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$GODIR/cache" \
					GOFLAGS= go build -o refbench refbench.go) ||
				{ echo "run.sh: cannot build the reference driver" >&2; exit 1; }
		fi
		REF_DRV=$GODIR/refbench
	fi
else
	note 0 "no reference plugins in $REF_DIR: ours only"
fi

# Sides of the runtime cases: NAME driver plugin-dir
declare -A DRV DIRS
SIDES=()
if [ -n "$REF_DRV" ]; then SIDES+=(ref); DRV[ref]=$REF_DRV; DIRS[ref]=$REF_DIR; fi
SIDES+=(ours)
DRV[ours]=$OURS_DRV DIRS[ours]=$OURS_DIR
if [ "$MIXED" = 1 ] && [ "$REF_PLUGINS" = 1 ]; then
	SIDES+=(mixed)
	DRV[mixed]=$OURS_DRV DIRS[mixed]=$REF_DIR
fi

have() { [ -x "${DIRS[$1]}/$2" ]; }   # have SIDE PLUGIN
have_all() { # have_all PLUGIN...: every side has every one
	local s p
	for s in "${SIDES[@]}"; do for p in "$@"; do have "$s" "$p" || return 1; done; done
}
missing() { # the sides/plugins missing, for notes
	local s p out=""
	for s in "${SIDES[@]}"; do for p in "$@"; do have "$s" "$p" || out+=" $s:$p"; done; done
	echo "${out# }"
}
# order TURN: the sides, reversed on odd turns (ABBA)
order() {
	local i
	if [ $(($1 % 2)) -eq 0 ]; then echo "${SIDES[@]}"; else
		for ((i = ${#SIDES[@]} - 1; i >= 0; i--)); do printf '%s ' "${SIDES[i]}"; done
	fi
}

BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
case $BUILD_TYPE in Release | RelWithDebInfo | MinSizeRel) ;; *)
	note 0 "build type '${BUILD_TYPE:-none}': configure with -DCMAKE_BUILD_TYPE=Release for numbers worth quoting" ;;
esac

# ---- conflists ------------------------------------------------------------------------
ipam() { # ipam DATADIR SUBNET
	printf '{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}]],"routes":[{"dst":"0.0.0.0/0"}]}' "$1" "$2"
}
conflist() { # conflist NAME PLUGIN-JSON...
	local name=$1 sep="" p
	shift
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[' "$name"
	for p in "$@"; do printf '%s%s' "$sep" "$p"; sep=,; done
	printf ']}\n'
}

# run_attach CASE OPS PORTBASE [TAG]: N attachments per side, in batches, sides taking
# turns. The list for side S is $WORK/c$CASE/$S/list.conflist; the host namespace
# ${HOSTNS[$S]}. Timings go to $RAW/TAG.S.jsonl (TAG: cCASE). With WRAP_LOG set the
# plugins run through the timing wrappers in $WORK/c$CASE/S/wrap (see wrap_dir), each
# logging to $WORK/WRAP_LOG.S.jsonl.
declare -A HOSTNS
run_attach() {
	local c=$1 ops=$2 port=$3 tag=${4:-c$1} b=0 start side ns k nslist dir envv
	for ((start = 0; start < N; start += BATCH, b++)); do
		local n=$((N - start < BATCH ? N - start : BATCH))
		for side in $(order $b); do
			nslist=()
			for ((k = 0; k < n; k++)); do
				mkns ns || { error "$c" "cannot create a namespace"; return; }
				nslist+=("/var/run/netns/$ns")
			done
			dir=${DIRS[$side]} envv=()
			if [ -n "${WRAP_LOG:-}" ]; then
				dir=$WORK/c$c/$side/wrap
				envv=(env "BENCH_RSS_REAL_DIR=${DIRS[$side]}" "BENCH_RSS_LOG=$RAW/$WRAP_LOG.$side.jsonl")
			fi
			ip netns exec "${HOSTNS[$side]}" "${envv[@]}" "${DRV[$side]}" \
				-l "$WORK/c$c/$side/list.conflist" -p "$dir" -c "$WORK/c$c/$side/cache-$tag" \
				-i "$tag-$side" -s "$start" -o "$ops" ${port:+-P "$port"} "${nslist[@]}" \
				>>"$RAW/$tag.$side.jsonl" 2>>"$WORK/c$c/$side/stderr" ||
				error "$c" "$side: an operation failed in attachments $start..$((start + n - 1)): $(tail -n 3 "$WORK/c$c/$side/stderr" | tr '\n' ' ')"
			for ns in "${nslist[@]}"; do delns "${ns##*/}"; done
		done
	done
}

# setup_case CASE: dirs and a host namespace per side; LIST_FOR side -> plugin JSONs via
# the function named in $2 (called with the side's data dir).
setup_case() {
	local c=$1 fn=$2 side
	for side in "${SIDES[@]}"; do
		mkdir -p "$WORK/c$c/$side"
		mkns "HOSTNS[$side]" || { error "$c" "cannot create a namespace"; return 1; }
		ip -n "${HOSTNS[$side]}" link set lo up
		"$fn" "$WORK/c$c/$side/ipam" >"$WORK/c$c/$side/list.conflist"
	done
}
teardown_case() {
	local side
	for side in "${SIDES[@]}"; do delns "${HOSTNS[$side]}"; done
}

list1() { conflist bench-lo '{"type":"loopback"}'; }
list2() { conflist bench-ptp "{\"type\":\"ptp\",\"ipam\":$(ipam "$1" 10.201.0.0/16)}"; }
list3() {
	conflist bench-br "{\"type\":\"bridge\",\"bridge\":\"cnibench0\",\"isGateway\":true,\"ipMasq\":true,\"ipam\":$(ipam "$1" 10.202.0.0/16)}"
}
CHAIN4=()
list4() {
	local p parts=("{\"type\":\"bridge\",\"bridge\":\"cni-podman0\",\"isGateway\":true,\"ipMasq\":true,\"hairpinMode\":true,\"ipam\":$(ipam "$1" 10.88.0.0/16)}")
	for p in "${CHAIN4[@]}"; do
		case $p in
		portmap) parts+=('{"type":"portmap","capabilities":{"portMappings":true}}') ;;
		firewall) parts+=('{"type":"firewall","backend":"iptables"}') ;;
		tuning) parts+=('{"type":"tuning"}') ;;
		esac
	done
	conflist podman "${parts[@]}"
}
list8() { conflist bench-par "{\"type\":\"ptp\",\"ipam\":$(ipam "$1" 10.208.0.0/16)}"; }
list8b() { conflist bench-par "{\"type\":\"bridge\",\"bridge\":\"cnibench8\",\"isGateway\":true,\"ipam\":$(ipam "$1" 10.208.0.0/16)}"; }

meta_case() { # meta_case CASE KEY JSONVALUE
	printf '{"case":%s,"%s":%s}\n' "$1" "$2" "$3" >>"$WORK/notes.jsonl"
}

# ---- the floor: what the kernel needs for each operation, measured here ---------------
# The static exec floor (fork + exec + wait of a program that does nothing) and the device
# work of an attachment (kfloor.c: a veth pair with its peer in another namespace, an ifb;
# each created and deleted; and the grace period that removing nf_tables rules costs when
# the socket closes). A case says what an operation is made of ("floor" meta:
# {"ADD":{"exec":3,"veth_add":1},...}) and the report adds up the medians. Adding rules
# and tc changes are not in it: the plugins' work, not a fixed cost of the kernel; a
# grace period that a plugin overlaps with another (bridge: masquerade and veth) counts
# once.
floor_spec() { # floor_spec EXECS ADD-DEVICE-OPS DEL-DEVICE-OPS: JSON for ADD, CHECK, DEL
	local add="\"exec\":$1" del="\"exec\":$1" o
	for o in $2; do add+=",\"$o\":1"; done
	for o in $3; do del+=",\"$o\":1"; done
	printf '{"ADD":{%s},"CHECK":{"exec":%s},"DEL":{%s}}' "$add" "$1" "$del"
}
measure_floor() {
	local fn=$((N < 30 ? N : 30)) a b
	log "floor: exec and device work, $fn rounds"
	if [ -n "$FLOOR" ]; then
		"$EXEC" -n "$fn" -i "$WORK/version.json" -e CNI_COMMAND=VERSION -- "$FLOOR" \
			>"$RAW/floor.exec.jsonl" 2>>"$WORK/floor.err" || note 0 "the exec floor failed"
	fi
	if [ -z "$KFLOOR" ]; then
		note 0 "no device floor: kfloor.c did not build"
		return
	fi
	mkns a && mkns b || { note 0 "no device floor: cannot create namespaces"; return; }
	ip netns exec "$a" "$KFLOOR" -n "$fn" -p "/var/run/netns/$b" >"$RAW/floor.kernel.jsonl" \
		2>>"$WORK/floor.err" || note 0 "device floor incomplete: $(tail -n 1 "$WORK/floor.err")"
	delns "$a"
	delns "$b"
}

case_attach() { # case_attach CASE TITLE OPS LISTFN PORTBASE PLUGINS...
	local c=$1 title=$2 ops=$3 fn=$4 port=$5
	shift 5
	meta_case "$c" title "$(jstr "$title")"
	if ! have_all "$@"; then
		note "$c" "skipped: missing $(missing "$@")"
		return
	fi
	log "case $c: $title, N=$N, ops $ops, sides ${SIDES[*]}"
	setup_case "$c" "$fn" || return
	run_attach "$c" "$ops" "$port"
	teardown_case "$c"
}

want() { case ",$CASES," in *",$1,"*) return 0 ;; esac; return 1; }

if want 1 || want 2 || want 3 || want 4 || want 9; then measure_floor; fi

# ---- 1-3 ------------------------------------------------------------------------------
want 1 && meta_case 1 floor "$(floor_spec 1 "" "")"
want 1 && case_attach 1 "loopback" add,check,del list1 "" loopback
want 2 && meta_case 2 floor "$(floor_spec 1 veth_add veth_del)"
want 2 && case_attach 2 "ptp + host-local" add,check,del list2 "" ptp host-local
want 3 && meta_case 3 floor "$(floor_spec 1 veth_add veth_del)"
want 3 && case_attach 3 "bridge (isGateway, ipMasq) + host-local" add,check,del list3 "" bridge host-local

# ---- 4: the podman chain, as far as the plugins exist ---------------------------------
if want 4; then
	CHAIN4=()
	for p in portmap firewall tuning; do
		if have_all "$p"; then CHAIN4+=("$p"); else note 4 "$p left out of the chain: missing $(missing "$p")"; fi
	done
	port=""
	case " ${CHAIN4[*]} " in *" portmap "*) port=20000 ;; esac
	title="podman chain: bridge + host-local"
	for p in "${CHAIN4[@]}"; do title+=", $p"; done
	del4="veth_del"
	case " ${CHAIN4[*]} " in *" portmap "*) del4+=" nft_del" ;; esac
	meta_case 4 floor "$(floor_spec $((1 + ${#CHAIN4[@]})) veth_add "$del4")"
	case_attach 4 "$title" add,del list4 "$port" bridge host-local
fi

# ---- 9: bridge -> portmap -> bandwidth, the chain and each plugin ----------------------
list9() {
	conflist chain9 "{\"type\":\"bridge\",\"bridge\":\"cni-chain9\",\"isGateway\":true,\"ipMasq\":true,\"hairpinMode\":true,\"ipam\":$(ipam "$1" 10.209.0.0/16)}" \
		'{"type":"portmap","capabilities":{"portMappings":true}}' \
		'{"type":"bandwidth","ingressRate":100000000,"ingressBurst":1000000,"egressRate":100000000,"egressBurst":1000000}'
}
# wrap_dir CASE SIDE PLUGIN...: the timing wrappers for PLUGIN..., every other plugin of
# the side linked as it is (so our bridge still runs host-local in its own process)
wrap_dir() {
	local c=$1 side=$2 d f p
	shift 2
	d=$WORK/c$c/$side/wrap
	mkdir -p "$d"
	for f in "${DIRS[$side]}"/*; do [ -x "$f" ] && ln -sf "$f" "$d/$(basename "$f")"; done
	for p in "$@"; do ln -sf "$EXEC" "$d/$p"; done
}
if want 9; then
	meta_case 9 floor "$(floor_spec 3 "veth_add ifb_add" "veth_del ifb_del nft_del")"
	meta_case 9 plugin_floor "{\"bridge\":$(floor_spec 1 veth_add veth_del),\"portmap\":$(floor_spec 1 "" nft_del),\"bandwidth\":$(floor_spec 1 ifb_add ifb_del)}"
	case_attach 9 "bridge (isGateway, ipMasq, hairpin) + host-local -> portmap -> bandwidth" \
		add,del list9 22000 bridge host-local portmap bandwidth
	if have_all bridge host-local portmap bandwidth && setup_case 9 list9; then
		log "case 9: each plugin through a timing wrapper, N=$N"
		for side in "${SIDES[@]}"; do wrap_dir 9 "$side" bridge portmap bandwidth; done
		WRAP_LOG=c9.plugins run_attach 9 add,del 22000 c9w
		teardown_case 9
	fi
fi

# ---- 10, 11: macvlan and vlan on a veth master in the side's host namespace -----------
list10() { conflist bench-mv "{\"type\":\"macvlan\",\"master\":\"benchm0\",\"ipam\":$(ipam "$1" 10.210.0.0/16)}"; }
list11() { conflist bench-vl "{\"type\":\"vlan\",\"master\":\"benchm0\",\"vlanId\":100,\"ipam\":$(ipam "$1" 10.211.0.0/16)}"; }
case_master() { # case_master CASE TITLE LISTFN PLUGIN KIND-PROBE
	local c=$1 title=$2 fn=$3 p=$4 probe=$5 side ok=1
	meta_case "$c" title "$(jstr "$title")"
	if ! have_all "$p" host-local; then
		note "$c" "skipped: missing $(missing "$p" host-local)"
		return
	fi
	setup_case "$c" "$fn" || return
	for side in "${SIDES[@]}"; do
		ip -n "${HOSTNS[$side]}" link add benchm0 type veth peer name benchm0p &&
			ip -n "${HOSTNS[$side]}" link set benchm0 up &&
			ip -n "${HOSTNS[$side]}" link set benchm0p up || ok=0
	done
	if [ "$ok" = 1 ] && [ -n "$probe" ] && ! ip -n "${HOSTNS[${SIDES[0]}]}" link add benchprobe $probe 2>/dev/null; then
		note "$c" "skipped: this kernel cannot make the link (ip link add ... $probe)"
		ok=0
	fi
	if [ "$ok" = 1 ]; then
		ip -n "${HOSTNS[${SIDES[0]}]}" link del benchprobe 2>/dev/null
		log "case $c: $title, N=$N, sides ${SIDES[*]}"
		# ADD and DEL: the reference's CHECK fails its own result when an IPAM route has
		# no gateway (docs/plugins/macvlan.md). One VLAN id exists once on a master, so
		# vlan attachments go one at a time (ADD, then DEL).
		if [ "$p" = vlan ]; then BATCH=1 run_attach "$c" add,del ""; else run_attach "$c" add,del ""; fi
	fi
	teardown_case "$c"
}
want 10 && meta_case 10 floor "$(floor_spec 1 "" "")"
want 10 && case_master 10 "macvlan + host-local" list10 macvlan "link benchm0 type macvlan"
want 11 && meta_case 11 floor "$(floor_spec 1 "" "")"
want 11 && case_master 11 "vlan + host-local" list11 vlan "link benchm0 type vlan id 5"

# ---- 5: start-up --------------------------------------------------------------------
# The suite's plugin set, plus any other plugin of ours (not the sample) and its reference.
PLUGINS="loopback static host-local ptp bridge portmap firewall tuning bandwidth sbr"
for f in "$OURS_DIR"/*; do
	p=$(basename "$f")
	[ -x "$f" ] && [ "$p" != sample ] && [ "$p" != cni-plugins ] && case " $PLUGINS " in *" $p "*) ;; *) PLUGINS+=" $p" ;; esac
done
if want 5; then
	meta_case 5 title '"plugin start-up: CNI_COMMAND=VERSION"'
	log "case 5: VERSION x $RUNS per plugin"
	step=$((RUNS < 20 ? RUNS : 20))
	for p in $PLUGINS; do
		sides5=()
		[ "$REF_PLUGINS" = 1 ] && [ -x "$REF_DIR/$p" ] && sides5+=("ref:$REF_DIR/$p")
		[ -x "$OURS_DIR/$p" ] && sides5+=("ours:$OURS_DIR/$p")
		[ -n "$FLOOR" ] && sides5+=("floor:$FLOOR")
		[ -x "$OURS_DIR/$p" ] || note 5 "$p: ours missing"
		t=0
		for ((start = 0; start < RUNS; start += step, t++)); do
			n=$((RUNS - start < step ? RUNS - start : step))
			if [ $((t % 2)) -eq 0 ]; then seq5=("${sides5[@]}"); else
				seq5=(); for ((i = ${#sides5[@]} - 1; i >= 0; i--)); do seq5+=("${sides5[i]}"); done
			fi
			for s in "${seq5[@]}"; do
				side=${s%%:*} prog=${s#*:}
				out=$RAW/c5.$p.$side.jsonl
				[ "$side" = floor ] && out=$RAW/c5.floor.jsonl
				"$EXEC" -n "$n" -s "$start" -i "$WORK/version.json" -e CNI_COMMAND=VERSION \
					-- "$prog" >>"$out" 2>>"$WORK/c5.stderr" ||
					error 5 "$side $p VERSION failed: $(tail -n 1 "$WORK/c5.stderr")"
			done
		done
	done
fi

# ---- 6: peak RSS during a real ADD, size on disk ---------------------------------------
if want 6; then
	meta_case 6 title '"peak RSS during ADD, size on disk"'
	log "case 6: peak RSS (ADD through wrappers) and sizes"
	sides6=(ours)
	[ -n "$REF_DRV" ] && sides6=(ref ours)
	for side in "${sides6[@]}"; do
		real=${DIRS[$side]} drv=${DRV[$side]}
		d=$WORK/c6/$side
		mkdir -p "$d/wrap"
		for f in "$real"/*; do [ -x "$f" ] && ln -sf "$EXEC" "$d/wrap/$(basename "$f")"; done
		lists=()
		h() { [ -x "$real/$1" ]; }
		h loopback && lists+=("$(conflist rss-lo '{"type":"loopback"}')")
		h host-local && lists+=("$(conflist rss-hl "{\"type\":\"host-local\",\"ipam\":$(ipam "$d/ipam-hl" 10.206.0.0/24)}")")
		h static && lists+=("$(conflist rss-st '{"type":"static","ipam":{"type":"static","addresses":[{"address":"10.206.1.2/24"}]}}')")
		main=""
		h bridge && h host-local && main="{\"type\":\"bridge\",\"bridge\":\"cnirss0\",\"isGateway\":true,\"ipMasq\":true,\"ipam\":$(ipam "$d/ipam-br" 10.206.2.0/24)}"
		[ -z "$main" ] && h ptp && h host-local && main="{\"type\":\"ptp\",\"ipam\":$(ipam "$d/ipam-pc" 10.206.2.0/24)}"
		if [ -n "$main" ]; then
			chain=("$main")
			h portmap && chain+=('{"type":"portmap","capabilities":{"portMappings":true}}')
			h firewall && chain+=('{"type":"firewall","backend":"iptables"}')
			h tuning && chain+=('{"type":"tuning","sysctl":{"net.ipv4.conf.eth0.arp_notify":"1"}}')
			h bandwidth && chain+=('{"type":"bandwidth","ingressRate":100000000,"ingressBurst":1000000,"egressRate":100000000,"egressBurst":1000000}')
			lists+=("$(conflist rss-chain "${chain[@]}")")
		fi
		h ptp && h host-local && lists+=("$(conflist rss-ptp "{\"type\":\"ptp\",\"ipam\":$(ipam "$d/ipam-ptp" 10.206.3.0/24)}")")
		h ptp && h host-local && h sbr &&
			lists+=("$(conflist rss-sbr "{\"type\":\"ptp\",\"ipam\":$(ipam "$d/ipam-sbr" 10.206.4.0/24)}" '{"type":"sbr"}')")
		mkns host || { error 6 "cannot create a namespace"; continue; }
		ip -n "$host" link set lo up
		i=0
		for l in "${lists[@]}"; do
			echo "$l" >"$d/list$i.conflist"
			nslist=()
			for ((k = 0; k < 3; k++)); do mkns ns && nslist+=("/var/run/netns/$ns"); done
			# bandwidth wants distinct host ports; -P only when the list has portmap
			pflag=()
			case $l in *portmap*) pflag=(-P 21000) ;; esac
			BENCH_RSS_REAL_DIR=$real BENCH_RSS_LOG=$RAW/c6.rss.$side.jsonl \
				ip netns exec "$host" "$drv" -l "$d/list$i.conflist" -p "$d/wrap" -c "$d/cache" \
				-i "c6-$side-$i" -o add,del "${pflag[@]}" "${nslist[@]}" >/dev/null 2>>"$d/stderr" ||
				error 6 "$side: ADD/DEL of $(echo "$l" | sed 's/.*"name":"\([^"]*\)".*/\1/') failed: $(tail -n 2 "$d/stderr" | tr '\n' ' ')"
			for ns in "${nslist[@]}"; do delns "${ns##*/}"; done
			i=$((i + 1))
		done
		delns "$host"
	done
	# sizes: the plugin set of this suite as installed, plus our library when the plugins
	# need it and the shared libraries they load (not libc)
	ours_files=() ref_files=() ref_all=() ours_names=()
	# ours: every plugin we install (the sample is an example, not part of the set; in the
	# multi-call build the plugins are links to cni-plugins, counted once by the report);
	# reference: the same plugins, and separately the whole package
	for f in "$OURS_DIR"/*; do
		p=$(basename "$f")
		[ -x "$f" ] && [ "$p" != sample ] && [ "$p" != cni-plugins ] || continue
		ours_files+=("$f") ours_names+=("$p")
		[ -x "$REF_DIR/$p" ] && ref_files+=("$REF_DIR/$p")
	done
	lib=""
	if [ ${#ours_files[@]} -gt 0 ] &&
		readelf -d "${ours_files[@]}" 2>/dev/null | grep -q 'NEEDED.*libcni-c'; then
		lib=$(readlink -f "$BUILD/libcni/libcni-c.so" 2>/dev/null)
		[ -f "$lib" ] || lib=$(find "$BUILD" -name 'libcni-c.so.*' -type f | head -n 1)
	fi
	[ ${#ref_files[@]} = ${#ours_files[@]} ] ||
		note 6 "the reference's 'same plugin set' lacks some of ours; compare per plugin"
	for f in "$REF_DIR"/*; do [ -f "$f" ] && ref_all+=("$f"); done
	deps=()
	while read -r dep; do deps+=("$dep"); done < <(for f in ${lib:+"$lib"} "${ours_files[@]}"; do
		ldd "$f"; done | awk '$3 ~ /^\// && $1 !~ /^(libc|libm|libpthread|libdl|librt|ld-linux|libcni-c)/ {print $3}' |
		sort -u)
	py_list() { local s="" f; for f in "$@"; do s+="$(jstr "$(readlink -f "$f")"),"; done; echo "[${s%,}]"; }
	names=""; for p in "${ours_names[@]}"; do names+="$(jstr "$p"),"; done
	printf '{"case":6,"sizes":{"ours":%s,"ours_lib":%s,"ours_deps":%s,"ref":%s,"ref_all":%s},"ours_names":[%s]}\n' \
		"$(py_list "${ours_files[@]}")" "$(py_list ${lib:+"$lib"})" "$(py_list "${deps[@]}")" \
		"$(py_list "${ref_files[@]}")" "$(py_list "${ref_all[@]}")" "${names%,}" >>"$WORK/notes.jsonl"
fi

# ---- 7: host-local at scale ------------------------------------------------------------
if want 7; then
	meta_case 7 title '"host-local at scale (plugin only)"'
	hl_args=()
	[ -x "$OURS_DIR/host-local" ] && hl_args+=(--ours "$OURS_DIR/host-local")
	[ "$REF_PLUGINS" = 1 ] && [ -x "$REF_DIR/host-local" ] && hl_args+=(--ref "$REF_DIR/host-local")
	[ -x "$OURS_DIR/host-local" ] || note 7 "ours: host-local missing"
	if [ ${#hl_args[@]} -gt 0 ]; then
		log "case 7: host-local ${HL_SIZES//,/, } allocations (reference capped at $HL_REF_CAP)"
		for s in ${HL_SIZES//,/ }; do
			if [ "$s" -gt "$HL_REF_CAP" ]; then
				note 7 "the reference is capped at $HL_REF_CAP allocations per run; nothing is extrapolated"
				break
			fi
		done
		"$HERE/host-local-scale.sh" --runner "$EXEC" --raw "$RAW" "${hl_args[@]}" \
			--sizes "$HL_SIZES" --ref-cap "$HL_REF_CAP" 2>>"$WORK/c7.stderr" ||
			error 7 "host-local scale failed: $(tail -n 2 "$WORK/c7.stderr" | tr '\n' ' ')"
	fi
fi

# ---- 8: parallel ADD streams -----------------------------------------------------------
if want 8; then
	fn=""
	if have_all ptp host-local; then fn=list8 title="ptp + host-local"
	elif have_all bridge host-local; then fn=list8b title="bridge + host-local"
	fi
	meta_case 8 title "$(jstr "parallel ADD streams${fn:+: $title}")"
	if [ -z "$fn" ]; then
		note 8 "skipped: needs ptp or bridge with host-local on every side (missing $(missing ptp bridge host-local))"
	else
		log "case 8: $title, $N ADDs then DELs with 1, 2, 8 streams"
		setup_case 8 "$fn" && {
			t=0
			for j in 1 2 8; do
				for side in $(order $t); do
					nslist=()
					for ((k = 0; k < N; k++)); do mkns ns && nslist+=("/var/run/netns/$ns"); done
					ip netns exec "${HOSTNS[$side]}" "${DRV[$side]}" -l "$WORK/c8/$side/list.conflist" \
						-p "${DIRS[$side]}" -c "$WORK/c8/$side/cache" -i "c8-$side-j$j" -j "$j" \
						-o add,del "${nslist[@]}" >"$RAW/c8.j$j.$side.jsonl" 2>>"$WORK/c8/$side/stderr" ||
						error 8 "$side, $j streams: an operation failed: $(tail -n 2 "$WORK/c8/$side/stderr" | tr '\n' ' ')"
					for ns in "${nslist[@]}"; do delns "${ns##*/}"; done
				done
				t=$((t + 1))
			done
			teardown_case 8
		}
	fi
fi

# ---- report ----------------------------------------------------------------------------
ELAPSED=$(($(date +%s) - T0))
python3 "$HERE/report.py" --raw "$RAW" --notes "$WORK/notes.jsonl" ${OUT:+--out "$OUT"} \
	--n "$N" --batch "$BATCH" --runs "$RUNS" --cases "$CASES" --build "$BUILD" \
	--build-type "${BUILD_TYPE:-none}" --ref-dir "$REF_DIR" --sides "${SIDES[*]}" \
	--elapsed "$ELAPSED" || FAIL=1
exit $FAIL
