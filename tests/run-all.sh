#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test command (README, .ci/run): on Debian 12 as root it installs what is
# missing, then
#   1. builds with -Werror (RelWithDebInfo, static library too) and runs every ctest label
#      (unit, integration, interop, fuzz, abi, fault),
#   2. rebuilds with AddressSanitizer + UBSan and runs the unit tests again,
#   3. runs the unit tests of build 1 under valgrind (memcheck, leaks are errors),
#   4. builds the fully static multi-call binary (CNI_MULTICALL_STATIC) and runs the tests
#      that run plugins against it (nftables through nft(8) there),
#   5. with clang: builds the libFuzzer targets and fuzzes each for FUZZ_SECONDS (8),
#   6. boots Debian's user-mode Linux kernel (6.1, with 802.1Q, ipvlan, dummy, VRF and bridge
#      VLAN filtering, which the machines' kernel lacks) and runs the integration suite of
#      build 1 once more inside it (tests/kernel/run.sh; docs/kernel-tests.md),
# and ends with one summary line. Exit status 0 only when every step passed.
#
# Environment: BUILD_DIR (default build-ci; the sanitizer build is $BUILD_DIR-asan, the
# static one $BUILD_DIR-static), JOBS (default nproc), SKIP_DEPS=1 (never touch packages),
# CTEST_ARGS (extra ctest args), CMAKE_ARGS (extra configure args for every build),
# FUZZ_SECONDS (per libFuzzer target in step 5; its build is $BUILD-fuzz).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-ci}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
ASAN_BUILD=$BUILD-asan
STATIC_BUILD=$BUILD-static
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
START=$(date +%s)

PACKAGES=(build-essential cmake pkg-config libjansson-dev libnl-3-dev libnl-route-3-dev libnftables-dev
	libcmocka-dev containernetworking-plugins golang-go golang-github-appc-cni-dev
	iproute2 iptables nftables iputils-ping valgrind clang binutils procps python3
	iperf3 podman runc busybox-static strace scdoc man-db dpkg-dev debhelper lintian fakeroot
	user-mode-linux kmod dnsmasq-base openvswitch-switch-dpdk dpdk dpdk-dev
	etcd-server etcd-client libcurl4-openssl-dev)

say() { printf '\n=== %s\n' "$*"; }
RESULTS=()
FAILED=0
record() { # <step> <status text> <ok:0|1>
	RESULTS+=("$1: $2")
	[ "$3" -eq 0 ] || FAILED=1
}
summary() {
	local secs=$(($(date +%s) - START))
	say "summary"
	printf '  %s\n' "${RESULTS[@]}"
	if [ $FAILED -eq 0 ]; then
		echo "run-all: PASS ($(IFS=';'; echo "${RESULTS[*]}" | sed 's/;/; /g')) in ${secs}s"
		exit 0
	fi
	echo "run-all: FAIL ($(IFS=';'; echo "${RESULTS[*]}" | sed 's/;/; /g')) in ${secs}s"
	exit 1
}

# ---- 0. packages -------------------------------------------------------------------------
install_deps() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		echo "all ${#PACKAGES[@]} packages present"
		return 0
	fi
	echo "missing: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "not root: install them first (apt-get install ${missing[*]})" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

if [ "${SKIP_DEPS:-0}" != 1 ] && command -v dpkg-query >/dev/null; then
	say "packages"
	if install_deps; then record deps ok 0; else record deps "install failed" 1; summary; fi
fi

# ctest -> "passed/total (N skipped)" in CT_RESULT, returns ctest's status.
run_ctest() { # <build-dir> <log> <ctest args...>
	local dir=$1 log=$2 rc
	shift 2
	(cd "$dir" && ctest --output-on-failure --timeout 600 -j"$JOBS" ${CTEST_ARGS:-} "$@") 2>&1 |
		tee "$log"
	rc=${PIPESTATUS[0]}
	ctest_counts "$log"
	return "$rc"
}

# ctest_counts <log>: "passed/total passed (N skipped)" of a ctest log in CT_RESULT
ctest_counts() {
	local log=$1 total failed skipped
	total=$(sed -n 's/.* tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
	failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
	skipped=$(grep -c '\*\*\*Skipped' "$log")
	CT_RESULT="$(( ${total:-0} - ${failed:-0} ))/${total:-0} passed"
	[ "$skipped" -gt 0 ] && CT_RESULT+=" ($skipped skipped)"
	[ -n "$total" ] || CT_RESULT="no tests ran"
}

# configure_build <dir> <cmake args...>: configure (log in <dir>/configure.log) and build
configure_build() {
	local dir=$1
	shift
	mkdir -p "$dir"
	if cmake -S "$ROOT" -B "$dir" "$@" ${CMAKE_ARGS:-} >"$dir/configure.log" 2>&1 &&
		cmake --build "$dir" -j"$JOBS"; then
		return 0
	fi
	tail -50 "$dir/configure.log"
	return 1
}

# ---- 1. -Werror build, every label ------------------------------------------------------
say "build ($BUILD, RelWithDebInfo, -Werror)"
if configure_build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCNI_WERROR=ON \
	-DCNI_BUILD_STATIC=ON -DCNI_SANITIZE=OFF; then
	record build ok 0
	BUILD_OK=1
else
	record build FAILED 1
	BUILD_OK=0
fi

if [ $BUILD_OK -eq 1 ]; then
	say "ctest (all labels)"
	if run_ctest "$BUILD" "$BUILD/ctest-all.log"; then
		record ctest "$CT_RESULT" 0
	else
		record ctest "$CT_RESULT, FAILED" 1
	fi
fi

# ---- 2. sanitizers, unit tests ----------------------------------------------------------
say "ASan+UBSan build ($ASAN_BUILD), unit tests"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# one executable per plugin here (CNI_MULTICALL=OFF), so that layout is built and run too
if configure_build "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=Debug -DCNI_WERROR=ON -DCNI_SANITIZE=ON \
	-DCNI_MULTICALL=OFF; then
	if run_ctest "$ASAN_BUILD" "$ASAN_BUILD/ctest-unit.log" -L "unit|fuzz"; then
		record asan-unit "$CT_RESULT" 0
	else
		record asan-unit "$CT_RESULT, FAILED" 1
	fi
else
	record asan-build FAILED 1
fi
unset ASAN_OPTIONS UBSAN_OPTIONS

# ---- 3. valgrind, unit tests of build 1 -------------------------------------------------
if [ $BUILD_OK -eq 1 ]; then
	say "valgrind (unit tests of $BUILD)"
	vg_total=0 vg_failed=0 vg_names=()
	# ctest -N -V prints each test's command line; run the ELF ones under memcheck.
	while IFS= read -r line; do
		eval "cmd=( $line )"
		exe=${cmd[0]}
		[ -f "$exe" ] && [ "$(head -c4 "$exe" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
		vg_total=$((vg_total + 1))
		log=$BUILD/valgrind-$(basename "$exe").log
		if (cd "$(dirname "$exe")" && CMOCKA_MESSAGE_OUTPUT=stdout valgrind -q \
			--leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 "${cmd[@]}") >"$log" 2>&1; then
			echo "ok   $(basename "$exe")"
		else
			vg_failed=$((vg_failed + 1))
			vg_names+=("$(basename "$exe")")
			echo "FAIL $(basename "$exe") (log: $log)"
			tail -40 "$log"
		fi
	done < <(cd "$BUILD" && ctest -L unit -N -V 2>/dev/null | sed -n 's/^[0-9]*: Test command: //p')
	if [ $vg_total -eq 0 ]; then
		record valgrind "no unit tests found" 1
	elif [ $vg_failed -eq 0 ]; then
		record valgrind "$vg_total/$vg_total clean" 0
	else
		record valgrind "$((vg_total - vg_failed))/$vg_total clean, FAILED: ${vg_names[*]}" 1
	fi
fi

# ---- 4. the fully static multi-call binary, the tests that run plugins -------------------
if [ $BUILD_OK -eq 1 ]; then
	say "static multi-call build ($STATIC_BUILD), plugin tests"
	if configure_build "$STATIC_BUILD" -DCMAKE_BUILD_TYPE=Release -DCNI_WERROR=ON \
		-DCNI_MULTICALL_STATIC=ON; then
		if run_ctest "$STATIC_BUILD" "$STATIC_BUILD/ctest-static.log" \
			-R 'ptp|bridge$|portmap|firewall|tuning|loopback|userspace|e2e|podman|nft_exec|dhcp/integration'; then
			record static-plugins "$CT_RESULT" 0
		else
			record static-plugins "$CT_RESULT, FAILED" 1
		fi
	else
		record static-build FAILED 1
	fi
fi

# ---- 5. a short fuzzing run of every libFuzzer target (when clang is there) ------------
FUZZ_BUILD=$BUILD-fuzz
if command -v clang >/dev/null; then
	say "libFuzzer ($FUZZ_BUILD), ${FUZZ_SECONDS:-8} s per target"
	mkdir -p "$FUZZ_BUILD"
	if CC=clang cmake -S "$ROOT" -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCNI_FUZZ=ON \
		${CMAKE_ARGS:-} >"$FUZZ_BUILD/configure.log" 2>&1 &&
		targets=$(cmake --build "$FUZZ_BUILD" --target help | sed -n 's/^\.\.\. \(.*-libfuzzer\)$/\1/p') &&
		[ -n "$targets" ] && cmake --build "$FUZZ_BUILD" -j"$JOBS" --target $targets; then
		fz_total=0 fz_failed=()
		for t in $targets; do
			exe=$(find "$FUZZ_BUILD" -type f -name "$t" | head -1)
			# its corpus: corpus/<subject> or corpus/plugin-<plugin>, copied (new inputs
			# stay out of the tree)
			subject=${t#fuzz_}
			subject=${subject%-libfuzzer}
			case $subject in plugin_*) subject=plugin-$(echo "${subject#plugin_}" | tr _ -) ;; esac
			work=$FUZZ_BUILD/run-$subject
			rm -rf "$work" && mkdir -p "$work"
			[ -d "$ROOT/tests/fuzz/corpus/$subject" ] && cp -r "$ROOT/tests/fuzz/corpus/$subject/." "$work/"
			fz_total=$((fz_total + 1))
			if (cd "$FUZZ_BUILD" && "$exe" -max_total_time="${FUZZ_SECONDS:-8}" -timeout=10 \
				-rss_limit_mb=2048 "$work") >"$FUZZ_BUILD/$t.log" 2>&1; then
				echo "ok   $t"
			else
				fz_failed+=("$t")
				echo "FAIL $t (log: $FUZZ_BUILD/$t.log)"
				tail -30 "$FUZZ_BUILD/$t.log"
			fi
		done
		if [ ${#fz_failed[@]} -eq 0 ]; then
			record fuzz-run "$fz_total/$fz_total clean" 0
		else
			record fuzz-run "$((fz_total - ${#fz_failed[@]}))/$fz_total clean, FAILED: ${fz_failed[*]}" 1
		fi
	else
		tail -30 "$FUZZ_BUILD/configure.log"
		record fuzz-build FAILED 1
	fi
fi

# ---- 6. the user-mode kernel: the integration suite of build 1 once more ------------------
if [ $BUILD_OK -eq 1 ]; then
	say "user-mode kernel (Linux 6.1 under UML), integration tests of $BUILD"
	"$ROOT/tests/kernel/run.sh" "$BUILD" ${CTEST_ARGS:-} 2>&1 | tee "$BUILD/ctest-kernel.log"
	rc=${PIPESTATUS[0]}
	ctest_counts "$BUILD/ctest-kernel.log"
	nft=$(grep -c "^SKIP: this kernel's nf_tables" "$BUILD/ctest-kernel.log")
	[ "$nft" -gt 0 ] && CT_RESULT+=" ($nft nftables cases run on the host kernel only)"
	case $rc in
	0) record kernel "$CT_RESULT" 0 ;;
	124) record kernel "timed out ($CT_RESULT)" 1 ;;
	125) record kernel "the user-mode kernel did not run the tests" 1 ;;
	*) record kernel "$CT_RESULT, FAILED" 1 ;;
	esac
fi

summary
