# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Test namespaces for the shell tests (bash), as nstest.h is for C and nslib.py for Python:
# unique names, created with ip(8), every one of them removed at the end (the processes
# still in it killed first), also when the test fails or is interrupted.
#
#   . "$(dirname "$0")/../integration/nslib.sh"   (the path from the sourcing script)
#   nsl_new NS prefix       create "<prefix>-<pid>-<n>" (pid: of the (sub)shell), its name in $NS; status 1 if
#                           ip netns add failed (nsl_new_or_skip exits 77 instead)
#   nsl_add NAME            create a namespace of a name of your own, remembered the same way
#   nsl_del NAME            remove one now (nothing if it is already gone)
#   nsl_path NAME           its path, /run/netns/NAME
#   nsl_exec NAME CMD...    run CMD in it
#   nsl_cleanup             remove every namespace made so far (idempotent)
#   nsl_trap [CMD]          on EXIT: CMD (a test's own cleanup, optional), then nsl_cleanup;
#                           INT/TERM/HUP exit 130 through it
#   nsl_need_root           exit 77 (skip) unless root
#
# The names are kept in a file, not a variable, so a namespace made in a subshell or a
# background job is removed too. A test that already has an EXIT trap calls nsl_cleanup
# from it instead of using nsl_trap.

[ -n "${NSL_LOADED:-}" ] && return 0
NSL_LOADED=1
NSL_LIST=$(mktemp "${TMPDIR:-/tmp}/cni-nslib.XXXXXX") || exit 1
NSL_COUNT=0

nsl_need_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	echo "SKIP: needs root to create network namespaces"
	exit 77
}

nsl_add() {
	echo "$1" >>"$NSL_LIST"
	ip netns add "$1"
}

nsl_new() {
	local name=$2-${BASHPID:-$$}-$NSL_COUNT
	NSL_COUNT=$((NSL_COUNT + 1))
	nsl_add "$name" || return 1
	printf -v "$1" '%s' "$name"
}

nsl_new_or_skip() {
	nsl_new "$@" 2>/dev/null && return 0
	echo "SKIP: cannot create a network namespace"
	exit 77
}

nsl_path() { echo "/run/netns/$1"; }

nsl_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

nsl_del() {
	local pid
	[ -e "/run/netns/$1" ] || return 0
	for pid in $(ip netns pids "$1" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null
	done
	ip netns del "$1" 2>/dev/null
	return 0
}

nsl_cleanup() {
	local ns
	[ -f "$NSL_LIST" ] || return 0
	while read -r ns; do
		[ -n "$ns" ] && nsl_del "$ns"
	done <"$NSL_LIST"
	: >"$NSL_LIST"
	# only the shell that sourced us owns the list file
	[ "${BASHPID:-$$}" = "$$" ] && rm -f "$NSL_LIST"
	return 0
}

nsl_trap() {
	NSL_TEST_CLEANUP=${1:-}
	trap '_nsl_on_exit' EXIT
	trap 'exit 130' INT TERM HUP
}

_nsl_on_exit() {
	local rc=$?
	# a second signal must not cut the cleanup short
	trap '' INT TERM HUP
	[ -n "${NSL_TEST_CLEANUP:-}" ] && eval "$NSL_TEST_CLEANUP"
	nsl_cleanup
	return $rc
}
