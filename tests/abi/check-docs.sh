#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The manual pages and the bash completion, as a user meets them:
#  - cnitool(1), libcni-c(3) and a cni-<plugin>(8) for every plugin the build made;
#  - each renders with `man -l` without a groff warning and has NAME and SYNOPSIS;
#  - a plugin's page names every key of its reference table in docs/ (docs/plugins/<p>.md,
#    docs/host-local.md);
#  - the completion script loads in bash and completes commands, the networks of
#    $NETCONFPATH and the namespaces of /run/netns (one it makes, root only).
# Usage: check-docs.sh <man-build-dir> <plugins-bin> <source-dir> <work-dir>
set -uo pipefail

mandir=$1 bin=$2 src=$3 work=$4
rm -rf "$work" && mkdir -p "$work" || exit 1
fail=0
err() {
	echo "FAIL: $*" >&2
	fail=1
}
command -v man >/dev/null || { echo "SKIP: no man(1)"; exit 77; }

pages=("$mandir/cnitool.1" "$mandir/libcni-c.3")
for p in "$bin"/*; do
	n=${p##*/}
	[ "$n" = cni-plugins ] && continue
	pages+=("$mandir/cni-$n.8")
	# etcd-ipam's operator tool comes with it
	[ "$n" = etcd-ipam ] && pages+=("$mandir/etcd-ipam-admin.1")
done
for page in "${pages[@]}"; do
	name=${page##*/}
	[ -f "$page" ] || { err "no manual page $name"; continue; }
	MANWIDTH=80 man --warnings -l "$page" >"$work/$name.txt" 2>"$work/$name.warn"
	[ -s "$work/$name.warn" ] && err "$name: man -l warns: $(head -3 "$work/$name.warn")"
	grep -q '^NAME' "$work/$name.txt" && grep -q '^SYNOPSIS' "$work/$name.txt" ||
		err "$name: rendered without NAME or SYNOPSIS"
done

# Every key of the plugin's table in docs/ (the first table with `key` rows) is on its page.
for page in "$mandir"/cni-*.8; do
	p=${page##*/cni-}
	p=${p%.8}
	doc=$src/docs/plugins/$p.md
	[ "$p" = host-local ] && doc=$src/docs/host-local.md
	[ -f "$doc" ] || continue
	text=$(tr -s ' \n' ' ' <"$work/cni-$p.8.txt" | sed 's/‐ //g')
	n=0
	while IFS= read -r key; do
		n=$((n + 1))
		grep -qF -- "$key" <<<"$text" || err "cni-$p(8) does not name the key '$key' of ${doc#"$src"/}"
	done < <(awk -F'|' '/^\| `/ { t = 1; print $2; next } t && !/^\|/ { exit }' "$doc" | grep -oE '`[^`]+`' | tr -d '`' |
		grep -E '^[A-Za-z][A-Za-z0-9.{},]*$' | sort -u)
	[ $n -gt 0 ] || err "no keys read from ${doc#"$src"/}"
done

# The completion.
comp=$src/tools/cnitool/cnitool.bash
mkdir -p "$work/net.d"
echo '{"cniVersion": "1.0.0", "name": "alpha-net", "plugins": [{"type": "ptp"}]}' >"$work/net.d/10-a.conflist"
echo '{"cniVersion": "1.0.0", "name": "beta-net", "type": "loopback"}' >"$work/net.d/20-b.conf"
complete_words() { # <words...>: what completing the last word offers
	NETCONFPATH=$work/net.d bash -c '
		source "$0" || exit 1
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		_cnitool; printf "%s\n" "${COMPREPLY[@]}"' "$comp" "$@" 2>&1 | sort | tr '\n' ' '
}
got=$(complete_words cnitool ch)
[ "$got" = "check " ] || err "completing 'cnitool ch' gave '$got'"
got=$(complete_words cnitool add "")
[ "$got" = "alpha-net beta-net " ] || err "completing networks gave '$got'"
got=$(complete_words cnitool version b)
[ "$got" = "beta-net " ] || err "completing 'version b' gave '$got'"
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null; then
	. "$(dirname "$0")/../integration/nslib.sh"
	nsl_trap
	if nsl_new ns "cni-doc-$RANDOM" 2>/dev/null; then
		got=$(complete_words cnitool add alpha-net "${ns%-*}")
		[ "$got" = "$ns " ] || err "completing a namespace name gave '$got', want '$ns'"
		nsl_cleanup
	fi
fi

[ $fail -eq 0 ] && echo "manual pages (${#pages[@]}) and completion: ok"
exit $fail
