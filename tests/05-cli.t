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
is "$(rawkit-info --json d.img | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["volumes"][1]["used_bytes"])')" \
	4096 "--json: swap copies only its header page"

done_testing
