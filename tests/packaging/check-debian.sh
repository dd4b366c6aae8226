#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages, end to end: build them from debian/ (dpkg-buildpackage -us -uc -b,
# in a copy of the source tree), lint them (no lintian error), check the symbols file
# against the version script, install them, use them (cnitool and a plugin built with
# the -dev package's pkg-config line run from /usr without LD_LIBRARY_PATH; man pages and
# completion in place; podman on the packaged plugins, tests/podman/podman-acceptance.sh
# with PLUGIN_DIR=/usr/lib/libcni-c/plugins) and purge them again.
#
# The machine is left as it was found: the packages are purged on every exit path, the
# test refuses to run (exit 77) when one of them was installed before it, and
# containernetworking-plugins (/usr/lib/cni) is never touched (checked with dpkg -V).
# Usage: check-debian.sh <source-dir> <work-dir>. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

src=$(readlink -f "$1")
work=$2
PKGS=(cnitool libcni-c-plugins libcni-c-dev libcni-c0)
PLUGIN_DIR=/usr/lib/libcni-c/plugins
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

skip() {
	echo "SKIP: $*"
	exit 77
}
fail=0 passes=0
ok() {
	passes=$((passes + 1))
	echo "ok   - $*"
}
err() {
	fail=1
	echo "FAIL - $*"
}
check() { # <description> <command...>
	local what=$1
	shift
	if "$@"; then ok "$what"; else err "$what"; fi
}

[ "$(id -u)" -eq 0 ] || skip "needs root (installs the packages)"
for t in dpkg-buildpackage dh lintian apt-get scdoc fakeroot; do
	command -v "$t" >/dev/null || skip "'$t' missing (apt-get install dpkg-dev debhelper lintian scdoc fakeroot)"
done
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# One run at a time on a machine (two would purge each other's packages).
exec 9>/run/lock/libcni-c-packaging-test.lock
flock -w 900 9 || skip "another packaging test holds /run/lock/libcni-c-packaging-test.lock"
# A run killed before its purge (a ctest timeout is SIGKILL) leaves this marker: what it
# installed is its own, so purge that first.
MARKER=/var/lib/libcni-c-packaging-test.installed
if [ -f "$MARKER" ]; then
	echo "--- a killed earlier run left $(tr '\n' ' ' <"$MARKER"); purging it"
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=300 \
		$(cat "$MARKER") >/dev/null 2>&1
	rm -f "$MARKER"
fi
for p in "${PKGS[@]}"; do
	installed "$p" && skip "$p is installed already: this test installs and purges it, so it leaves it alone"
done
ref_installed=0
installed containernetworking-plugins && ref_installed=1

rm -rf "$work" && mkdir -p "$work/libcni-c" || exit 1
purge() {
	local p present=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok \(installed\|unpacked\|half\|config\)' &&
			present+=("$p")
	done
	if [ ${#present[@]} -gt 0 ]; then
		echo "--- purging ${present[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=300 \
			"${present[@]}" >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; return 1; }
	fi
	rm -f "$MARKER"
}
trap 'purge; exit 130' INT TERM
trap purge EXIT

# ---- build, in a copy of the tree (dpkg-buildpackage writes to the parent directory) -----
if [ -d "$src/.git" ] || [ -f "$src/.git" ]; then
	(cd "$src" && { git ls-files; git ls-files --others --exclude-standard; } | sort -u |
		while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done) >"$work/files"
	(cd "$src" && tar -cf - -T "$work/files") | tar -xf - -C "$work/libcni-c" || exit 1
else
	cp -a "$src/." "$work/libcni-c/" || exit 1
fi
start=$(date +%s)
if (cd "$work/libcni-c" && dpkg-buildpackage -us -uc -b -j"$JOBS") >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b built $(cd "$work" && ls ./*.deb | grep -vc dbgsym) packages in $(($(date +%s) - start)) s"
else
	tail -40 "$work/build.log"
	err "dpkg-buildpackage failed (log: $work/build.log)"
	exit 1
fi
changes=$(ls "$work"/*.changes)
debs=()
for p in "${PKGS[@]}"; do
	f=$(ls "$work/${p}_"*.deb 2>/dev/null)
	[ -n "$f" ] && debs+=("$f") || err "no $p package built"
done

# ---- lint, symbols -----------------------------------------------------------------------
lintian --fail-on error --tag-display-limit 0 "$changes" >"$work/lintian.log" 2>&1
lint_rc=$?
grep -E '^[EW]: ' "$work/lintian.log" | head -20
check "lintian: no error ($(grep -c '^W: ' "$work/lintian.log") warnings)" test $lint_rc -eq 0
check "debian/libcni-c0.symbols is the version script's (debian/gen-symbols.sh --check)" \
	"$src/debian/gen-symbols.sh" --check "$src"
check "the plugins' dependency on libcni-c0 comes from the symbols file (>= 0.2.0~: they use 0.2 functions)" \
	sh -c "dpkg-deb -f '$work'/libcni-c-plugins_*.deb Depends | grep -qF 'libcni-c0 (>= 0.2.0~)'"

# ---- install -----------------------------------------------------------------------------
printf '%s\n' "${PKGS[@]}" >"$MARKER"
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o DPkg::Lock::Timeout=300 "${debs[@]}" >"$work/install.log" 2>&1; then
	cat "$work/install.log"
	err "installing the packages failed"
	exit 1
fi
ok "installed ${PKGS[*]}"
[ $ref_installed -eq 1 ] && check "containernetworking-plugins still installed and intact (dpkg -V)" \
	sh -c 'dpkg-query -W -f="\${Status}" containernetworking-plugins | grep -q "install ok installed" && [ -z "$(dpkg -V containernetworking-plugins)" ]'

# ---- use ---------------------------------------------------------------------------------
out=$(env -u LD_LIBRARY_PATH /usr/bin/cnitool --version 2>&1)
check "/usr/bin/cnitool --version runs: $out" grep -q '^cnitool (libcni-c' <<<"$out"
check "cnitool's default CNI_PATH is $PLUGIN_DIR" sh -c "cnitool --help | grep -qF '(default $PLUGIN_DIR)'"
check "no RPATH in the packaged cnitool (the library is in a system directory)" \
	sh -c "! readelf -d /usr/bin/cnitool | grep -qE 'RPATH|RUNPATH'"
out=$(CNI_COMMAND=VERSION "$PLUGIN_DIR/bridge" </dev/null 2>&1)
check "packaged bridge answers VERSION" grep -q '"supportedVersions"' <<<"$out"
out=$(CNI_COMMAND=VERSION "$PLUGIN_DIR/sample" </dev/null 2>&1)
check "packaged sample (linked to libcni-c.so.0) answers VERSION" grep -q '"supportedVersions"' <<<"$out"
check "pkg-config finds the -dev package" sh -c "pkg-config --exists libcni-c && [ \"\$(pkg-config --variable=plugindir libcni-c)\" = $PLUGIN_DIR ]"
mkdir -p "$work/user"
# shellcheck disable=SC2046
if cc -Wall -Wextra -Werror -o "$work/user/my-plugin" "$src/plugins/sample/sample.c" \
	$(pkg-config --cflags --libs libcni-c) >"$work/user/cc.log" 2>&1; then
	out=$(env -u LD_LIBRARY_PATH CNI_COMMAND=VERSION "$work/user/my-plugin" </dev/null 2>&1)
	check "a plugin built with the -dev package's pkg-config line runs" grep -q '"supportedVersions"' <<<"$out"
else
	cat "$work/user/cc.log"
	err "building the sample against the -dev package failed"
fi
cat >"$work/user/CMakeLists.txt" <<'EOC'
cmake_minimum_required(VERSION 3.18)
project(user LANGUAGES C)
find_package(libcni-c 0.1 REQUIRED)
add_executable(static-user ${SAMPLE})
target_link_libraries(static-user PRIVATE libcni-c::cni-c-static)
EOC
check "find_package(libcni-c) and the static library of the -dev package link a plugin" \
	sh -c "cmake -S '$work/user' -B '$work/user/b' -DSAMPLE='$src/plugins/sample/sample.c' >'$work/user/cmake.log' 2>&1 &&
		cmake --build '$work/user/b' >>'$work/user/cmake.log' 2>&1 &&
		CNI_COMMAND=VERSION '$work/user/b/static-user' </dev/null | grep -q supportedVersions"
for page in cnitool libcni-c cni-bridge cni-host-local cni-portmap; do
	check "man $page renders" sh -c "MANWIDTH=80 man $page 2>/dev/null | grep -q '^NAME'"
done
check "bash completion of cnitool installed" test -f /usr/share/bash-completion/completions/cnitool

# ---- podman on the packaged plugins --------------------------------------------------------
PLUGIN_DIR=$PLUGIN_DIR "$src/tests/podman/podman-acceptance.sh" "$work" >"$work/podman.log" 2>&1
rc=$?
grep -E '^(ok|FAIL|SKIP)' "$work/podman.log" | sed 's/^/    podman: /' | tail -40
case $rc in
0) ok "podman runs containers on $PLUGIN_DIR (tests/podman/podman-acceptance.sh)" ;;
77) echo "SKIP - podman on the packages: $(grep -m1 SKIP "$work/podman.log")" ;;
*) err "podman on the packaged plugins (log: $work/podman.log)" ;;
esac

# ---- purge and look --------------------------------------------------------------------------
purge
left=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv 'not-installed' && left+=("$p")
done
check "purged: no package left" test ${#left[@]} -eq 0
check "purged: $PLUGIN_DIR and /usr/bin/cnitool gone" sh -c "[ ! -e /usr/lib/libcni-c ] && [ ! -e /usr/bin/cnitool ]"
[ $ref_installed -eq 1 ] && check "containernetworking-plugins still installed after the purge" \
	sh -c 'dpkg-query -W -f="\${Status}" containernetworking-plugins | grep -q "install ok installed"'

echo "debian packages: $passes passed, $([ $fail -eq 0 ] && echo 0 || echo some) failed"
exit $fail
