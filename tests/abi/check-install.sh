#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the build into a scratch prefix, then build the sample plugin outside the tree
# against the installed library twice (the README's pkg-config line, and
# find_package(libcni-c) in CMake), and run both with CNI_COMMAND=VERSION: each must
# answer exactly as the in-tree build. Nothing here sets LD_LIBRARY_PATH: the installed
# programs and the ones built against the prefix find libcni-c.so.0 through their RPATH.
# Usage: check-install.sh <build-dir> <source-dir> <work-dir> <libdir> <plugin-dir> <version>
set -uo pipefail

build=$1 src=$2 work=$3 libdir=$4 plugindir=$5 version=$6
cc=${CC:-cc}
cmake=${CMAKE_COMMAND:-cmake}
prefix=$work/prefix
rm -rf "$work" && mkdir -p "$work" || exit 1
fail=0
err() {
	echo "FAIL: $*" >&2
	fail=1
}

if ! "$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1; then
	cat "$work/install.log" >&2
	echo "FAIL: cmake --install failed" >&2
	exit 1
fi
[[ $libdir = /* ]] || libdir=$prefix/$libdir
[[ $plugindir = /* ]] || plugindir=$prefix/$plugindir

# Library files and symlinks: libcni-c.so -> libcni-c.so.0 -> libcni-c.so.<version>.
[ -f "$libdir/libcni-c.so.$version" ] || err "missing $libdir/libcni-c.so.$version"
[ "$(readlink "$libdir/libcni-c.so.0")" = "libcni-c.so.$version" ] ||
	err "libcni-c.so.0 does not point to libcni-c.so.$version"
[ "$(readlink "$libdir/libcni-c.so")" = "libcni-c.so.0" ] ||
	err "libcni-c.so does not point to libcni-c.so.0"
soname=$(readelf -d "$libdir/libcni-c.so.$version" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libcni-c.so.0 ] || err "installed SONAME is '$soname'"
for f in include/cni/cni.h bin/cnitool; do
	[ -e "$prefix/$f" ] || err "missing $prefix/$f"
done
for h in "$src"/libcni/include/cni/*.h; do
	[ -f "$prefix/include/cni/$(basename "$h")" ] || err "header $(basename "$h") not installed"
done
if find "$prefix" -name '*internal*.h' | grep -q .; then
	err "private headers installed: $(find "$prefix" -name '*internal*.h')"
fi
[ -f "$prefix/share/bash-completion/completions/cnitool" ] || err "bash completion of cnitool not installed"
for page in "$build"/docs/man/*.[138]; do # built when scdoc is there
	[ -f "$page" ] || continue
	sec=${page##*.}
	[ -f "$prefix/share/man/man$sec/${page##*/}" ] || err "manual page ${page##*/} not installed"
done
[ -f "$libdir/pkgconfig/libcni-c.pc" ] || err "missing libcni-c.pc"
[ -f "$libdir/cmake/libcni-c/libcni-cConfig.cmake" ] || err "missing libcni-cConfig.cmake"
[ -f "$libdir/cmake/libcni-c/libcni-cConfigVersion.cmake" ] || err "missing libcni-cConfigVersion.cmake"
[ -d "$plugindir" ] && [ -x "$plugindir/sample" ] || err "sample plugin not installed in $plugindir"
# Every plugin of the build is installed and answers VERSION from the plugin dir: in the
# multi-call build as links to cni-plugins beside them (relative, so the dir can move).
for p in "$build"/plugins-bin/*; do
	n=${p##*/}
	if [ -L "$p" ]; then
		[ -L "$plugindir/$n" ] && [ "$(readlink "$plugindir/$n")" = "$(readlink "$p")" ] ||
			err "$n: not installed as a link to $(readlink "$p") in $plugindir"
	fi
	[ -x "$plugindir/$n" ] || { err "$n not installed in $plugindir"; continue; }
	[ "$n" = cni-plugins ] && continue
	out=$(env -u LD_LIBRARY_PATH CNI_COMMAND=VERSION "$plugindir/$n" </dev/null 2>&1)
	grep -q '"supportedVersions"' <<<"$out" || err "installed $n: VERSION gave '$out'"
done
out=$(env -u LD_LIBRARY_PATH "$prefix/bin/cnitool" --version 2>&1)
grep -q "^cnitool (libcni-c $version" <<<"$out" || err "installed cnitool --version: '$out'"

export PKG_CONFIG_PATH=$libdir/pkgconfig
got=$(pkg-config --modversion libcni-c 2>&1)
[ "$got" = "$version" ] || err "pkg-config --modversion: '$got', want '$version'"
pkg-config --cflags libcni-c | grep -qF -- "-I$prefix/include" ||
	err "pkg-config --cflags lacks -I$prefix/include: $(pkg-config --cflags libcni-c)"
[ "$(pkg-config --variable=plugindir libcni-c)" = "$plugindir" ] ||
	err "pkg-config plugindir '$(pkg-config --variable=plugindir libcni-c)', want '$plugindir'"
# The private dependencies stay private: not in --libs, only with --static.
pkg-config --libs libcni-c | grep -q -- -ljansson && err "jansson leaks into pkg-config --libs"
pkg-config --static --libs libcni-c | grep -q -- -lnl-route-3 || err "--static lacks libnl-route"

sample=$src/plugins/sample/sample.c
if [ ! -f "$sample" ]; then
	err "$sample does not exist: cannot build the sample plugin out of tree"
	exit 1
fi
needs_jansson=OFF
grep -q '<jansson.h>' "$sample" && needs_jansson=ON

# 1. pkg-config, the README's line as it is, warnings as errors
# shellcheck disable=SC2046
if ! "$cc" -Wall -Wextra -Werror -o "$work/sample-pc" "$sample" \
	$(pkg-config --cflags --libs libcni-c) >"$work/pc.log" 2>&1; then
	cat "$work/pc.log" >&2
	err "building sample.c with the README's pkg-config line failed"
fi

# 2. CMake find_package
if ! "$cmake" -S "$src/tests/abi/consumer" -B "$work/consumer" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_PREFIX_PATH="$prefix" -DSAMPLE_SOURCE="$sample" \
	-DSAMPLE_NEEDS_JANSSON=$needs_jansson >"$work/consumer.log" 2>&1 ||
	! "$cmake" --build "$work/consumer" >>"$work/consumer.log" 2>&1; then
	cat "$work/consumer.log" >&2
	err "building sample.c with find_package(libcni-c) failed"
fi

# 3. the out-of-tree project of docs/examples/plugin-project, built and installed as its
# comment says; the installed plugin must run from its own RPATH.
mkdir -p "$work/project"
cp "$src/docs/examples/plugin-project/CMakeLists.txt" "$work/project/" &&
	cp "$sample" "$work/project/my-plugin.c" || err "cannot copy the example project"
if ! "$cmake" -S "$work/project" -B "$work/project/build" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS=-Werror >"$work/project.log" 2>&1 ||
	! "$cmake" --build "$work/project/build" >>"$work/project.log" 2>&1 ||
	! "$cmake" --install "$work/project/build" --prefix "$work/project/prefix" \
		>>"$work/project.log" 2>&1; then
	cat "$work/project.log" >&2
	err "docs/examples/plugin-project did not build and install"
fi
out=$(env -u LD_LIBRARY_PATH CNI_COMMAND=VERSION "$plugindir/my-plugin" </dev/null 2>&1)
grep -q '"supportedVersions"' <<<"$out" ||
	err "my-plugin installed by docs/examples/plugin-project: VERSION gave '$out'"

# A request for another major version must be refused by the version file.
mkdir -p "$work/major"
cat >"$work/major/CMakeLists.txt" <<EOC
cmake_minimum_required(VERSION 3.18)
project(major LANGUAGES NONE)
find_package(libcni-c $(( ${version%%.*} + 1 )).0 QUIET)
if(libcni-c_FOUND)
  message(FATAL_ERROR "a different major version was accepted")
endif()
EOC
"$cmake" -S "$work/major" -B "$work/major/b" -DCMAKE_PREFIX_PATH="$prefix" >"$work/major.log" 2>&1 ||
	err "find_package accepted major version $(( ${version%%.*} + 1 ))"

# Run each with CNI_COMMAND=VERSION against the installed library only.
want=$(CNI_COMMAND=VERSION "$build/plugins-bin/sample" </dev/null 2>&1)
if ! grep -q '"supportedVersions"' <<<"$want"; then
	err "in-tree sample plugin VERSION output has no supportedVersions: $want"
fi
for bin in "$work/sample-pc" "$work/consumer/sample" "$work/consumer/sample-static"; do
	[ -x "$bin" ] || continue
	if [ "$(basename "$bin")" != sample-static ]; then
		lib=$(env -u LD_LIBRARY_PATH ldd "$bin" | awk '/libcni-c\.so/ { print $3 }')
		[ "$lib" = "$libdir/libcni-c.so.0" ] || err "$bin resolves libcni-c to '$lib'"
	fi
	out=$(env -u LD_LIBRARY_PATH CNI_COMMAND=VERSION "$bin" </dev/null 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || [ "$out" != "$want" ]; then
		err "$bin: CNI_COMMAND=VERSION gave (exit $rc) '$out', in-tree sample gave '$want'"
	else
		echo "ok: $(basename "$bin") VERSION: $out"
	fi
done
[ -x "$work/sample-pc" ] && [ -x "$work/consumer/sample" ] || err "not every consumer was built"

[ $fail -eq 0 ] && echo "install into $prefix and out-of-tree builds: ok"
exit $fail
