# SPDX-License-Identifier: Apache-2.0
# bash completion for cnitool: commands, network names from $NETCONFPATH, namespace names
# from /run/netns (or paths).

# The "name" of each config in $NETCONFPATH (no JSON parser needed: the first "name" key).
_cnitool_networks()
{
	local dir=${NETCONFPATH:-/etc/cni/net.d} f
	for f in "$dir"/*.conflist "$dir"/*.conf "$dir"/*.json; do
		[ -f "$f" ] || continue
		sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$f" 2>/dev/null | head -n 1
	done
}

_cnitool()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local commands="add check del gc status version --help --version"

	case $COMP_CWORD in
	1)
		mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		;;
	2)
		case ${COMP_WORDS[1]} in
		add | check | del | gc | status | version)
			mapfile -t COMPREPLY < <(compgen -W "$(_cnitool_networks)" -- "$cur")
			;;
		esac
		;;
	3)
		case ${COMP_WORDS[1]} in
		add | check | del | gc | status)
			if [[ $cur == */* ]]; then
				mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			else
				local names
				names=$(ls /run/netns 2>/dev/null)
				mapfile -t COMPREPLY < <(compgen -W "$names" -- "$cur")
			fi
			;;
		esac
		;;
	esac
}
complete -F _cnitool cnitool
