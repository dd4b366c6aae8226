#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libcni-c in one minute (Debian 12, as root): install what is missing, build, then attach
# a throwaway network namespace with our cnitool, look at it, ping through it, check it,
# detach it and remove it again. Nothing outside the temporary namespace and a temp dir
# is left behind (EXIT trap); addresses are private (10.222.X.0/24).
#
# The host end of the veth lives in the namespace demo.sh runs in (the host's, normally),
# and ptp turns on net.ipv4.ip_forward there, as it does on a node; the demo puts the
# value it found back when it ends.
#
# The chain is ptp + host-local, then our sample plugin. ptp/host-local come from this
# build when it has them (plugins-bin/), else from the reference plugins in /usr/lib/cni.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-demo}
PACKAGES=(build-essential cmake pkg-config libjansson-dev libnl-3-dev libnl-route-3-dev libnftables-dev
	containernetworking-plugins iproute2 iputils-ping)

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
show() { # print a command, then run it
	printf '$ %s\n' "$*"
	"$@"
}

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (network namespaces, veth pairs)" >&2; exit 1; }

step "1. packages"
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	echo "all present: ${PACKAGES[*]}"
fi

step "2. build ($BUILD)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCNI_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
CNITOOL=$BUILD/tools/cnitool/cnitool
OURBIN=$BUILD/plugins-bin
echo "built $CNITOOL and the plugins in $OURBIN"
[ -x "$OURBIN/sample" ] || { echo "demo.sh: the sample plugin was not built" >&2; exit 1; }

TMP=$(mktemp -d /tmp/cni-demo.XXXXXX)
SUFFIX=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
NS=cni-demo-$SUFFIX
NSPATH=/var/run/netns/$NS
OCTET=$(( 16#$SUFFIX % 200 + 20 ))
SUBNET=10.222.$OCTET.0/24
GW=10.222.$OCTET.1
export NETCONFPATH=$TMP/net.d CNI_PATH=$TMP/bin CNI_CACHE_DIR=$TMP/cache
unset CNI_ARGS CAP_ARGS CNI_IFNAME CNI_CONTAINERID
FORWARD_WAS=$(cat /proc/sys/net/ipv4/ip_forward)

restore_forward() {
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$FORWARD_WAS" ] && return 0
	echo "$FORWARD_WAS" >/proc/sys/net/ipv4/ip_forward &&
		echo "net.ipv4.ip_forward set back to $FORWARD_WAS (ptp had turned it on)"
}

cleanup() {
	set +e
	restore_forward
	if ip netns list 2>/dev/null | grep -qw "$NS"; then
		"$CNITOOL" del demo "$NSPATH" >/dev/null 2>&1
		ip netns del "$NS"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

step "3. plugins and network configuration ($NETCONFPATH)"
mkdir -p "$TMP/bin" "$TMP/net.d" "$TMP/ipam" "$TMP/cache"
for p in ptp host-local; do
	if [ -x "$OURBIN/$p" ]; then src=$OURBIN/$p; else src=/usr/lib/cni/$p; fi
	ln -s "$src" "$TMP/bin/$p"
	echo "$p -> $src"
done
ln -s "$OURBIN/sample" "$TMP/bin/sample"
echo "sample -> $OURBIN/sample"
cat >"$NETCONFPATH/10-demo.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "demo",
  "plugins": [
    {
      "type": "ptp",
      "ipam": {
        "type": "host-local",
        "dataDir": "$TMP/ipam",
        "ranges": [[{"subnet": "$SUBNET", "gateway": "$GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "sample", "anotherAwesomeArg": "awesome"}
  ]
}
EOF
cat "$NETCONFPATH/10-demo.conflist"

step "4. a throwaway network namespace"
show ip netns add "$NS"

step "5. cnitool add"
show "$CNITOOL" add demo "$NSPATH"

step "6. what the namespace looks like now"
show ip -n "$NS" addr show dev eth0
show ip -n "$NS" route
step "7. ping the host end of the veth ($GW) from inside"
show ip netns exec "$NS" ping -c 2 -W 2 "$GW"

step "8. cnitool check"
show "$CNITOOL" check demo "$NSPATH"
echo "check: ok"

step "9. cnitool del"
show "$CNITOOL" del demo "$NSPATH"
echo "eth0 in $NS after del: $(ip -n "$NS" -o link show dev eth0 2>/dev/null || echo 'gone')"
echo "cache entries left: $(find "$TMP/cache" -type f | wc -l)"

step "10. clean up"
show ip netns del "$NS"
trap - EXIT
restore_forward
rm -rf "$TMP"

cat <<EOF

Done. The demo
  - built libcni-c, cnitool and the plugins in $BUILD,
  - wrote a ptp + host-local ($SUBNET) + sample configuration list to a temp NETCONFPATH,
  - created the namespace $NS, attached it with 'cnitool add', showed its address and
    routes, pinged the host end of the veth ($GW) from inside,
  - ran 'cnitool check' and 'cnitool del', and removed the namespace and temp files.
Next: ./tests/run-all.sh runs the whole test suite.
EOF
