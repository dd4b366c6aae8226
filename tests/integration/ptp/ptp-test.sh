#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ptp against the real kernel. The "host" is always a test namespace too: every plugin
# runs under `ip netns exec <hostns>`, so the machine's own interfaces, routes and
# firewall are never touched.
#
#  1. scenario: cnitool add/check/del with ptp + host-local (ours and the reference's),
#     ipMasq, 172.16.29.0/24: addresses, ping, CHECK, then nothing left after DEL.
#  2. beyond the reference: DEL after the namespace is gone, GC, STATUS, the nftables
#     backend, failure cleanup.
#  3. differential: the same configs through /usr/lib/cni/ptp and ours in fresh namespace
#     pairs; result JSON, addresses, routes, sysctls and nat tables compared after
#     normalising names, MACs and the documented differences (docs/plugins/ptp.md).
#
# Usage: ptp-test.sh <our-plugins-dir> [cnitool]
# Exit 77 (skip) without root, namespaces or the reference plugins.
set -uo pipefail

OURBIN=$(readlink -f "$1")
CNITOOL=${2:-}
REFBIN=${CNI_REFERENCE_BIN:-/usr/lib/cni}

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in ip iptables-save ip6tables-save nft python3; do
	command -v $t >/dev/null || skip "needs $t"
done
[ -x "$OURBIN/ptp" ] || { echo "FAIL: our ptp not built in $OURBIN" >&2; exit 1; }

. "$(dirname "$0")/../nslib.sh"
TMP=$(mktemp -d /tmp/cni-it-ptp.XXXXXX)
keep_or_remove_tmp() {
	if [ -n "${CNI_TEST_KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
nsl_trap keep_or_remove_tmp

# newns VAR: create a uniquely named namespace, name in VAR
newns() {
	nsl_new_or_skip "$1" cni-it-ptp
}
delns() {
	nsl_del "$1"
}

FAILS=0 PASSES=0
pass() {
	PASSES=$((PASSES + 1))
	echo "ok   - $*"
}
fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL - $*" >&2
}
expect() { # expect <description> <command...>: command must succeed
	local d=$1
	shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}
expect_not() {
	local d=$1
	shift
	if "$@"; then fail "$d"; else pass "$d"; fi
}
inns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# plugin <hostns> <bindir> <verb> <contns-path> <ifname> <cid> <conf-file> [out]
# runs <bindir>/ptp inside the host namespace with the CNI environment
plugin() {
	local hns=$1 bin=$2 verb=$3 netns=$4 ifname=$5 cid=$6 conf=$7 out=${8:-/dev/null}
	# PLUGIN_WRAP: a command to run it under (strace), PLUGIN_RUNNER one that runs the
	# plugin itself (valgrind); PLUGIN_ENV: more variables
	inns "$hns" ${PLUGIN_WRAP:-} env -i PATH="$PATH" ${PLUGIN_ENV:-} CNI_COMMAND="$verb" \
		CNI_CONTAINERID="$cid" CNI_NETNS="$netns" CNI_IFNAME="$ifname" CNI_PATH="$bin" \
		${PLUGIN_RUNNER:-} "$bin/ptp" <"$conf" >"$out"
}

# bindir <name> <ptp> <host-local>: a plugin directory with those two plugins
bindir() {
	local d=$TMP/bin-$1
	mkdir -p "$d"
	ln -sf "$2" "$d/ptp"
	ln -sf "$3" "$d/host-local"
	echo "$d"
}

nat_rules() { # nat_rules <ns>: our-or-reference masquerade rules in both families
	{
		inns "$1" iptables-save -t nat
		inns "$1" ip6tables-save -t nat
	} | grep -E '^(-A|:CNI-)' | grep -c 'CNI-'
}
nft_masq_rules() {
	inns "$1" nft list table inet cni_plugins_masquerade 2>/dev/null | grep -c 'masquerade comment'
}
reservations() { # reservation files (named after the address) in a host-local store
	find "$1" -maxdepth 2 -type f -regextype posix-extended -regex '.*/[0-9a-f.:]+' 2>/dev/null | wc -l
}

with_prev() { # with_prev <conf> <result> <out>: the config with the result as prevResult
	python3 - "$@" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c["prevResult"] = json.load(open(sys.argv[2]))
	json.dump(c, open(sys.argv[3], "w"))
	PY
}

# ------------------------------------------------------------------------------------
# 1. the scenario, with cnitool (if built) and both IPAMs

scenario() { # scenario <ipam-name> <host-local binary>
	local name=$1 hl=$2 H C bin net cache data out
	newns H
	newns C
	bin=$(bindir "scn-$name" "$OURBIN/ptp" "$hl")
	net=$TMP/net-$name
	cache=$TMP/cache-$name
	data=$TMP/ipam-$name
	mkdir -p "$net"
	cat >"$net/10-ptp.conflist" <<-EOF
	{"cniVersion":"1.0.0","name":"ptptest-$name","plugins":[{"type":"ptp","ipMasq":true,
	 "ipam":{"type":"host-local","dataDir":"$data","ranges":[[{"subnet":"172.16.29.0/24"}]],
	 "routes":[{"dst":"0.0.0.0/0"}]}}]}
	EOF
	out=$TMP/scn-$name.json
	run() { # run <verb>: cnitool or the plugin directly with the list's one plugin
		if [ -n "$CNITOOL" ]; then
			inns "$H" env NETCONFPATH="$net" CNI_PATH="$bin" CNI_CACHE_DIR="$cache" \
				CNI_CONTAINERID=scn-$name "$CNITOOL" "$1" "ptptest-$name" "/run/netns/$C"
		else
			python3 - "$net/10-ptp.conflist" "$TMP/scn-$name.conf" "$out" "$1" <<-'PY'
			import json, sys
			l = json.load(open(sys.argv[1]))
			c = dict(l["plugins"][0], cniVersion=l["cniVersion"], name=l["name"])
			if sys.argv[4] == "check":
			    c["prevResult"] = json.load(open(sys.argv[3]))
			json.dump(c, open(sys.argv[2], "w"))
			PY
			plugin "$H" "$bin" "$(echo "$1" | tr a-z A-Z)" "/run/netns/$C" eth0 \
				"scn-$name" "$TMP/scn-$name.conf"
		fi
	}
	if [ -n "$CNITOOL" ]; then
		run add >"$out"
	else
		python3 - "$net/10-ptp.conflist" "$TMP/scn-$name.conf" <<-'PY'
		import json, sys
		l = json.load(open(sys.argv[1]))
		json.dump(dict(l["plugins"][0], cniVersion=l["cniVersion"], name=l["name"]), open(sys.argv[2], "w"))
		PY
		plugin "$H" "$bin" ADD "/run/netns/$C" eth0 "scn-$name" "$TMP/scn-$name.conf" "$out"
	fi
	expect "[$name] add succeeds" [ $? -eq 0 ]
	expect "[$name] eth0 has 172.16.29.2/24" \
		sh -c "ip netns exec $C ip -4 -o addr show dev eth0 | grep -q 'inet 172.16.29.2/24'"
	local veth
	veth=$(python3 -c "import json,sys; print(json.load(open('$out'))['interfaces'][0]['name'])" 2>/dev/null)
	expect "[$name] host veth $veth has 172.16.29.1/32" \
		sh -c "ip netns exec $H ip -4 -o addr show dev '$veth' | grep -q 'inet 172.16.29.1/32'"
	expect "[$name] host route to the container" \
		sh -c "ip netns exec $H ip route show 172.16.29.2 | grep -q 'dev $veth scope host'"
	expect "[$name] ping from the container to the host side" \
		inns "$C" ping -c 1 -W 2 172.16.29.1 >/dev/null
	expect "[$name] masquerade rules present" [ "$(nat_rules "$H")" -eq 4 ]
	expect "[$name] check passes" run check >/dev/null
	expect "[$name] one reservation" [ "$(reservations "$data")" -eq 1 ]
	expect "[$name] del succeeds" run del >/dev/null
	expect "[$name] del leaves no veth" sh -c "! ip netns exec $H ip -o link | grep -q veth"
	expect "[$name] del leaves no route" sh -c "[ -z \"\$(ip netns exec $H ip route)\" ]"
	expect "[$name] del leaves no rule" [ "$(nat_rules "$H")" -eq 0 ]
	expect "[$name] del leaves no reservation" [ "$(reservations "$data")" -eq 0 ]
	expect "[$name] second del succeeds" run del >/dev/null
	delns "$H"
	delns "$C"
}

scenario ours "$OURBIN/host-local"
scenario reference "$REFBIN/host-local"

# ------------------------------------------------------------------------------------
# 2. beyond the reference

conf() { # conf <file> <name> <cniVersion> <extra ptp keys> <ranges> [routes]
	cat >"$1" <<-EOF
	{"cniVersion":"$3","name":"$2","type":"ptp"$4,
	 "ipam":{"type":"host-local","dataDir":"$TMP/ipam-$2","ranges":$5,
	 "routes":${6:-[]}}}
	EOF
}

beyond() {
	local H C bin out
	newns H
	newns C
	bin=$(bindir beyond "$OURBIN/ptp" "$OURBIN/host-local")

	# DEL after the namespace is gone still releases IPAM and the masquerade rules
	conf "$TMP/gone.json" gone 1.0.0 ',"ipMasq":true' '[[{"subnet":"172.16.40.0/24"}],[{"subnet":"fd00:40::/64"}]]'
	plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-gone "$TMP/gone.json"
	expect "netns gone: add" [ $? -eq 0 ]
	expect "netns gone: 8 rules" [ "$(nat_rules "$H")" -eq 8 ]
	delns "$C"
	expect "netns gone: del succeeds" plugin "$H" "$bin" DEL "/run/netns/$C" eth0 c-gone "$TMP/gone.json"
	expect "netns gone: rules removed" [ "$(nat_rules "$H")" -eq 0 ]
	expect "netns gone: reservations released" [ "$(reservations "$TMP/ipam-gone")" -eq 0 ]
	expect "netns gone: host veth gone with the namespace" sh -c "! ip netns exec $H ip -o link | grep -q veth"
	newns C

	# nftables backend
	conf "$TMP/nft.json" nftnet 1.0.0 ',"ipMasq":true,"ipMasqBackend":"nftables"' '[[{"subnet":"172.16.41.0/24"}],[{"subnet":"fd00:41::/64"}]]'
	if ip netns exec "$H" nft add table inet cni_probe 2>/dev/null; then
		ip netns exec "$H" nft delete table inet cni_probe
		expect "nftables: add" plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-nft "$TMP/nft.json"
		expect "nftables: two rules, no iptables rules" \
			[ "$(nft_masq_rules "$H")" -eq 2 -a "$(nat_rules "$H")" -eq 0 ]
		expect "nftables: del" plugin "$H" "$bin" DEL "/run/netns/$C" eth0 c-nft "$TMP/nft.json"
		expect "nftables: rules removed" [ "$(nft_masq_rules "$H")" -eq 0 ]
	else
		# a kernel whose nf_tables lacks the inet family (the user-mode kernel of
		# tests/kernel): the ADD fails, saying why, and leaves nothing behind
		expect_not "nftables unsupported by the kernel: add fails" \
			plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-nft "$TMP/nft.json" "$TMP/nft.out"
		expect "nftables unsupported by the kernel: the error names nftables" \
			grep -q '"msg": ".*nftables' "$TMP/nft.out"
		expect "nftables unsupported by the kernel: nothing left" sh -c "! ip netns exec $H ip -o link | grep -q veth && ! ip netns exec $C ip -o link | grep -q eth0 && [ $(reservations "$TMP/ipam-nftnet" 2>/dev/null || echo 0) -eq 0 ] && [ \$(ip netns exec $H iptables-save -t nat | grep -c CNI-) -eq 0 ]"
	fi

	# bad backend: an error before anything is allocated
	conf "$TMP/badbe.json" badbe 1.0.0 ',"ipMasq":true,"ipMasqBackend":"ebtables"' '[[{"subnet":"172.16.42.0/24"}]]'
	plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-bad "$TMP/badbe.json" "$TMP/bad.out"
	expect "bad backend fails naming it" grep -q 'unknown ipmasq backend.*ebtables' "$TMP/bad.out"
	expect "bad backend allocates nothing" [ "$(reservations "$TMP/ipam-badbe")" -eq 0 ]

	# failure after IPAM ADD: the interface name exists in the container
	inns "$C" ip link add eth7 type veth peer name eth8
	conf "$TMP/fail.json" failnet 1.0.0 ',"ipMasq":true' '[[{"subnet":"172.16.43.0/24"}]]'
	plugin "$H" "$bin" ADD "/run/netns/$C" eth7 c-fail "$TMP/fail.json" "$TMP/fail.out"
	expect "existing ifname fails" grep -q 'already exists' "$TMP/fail.out"
	expect "existing ifname: IPAM released" [ "$(reservations "$TMP/ipam-failnet")" -eq 0 ]
	expect "existing ifname: no host veth, no rules" \
		sh -c "! ip netns exec $H ip -o link | grep -q veth && [ \$(ip netns exec $H iptables-save -t nat | grep -c CNI-) -eq 0 ]"

	# IPAM fails while the veth is made beside it: the veth goes again
	conf "$TMP/noipam.json" noipam 1.0.0 '' '[[{"subnet":"172.16.46.0/24"}]]'
	sed -i 's/"type":"host-local"/"type":"no-such-ipam"/' "$TMP/noipam.json"
	plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-noipam "$TMP/noipam.json" "$TMP/noipam.out"
	expect "missing IPAM fails naming it" grep -q 'no-such-ipam' "$TMP/noipam.out"
	expect "missing IPAM: no veth left in either namespace" \
		sh -c "! ip netns exec $H ip -o link | grep -q veth && ! ip netns exec $C ip -o link show eth0 >/dev/null 2>&1"

	# CHECK asks IPAM while it looks at the container: IPAM's answer still comes first
	conf "$TMP/chk.json" chknet 1.0.0 '' '[[{"subnet":"172.16.47.0/24"}]]'
	plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-chk "$TMP/chk.json" "$TMP/chk.result"
	expect "check order: add" [ $? -eq 0 ]
	with_prev "$TMP/chk.json" "$TMP/chk.result" "$TMP/chk-prev.json"
	expect "check order: CHECK passes" plugin "$H" "$bin" CHECK "/run/netns/$C" eth0 c-chk "$TMP/chk-prev.json"
	inns "$C" ip addr flush dev eth0
	plugin "$H" "$bin" CHECK "/run/netns/$C" eth0 c-other "$TMP/chk-prev.json" "$TMP/chk1.out"
	expect "check order: IPAM's error before the container's" grep -q 'Failed to find address' "$TMP/chk1.out"
	plugin "$H" "$bin" CHECK "/run/netns/$C" eth0 c-chk "$TMP/chk-prev.json" "$TMP/chk2.out"
	expect "check order: then the container's" grep -q 'Failed to match addr' "$TMP/chk2.out"
	expect "check order: del" plugin "$H" "$bin" DEL "/run/netns/$C" eth0 c-chk "$TMP/chk.json"
	expect "check order: reservation released" [ "$(reservations "$TMP/ipam-chknet")" -eq 0 ]
	expect "check order: no host veth left" sh -c "! ip netns exec $H ip -o link | grep -q veth"

	# The multi-call ptp runs host-local in its own process when CNI_PATH's host-local is
	# the same executable, and execs it otherwise (another binary, or turned off).
	if [ -L "$OURBIN/ptp" ] && command -v strace >/dev/null; then
		conf "$TMP/inproc.json" inproc 1.0.0 '' '[[{"subnet":"172.16.48.0/24"}]]'
		execs() { grep -c 'execve(".*host-local"' "$TMP/inproc.trace"; }
		PLUGIN_WRAP="strace -f -qq -e trace=execve -o $TMP/inproc.trace"
		plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-inproc "$TMP/inproc.json" "$TMP/inproc.out"
		expect "in-process IPAM: ADD succeeds" grep -q '"172.16.48.2/24"' "$TMP/inproc.out"
		expect "in-process IPAM: ADD execs no host-local" [ "$(execs)" -eq 0 ]
		expect "in-process IPAM: address reserved" [ "$(reservations "$TMP/ipam-inproc")" -eq 1 ]
		plugin "$H" "$bin" DEL "/run/netns/$C" eth0 c-inproc "$TMP/inproc.json"
		expect "in-process IPAM: DEL execs no host-local" [ "$(execs)" -eq 0 ]
		expect "in-process IPAM: DEL releases" [ "$(reservations "$TMP/ipam-inproc")" -eq 0 ]
		PLUGIN_ENV=LIBCNI_C_INPROCESS=0 \
			plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-inproc "$TMP/inproc.json" "$TMP/inproc.out"
		expect "LIBCNI_C_INPROCESS=0: host-local is exec'd" [ "$(execs)" -eq 1 ]
		plugin "$H" "$bin" DEL "/run/netns/$C" eth0 c-inproc "$TMP/inproc.json"
		local mixed
		mixed=$(bindir inproc-mixed "$OURBIN/ptp" "$REFBIN/host-local")
		plugin "$H" "$mixed" ADD "/run/netns/$C" eth0 c-inproc "$TMP/inproc.json" "$TMP/inproc.out"
		expect "another host-local in CNI_PATH is exec'd" grep -q "execve(\"$mixed/host-local\"" "$TMP/inproc.trace"
		expect "another host-local: ADD succeeds" grep -Eq '"172.16.48.[0-9]+/24"' "$TMP/inproc.out"
		plugin "$H" "$mixed" DEL "/run/netns/$C" eth0 c-inproc "$TMP/inproc.json"
		PLUGIN_WRAP=
		# an in-process IPAM error is the plugin's own, code and message
		sed 's/"subnet":"172.16.48.0\/24"/"subnet":"172.16.48.0\/33"/' "$TMP/inproc.json" >"$TMP/inproc-bad.json"
		plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-inproc "$TMP/inproc-bad.json" "$TMP/inproc-bad.out"
		PLUGIN_ENV=LIBCNI_C_INPROCESS=0 \
			plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-inproc "$TMP/inproc-bad.json" "$TMP/inproc-bad-exec.out"
		expect "in-process IPAM error equals the exec'd one" cmp -s "$TMP/inproc-bad.out" "$TMP/inproc-bad-exec.out"
		expect "in-process IPAM error names the field" grep -q '172.16.48.0/33' "$TMP/inproc-bad.out"
		expect "in-process IPAM: nothing left" sh -c "! ip netns exec $H ip -o link | grep -q veth && [ \$(find $TMP/ipam-inproc -type f -name '172.*' | wc -l) -eq 0 ]"
		# ptp with host-local inside it, masquerade too, under memcheck: no memory error,
		# nothing leaked by either (a static binary's malloc is beyond valgrind; the kernel
		# suite, CNI_TEST_NO_VALGRIND=1, leaves memory checks to the machines' kernel)
		if [ "${CNI_TEST_NO_VALGRIND:-0}" != 1 ] && command -v valgrind >/dev/null && readelf -l "$(readlink -f "$OURBIN/ptp")" | grep -q INTERP; then
			conf "$TMP/vg.json" inproc-vg 1.0.0 ',"ipMasq":true' '[[{"subnet":"172.16.49.0/24"}]]'
			# libnftables' own padding bytes are suppressed (see the file)
			PLUGIN_RUNNER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=97 --suppressions=$(dirname "$(readlink -f "$0")")/../libnftables.supp"
			plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-vg "$TMP/vg.json" "$TMP/vg.result"
			expect "in-process IPAM under valgrind: ADD clean" [ $? -eq 0 ]
			with_prev "$TMP/vg.json" "$TMP/vg.result" "$TMP/vg-check.json"
			expect "in-process IPAM under valgrind: CHECK clean" \
				plugin "$H" "$bin" CHECK "/run/netns/$C" eth0 c-vg "$TMP/vg-check.json"
			expect "in-process IPAM under valgrind: DEL clean" \
				plugin "$H" "$bin" DEL "/run/netns/$C" eth0 c-vg "$TMP/vg.json"
			PLUGIN_RUNNER=
			expect "in-process IPAM under valgrind: released" [ "$(reservations "$TMP/ipam-inproc-vg")" -eq 0 ]
		fi
	else
		echo "# in-process IPAM: not a multi-call build or no strace, not checked"
	fi

	# failure after the veth exists: an IPv6 address on a namespace without IPv6 on lo
	# cannot be forced portably; use a gateway-less IPAM result instead (static IPAM)
	if [ -x "$OURBIN/static" ] || [ -x "$REFBIN/static" ]; then
		local st=$OURBIN/static
		[ -x "$st" ] || st=$REFBIN/static
		ln -sf "$st" "$bin/static"
		cat >"$TMP/nogw.json" <<-EOF
		{"cniVersion":"1.0.0","name":"nogw","type":"ptp","ipMasq":true,
		 "ipam":{"type":"static","addresses":[{"address":"172.16.44.2/24"}]}}
		EOF
		plugin "$H" "$bin" ADD "/run/netns/$C" eth0 c-nogw "$TMP/nogw.json" "$TMP/nogw.out"
		expect "no gateway fails" grep -q 'no gateway' "$TMP/nogw.out"
		expect "no gateway: veth removed in both namespaces" \
			sh -c "! ip netns exec $H ip -o link | grep -q veth && ! ip netns exec $C ip -o link show eth0 >/dev/null 2>&1"
	fi

	# GC: stale attachments lose their rules and (our host-local) reservations
	conf "$TMP/gc.json" gcnet 1.1.0 ',"ipMasq":true' '[[{"subnet":"172.16.45.0/24"}]]'
	local C2
	newns C2
	expect "gc: add c1" plugin "$H" "$bin" ADD "/run/netns/$C" eth0 gc-c1 "$TMP/gc.json"
	expect "gc: add c2" plugin "$H" "$bin" ADD "/run/netns/$C2" eth0 gc-c2 "$TMP/gc.json"
	python3 - "$TMP/gc.json" "$TMP/gc-run.json" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c["cni.dev/valid-attachments"] = [{"containerID": "gc-c1", "ifname": "eth0"}]
	json.dump(c, open(sys.argv[2], "w"))
	PY
	expect "gc: runs" plugin "$H" "$bin" GC "" "" "" "$TMP/gc-run.json"
	expect "gc: c1's rules stay, c2's go" [ "$(nat_rules "$H")" -eq 4 ]
	local c1chain
	c1chain=$(inns "$H" iptables-save -t nat | grep -o 'comment "name: \\"gcnet\\" id: \\"gc-c[0-9]' | sort -u)
	expect "gc: the rules left are c1's" [ "$c1chain" = 'comment "name: \"gcnet\" id: \"gc-c1' ]
	expect "gc: c2's reservation released" [ "$(reservations "$TMP/ipam-gcnet")" -eq 1 ]
	expect "gc: del c1" plugin "$H" "$bin" DEL "/run/netns/$C" eth0 gc-c1 "$TMP/gc.json"
	expect "gc: del c2" plugin "$H" "$bin" DEL "/run/netns/$C2" eth0 gc-c2 "$TMP/gc.json"

	# STATUS goes to IPAM
	expect "status forwarded to IPAM" plugin "$H" "$bin" STATUS "" "" "" "$TMP/gc.json"
	delns "$H"
	delns "$C"
	delns "$C2"
}
beyond

# ------------------------------------------------------------------------------------
# 3. differential against the reference

if [ ! -x "$REFBIN/ptp" ] || [ ! -x "$REFBIN/host-local" ]; then
	echo "note: reference plugins missing, differential part skipped"
else
	# normalise: veth names, MACs, ifindexes, namespace names, link-local addresses,
	# and the documented differences (NODAD flags; keep_addr_on_down)
	normalise() {
		sed -E \
			-e 's/veth[0-9a-f]{8}/VETH/g' \
			-e 's/([0-9a-f]{2}:){5}[0-9a-f]{2}/MAC/g' \
			-e 's/^[0-9]+: /N: /' -e 's/@if[0-9]+/@ifN/' \
			-e 's/link-netns [^ ]+/link-netns NS/' \
			-e 's#/run/netns/[^"]+#SANDBOX#' \
			-e 's/ (tentative|nodad|dadfailed)//g' \
			-e '/^# (Generated|Completed)/d'
	}
	drop_linklocal() { # drop "inet6 fe80::..." and its lifetime line
		awk '/inet6 fe80::/ {skip=1; next} skip {skip=0; next} {print}'
	}
	snapshot() { # snapshot <hostns> <contns> <file>
		local h=$1 c=$2 f=$3 v
		# carrier state settles: the kernel's linkwatch moves operstate up to a second
		# after the carrier (a link shown NO-CARRIER and LOWER_UP at once is in between)
		sleep 1
		for _ in $(seq 50); do
			{ inns "$h" ip -o link; inns "$c" ip -o link; } 2>/dev/null |
				grep -q 'NO-CARRIER.*LOWER_UP' || break
			sleep 0.1
		done
		{
			echo "== host addr"
			inns "$h" ip -d addr | drop_linklocal
			echo "== host route"
			inns "$h" ip route
			echo "== host route6"
			inns "$h" ip -6 route
			echo "== cont addr"
			inns "$c" ip -d addr | drop_linklocal
			echo "== cont route"
			inns "$c" ip route
			echo "== cont route6"
			inns "$c" ip -6 route
			echo "== host sysctls"
			for v in $(inns "$h" ls /sys/class/net | grep veth); do
				inns "$h" sysctl net.ipv4.conf.$v.forwarding net.ipv6.conf.$v.accept_ra \
					net.ipv6.conf.$v.disable_ipv6 net.ipv6.conf.$v.forwarding 2>&1
			done
			inns "$h" sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding
			echo "== cont sysctls"
			inns "$c" sysctl net.ipv6.conf.eth0.disable_ipv6 net.ipv6.conf.lo.disable_ipv6 \
				net.ipv6.conf.eth0.accept_ra net.ipv4.conf.eth0.arp_notify \
				net.ipv6.conf.eth0.accept_dad 2>&1
			echo "== nat"
			inns "$h" iptables-save -t nat
			echo "== nat6"
			inns "$h" ip6tables-save -t nat
		} | normalise >"$f"
	}
	V4='[[{"subnet":"172.16.50.0/24"}]]'
	V6='[[{"subnet":"fd00:50::/64"}]]'
	DUAL='[[{"subnet":"172.16.50.0/24"}],[{"subnet":"fd00:50::/64"}]]'
	RT4='[{"dst":"0.0.0.0/0"}]'
	RTD='[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]'
	DNS=',"dns":{"nameservers":["10.1.1.1"],"domain":"example.org","search":["example.org"],"options":["ndots:2"]}'
	CASES=(
		"v4|1.0.0|,\"ipMasq\":true|$V4|$RT4"
		"v6|1.0.0|,\"ipMasq\":true|$V6|[{\"dst\":\"::/0\"}]"
		"dual-mtu|1.0.0|,\"ipMasq\":true,\"mtu\":1400|$DUAL|$RTD"
		"nomasq|1.0.0|,\"ipMasq\":false|$DUAL|$RTD"
		"dns|0.4.0|$DNS|$V4|$RT4"
		"dns-null|1.0.0|,\"dns\":{\"nameservers\":[\"10.1.1.1\",null],\"search\":[null]}|$V4|$RT4"
		"old-version|0.3.1|,\"ipMasq\":true|$V4|$RT4"
	)
	for c in "${CASES[@]}"; do
		IFS='|' read -r cname ver extra ranges routes <<<"$c"
		for impl in ref ours; do
			if [ $impl = ref ]; then p=$REFBIN/ptp; else p=$OURBIN/ptp; fi
			bin=$(bindir "diff-$impl" "$p" "$REFBIN/host-local")
			rm -rf "$TMP/ipam-diff-$cname"
			conf "$TMP/diff-$cname.json" "diff-$cname" "$ver" "$extra" "$ranges" "$routes"
			newns H
			newns C
			plugin "$H" "$bin" ADD "/run/netns/$C" eth0 diffcid "$TMP/diff-$cname.json" "$TMP/$cname-$impl.result"
			echo "rc=$?" >>"$TMP/$cname-$impl.result"
			snapshot "$H" "$C" "$TMP/$cname-$impl.state"
			# CHECK with the ADD result as prevResult
			python3 - "$TMP/diff-$cname.json" "$TMP/$cname-$impl.result" "$TMP/$cname-$impl.check" <<-'PY'
			import json, sys
			c = json.load(open(sys.argv[1]))
			txt = open(sys.argv[2]).read().rsplit("rc=", 1)[0]
			c["prevResult"] = json.loads(txt)
			json.dump(c, open(sys.argv[3], "w"))
			PY
			plugin "$H" "$bin" CHECK "/run/netns/$C" eth0 diffcid "$TMP/$cname-$impl.check" "$TMP/$cname-$impl.checkout"
			echo "check rc=$?" >>"$TMP/$cname-$impl.state"
			plugin "$H" "$bin" DEL "/run/netns/$C" eth0 diffcid "$TMP/diff-$cname.json"
			echo "del rc=$?" >"$TMP/$cname-$impl.after"
			snapshot "$H" "$C" "$TMP/$cname-$impl.after.state"
			cat "$TMP/$cname-$impl.after.state" >>"$TMP/$cname-$impl.after"
			delns "$H"
			delns "$C"
		done
		for part in result state after; do
			normalise <"$TMP/$cname-ref.$part" >"$TMP/$cname-ref.$part.n"
			normalise <"$TMP/$cname-ours.$part" >"$TMP/$cname-ours.$part.n"
			if diff -u "$TMP/$cname-ref.$part.n" "$TMP/$cname-ours.$part.n" >"$TMP/$cname.$part.diff"; then
				pass "differential [$cname] $part"
			else
				fail "differential [$cname] $part"
				cat "$TMP/$cname.$part.diff" >&2
			fi
		done
	done
fi

echo "# $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
