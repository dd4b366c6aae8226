#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# PID 1 of the user-mode kernel that tests/kernel/uml-run.sh boots: prepares a writable,
# test-ready system on top of the host's read-only root, runs the command it was given and
# writes its exit status where uml-run.sh reads it. Not meant to be run by hand.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
X=${CNI_UML_XDIR:?}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/shm
# what udev or a container runtime would have made: bash's process substitution needs /dev/fd
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
for d in /run /var/tmp /dev/shm; do
	mount -t tmpfs -o mode=1777 tmpfs "$d" || echo "uml-init: cannot mount tmpfs on $d" >&2
done
# /tmp: the host's, with the writes staying here (an overlay on a tmpfs), since source and
# build trees may live under it; a plain tmpfs if that cannot be made
# (modprobe -d wants <root>/lib/modules/<release>)
MODROOT=/run/uml-modules
mkdir -p $MODROOT/lib/modules && ln -s "/usr/lib/uml/modules/$(uname -r)" $MODROOT/lib/modules/
modprobe -q -d $MODROOT overlay
mkdir -p /run/tmp/lower /run/tmp/upper /run/tmp/work && chmod 1777 /run/tmp/upper
mount -t hostfs none /run/tmp/lower -o /tmp &&
	mount -t overlay overlay -o lowerdir=/run/tmp/lower,upperdir=/run/tmp/upper,workdir=/run/tmp/work /tmp ||
	mount -t tmpfs -o mode=1777 tmpfs /tmp || echo "uml-init: cannot make /tmp writable" >&2
# /var/lib/cni: a fresh tmpfs; where the host has none, /var/lib becomes a tmpfs holding
# binds of the host's entries and a new cni directory
if [ -d /var/lib/cni ]; then
	mount -t tmpfs tmpfs /var/lib/cni
else
	mkdir -p /run/varlib && mount --bind /var/lib /run/varlib && mount -t tmpfs tmpfs /var/lib &&
		for e in /run/varlib/*; do
			t=/var/lib/${e##*/}
			if [ -L "$e" ]; then
				cp -P "$e" "$t"
			elif [ -d "$e" ]; then
				mkdir "$t" && mount --bind "$e" "$t"
			else
				touch "$t" && mount --bind "$e" "$t"
			fi
		done
	mkdir -p /var/lib/cni
fi
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
[ -d /sys/fs/cgroup ] && mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null

finish() {
	echo "$1" >"$X/status"
	sync
	halt -f -d
	sleep 60
}

mkdir -p "$X" && mount -t hostfs none "$X" -o "$X" || {
	echo "uml-init: cannot mount the exchange directory $X" >&2
	halt -f
}
# shellcheck source=/dev/null
. "$X/env" || finish 125
for d in "${CNI_UML_RW[@]}"; do
	mkdir -p "$d" && mount -t hostfs none "$d" -o "$d" ||
		echo "uml-init: cannot mount $d read-write" >&2
done

# The modules a CNI plugin may need.
MODS=()
for m in overlay ipv6 veth bridge 8021q macvlan macvtap ipvlan ipvtap dummy vrf tun tap ifb \
	sch_tbf sch_ingress sch_htb cls_u32 cls_matchall act_mirred act_police \
	nf_conntrack nf_conntrack_netlink nf_nat nf_tables nfnetlink \
	ip_tables ip6_tables iptable_nat iptable_filter iptable_mangle iptable_raw \
	ip6table_nat ip6table_filter ip6table_mangle ip6table_raw \
	xt_nat xt_tcpudp xt_MASQUERADE xt_comment xt_mark xt_multiport xt_addrtype \
	xt_conntrack xt_set xt_physdev xt_sctp sctp br_netfilter; do
	MODS+=("$m")
done
modprobe -a -q -d $MODROOT "${MODS[@]}"
# br_netfilter would send bridged frames through iptables, which the host kernel does not
sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
	net.bridge.bridge-nf-call-arptables=0 2>/dev/null
ip link set lo up
hostname cni-uml

# writable views of host directories whose writes stay here
n=0
for d in "${CNI_UML_OVERLAY[@]}"; do
	n=$((n + 1))
	o=/run/overlay/$n
	# the host's directory through hostfs, as the path may be under a tmpfs here
	mkdir -p "$o/lower" "$o/upper" "$o/work" "$d" &&
		mount -t hostfs none "$o/lower" -o "$d" &&
		mount -t overlay overlay -o "lowerdir=$o/lower,upperdir=$o/upper,workdir=$o/work" "$d" ||
		echo "uml-init: cannot make $d writable" >&2
done

# iptables: the legacy (x_tables) tools under every name, for every caller whatever its
# PATH (iptables-nft needs the nf_tables families this kernel lacks): the nft variant's
# binary is covered by the legacy one, which picks its tool by the name it was run as.
mount --bind /usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi ||
	echo "uml-init: cannot put the legacy iptables in place" >&2
# scratch files on a plain tmpfs (O_TMPFILE and all), not the /tmp overlay
export HOME=/tmp/home PYTHONDONTWRITEBYTECODE=1 TMPDIR=/var/tmp
mkdir -p "$HOME"

cd "$CNI_UML_CWD" || finish 125
if [ "${CNI_UML_INTERACTIVE:-0}" = 1 ]; then
	"${CNI_UML_CMD[@]}"
	finish $?
fi
# A command's output goes to a log on the host, as from a pipe: no terminal, so no colours,
# and the console adds no carriage returns.
stty -F /dev/console -onlcr 2>/dev/null
"${CNI_UML_CMD[@]}" </dev/null 2>&1 | cat
finish "${PIPESTATUS[0]}"
