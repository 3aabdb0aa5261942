# bash completion for the rawkit tools (rawkit-info, rawkit-lanfree,
# rawkit-clone, rawkit-p2v, rawkit-v2p).  Commands and options come from
# the tools' own --help, so completion never disagrees with the program;
# rawkit-lanfree's GUEST arguments from the repository's list.

# The subcommands of TOOL, from the "Commands:" block of its --help.
_rawkit_commands()
{
	"$1" --help 2>/dev/null | sed -n '/^Commands:/,/^[^ ]/s/^  \([a-z][a-z0-9-]*\)  .*/\1/p'
}

# The long and short options of TOOL [COMMAND], from its --help.
_rawkit_options()
{
	"$@" --help 2>/dev/null | grep -o -- '\(^\|[ ,[]\)--\?[a-zA-Z][a-z0-9-]*' | tr -d ' ,[' | sort -u
}

# The options of TOOL [COMMAND] that take a value ("--name GUEST" in --help).
_rawkit_valued()
{
	"$@" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]* [A-Z][A-Z|=-]*' | cut -d' ' -f1 | sort -u
}

# Guests of the repository REPO (rawkit-lanfree list).
_rawkit_guests()
{
	[ -n "$1" ] || return 0
	rawkit-lanfree list "$1" 2>/dev/null | awk 'NR > 1 { print $1 }' | sort -u
}

_rawkit()
{
	local cur prev tool=$1 cmd="" i repo="" nargs=0
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmds
	cmds=$(_rawkit_commands "$tool")
	local valued="" skip=0
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [ $skip = 1 ]; then skip=0; continue; fi
		case ${COMP_WORDS[i]} in
		--*=*) ;;
		-*) [ -n "$cmd" ] && [ -z "$valued" ] && valued=$(_rawkit_valued "$tool" "$cmd")
		    grep -qx -- "${COMP_WORDS[i]}" <<<"$valued" && skip=1 ;;
		*) if [ -z "$cmd" ] && [ -n "$cmds" ] && grep -qx -- "${COMP_WORDS[i]}" <<<"$cmds"; then
			cmd=${COMP_WORDS[i]}
		   elif [ -n "$cmd" ]; then
			nargs=$((nargs + 1))
			[ $nargs -eq 1 ] && repo=${COMP_WORDS[i]}
		   fi ;;
		esac
	done
	# an option that takes a value: a file, or nothing to offer
	case $prev in
	--to|--config|--against|--save-map|--map) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
	--level) COMPREPLY=($(compgen -W "full incr diff" -- "$cur")); return 0 ;;
	--compress) COMPREPLY=($(compgen -W "zstd gzip none" -- "$cur")); return 0 ;;
	--rebuild) COMPREPLY=($(compgen -W "inject appliance none" -- "$cur")); return 0 ;;
	--name|--jobs|--keep-*|--wait-lock|--exclude|--block-size|--grow) return 0 ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_rawkit_options "$tool" $cmd)" -- "$cur"))
		return 0
	fi
	if [ -n "$cmds" ] && [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		return 0
	fi
	# rawkit-lanfree: the argument after REPO is a GUEST for most commands
	if [ "$tool" = rawkit-lanfree ] && [ $nargs -eq 1 ]; then
		case $cmd in
		list|ls|find|restore|restore-disk|verify|prune|diff|export)
			COMPREPLY=($(compgen -W "$(_rawkit_guests "$repo")" -- "$cur"))
			[ ${#COMPREPLY[@]} -gt 0 ] && return 0 ;;
		esac
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
	return 0
}
complete -o filenames -F _rawkit rawkit-info rawkit-lanfree rawkit-clone rawkit-p2v rawkit-v2p
