#!/bin/bash
# rawkit-lanfree on ext4: full, incremental and differential generations of
# a metadata-torture tree, each restored and compared attribute by attribute.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && losetup -f >/dev/null 2>&1 || skip_all "needs root and loop devices (the fixture is built on a mounted ext4)"
CMP="python3 $TESTS_DIR/lib/treecmp.py"
L=rawkit-lanfree

mkdisk web01.img 160M <<'S'
label: gpt
start=2048, size=120M, type=linux, name="root"
size=16M, type=swap
S
put_ext4 web01.img 1 -I 256 -b 4096
put_fs swap web01.img 2
mount_part web01.img 1 src
make_torture src
umount src
disk_sum=$(sum web01.img)

# snapshot DIR: the source as it is now, for comparisons (ro mount)
compare_with_source() { # DESC RESTORED-DIR
	mount_part web01.img 1 src ro
	ok "$1" $CMP src "$2"
	umount src
}

ok "init a repository" $L init repo
rawkit-lanfree backup repo web01.img --level full --json >b1.json
is "$?" 0 "full backup: exit 0"
is "$(sum web01.img)" "$disk_sum" "the source disk was not written"
is "$(python3 -c 'import json; d=json.load(open("b1.json")); print(d["generation"], d["level"], d["generation_status"], [v["skipped"] for v in d["volumes"]])')" \
	"1 full complete [None, 'swap']" "full backup: generation 1, swap skipped with its reason"
ok "verify after the full backup" $L verify repo --read-data
ok "restore generation 1" $L restore repo web01.img@1 --to r1 -q
compare_with_source "generation 1 equals the source: content, modes, owners, ns times, xattrs, ACLs, flags, links, holes, devices, names" r1/p1

# --- changes for an incremental
mount_part web01.img 1 src
echo "web02" >src/etc/hostname                         # content
chmod 0600 src/srv/owned                                # metadata only
mv src/srv/www/big.bin src/srv/www/renamed.bin           # rename
rm src/srv/hard2                                        # one link less
rm -r src/acl                                           # a directory gone
mkdir -p src/new/dir && echo fresh >src/new/dir/file    # new subtree
setfattr -n user.added -v yes src/srv/link 2>/dev/null || setfattr -n user.added -v yes src/srv/owned
head -c 100000 /dev/urandom >src/srv/www/added.bin
# one inode with more links than the walk follows by inode (64): found
# again in generation 4 all the same
mkdir src/links && echo linked >src/links/0 && for i in $(seq 1 99); do ln src/links/0 src/links/$i; done
umount src
rawkit-lanfree backup repo web01.img --json >b2.json
is "$?" 0 "incremental backup: exit 0"
is "$(python3 -c 'import json; d=json.load(open("b2.json")); print(d["generation"], d["level"])')" "2 incr" \
	"incremental: generation 2, level incr"
new=$(python3 -c 'import json; print(json.load(open("b2.json"))["new_bytes"])')
ok "incremental stored only new content ($new bytes: hostname, new file, added.bin; not the renamed 3 MB)" \
	test "$new" -ge 100000 -a "$new" -lt 200000
ok "restore generation 2" $L restore repo web01.img@2 --to r2 -q
compare_with_source "generation 2 equals the changed source" r2/p1
ok "generation 1 is still exactly what it was" sh -c "$L restore repo web01.img@1 --to r1b -q && $CMP r1 r1b"

# --- a differential against the full
mount_part web01.img 1 src
echo "third" >src/etc/hostname
rm src/srv/www/added.bin
touch -d '2030-01-01 00:00:00.5' src/new/dir/file
umount src
rawkit-lanfree backup repo web01.img --level diff --json >b3.json
is "$?" 0 "differential backup: exit 0"
is "$(python3 -c 'import json; d=json.load(open("b3.json")); print(d["generation"], d["level"])')" "3 diff" \
	"differential: generation 3"
is "$(sqlite3 repo/catalog.db 'SELECT base_seq FROM generations WHERE seq = 3')" 1 "differential: its base is the full (catalog)"
ok "restore generation 3" $L restore repo web01.img@3 --to r3 -q
compare_with_source "generation 3 equals the source" r3/p1
ok "generation 2 is still exactly what it was" sh -c "$L restore repo web01.img@2 --to r2b -q && $CMP r2 r2b"
ok "an unchanged incremental adds nothing" sh -c "$L backup repo web01.img --json | grep -q '\"new_bytes\":0,'"
ok "verify reads every frame and content" $L verify repo --read-data
ok "verify --against the disk: generation 4 equals the disk" $L verify repo web01.img@4 --against web01.img
# every generation holds each path once: what ended, ended (the versions
# only in generation 2 end there, not in the differential after it)
dups=$(for g in 1 2 3 4; do sqlite3 repo/catalog.db "SELECT count(*) - count(DISTINCT volume || '/' || hex(dir) || '/' || hex(name))
	FROM versions WHERE first_seq <= $g AND last_seq >= $g"; done | tr '\n' ' ')
is "$dups" "0 0 0 0 " "no path twice in a generation (generations 1 to 4)"
is "$(sqlite3 repo/catalog.db "SELECT last_seq FROM versions WHERE name = CAST('added.bin' AS BLOB)")" 2 \
	"added.bin, new in the incremental and gone by the differential, ends in generation 2"
is "$($L ls repo web01.img@4 p1/links | wc -l)" 100 "generation 4 lists the 100 links of one inode"
is "$(sqlite3 repo/catalog.db "SELECT count(*), min(first_seq), max(last_seq) FROM versions WHERE dir = CAST('links' AS BLOB) GROUP BY first_seq" | tr '\n' ' ')" \
	"100|2|2 100|3|$(sqlite3 repo/catalog.db 'SELECT max(last_seq) FROM versions') " \
	"the 100 links: new in 2, again in the differential, then continued (none ends in generation 4)"

# --- queries
like "$($L list repo web01.img)" "web01.img +1 .* full .*complete" "list shows generation 1 as a complete full"
is "$($L list repo --json | python3 -c 'import json,sys; print([g["level"] for g in json.load(sys.stdin)["generations"]])')" \
	"['full', 'incr', 'diff', 'incr']" "list --json: every generation"
is "$($L ls repo web01.img@1 p1/etc | tr '\n' ' ')" "append hard3 hostname immutable " "ls lists a directory of generation 1"
like "$($L ls repo web01.img@2 p1/srv/www -l)" "renamed.bin" "ls -l of generation 2 shows the rename"
like "$($L find repo web01.img 'p1/etc/hostname')" "in 1$" "find: the first hostname is only in generation 1"
is "$($L find repo web01.img '*/big.bin' --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["matches"][0]["generations"])')" \
	"[1]" "find --json: big.bin is in generation 1 only"
fails "ls of a missing path fails" $L ls repo web01.img@1 p1/nope

# --- single-file restore
start=$(date +%s%N)
$L restore repo web01.img@1 p1/etc/hostname --to one -q
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc" 0 "single-file restore: exit 0"
is "$(find one -type f | wc -l)" 1 "single-file restore: one file"
is "$(cat one/p1/etc/hostname)" "web01" "single-file restore: generation 1's content"
is "$(stat -c %.9Y one/p1/etc/hostname)" "1557126489.123456789" "single-file restore: ns mtime"
diag "single-file restore took $ms ms"

# --- restore never overwrites unless asked
echo mine >one/p1/etc/hostname
$L restore repo web01.img@1 p1/etc/hostname --to one -q 2>err.txt
is "$?" 3 "existing file: restore warns (exit 3)"
is "$(cat one/p1/etc/hostname)" mine "existing file: left alone"
ok "--overwrite replaces it" $L restore repo web01.img@1 p1/etc/hostname --to one -q --overwrite
is "$(cat one/p1/etc/hostname)" web01 "--overwrite: generation 1's content"

# --- the archives are plain pax tar that GNU tar and bsdtar extract
for a in repo/data/web01.img/*.tar.zst; do
	rm -rf gt bt && mkdir gt bt
	# (GNU tar cannot create paths longer than PATH_MAX: leave the deep one out)
	ok "GNU tar extracts $(basename "$a")" tar --zstd --xattrs --xattrs-include='*' --exclude=p1/deep -xf "$a" -C gt
	if command -v bsdtar >/dev/null; then
		ok "bsdtar extracts $(basename "$a")" sh -c "zstd -dc '$a' | LC_ALL=C.UTF-8 bsdtar -xf - -C bt"
	fi
done
ok "GNU tar's copy of big.bin equals rawkit's restore" \
	sh -c "tar --zstd -xOf repo/data/web01.img/1-*.tar.zst p1/srv/www/big.bin | cmp - r1/p1/srv/www/big.bin"
ok "bsdtar's copy of the sparse file equals rawkit's restore" \
	sh -c "zstd -dc repo/data/web01.img/1-*.tar.zst | bsdtar -xOf - p1/srv/www/sparse | cmp - r1/p1/srv/www/sparse"

# --- a clone of the disk: everything deduplicated
cp --sparse=always web01.img web02.img
rawkit-lanfree backup repo web02.img --json >c.json
is "$(python3 -c 'import json; d=json.load(open("c.json")); print(d["new_bytes"], d["stored_bytes"])')" "0 0" \
	"a clone of the disk stores nothing new (dedup across guests)"

# --- a journal that needs recovery
cp web01.img dirty.img
unreplayable_journal dirty.img "$(part_start dirty.img 1)"
before=$(sqlite3 repo/catalog.db 'SELECT count(*) FROM generations')
$L backup repo dirty.img >out.txt 2>err.txt
is "$?" 1 "needs_recovery: refused (exit 1)"
like "$(cat err.txt)" "^rawkit-lanfree: dirty.img: p1: ext4 was not cleanly unmounted .*--allow-dirty" "needs_recovery: says why and what to do"
is "$(sqlite3 repo/catalog.db 'SELECT count(*) FROM generations')" "$before" "needs_recovery: repository unchanged"
$L backup repo dirty.img --allow-dirty -q 2>/dev/null
is "$?" 3 "--allow-dirty: done with a warning (exit 3)"
is "$(sqlite3 repo/catalog.db "SELECT dirty FROM generations g JOIN guests u ON u.id = g.guest_id WHERE u.name = 'dirty.img'")" 1 \
	"--allow-dirty: the generation is marked dirty"
ok "the repository verifies after all of it" $L verify repo --read-data

# --- restore as an unprivileged user: no owners, no setuid, no devices
chmod 755 "$SCRATCH" && mkdir -p nr && chown 65534:65534 nr && chmod -R a+rX repo
setpriv --reuid=65534 --regid=65534 --clear-groups "$RAWKIT_BIN/rawkit-lanfree" restore repo web01.img@1 --to nr/out -q 2>nr.err
is "$?" 3 "unprivileged restore: done with warnings"
is "$(stat -c %a nr/out/p1/bin/suid)" 755 "unprivileged restore: setuid bit dropped"
is "$(stat -c %u nr/out/p1/srv/owned)" 65534 "unprivileged restore: files belong to the restoring user"
ok "unprivileged restore: no device nodes" test ! -e nr/out/p1/dev/null
is "$(sha256sum <nr/out/p1/srv/www/big.bin)" "$(sha256sum <r1/p1/srv/www/big.bin)" "unprivileged restore: content intact"

done_testing
