#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Write debian/libcni-c0.symbols from the linker version script, libcni/libcni-c.sym.
# Every symbol of node LIBCNI_C_X.Y gets the minimum version X.Y.0, the release that
# brought it (docs/abi.md: one sealed node per release), so a package built against a
# function of 0.2 depends on libcni-c0 (>= 0.2.0). The node of a release still to come
# (X.Y.0 newer than the project's version in CMakeLists.txt) gets X.Y.0~, which the
# snapshots leading to it (0.2.0~dev1) satisfy too.
# Usage: debian/gen-symbols.sh [<source-dir>] > debian/libcni-c0.symbols
#        debian/gen-symbols.sh --check [<source-dir>]   (exit 1 when the file is stale)
set -euo pipefail

check=0
[ "${1:-}" = --check ] && { check=1; shift; }
src=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
sym=$src/libcni/libcni-c.sym
project=$(sed -n 's/^project(libcni-c VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$project" ] || { echo "gen-symbols: no project version in CMakeLists.txt" >&2; exit 1; }

generate() {
	echo "libcni-c.so.0 libcni-c0 #MINVER#"
	echo "* Build-Depends-Package: libcni-c-dev"
	# comments out, then "NODE {" opens a node, "name;" inside global: is a symbol
	sed -e ':a' -e 's|/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/||g' -e '/\/\*/{N;ba' -e '}' "$sym" |
		awk -v project="$project" '
		function minver(node,   v) {
			v = node; sub(/^LIBCNI_C_/, "", v); v = v ".0"
			return vercmp(v, project) <= 0 ? v : v "~"
		}
		function vercmp(a, b,   x, y, i, n) {
			n = split(a, x, "."); split(b, y, ".")
			for (i = 1; i <= 3; i++) if (x[i] + 0 != y[i] + 0) return x[i] + 0 < y[i] + 0 ? -1 : 1
			return 0
		}
		/^[[:space:]]*[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*\{/ {
			node = $1; sub(/\{.*/, "", node); global = 0
			print " " node "@" node " " minver(node)
			next
		}
		/global:/ { global = 1; next }
		/local:/ { global = 0; next }
		global && match($0, /[A-Za-z_][A-Za-z0-9_]*[[:space:]]*;/) {
			s = substr($0, RSTART, RLENGTH); sub(/[[:space:]]*;/, "", s)
			print " " s "@" node " " minver(node)
		}' | LC_ALL=C sort
}

if [ $check -eq 1 ]; then
	if ! diff -u "$src/debian/libcni-c0.symbols" <(generate); then
		echo "debian/libcni-c0.symbols is stale: run debian/gen-symbols.sh > debian/libcni-c0.symbols" >&2
		exit 1
	fi
	exit 0
fi
generate
