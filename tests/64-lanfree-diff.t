#!/bin/bash
# rawkit-lanfree diff: what changed between two generations of a guest, from
# the catalog alone: added, removed, content, metadata and type changes, each
# path once, sorted, names escaped; the default pair, one generation against
# the newest, two in either order; --json; bad generation specs.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && losetup -f >/dev/null 2>&1 || skip_all "needs root and loop devices (the changes are made on a mounted ext4)"
L=rawkit-lanfree

mkdisk g.img 64M <<'S'
label: gpt
start=2048, size=48M, type=linux
S
put_ext4 g.img 1 -b 4096
mount_part g.img 1 src
mkdir -p src/etc src/data src/deep/a/b/c/d src/names src/perm
for f in old same-size mode mtime owner to-dir to-link xattr atime linked; do echo "$f" >"src/etc/$f"; done
echo aaaa >src/data/same-size
head -c 5000 /dev/urandom >src/data/renamed-from
echo deep >src/deep/a/b/c/d/file
ln -s one src/data/link
setfattr -n user.x -v 1 src/etc/xattr
touch -d '2020-01-01 00:00:00' src/etc/mtime src/etc/atime
umount src
ok "init" $L init repo
ok "backup 1 (full)" $L backup repo g.img --name g -q

# ---- the changes (generation 2)
mount_part g.img 1 src
head -c 3000 /dev/urandom >src/etc/new                 # added
rm src/etc/old                                          # removed
echo bbbb >src/data/same-size                           # content, same size
chmod 600 src/etc/mode                                  # mode only
touch -d '2021-02-03 04:05:06.7' src/etc/mtime          # mtime only
chown 1234:5678 src/etc/owner                           # owner only
rm src/etc/to-dir && mkdir src/etc/to-dir               # file -> directory
rm src/etc/to-link && ln -s somewhere src/etc/to-link   # file -> symlink
mv src/data/renamed-from src/data/renamed-to            # rename: removed + added
echo deeper >src/deep/a/b/c/d/file                      # deep in a subtree: only the file
setfattr -n user.x -v 2 src/etc/xattr                   # an xattr value
touch -a -d '2022-01-01 00:00:00' src/etc/atime         # atime (and ctime) alone: not a change
ln src/etc/linked src/etc/linked-too                    # a new link: added; the old name unchanged
rm src/data/link && ln -s two src/data/link             # a symlink's target
chmod 700 src/perm                                      # a directory's own metadata
echo nl >"src/names/new
line"
echo ctl >"src/names/$(printf 'ctl\001\033x')"
echo bs >'src/names/back\slash'
echo latin >"src/names/$(printf 'caf\351')"
umount src
ok "backup 2 (incremental)" $L backup repo g.img --name g -q
versions() { sqlite3 repo/catalog.db "SELECT count(*) FROM versions WHERE name = CAST('$1' AS BLOB)"; }
is "$(versions atime):$(versions linked):$(versions etc)" "2:2:2" \
	"(the atime-only file, the one with a new link and a directory got new version rows: compared, not skipped)"

# every change once, sorted by path byte by byte
cat >want12.txt <<W
m    p1/data/link
-    p1/data/renamed-from
+    p1/data/renamed-to
M    p1/data/same-size
M    p1/deep/a/b/c/d/file
+    p1/etc/linked-too
m    p1/etc/mode
m    p1/etc/mtime
+    p1/etc/new
-    p1/etc/old
m    p1/etc/owner
T    p1/etc/to-dir
T    p1/etc/to-link
m    p1/etc/xattr
+    p1/names/back\\134slash
+    p1/names/caf$(printf '\351')
+    p1/names/ctl\\001\\033x
+    p1/names/new\\012line
m    p1/perm
W
$L diff repo g >out12.txt 2>err.txt
is "$?" 0 "diff REPO GUEST: exit 0"
is "$(wc -c <err.txt)" 0 "diff: nothing on stderr"
is "$(head -n -1 out12.txt)" "$(cat want12.txt)" "diff REPO GUEST (1 -> 2): exactly the expected lines, sorted by path"
like "$(tail -n1 out12.txt)" "^g@1 -> g@2: 7 added, 2 removed, 2 content, 6 metadata, 2 type changed; " "the summary counts each kind"
# bytes: the files added and the new contents; the files removed and the old
# contents (the file that became a directory or a symbolic link: removed)
added=$((3000 + 5000 + 7 + 3 + 4 + 3 + 6 + 5 + 7)) removed=$((4 + 5000 + 5 + 5 + 7 + 8))
like "$(tail -n1 out12.txt)" "; 7\.8 KiB added, 4\.9 KiB removed$" "the summary's bytes added and removed ($added, $removed)"
ok "an atime and ctime change alone is not listed" sh -c "! grep -q etc/atime out12.txt"
ok "the directories whose entries changed are not listed" sh -c "! grep -aqE ' p1(/etc|/data|/deep(/a(/b(/c(/d)?)?)?)?|/names)?$' out12.txt"

# ---- generation 3: one more change
mount_part g.img 1 src
echo three >src/etc/third
umount src
ok "backup 3" $L backup repo g.img --name g -q
is "$($L diff repo g)" "+    p1/etc/third
g@2 -> g@3: 1 added, 0 removed, 0 content, 0 metadata, 0 type changed; 6 B added, 0 B removed" \
	"the default is the two newest generations (2 -> 3)"
is "$($L diff repo g@2 -q)" "+    p1/etc/third" "GUEST@A alone: A against the newest; -q: no summary"
{ cat want12.txt; echo "+    p1/etc/third"; } | LC_ALL=C sort -k2 >want13.txt
is "$($L diff repo g@1 -q)" "$(cat want13.txt)" "g@1 against the newest (1 -> 3): both sets of changes"
is "$($L diff repo g@1 g@latest -q)" "$($L diff repo g@1 -q)" "GUEST@latest names the newest"
is "$($L diff repo g@1 g@2 -q)" "$(head -n -1 out12.txt)" "GUEST@1 GUEST@2 is the default pair named"
$L diff repo g@2 g@1 -q >out21.txt
is "$(cat out21.txt)" "$(head -n -1 out12.txt | sed 's/^+/X/; s/^-/+/; s/^X/-/')" \
	"B before A: added and removed swap, the other changes stay"
is "$($L diff repo g@2 g@2)" "g@2 -> g@2: 0 added, 0 removed, 0 content, 0 metadata, 0 type changed; 0 B added, 0 B removed" \
	"a generation against itself: nothing"

# ---- a full backup records every file anew: still no change
ok "backup 4 (full, nothing changed)" $L backup repo g.img --name g --level full -q
is "$(sqlite3 repo/catalog.db 'SELECT count(*) FROM versions WHERE first_seq = 4')" \
	"$(sqlite3 repo/catalog.db 'SELECT count(*) FROM versions WHERE first_seq <= 3 AND last_seq >= 3')" \
	"(the full backup recorded every version of generation 3 again)"
is "$($L diff repo g -q)" "" "3 -> 4: rows recorded anew but equal are not changes"

# ---- --json
$L diff repo g@1 g@2 --json >d.json
is "$?" 0 "--json: exit 0"
is "$(python3 - <<'P'
import json
d = json.load(open("d.json"))
def name_bytes(s):
    return b"".join(bytes([ord(c) - 0xEF00]) if 0xEF80 <= ord(c) <= 0xEFFF else c.encode() for c in s)
print(d["command"], d["guest"], d["from_generation"], d["to_generation"], d["added"], d["removed"],
      d["content_changed"], d["metadata_changed"], d["type_changed"], d["status"])
print(len(d["changes"]), sorted(set(c["change"] for c in d["changes"])))
c = {name_bytes(x["path"]): x for x in d["changes"]}
print(c[b"p1/etc/mode"]["fields"], c[b"p1/etc/mode"]["old_mode"], c[b"p1/etc/mode"]["new_mode"])
print(c[b"p1/etc/owner"]["fields"], c[b"p1/etc/xattr"]["fields"], c[b"p1/data/link"]["fields"])
print(c[b"p1/etc/to-dir"]["old_mode"][0], c[b"p1/etc/to-dir"]["new_mode"][0], c[b"p1/etc/new"]["old_mode"],
      c[b"p1/etc/new"]["new_size_bytes"], c[b"p1/etc/old"]["old_size_bytes"])
print(b"p1/names/new\nline" in c, b"p1/names/caf\xe9" in c, b"p1/names/ctl\x01\x1bx" in c)
P
)" "diff g 1 2 7 2 2 6 2 done
19 ['added', 'content', 'metadata', 'removed', 'type']
['mode'] -rw-r--r-- -rw-------
['uid', 'gid'] ['xattrs'] ['mtime', 'target']
- d None 3000 4
True True True" "--json: the generations, counts, each change with its fields and modes, names byte for byte"
is "$(python3 -c 'import json; d=json.load(open("d.json")); print(d["added_bytes"], d["removed_bytes"])')" "$added $removed" \
	"--json: added_bytes, removed_bytes"
is "$(python3 "$TESTS_DIR/lib/json_vocab.py" "$TESTS_DIR/../doc/json.md" diff d.json done)" "" \
	"--json: the keys and rules of doc/json.md"

# ---- what cannot be compared
usage_error() { # DESC ARGS...
	local desc=$1
	shift
	$L diff "$@" >out.txt 2>err.txt
	is "$?:$(wc -c <out.txt)" "2:0" "$desc: usage error (exit 2), nothing on stdout"
	like "$(head -n1 err.txt)" "^rawkit-lanfree: diff: " "$desc: says what is wrong"
}
failed() { # DESC REGEX ARGS...
	local desc=$1 want=$2
	shift 2
	$L diff "$@" >out.txt 2>err.txt
	is "$?:$(wc -c <out.txt)" "1:0" "$desc: exit 1, nothing on stdout"
	ok "$desc: one error line" one_line_error rawkit-lanfree err.txt
	like "$(cat err.txt)" "$want" "$desc: says why"
}
usage_error "generations of two guests" repo g@1 h@2
usage_error "a guest whose name only starts like the other's" repo g@1 gg@2
usage_error "no guest" repo
usage_error "three generations" repo g@1 g@2 g@3
failed "no such generation" "^rawkit-lanfree: g@9: no such generation$" repo g@9
failed "no such second generation" "^rawkit-lanfree: g@7: no such generation$" repo g@1 g@7
failed "a generation that is not a number" "^rawkit-lanfree: g@x: generation must be a number" repo g@x g@1
failed "no such guest" "^rawkit-lanfree: nobody: no such guest in the repository$" repo nobody
mkdir norepo
failed "not a repository" "not a rawkit-lanfree repository" norepo g
ok "a guest with one generation" $L backup repo g.img --name lonely -q
failed "one generation only" "^rawkit-lanfree: lonely: only one complete generation: nothing to compare it with$" repo lonely
$L diff repo lonely --json >f.json 2>/dev/null
is "$?" 1 "--json, one generation only: exit 1"
is "$(python3 "$TESTS_DIR/lib/json_vocab.py" "$TESTS_DIR/../doc/json.md" diff f.json failed)" "" \
	"--json, one generation only: one failed object"
ok "a full stdout fails" sh -c "$L diff repo g@1 g@2 >/dev/full 2>err.txt; test \$? = 1 && grep -q 'write error' err.txt"

done_testing
