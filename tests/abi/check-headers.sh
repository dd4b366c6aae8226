#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every public header compiles on its own, as strict C11 and (when a C++ compiler is
# there) as C++; every versioned option struct starts with `version` and its _INIT macro
# sets it to the matching CNI_*_VERSION.
# Usage: check-headers.sh <include-dir> <work-dir> <cc> [<c++>]
set -uo pipefail

incdir=$1 work=$2 cc=$3 cxx=${4:-}
rm -rf "$work" && mkdir -p "$work" || exit 1
fail=0 count=0

headers=("$incdir"/cni/*.h)
if [ ${#headers[@]} -eq 0 ] || [ ! -e "${headers[0]}" ]; then
	echo "no headers in $incdir/cni" >&2
	exit 1
fi

for h in "${headers[@]}"; do
	name=$(basename "$h" .h)
	src=$work/alone_$name.c
	# Included twice: the include guard must work as well.
	printf '#include <cni/%s.h>\n#include <cni/%s.h>\nint cni_abi_dummy_%s;\n' \
		"$name" "$name" "$name" >"$src"
	count=$((count + 1))
	if ! "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -I"$incdir" -c "$src" \
		-o "$work/alone_$name.o"; then
		echo "FAIL: cni/$name.h does not compile alone as C11" >&2
		fail=1
	fi
	if [ -n "$cxx" ]; then
		cp "$src" "$work/alone_$name.cc"
		if ! "$cxx" -std=c++11 -Wall -Wextra -Werror -pedantic -I"$incdir" \
			-c "$work/alone_$name.cc" -o "$work/alone_${name}_cc.o"; then
			echo "FAIL: cni/$name.h does not compile alone as C++" >&2
			fail=1
		fi
	fi
done

# Versioned option structs: CNI_X_INIT must exist with CNI_X_VERSION and type cni_x.
inits=$(cat "${headers[@]}" | grep -oE '^#define CNI_[A-Z0-9_]+_INIT\b' | awk '{print $2}' | sort -u)
if [ -z "$inits" ]; then
	echo "FAIL: no *_INIT macros found (parsing broken?)" >&2
	fail=1
fi
prog=$work/init_macros.c
{
	echo '#include <stddef.h>'
	echo '#include <stdio.h>'
	echo '#include <cni/cni.h>'
	for h in "${headers[@]}"; do echo "#include <cni/$(basename "$h")>"; done
	echo 'int main(void)'
	echo '{'
	echo '	int bad = 0;'
	for m in $inits; do
		base=${m%_INIT}
		type=$(echo "$base" | tr 'A-Z' 'a-z')
		echo "	{"
		echo "		$type v = $m;"
		echo "		_Static_assert(offsetof($type, version) == 0, \"$type: version first\");"
		echo "		_Static_assert(sizeof(v.version) == sizeof(unsigned int), \"$type\");"
		echo "		if (v.version != ${base}_VERSION || ${base}_VERSION < 1) {"
		echo "			printf(\"$m sets version %u, ${base}_VERSION is %u\\n\", v.version, (unsigned)${base}_VERSION);"
		echo "			bad = 1;"
		echo "		}"
		echo "	}"
	done
	echo '	return bad;'
	echo '}'
} >"$prog"
if ! "$cc" -std=c11 -Wall -Wextra -Werror -Wno-missing-field-initializers -pedantic \
	-I"$incdir" "$prog" -o "$work/init_macros"; then
	echo "FAIL: option structs / _INIT macros do not compile (see $prog)" >&2
	fail=1
elif ! "$work/init_macros"; then
	echo "FAIL: an _INIT macro does not set its struct's version" >&2
	fail=1
fi

echo "checked $count headers ($( [ -n "$cxx" ] && echo "C11 and C++" || echo "C11 only")), $(echo "$inits" | wc -w) option structs"
exit $fail
