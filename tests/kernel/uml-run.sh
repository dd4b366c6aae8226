#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boot Debian's user-mode Linux kernel (package user-mode-linux: Linux 6.1, with 802.1Q,
# ipvlan, dummy, VRF and bridge VLAN filtering, which the machines' kernel lacks) once, run
# one command inside it, stream its output and return its exit status.
#
#   tests/kernel/uml-run.sh [options] [--] COMMAND [ARG...]
#   tests/kernel/uml-run.sh --shell           an interactive shell inside (exit or ^D ends)
#
# Options:
#   --rw DIR       mount DIR read-write at the same path inside (repeatable): writes reach
#                  the host. The root file system is the host's, read-only.
#   --overlay DIR  make DIR writable inside, the writes staying there (an overlay on a
#                  tmpfs; repeatable). The current directory gets one when it is a build
#                  directory (has CMakeCache.txt), so that several kernels can run the
#                  tests of one build at the same time.
#   --mem SIZE     memory of the kernel (default 2G)
#   --timeout S    end the kernel after S seconds (default 3000); status 124 then
#   --shell        run an interactive bash instead of COMMAND
#   -e VAR         pass the host's VAR into the command's environment (repeatable); PATH,
#                  CTEST_*, CMOCKA_*, ASAN_OPTIONS, UBSAN_OPTIONS and CNI_* pass always
#
# Inside: /run, /var/lib/cni, /var/tmp and /dev/shm are fresh tmpfs mounts, /tmp is the
# host's with the writes staying inside (an overlay); the modules
# every CNI plugin needs are loaded; iptables and ip6tables are the legacy (x_tables) tools
# because this kernel's nf_tables has no ip/ip6/inet family; CNI_TEST_KERNEL=uml and
# CNI_TEST_REQUIRE_KERNEL_FEATURES=1 are set, so a test that finds a kernel feature
# missing fails instead of skipping. The command runs from the current directory.
#
# Exit status: the command's; 124 on timeout; 125 when the kernel did not start or the
# command never ran (the kernel's own exit status does not carry the command's).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MEM=2G
TIMEOUT=3000
SHELL_MODE=0
RW=()
OVERLAY=()
PASS=()
while [ $# -gt 0 ]; do
	case $1 in
	--rw) RW+=("$(realpath "$2")") && shift 2 ;;
	--overlay) OVERLAY+=("$(realpath "$2")") && shift 2 ;;
	--mem) MEM=$2 && shift 2 ;;
	--timeout) TIMEOUT=$2 && shift 2 ;;
	--shell) SHELL_MODE=1 && shift ;;
	-e) PASS+=("$2") && shift 2 ;;
	--) shift && break ;;
	-h | --help) sed -n '3,/^set /p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' && exit 0 ;;
	-*) echo "uml-run: unknown option $1" >&2 && exit 2 ;;
	*) break ;;
	esac
done
if [ $SHELL_MODE -eq 0 ] && [ $# -eq 0 ]; then
	echo "uml-run: no command (see --help)" >&2
	exit 2
fi

KERNEL=$(command -v linux.uml || true)
if [ -z "$KERNEL" ]; then
	echo "uml-run: linux.uml not found: apt-get install user-mode-linux kmod" >&2
	exit 125
fi
if ! command -v modprobe >/dev/null && [ ! -x /usr/sbin/modprobe ] && [ ! -x /sbin/modprobe ]; then
	echo "uml-run: modprobe not found: apt-get install kmod" >&2
	exit 125
fi

# The exchange directory: the command and its environment go in, the status comes out.
XDIR=$(mktemp -d "${TMPDIR:-/tmp}/cni-uml.XXXXXX")
UML_PID=
# Every process of this kernel carries the exchange directory in its command line; a
# killed kernel can leave helper processes behind (holding our stdout), so they go too.
uml_kill() {
	pkill -KILL -f "CNI_UML_XDIR=$XDIR( |\$)" 2>/dev/null
}
cleanup() {
	[ -n "$UML_PID" ] && kill -TERM "$UML_PID" 2>/dev/null
	uml_kill
	rm -rf "$XDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -f "$PWD/CMakeCache.txt" ] && OVERLAY+=("$PWD")
{
	printf 'CNI_UML_CWD=%q\n' "$PWD"
	for v in $(compgen -e); do
		case $v in
		PATH | CTEST_* | CMOCKA_* | ASAN_OPTIONS | UBSAN_OPTIONS | CNI_* | LIBCNI_C_*) ;;
		*) [[ " ${PASS[*]} " == *" $v "* ]] || continue ;;
		esac
		printf 'export %s=%q\n' "$v" "${!v}"
	done
	printf 'export CNI_TEST_KERNEL=uml CNI_TEST_REQUIRE_KERNEL_FEATURES=1\n'
	printf 'CNI_UML_RW=(%s)\n' "$([ ${#RW[@]} -eq 0 ] || printf '%q ' "${RW[@]}")"
	printf 'CNI_UML_OVERLAY=(%s)\n' "$([ ${#OVERLAY[@]} -eq 0 ] || printf '%q ' "${OVERLAY[@]}")"
	if [ $SHELL_MODE -eq 1 ]; then
		printf 'CNI_UML_CMD=(bash -i) CNI_UML_INTERACTIVE=1\n'
	else
		printf 'CNI_UML_CMD=(%s)\n' "$(printf '%q ' "$@")"
	fi
} >"$XDIR/env"
chmod 755 "$XDIR"

# Kernel parameters with '=' that the kernel does not know reach init as environment.
# UML keeps its memory in a file under TMPDIR, which must allow exec mappings.
ARGS=(mem="$MEM" root=/dev/root rootfstype=hostfs rootflags=/ ro quiet loglevel=2
	init="$HERE/uml-init.sh" con=null CNI_UML_XDIR="$XDIR")
if [ $SHELL_MODE -eq 1 ]; then
	# the console on our terminal, both ways
	"$KERNEL" "${ARGS[@]}" con0=fd:0,fd:1 <&0 &
	UML_PID=$!
	wait "$UML_PID"
else
	# timeout(1) runs the kernel in a process group of its own and ends the whole group
	timeout -s KILL "$TIMEOUT" "$KERNEL" "${ARGS[@]}" con0=null,fd:1 </dev/null &
	UML_PID=$!
	started=$SECONDS
	wait "$UML_PID"
	rc=$?
	# 124, or 137 when timeout(1) went down with the group it killed; or simply the time
	# spent, however timeout(1) ended
	case $rc in 124 | 137) touch "$XDIR/timed-out" ;; esac
	[ $((SECONDS - started)) -lt "$TIMEOUT" ] || touch "$XDIR/timed-out"
fi
uml_kill
UML_PID=

if [ -e "$XDIR/timed-out" ]; then
	echo "uml-run: timed out after ${TIMEOUT}s" >&2
	exit 124
fi
if [ ! -s "$XDIR/status" ]; then
	echo "uml-run: the command did not run to the end in the user-mode kernel (status ${rc:-?})" >&2
	exit 125
fi
exit "$(cat "$XDIR/status")"
