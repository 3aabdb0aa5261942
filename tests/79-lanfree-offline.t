#!/bin/bash
# rawkit-lanfree: files added or removed offline (debugfs, as libguestfs or
# rawkit-clone would) without touching the directory's mtime/ctime reach the
# incremental, and verify --against reports both directions (issue #10.9).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
mkdir -p tree/dir/sub
echo alpha >tree/dir/a.txt
echo beta >tree/dir/sub/b.txt
echo top >tree/top.txt
mkdisk g.img 64M <<'S'
label: gpt
start=2048, size=60M, type=linux, name="root"
S
put_ext4 g.img 1 -d tree
OFF=$(part_start g.img 1)
FS="g.img?offset=$OFF"
dbg() { debugfs -w -R "$1" "$FS" >/dev/null 2>&1; }
times_of() { debugfs -R "stat $1" "$FS" 2>/dev/null | grep -E '^ *(c|m)time:'; }
# directories last changed long ago: nothing "racy" makes the walk re-read them
for d in / /dir /dir/sub; do
	dbg "sif $d mtime 20200101000000" && dbg "sif $d ctime 20200101000000"
done

ok "init" $L init repo
ok "full backup" $L backup repo g.img --level full -q

echo "written offline" >new.txt
echo "deeper offline" >deep.txt
before=$(times_of /dir; times_of /dir/sub)
dbg "write new.txt /dir/new.txt"
dbg "write deep.txt /dir/sub/deep.txt"
is "$(times_of /dir; times_of /dir/sub)" "$before" "debugfs added the files without changing the directories' mtime/ctime"

ok "incremental backup" $L backup repo g.img -q
like "$($L ls repo g.img@2 p1/dir | tr '\n' ' ')" "new.txt" "the incremental has the file added offline"
like "$($L ls repo g.img@2 p1/dir/sub | tr '\n' ' ')" "deep.txt" "... and the one added offline two levels down"
ok "restore generation 2" $L restore repo g.img@2 --to r2 -q
ok "the restored file is the one written offline" cmp r2/p1/dir/new.txt new.txt
ok "... and the deeper one" cmp r2/p1/dir/sub/deep.txt deep.txt

timeout 20 $L verify repo g.img@1 --against g.img >v1.out 2>v1.err
is "$?" 1 "verify --against: generation 1 lacks files the disk holds: exit 1"
like "$(cat v1.err)" "p1/dir/new.txt: on the disk, not in the generation" "... new.txt reported"
like "$(cat v1.err)" "p1/dir/sub/deep.txt: on the disk, not in the generation" "... deep.txt reported"
timeout 20 $L verify repo g.img@2 --against g.img >v2.out 2>v2.err
is "$?" 0 "verify --against: generation 2 matches the disk"
is "$(cat v2.err)" "" "... with no problem reported"

# removal offline: the entry goes, the inode stays in use (as unlink does)
before=$(times_of /dir)
dbg "unlink /dir/a.txt"
is "$(times_of /dir)" "$before" "debugfs removed the entry without changing the directory's mtime/ctime"
ok "incremental backup after the removal" $L backup repo g.img -q
is "$($L ls repo g.img@3 p1/dir | grep -cx a.txt)" 0 "the incremental no longer has the file removed offline"
timeout 20 $L verify repo g.img@2 --against g.img >v3.out 2>v3.err
is "$?" 1 "verify --against generation 2: exit 1"
like "$(cat v3.err)" "p1/dir/a.txt: missing on the disk" "... the removed file is reported"

# A catalog written before directory checksums existed: the column is added
# at open and every directory counts as changed once, then no more.
sqlite3 repo/catalog.db "ALTER TABLE versions DROP COLUMN dirsum" 2>/dev/null
echo "root offline" >root.txt
before=$(times_of /)
dbg "write root.txt /root.txt"
is "$(times_of /)" "$before" "a file added offline in the root"
sleep 1 # (an edit in the second a generation starts is re-read by the next: "racy")
ok "incremental on a catalog of the old schema" $L backup repo g.img -q
is "$(sqlite3 repo/catalog.db "SELECT count(*) FROM pragma_table_info('versions') WHERE name = 'dirsum'")" 1 \
	"the catalog got the dirsum column"
like "$($L ls repo g.img@4 p1 | tr '\n' ' ')" "root.txt" "the file added offline is in that incremental"
ok "one more incremental" $L backup repo g.img -q
is "$(sqlite3 repo/catalog.db "SELECT count(*) FROM versions WHERE first_seq = 5 AND (mode & 61440) = 16384")" 0 \
	"nothing changed: the directories' checksums now match, no new directory row"
ok "verify --against the newest generation" timeout 20 $L verify repo g.img --against g.img

done_testing
