#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The library's dynamic symbol table is exactly the version script: every name listed in
# libcni-c.sym is exported (with a version node of the script), nothing else is, and every
# CNI_EXPORT declaration in the public headers is listed.
# Usage: check-symbols.sh <libcni-c.so> <libcni-c.sym> <include-dir> <work-dir>
set -uo pipefail

lib=$1 sym=$2 incdir=$3 work=$4
rm -rf "$work" && mkdir -p "$work" || exit 1
fail=0

# Names in the script: strip /* */ comments, keep "name;" entries outside local: sections.
sed -e ':a' -e 's|/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/||g' -e '/\/\*/{N;ba' -e '}' "$sym" |
	awk '
		/^[[:space:]]*[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*\{/ { next }
		/global:/ { global = 1; next }
		/local:/ { global = 0; next }
		/\}/ { next }
		global && match($0, /[A-Za-z_][A-Za-z0-9_]*[[:space:]]*;/) {
			s = substr($0, RSTART, RLENGTH); sub(/[[:space:]]*;/, "", s); print s
		}' | sort -u >"$work/script.txt"
nodes=$(grep -oE '^[[:space:]]*[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*\{' "$sym" | tr -d '{ \t' | sort -u)
if [ ! -s "$work/script.txt" ] || [ -z "$nodes" ]; then
	echo "FAIL: could not read symbols or version nodes from $sym" >&2
	exit 1
fi

# Exported: defined dynamic symbols, minus the version node markers (absolute symbols).
nm -D --defined-only --with-symbol-versions "$lib" >"$work/nm.txt" || exit 1
awk '$2 != "A" { print $3 }' "$work/nm.txt" | sed 's/@.*//' | sort -u >"$work/exported.txt"
awk '$2 == "A" { print $3 }' "$work/nm.txt" | sed 's/@.*//' | sort -u >"$work/nodes-exported.txt"

missing=$(comm -23 "$work/script.txt" "$work/exported.txt")
extra=$(comm -13 "$work/script.txt" "$work/exported.txt")
if [ -n "$missing" ]; then
	echo "FAIL: in libcni-c.sym but not exported by $(basename "$lib") ($(echo "$missing" | wc -l)):" >&2
	echo "$missing" | sed 's/^/  /' >&2
	fail=1
fi
if [ -n "$extra" ]; then
	echo "FAIL: exported but not in libcni-c.sym:" >&2
	echo "$extra" | sed 's/^/  /' >&2
	fail=1
fi

# Every exported symbol carries one of the script's version nodes.
while read -r _ type name; do
	[ "$type" = A ] && continue
	ver=${name#*@}
	ver=${ver#@}
	if [ "$ver" = "$name" ] || ! grep -qxF "$ver" <<<"$nodes"; then
		echo "FAIL: $name has no version node of libcni-c.sym" >&2
		fail=1
	fi
done <"$work/nm.txt"
if [ "$(cat "$work/nodes-exported.txt")" != "$nodes" ]; then
	echo "FAIL: version nodes in the library ($(tr '\n' ' ' <"$work/nodes-exported.txt")) differ from libcni-c.sym ($(echo $nodes))" >&2
	fail=1
fi

# Header declarations marked CNI_EXPORT: the identifier right before the first '('.
# Preprocessor lines and comments go first (the macro's own #define mentions it).
cat "$incdir"/cni/*.h | grep -v '^[[:space:]]*#' | sed 's|//.*||' | tr '\n' ' ' |
	sed -E 's#/\*([^*]|\*+[^*/])*\*+/# #g' | grep -oE 'CNI_EXPORT[^;{]*' |
	sed -E 's/\(.*//; s/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*$/\1/' |
	sort -u >"$work/headers.txt"
undeclared=$(comm -23 "$work/headers.txt" "$work/script.txt")
unlisted=$(comm -13 "$work/headers.txt" "$work/script.txt")
if [ -n "$undeclared" ]; then
	echo "FAIL: declared CNI_EXPORT in a header but missing from libcni-c.sym:" >&2
	echo "$undeclared" | sed 's/^/  /' >&2
	fail=1
fi
if [ -n "$unlisted" ]; then
	echo "FAIL: in libcni-c.sym but declared in no public header:" >&2
	echo "$unlisted" | sed 's/^/  /' >&2
	fail=1
fi

echo "libcni-c.sym: $(wc -l <"$work/script.txt") symbols in node(s) $(echo $nodes); exported: $(wc -l <"$work/exported.txt"); header declarations: $(wc -l <"$work/headers.txt")"
exit $fail
