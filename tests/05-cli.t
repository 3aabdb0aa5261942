#!/bin/bash
# Command-line contract of every tool: --help, --version, usage errors,
# exit codes, and --help options documented in the man page.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

MAN=$TESTS_DIR/../man

rawkit-info --help >out.txt 2>err.txt
is "$?" 0 "rawkit-info --help exits 0"
like "$(head -n1 out.txt)" "^Usage: rawkit-info " "--help prints usage on stdout"
is "$(wc -c <err.txt)" 0 "--help prints nothing on stderr"
like "$(rawkit-info --version)" "^rawkit-info [0-9]+\\.[0-9]+" "--version"
rawkit-info --bogus >out.txt 2>err.txt
is "$?" 2 "unknown option exits 2"
like "$(head -n1 err.txt)" "^rawkit-info: " "unknown option: message names the program"
like "$(tail -n1 err.txt)" "Try 'rawkit-info --help'" "unknown option: points at --help"
rawkit-info >/dev/null 2>err.txt
is "$?" 2 "no disk: exit 2"
rawkit-info a b >/dev/null 2>err.txt
is "$?" 2 "two disks: exit 2"

for t in clone p2v v2p; do
	"rawkit-$t" >/dev/null 2>err.txt
	is "$?" 2 "rawkit-$t without arguments: usage error, exit 2"
	like "$(head -n1 err.txt)" "^rawkit-$t: " "rawkit-$t: the message names the program"
done

# Every option --help shows is in the man page.
for bin in "$RAWKIT_BIN"/rawkit-*; do
	name=$(basename "$bin")
	[ -f "$MAN/$name.1" ] || continue
	MANWIDTH=200 man -l "$MAN/$name.1" 2>/dev/null | col -b >page.txt
	cp page.txt "page-${name#rawkit-}.txt"
	for o in $("$bin" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		ok "$name: $o is in $name.1" grep -qF -- "$o" page.txt
	done
done
ok "rawkit-info has a man page" test -f "$MAN/rawkit-info.1"
ok "rawkit-lanfree has a man page" test -f "$MAN/rawkit-lanfree.1"
ok "rawkit-clone has a man page" test -f "$MAN/rawkit-clone.1"
ok "rawkit-p2v has a man page" test -f "$MAN/rawkit-p2v.1"
like "$(rawkit-p2v --help | head -n1)" "^Usage: rawkit-p2v \\[OPTIONS\\] SOURCE TARGET" "rawkit-p2v --help starts with its usage"
ok "rawkit-v2p has a man page" test -f "$MAN/rawkit-v2p.1"
like "$(rawkit-v2p --help | head -n1)" "^Usage: rawkit-v2p \\[OPTIONS\\] IMAGE TARGET_DISK" "rawkit-v2p --help starts with its usage"
like "$(rawkit-clone --help | head -n1)" "^Usage: rawkit-clone \\[OPTIONS\\] GOLDEN TARGET" "rawkit-clone --help starts with its usage"
rawkit-clone --bogus >/dev/null 2>err.txt
is "$?" 2 "rawkit-clone: unknown option exits 2"
# every operation --list-operations shows is in the man page
MANWIDTH=200 man -l "$MAN/rawkit-clone.1" 2>/dev/null | col -b >clone-page.txt
for op in $(rawkit-clone --list-operations | cut -d' ' -f1); do
	ok "rawkit-clone: operation $op is in rawkit-clone.1" grep -qF -- "$op" clone-page.txt
done
like "$(rawkit-lanfree --help | head -n1)" "^Usage: rawkit-lanfree init +REPO" "rawkit-lanfree --help starts with its usage"
ok "rawkit(7) exists" test -f "$MAN/rawkit.7"
ok "man pages format without warnings" sh -c "for m in '$MAN'/*.[17]; do LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l \"\$m\" 2>&1 >/dev/null | grep . && exit 1; done; exit 0"


# ---- one command-line scaffold (issue #11): -h everywhere, one wording for
# usage errors, options a command does not take refused, a full stdout fails.
sub_commands() { # TOOL: its subcommands, from the "Commands:" list of --help
	"rawkit-$1" --help | sed -n '/^Commands:/,/^[^ ]/s/^  \([a-z][a-z0-9-]*\)  .*/\1/p'
}
for t in info lanfree clone p2v v2p; do
	"rawkit-$t" -h >out.txt 2>err.txt
	is "$?" 0 "rawkit-$t -h exits 0"
	like "$(head -n1 out.txt)" "^Usage: rawkit-$t" "rawkit-$t -h prints the usage on stdout"
	is "$(wc -c <err.txt)" 0 "rawkit-$t -h prints nothing on stderr"
	cmp -s out.txt <("rawkit-$t" --help)
	is "$?" 0 "rawkit-$t: -h and --help print the same"
	rawkit-$t --bogus >/dev/null 2>err.txt
	is "$?" 2 "rawkit-$t --bogus: exit 2"
	like "$(cat err.txt)" "^rawkit-$t: (--bogus: not an option of this command|--bogus: not an option before a command)
Try 'rawkit-$t --help' for more information.$" "rawkit-$t --bogus: one wording, a pointer to --help"
	"rawkit-$t" --help >/dev/full 2>err.txt
	is "$?" 1 "rawkit-$t --help >/dev/full: exit 1"
	is "$(cat err.txt)" "rawkit-$t: write error: No space left on device" "rawkit-$t --help >/dev/full: one line"
done
is "$(sub_commands lanfree | tr '\n' ' ')" "init backup list ls find diff restore restore-disk export mount verify prune run " "rawkit-lanfree --help lists its commands"
is "$(sub_commands p2v | tr '\n' ' ')" "send receive " "rawkit-p2v --help lists its commands"
for t in lanfree p2v; do
	all=$(for c in $(sub_commands $t); do "rawkit-$t" "$c" --help | sed -n 's/^  \(-[a-z], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p'; done | sort -u)
	for c in $(sub_commands $t); do
		"rawkit-$t" "$c" -h >out.txt 2>err.txt
		is "$?:$(wc -c <err.txt)" "0:0" "rawkit-$t $c -h: exit 0, nothing on stderr"
		like "$(head -n1 out.txt)" "^Usage: rawkit-$t $c " "rawkit-$t $c -h: the command's usage"
		mine=$(sed -n 's/^  \(-[a-z], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p' out.txt | sort -u)
		# every option of the other commands that this one lacks is refused, with one wording
		for o in $(comm -23 <(echo "$all") <(echo "$mine")); do
			"rawkit-$t" "$c" a b c "$o" 1 >/dev/null 2>err.txt
			is "$?" 2 "rawkit-$t $c $o: refused, exit 2"
			like "$(head -n1 err.txt)" "^rawkit-$t: $c: $o: not an option of this command$" "rawkit-$t $c $o: says so"
			like "$(tail -n1 err.txt)" "^Try 'rawkit-$t $c --help' for more information.$" "rawkit-$t $c $o: points at the command's --help"
		done
		# every option the command's --help shows is in the man page
		for o in $mine; do
			ok "rawkit-$t $c: $o is in rawkit-$t.1" grep -qF -- "$o" "page-$t.txt"
		done
	done
done
# rawkit-lanfree: each command's options are the ones its SYNOPSIS line in the man page shows
MANWIDTH=1000 man -l "$MAN/rawkit-lanfree.1" 2>/dev/null | col -b | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' >synopsis.txt
for c in $(sub_commands lanfree); do
	help=$(rawkit-lanfree "$c" --help | sed -n 's/^  \(-[a-z], \)\{0,1\}\(-[a-z]\|--[a-z][a-z0-9-]*\).*/\2/p' | grep -vx -e --help -e --version | sort -u | tr '\n' ' ')
	man=$(grep -E "^ *rawkit-lanfree $c " synopsis.txt | grep -oE -- '(^|[ [|])(-[a-z]|--[a-z][a-z0-9-]*)' | tr -d ' [|' | sort -u | tr '\n' ' ')
	is "$help" "$man" "rawkit-lanfree $c: --help and the man page's SYNOPSIS show the same options"
done

# a missing value: one wording in every tool
missing() { # WANT ARGS...: exit 2 and the message WANT
	local want=$1
	shift
	"$@" >/dev/null 2>err.txt
	is "$?" 2 "$*: exit 2"
	is "$(head -n1 err.txt)" "$want" "$*: one wording for a missing value"
}
missing "rawkit-lanfree: backup: --name needs a value" rawkit-lanfree backup repo d.img --name
missing "rawkit-clone: --hostname needs a value" rawkit-clone g.img t.img --hostname
missing "rawkit-p2v: send: --compress needs a value" rawkit-p2v send s.img --compress
missing "rawkit-v2p: --drivers needs a value" rawkit-v2p i.img t.img --drivers
# --jobs: one range everywhere
missing 'rawkit-clone: --jobs: must be 1..1024, not "1025"' rawkit-clone --jobs 1025 g.img t.img
missing 'rawkit-lanfree: backup: --jobs: must be 1..1024, not "1025"' rawkit-lanfree backup repo d.img --jobs 1025
missing 'rawkit-lanfree: backup: --jobs: must be 1..1024, not "0"' rawkit-lanfree backup repo d.img --jobs 0
# exclusive options
missing "rawkit-v2p: --fit and --grow are mutually exclusive" rawkit-v2p --fit --grow i.img t.img
missing "rawkit-v2p: --grow and --no-resize are mutually exclusive" rawkit-v2p --no-resize --grow i.img t.img
missing "rawkit-clone: --in-place and --overwrite are mutually exclusive" rawkit-clone --in-place --overwrite d.img
missing "rawkit-p2v: --in-place and --overwrite are mutually exclusive" rawkit-p2v --in-place --overwrite d.img
missing "rawkit-clone: --json and --progress are mutually exclusive" rawkit-clone --json --progress g.img t.img
missing "rawkit-lanfree: backup: --json and --progress are mutually exclusive" rawkit-lanfree backup repo d.img --json --progress
missing "rawkit-p2v: send: --dry-run: not an option of this command" rawkit-p2v send --dry-run s.img

# Output on a real disk: text and JSON.
mkdisk d.img 40M <<'S'
label: gpt
start=2048, size=20M, type=linux, name="root"
size=10M, type=swap
S
put_ext4 d.img 1 -L rootfs
put_fs swap d.img 2
rawkit-info d.img >out.txt
is "$?" 0 "rawkit-info on a disk exits 0"
like "$(grep '^p1 ' out.txt)" "Linux filesystem +ext4 .* rootfs" "text: p1 line names type, filesystem and label"
like "$(grep '^p2 ' out.txt)" "swap" "text: p2 is swap"
like "$(tail -n1 out.txt)" "^used: .* of 40.0 MiB would be copied$" "text: used summary"
ok "--json is valid JSON" sh -c 'rawkit-info --json d.img | python3 -m json.tool >/dev/null'
rawkit-info --json d.img >/dev/full 2>err.txt
is "$?" 1 "rawkit-info --json DISK >/dev/full: a full stdout is a failure"
is "$(cat err.txt)" "rawkit-info: write error: No space left on device" "rawkit-info >/dev/full: one line"
rawkit-info d.img >/dev/full 2>err.txt
is "$?:$(cat err.txt)" "1:rawkit-info: write error: No space left on device" "rawkit-info DISK (text) >/dev/full: exit 1, one line"
rawkit-clone --list-operations >/dev/full 2>err.txt
is "$?:$(cat err.txt)" "1:rawkit-clone: write error: No space left on device" "rawkit-clone --list-operations >/dev/full: exit 1, one line"
cp d.img t.img
rawkit-v2p --dry-run --json d.img t.img >/dev/full 2>err.txt
is "$?:$(tail -n1 err.txt)" "1:rawkit-v2p: write error: No space left on device" "rawkit-v2p --dry-run --json >/dev/full: exit 1"
rawkit-p2v --dry-run --json d.img never.img >/dev/full 2>err.txt
is "$?:$(tail -n1 err.txt)" "1:rawkit-p2v: write error: No space left on device" "rawkit-p2v --dry-run --json >/dev/full: exit 1"
is "$(rawkit-info --json d.img | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["volumes"][1]["used_bytes"])')" \
	4096 "--json: swap copies only its header page"

done_testing
