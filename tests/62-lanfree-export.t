#!/bin/bash
# rawkit-lanfree export: a generation (the synthetic full of a full backup
# and an incremental) as one pax tar stream that GNU tar and bsdtar extract
# without rawkit into what restore makes of the same generation, attribute
# by attribute; in fixed-size records for tape; to stdout; bad block sizes,
# damaged archives and unsafe catalog paths refused.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && losetup -f >/dev/null 2>&1 || skip_all "needs root and loop devices (the fixture is built on a mounted ext4)"
CMP="python3 $TESTS_DIR/lib/treecmp.py"
VOCAB="python3 $TESTS_DIR/lib/json_vocab.py $TESTS_DIR/../doc/json.md"
L=rawkit-lanfree

mkdisk web01.img 200M <<'S'
label: gpt
start=2048, size=160M, type=linux, name="root"
size=16M, type=swap
S
put_ext4 web01.img 1 -I 256 -b 4096
put_fs swap web01.img 2
mount_part web01.img 1 src
make_torture src
# what takes the other ways through export: a sparse file with more data
# than is checked in memory, a file of holes only, a large file with links
truncate -s 64M src/srv/www/big-sparse
head -c 2500000 /dev/urandom | dd of=src/srv/www/big-sparse bs=1M seek=32 conv=notrunc status=none
truncate -s 5M src/srv/holes-only
head -c 2000000 /dev/urandom >src/srv/biglink1 && ln src/srv/biglink1 src/srv/biglink2
umount src

ok "init a repository" $L init repo
ok "full backup" $L backup repo web01.img --level full -q
mount_part web01.img 1 src
echo "web02" >src/etc/hostname
chmod 0600 src/srv/owned
mv src/srv/www/big.bin src/srv/www/renamed.bin
rm src/srv/hard2
mkdir -p src/new/dir && echo fresh >src/new/dir/file
setfattr -n user.added -v yes src/srv/owned
umount src
ok "incremental backup" $L backup repo web01.img -q
is "$(sqlite3 repo/catalog.db 'SELECT level FROM generations WHERE seq = 2')" incr "generation 2 is an incremental"
ok "restore generation 2" $L restore repo web01.img@2 --to r -q

# ---- the export of generation 2: the synthetic full
$L export repo web01.img --to gen2.tar --json >e.json 2>e.err
is "$?" 0 "export the newest generation: exit 0"
is "$(cat e.err)" "" "export --json: nothing on stderr"
ok "export --json: doc/json.md's keys" $VOCAB export e.json done
is "$(python3 -c 'import json,os; d=json.load(open("e.json")); print(d["generation"], d["to"], d["stream_bytes"] == os.path.getsize("gen2.tar"))')" \
	"2 gen2.tar True" "export --json: generation 2, the file, stream_bytes its size"
size=$(stat -c %s gen2.tar)
is "$((size % 10240))" 0 "the stream is whole records of 10 KiB (tar's default)"
apparent=$(python3 -c 'import json; print(json.load(open("e.json"))["total_bytes"])')
ok "holes are not in the stream ($size bytes of tar for $apparent bytes of files)" test "$size" -lt $((apparent - 60000000))
tar -tf gen2.tar >list.txt 2>/dev/null
is "$?" 0 "GNU tar lists it"
is "$(grep -c -e '^p1/srv/www/renamed.bin$' -e '^p1/srv/hard1$' -e '^p1/etc/hostname$' list.txt) $(grep -c -e 'hard2$' -e 'big.bin$' list.txt)" \
	"3 0" "generation 2's files (a content stored in generation 1 too), not the ones it lost"
is "$(grep -c '^p1/dev/sock' list.txt)" 0 "no socket entry (tar has none)"
is "$(tar -tvf gen2.tar 2>/dev/null | grep -E -c '^h.* (p1/srv/hard1 link to p1/etc/hard3|p1/srv/biglink2 link to p1/srv/biglink1)$')" 2 \
	"hard links are tar hard links to the first path"
$L export repo web01.img@2 --to gen2-text.tar >out.txt 2>err.txt
is "$?:$(cat out.txt)" "0:web01.img@2: exported $(python3 -c 'import json; print(json.load(open("e.json"))["files"])') entries, $apparent bytes of files, as $size bytes of tar to gen2-text.tar" \
	"the summary on stdout"
is "$(cat err.txt)" "rawkit-lanfree: gen2-text.tar: 1 socket left out (tar has no socket entries)" "a note on the socket left out"
ok "the same generation exports the same bytes" cmp gen2.tar gen2-text.tar

# GNU tar and bsdtar: what they extract equals restore's, attribute by
# attribute (neither creates paths longer than PATH_MAX: the deep one is
# left out, and only listed; the socket has no tar entry)
ok "the path deeper than PATH_MAX is in the stream" grep -q '/d90_x*/bottom.txt$' list.txt
$L restore repo web01.img@2 --to rt -q
rm -rf rt/p1/deep
touch -r rt/p1/dev dev.time && rm rt/p1/dev/sock && touch -r dev.time rt/p1/dev
mkdir gt
tar --xattrs --xattrs-include='*' --acls --numeric-owner -xpf gen2.tar -C gt --exclude=p1/deep 2>gt.err
is "$?" 0 "GNU tar extracts it"
# (GNU tar skips the inode flags, and takes names that are not UTF-8 as
# they are, and says so)
is "$(grep -v -e "Ignoring unknown extended header keyword 'SCHILY.fflags'" -e "keyword 'hdrcharset'" gt.err)" "" \
	"GNU tar: no complaint but those"
ok "GNU tar's extraction equals restore's: content, modes, owners, ns mtimes, xattrs, ACLs, links, holes, devices, names" \
	$CMP --no-flags rt/p1 gt/p1
ok "ACLs came back through GNU tar" sh -c "getfacl -cn gt/p1/acl | grep -qx 'user:1234:rwx' && getfacl -cn gt/p1/acl | grep -qx 'default:user:1234:rwx'"
if command -v bsdtar >/dev/null; then
	mkdir bt
	LC_ALL=C.UTF-8 bsdtar -xpf gen2.tar -C bt --numeric-owner --exclude p1/deep 2>bt.err
	is "$?:$(cat bt.err)" "0:" "bsdtar extracts it"
	ok "bsdtar's extraction equals restore's, inode flags too" $CMP rt/p1 bt/p1
else
	skip 2 "no bsdtar"
fi

# ---- records for tape
$L export repo web01.img --to tape.tar --block-size 20480 -q
is "$?:$(($(stat -c %s tape.tar) % 20480))" "0:0" "--block-size 20480: whole records of 20 KiB"
ok "tar -b 40 reads it" sh -c "tar -b 40 -tf tape.tar >/dev/null 2>&1"
ok "--block-size 20K is the same" sh -c "$L export repo web01.img --to tape20k.tar --block-size 20K -q && cmp tape.tar tape20k.tar"
$L export repo web01.img --to mega.tar --block-size 1M -q
is "$?:$(($(stat -c %s mega.tar) % 1048576))" "0:0" "--block-size 1M: whole records of 1 MiB"
if command -v strace >/dev/null; then
	# (-y: each fd with its path; the stream's are the temp file's.  A
	# sanitizer build's leak check cannot run under ptrace.)
	ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -qq -f -y -e trace=write -o writes.txt $L export repo web01.img --to traced.tar --block-size 20480 -q
	grep '^[0-9]* *write([0-9]*<[^>]*/\.traced\.tar\.[^>]*>' writes.txt >stream-writes.txt
	writes=$(wc -l <stream-writes.txt)
	ok "each write(2) is one record of 20480 bytes ($writes writes)" \
		test "$writes" -gt 10 -a "$(grep -vc ', 20480) = 20480$' stream-writes.txt)" -eq 0 \
		-a "$((writes * 20480))" -eq "$(stat -c %s traced.tar)"
else
	skip 1 "no strace"
fi
for bad in 1000 256 2M 0 10x -512 ''; do
	$L export repo web01.img --to bad.tar --block-size "$bad" >/dev/null 2>err.txt
	is "$?:$(head -n1 err.txt)" "2:rawkit-lanfree: export: --block-size: a multiple of 512 from 512 to 1M (10K, 20480), not \"$bad\"" \
		"--block-size '$bad': refused, exit 2"
done
ok "a refused block size wrote nothing" test ! -e bad.tar

# ---- stdout
$L export repo web01.img --to - -q | cmp - gen2.tar
is "${PIPESTATUS[*]}" "0 0" "--to -: the same stream on stdout"
$L export repo web01.img --to - --json 2>e-stdout.json | tar -tf - >list-stdout.txt 2>/dev/null
is "${PIPESTATUS[*]}" "0 0" "--to - --json | tar -tf -"
ok "--to - --json: the object goes to stderr, doc/json.md's keys" $VOCAB export e-stdout.json done
ok "--to - | tar lists the same entries" cmp list.txt list-stdout.txt
ok "an older generation: generation 1 still has hard2" sh -c "$L export repo web01.img@1 --to - -q | tar -tf - 2>/dev/null | grep -qx p1/srv/hard2"

# ---- failures leave nothing half-written
mkdir out
echo old >out/keep.tar
cp -a repo damaged
sqlite3 damaged/catalog.db "UPDATE contents SET sha256 = randomblob(32) WHERE size = 3000000"
$L export damaged web01.img --to out/keep.tar -q 2>err.txt
is "$?" 1 "a content that does not match its id (a large file, streamed): exit 1"
like "$(cat err.txt)" "^rawkit-lanfree: p1/srv/www/renamed.bin: content does not match its checksum \(damaged archive\?\)$" \
	"says which file, in one line"
is "$(cat out/keep.tar):$(ls -A out | tr '\n' ' ')" "old:keep.tar " "the file it would have replaced is untouched, no temp file left"
cp -a repo damaged2
sqlite3 damaged2/catalog.db "UPDATE contents SET sha256 = randomblob(32) WHERE size = 6"
$L export damaged2 web01.img --to out/new.tar -q 2>err.txt
is "$?:$(ls -A out | tr '\n' ' ')" "1:keep.tar " "a small file that does not match its id: exit 1, no output file"
ok "one line" one_line_error rawkit-lanfree err.txt
cp -a repo damaged3
arch=$(ls damaged3/data/web01.img/1-*)
dd if=/dev/urandom of="$arch" bs=1 count=64 seek=$(($(stat -c %s "$arch") / 2)) conv=notrunc status=none
$L export damaged3 web01.img --to out/new.tar -q 2>err.txt
is "$?:$(ls -A out | tr '\n' ' ')" "1:keep.tar " "an archive with damaged frames: exit 1, no output file"
ok "one line" one_line_error rawkit-lanfree err.txt
$L export damaged web01.img --to - -q 2>/dev/null | tar -tf - >/dev/null 2>&1
is "${PIPESTATUS[*]}" "1 2" "--to -: a damaged content fails the export, and the tar reading it (no end of archive)"
$L export repo web01.img --to out -q 2>err.txt
is "$?:$(cat err.txt)" "1:rawkit-lanfree: out: cannot write: Is a directory" "--to a directory: exit 1, one line"
$L export repo web01.img --to /dev/full -q 2>err.txt
is "$?:$(cat err.txt)" "1:rawkit-lanfree: /dev/full: cannot write: No space left on device" "a full device: exit 1, one line"
$L export repo web01.img@9 --to out/nine.tar 2>err.txt
is "$?:$(cat err.txt):$(ls -A out | tr '\n' ' ')" "1:rawkit-lanfree: web01.img@9: no such generation:keep.tar " \
	"a generation that does not exist: exit 1, nothing written"

# ---- the catalog is input: unsafe names never reach the stream
cp -a repo hostile
sqlite3 hostile/catalog.db "
UPDATE versions SET name = CAST('..' AS BLOB) WHERE name = CAST('hostname' AS BLOB);
UPDATE versions SET name = CAST('../../escape' AS BLOB) WHERE name = CAST('owned' AS BLOB);
UPDATE versions SET dir = CAST('/abs' AS BLOB) WHERE dir = CAST('new/dir' AS BLOB);
UPDATE versions SET name = CAST(X'61002F2E2E' AS BLOB) WHERE name = CAST('empty' AS BLOB);
UPDATE versions SET volume = '..' WHERE name = CAST('fifo' AS BLOB);
UPDATE versions SET xattrs = X'1700$(printf %s system.posix_acl_access | od -An -tx1 | tr -d ' \n')03000000020000'
	WHERE name = CAST('suid' AS BLOB);"
$L export hostile web01.img --to hostile.tar -q 2>err.txt
is "$?" 3 "unsafe paths in the catalog: done with warnings (exit 3)"
is "$(grep -c 'catalog: warning: an entry with an unsafe path was left out' err.txt)" 5 "each unsafe path is left out with a warning"
like "$(cat err.txt)" "rawkit-lanfree: p1/bin/suid: warning: malformed ACL in system.posix_acl_access: left out" \
	"a malformed ACL is left out with a warning"
is "$(tar -tf hostile.tar 2>/dev/null | grep -E -c '(^|/)\.\.(/|$)|^/|//|/escape$|/fifo$')" 0 "no such name in the stream"
ok "the rest is there" sh -c "tar -tf hostile.tar 2>/dev/null | grep -qx p1/srv/www/renamed.bin"
cp -a repo unreadable
sqlite3 unreadable/catalog.db "UPDATE versions SET error = 'read error' WHERE name = CAST('hard3' AS BLOB) OR name = CAST('hard1' AS BLOB)"
$L export unreadable web01.img --to unreadable.tar -q 2>err.txt
is "$?" 3 "files the backup could not read: exit 3"
like "$(cat err.txt)" "p1/srv/hard1: warning: was not readable when backed up: not exported" "and says which"
is "$(tar -tf unreadable.tar 2>/dev/null | grep -c hard)" 0 "they are not in the stream"

# ---- the command line
$L export repo web01.img >/dev/null 2>err.txt
is "$?:$(head -n1 err.txt)" "2:rawkit-lanfree: export: --to FILE|- is required" "export without --to: exit 2"

done_testing
