#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Interop of the runtime API with the reference:
#  A. the result cache both ways: Go's libcni (Debian 1.1.x) ADDs and we read / CHECK /
#     DEL from its cache, and the other way round; the stdin each plugin gets and the cache
#     bytes are compared byte for byte (Debian's libcni predates the "netns" cache field,
#     which ours writes as the newest reference does).
#  B. the reference plugins (/usr/lib/cni loopback + host-local) through our API: ADD,
#     CHECK, DEL in a namespace this script creates, host-local state under a temp dir,
#     results parsed by us and read back by Go.
# usage: api_interop.sh API_DRIVER TEST_PLUGIN_DIR GO_BUILD_DIR [--valgrind]
set -u

DRIVER=$1 TPDIR=$2 GODIR=$3 VG=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
GOSRC=/usr/share/gocode/src/github.com/containernetworking/cni/libcni

skip() { echo "SKIP: $*"; exit 77; }
command -v go >/dev/null || skip "go not installed"
[ -d "$GOSRC" ] || skip "Go libcni sources ($GOSRC) not installed"
command -v python3 >/dev/null || skip "python3 not installed"
[ -x "$TPDIR/cni-test-plugin" ] || { echo "FAIL: $TPDIR/cni-test-plugin missing"; exit 1; }

TMP=$(mktemp -d /tmp/cni-api-interop.XXXXXX)
. "$HERE/../../integration/nslib.sh"
nsl_trap 'rm -rf "$TMP"'

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# The Go driver, built once per build dir (GOCACHE there too).
mkdir -p "$GODIR"
if [ ! -x "$GODIR/go-driver" ] || [ "$HERE/go_driver.go" -nt "$GODIR/go-driver" ]; then
	cp "$HERE/go_driver.go" "$GODIR/" &&
		(cd "$GODIR" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$GODIR/cache" \
			GOFLAGS= go build -o go-driver go_driver.go) ||
		{ echo "FAIL: cannot build the Go driver"; exit 1; }
fi
GOD=$GODIR/go-driver
if [ "$VG" = "--valgrind" ]; then
	command -v valgrind >/dev/null || skip "valgrind not installed"
	OURS=(valgrind -q --leak-check=full --error-exitcode=99 "$DRIVER")
else
	OURS=("$DRIVER")
fi

# py CHECK ARGS...: JSON/record comparisons.
py() {
	python3 - "$@" <<'PY'
import json, re, sys
what, args = sys.argv[1], sys.argv[2:]

def load(p):
    with open(p, "rb") as f:
        return f.read()

if what == "json-eq":
    a, b = (json.loads(load(p)) for p in args)
    if a != b:
        sys.exit("differ:\n  %s\n  %s" % (json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True)))
elif what == "stdin-eq":
    # The raw stdin each plugin got, call by call, byte for byte.
    a, b = ([json.loads(l) for l in load(p).splitlines()] for p in args)
    if len(a) != len(b):
        sys.exit("%d calls vs %d" % (len(a), len(b)))
    for x, y in zip(a, b):
        if (x["command"], x["stdin"]) != (y["command"], y["stdin"]):
            sys.exit("stdin differs:\n  %s\n  %s" % (x["stdin"], y["stdin"]))
elif what == "cache-eq":
    go, ours = load(args[0]), load(args[1])
    ours = re.sub(rb',"netns":"[^"]*"', b"", ours)
    if go != ours:
        sys.exit("cache differs:\n  go:   %s\n  ours: %s" % (go.decode(), ours.decode()))
elif what == "has-prev":
    # Every call of the record file has (or has not) a prevResult equal to the file given.
    calls = [json.loads(l) for l in load(args[0]).splitlines()]
    want = json.loads(load(args[1])) if args[1] != "-" else None
    if not calls:
        sys.exit("no calls recorded")
    for c in calls:
        prev = (c["config"] or {}).get("prevResult")
        if want is None and prev is not None:
            sys.exit("unexpected prevResult in %s" % c["command"])
        if want is not None and prev != want:
            sys.exit("prevResult %s != %s" % (prev, want))
elif what == "commands":
    calls = [json.loads(l)["command"] for l in load(args[0]).splitlines()]
    if calls != args[1].split(","):
        sys.exit("commands %s, want %s" % (calls, args[1]))
elif what == "addr-in":
    r = json.loads(load(args[0]))
    addrs = [i["address"] for i in r.get("ips", [])]
    if not addrs or not all(a.startswith(args[1]) for a in addrs):
        sys.exit("addresses %s not in %s" % (addrs, args[1]))
PY
}

# ---- A: the cache, both ways, with the test plugin -------------------------------------
cat >"$TMP/tp.conflist" <<JSON
{"cniVersion":"1.0.0","name":"interop","plugins":[
 {"type":"cni-test-plugin","testBehavior":"result","marker":"a&<b>",
  "testResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"0a:58:0a:01:00:02","sandbox":"/var/run/netns/x"}],
   "ips":[{"address":"10.1.0.2/24","gateway":"10.1.0.1","interface":0}],
   "routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.1.0.1"]}},
  "capabilities":{"portMappings":true,"mac":false},"zeta":{"b":1,"a":0.5,"c":1e-7,"d":100.0}},
 {"type":"cni-test-plugin","testBehavior":"result","ipMasq":true}]}
JSON
COMMON=(-p "$TPDIR" -i c1 -f eth0 -n /var/run/netns/x -a IgnoreUnknown=1 -a K8S_POD_NAME=p1
	-C '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"mac":"0a:58:0a:01:00:09"}')
LIST=$TMP/tp.conflist
GC=$TMP/cache-go CC=$TMP/cache-ours
CFILE=results/interop-c1-eth0

CNI_TEST_RECORD=$TMP/add-go "$GOD" add "$LIST" -c "$GC" "${COMMON[@]}" >"$TMP/add-go.json" ||
	fail "go add: $(cat "$TMP/add-go.json")"
CNI_TEST_RECORD=$TMP/add-ours "${OURS[@]}" add "$LIST" -c "$CC" "${COMMON[@]}" >"$TMP/add-ours.json" ||
	fail "our add: $(cat "$TMP/add-ours.json")"
py json-eq "$TMP/add-go.json" "$TMP/add-ours.json" && ok "ADD results equal" || fail "ADD results"
py stdin-eq "$TMP/add-go" "$TMP/add-ours" && ok "ADD stdin byte-identical" || fail "ADD stdin"
py cache-eq "$GC/$CFILE" "$CC/$CFILE" && ok "cache files byte-identical (netns aside)" ||
	fail "cache files"
[ "$(stat -c %a "$CC/$CFILE")" = 600 ] && [ "$(stat -c %a "$CC/results")" = 700 ] &&
	ok "cache modes" || fail "cache modes"

# Each reads the other's cache.
for dir in "$GC" "$CC"; do
	for verb in cached-result cached-config; do
		"$GOD" "$verb" "$LIST" -c "$dir" "${COMMON[@]}" >"$TMP/g.json" || fail "go $verb $dir"
		"${OURS[@]}" "$verb" "$LIST" -c "$dir" "${COMMON[@]}" >"$TMP/o.json" || fail "our $verb $dir"
		py json-eq "$TMP/g.json" "$TMP/o.json" && ok "$verb of $(basename "$dir") equal" ||
			fail "$verb of $dir"
	done
done
"$GOD" cached-result "$LIST" -c "$GC" "${COMMON[@]}" >"$TMP/cached.json"

# CHECK and DEL, crosswise: ours on Go's cache, Go's on ours; same stdin either way.
CNI_TEST_RECORD=$TMP/chk-ours "${OURS[@]}" check "$LIST" -c "$GC" "${COMMON[@]}" >"$TMP/o.out" ||
	fail "our check on go cache: $(cat "$TMP/o.out")"
CNI_TEST_RECORD=$TMP/chk-go "$GOD" check "$LIST" -c "$CC" "${COMMON[@]}" >"$TMP/g.out" ||
	fail "go check on our cache: $(cat "$TMP/g.out")"
py stdin-eq "$TMP/chk-go" "$TMP/chk-ours" && ok "CHECK stdin byte-identical" || fail "CHECK stdin"
py has-prev "$TMP/chk-ours" "$TMP/cached.json" && ok "CHECK got Go's cached result" ||
	fail "CHECK prevResult"
CNI_TEST_RECORD=$TMP/del-ours "${OURS[@]}" del "$LIST" -c "$GC" "${COMMON[@]}" >"$TMP/o.out" ||
	fail "our del on go cache: $(cat "$TMP/o.out")"
CNI_TEST_RECORD=$TMP/del-go "$GOD" del "$LIST" -c "$CC" "${COMMON[@]}" >"$TMP/g.out" ||
	fail "go del on our cache: $(cat "$TMP/g.out")"
py stdin-eq "$TMP/del-go" "$TMP/del-ours" && ok "DEL stdin byte-identical" || fail "DEL stdin"
py commands "$TMP/del-ours" DEL,DEL && py has-prev "$TMP/del-ours" "$TMP/cached.json" &&
	ok "DEL got Go's cached result" || fail "DEL prevResult"
[ ! -e "$GC/$CFILE" ] && [ ! -e "$CC/$CFILE" ] && ok "caches removed by DEL" ||
	fail "cache left after DEL"
# Nothing cached any more: both say so.
"${OURS[@]}" cached-result "$LIST" -c "$GC" "${COMMON[@]}" >"$TMP/o.json" &&
	[ "$(cat "$TMP/o.json")" = null ] && ok "no cached result after DEL" || fail "cached after DEL"

# ---- B: the reference plugins through our API ------------------------------------------
if [ ! -x /usr/lib/cni/loopback ] || [ ! -x /usr/lib/cni/host-local ]; then
	echo "SKIP part B: reference plugins not installed"
elif [ "$(id -u)" != 0 ]; then
	echo "SKIP part B: needs root for a network namespace"
else
	if ! nsl_new NS cni-api-interop; then
		fail "cannot create netns"
	else
		NSP=/var/run/netns/$NS
		cat >"$TMP/ref.conflist" <<JSON
{"cniVersion":"1.0.0","name":"refnet","plugins":[
 {"type":"loopback"},
 {"type":"host-local","ipam":{"type":"host-local","dataDir":"$TMP/ipam",
  "ranges":[[{"subnet":"10.231.7.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}}]}
JSON
		RL=$TMP/ref.conflist RC=$TMP/cache-ref
		R1=(-p /usr/lib/cni -c "$RC" -i r1 -f eth0 -n "$NSP" -a IgnoreUnknown=1)
		R2=(-p /usr/lib/cni -c "$RC" -i r2 -f eth0 -n "$NSP")

		"${OURS[@]}" validate "$RL" -p /usr/lib/cni >"$TMP/o.out" && ok "validate reference list" ||
			fail "validate: $(cat "$TMP/o.out")"
		"${OURS[@]}" add "$RL" "${R1[@]}" >"$TMP/r1.json" && ok "ADD via reference plugins" ||
			fail "ADD: $(cat "$TMP/r1.json")"
		py addr-in "$TMP/r1.json" 10.231.7. && ok "host-local address in range" || fail "address"
		grep -q '^r1' "$TMP"/ipam/refnet/10.231.7.* 2>/dev/null && ok "host-local lease on disk" ||
			fail "no lease"
		ip -n "$NS" link show lo | grep -q 'UP' && ok "loopback up" || fail "lo not up"
		"${OURS[@]}" check "$RL" "${R1[@]}" >"$TMP/o.out" && ok "CHECK via reference plugins" ||
			fail "CHECK: $(cat "$TMP/o.out")"
		"$GOD" cached-result "$RL" "${R1[@]}" >"$TMP/g.json" &&
			"${OURS[@]}" cached-result "$RL" "${R1[@]}" >"$TMP/o.json" &&
			py json-eq "$TMP/g.json" "$TMP/o.json" && py json-eq "$TMP/r1.json" "$TMP/o.json" &&
			ok "Go reads our cached reference result" || fail "cached reference result"
		"$GOD" check "$RL" "${R1[@]}" >"$TMP/g.out" && ok "Go CHECKs from our cache" ||
			fail "Go CHECK: $(cat "$TMP/g.out")"

		# Go adds r2; we CHECK and DEL it from Go's cache.
		"$GOD" add "$RL" "${R2[@]}" >"$TMP/r2.json" || fail "Go ADD: $(cat "$TMP/r2.json")"
		"${OURS[@]}" check "$RL" "${R2[@]}" >"$TMP/o.out" && ok "we CHECK Go's attachment" ||
			fail "CHECK r2: $(cat "$TMP/o.out")"
		"${OURS[@]}" del "$RL" "${R2[@]}" >"$TMP/o.out" && ok "we DEL Go's attachment" ||
			fail "DEL r2: $(cat "$TMP/o.out")"
		"${OURS[@]}" del "$RL" "${R1[@]}" >"$TMP/o.out" && ok "DEL via reference plugins" ||
			fail "DEL: $(cat "$TMP/o.out")"
		! grep -qs '^r[12]' "$TMP"/ipam/refnet/10.231.7.* && ok "leases released" ||
			fail "leases left"
		[ -z "$(ls -A "$RC/results" 2>/dev/null)" ] && ok "cache empty" || fail "cache left"
		ip -n "$NS" link show lo | grep -q 'state DOWN\|<LOOPBACK>' && ok "loopback down" ||
			fail "lo still up"
		# DEL again: idempotent, no cache.
		"${OURS[@]}" del "$RL" "${R1[@]}" >"$TMP/o.out" && ok "second DEL" ||
			fail "DEL again: $(cat "$TMP/o.out")"
	fi
fi

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS failure(s)"
	exit 1
fi
echo "all passed"
