#!/bin/bash
# A hostile or damaged catalog: archive paths that lead out of the
# repository, version sizes that lie, frame sizes that are negative.
# prune never removes a file outside data/, verify reports each lie, restore
# fails in bounded time without leaving a misleading file.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
mkdir -p src/d && echo hello >src/d/small && head -c 1100000 /dev/urandom >src/d/big.bin && echo x >src/plain
mkdisk d.img 40M <<'S'
label: dos
start=2048, size=30M, type=83
S
put_ext4 d.img 1 -d src
$L init clean >/dev/null && $L backup clean d.img --name g -q || echo "Bail out! backup failed"
mkdir outside && echo keep >outside/x && echo keep >outside/y

# fresh REPO: a copy of the clean repository, catalog edited with SQL
fresh() { rm -rf "$1" && cp -a clean "$1" && sqlite3 "$1/catalog.db" "$2"; }
# run CMD...: its exit status in $rc (timeout's 124 when it hangs), stderr in err.txt
run() { timeout 20 "$@" >out.txt 2>err.txt; rc=$?; }

# --- 1. archive paths that leave data/ (issue #10, defect 2)
for bad in ../outside/x "$SCRATCH/outside/y"; do
	case $bad in /*) kind=absolute target=$bad ;; *) kind="'..'" target=outside/x ;; esac
	fresh r "INSERT INTO archives(path, compression, size) VALUES('$bad', 'zstd', 5)"
	run $L prune r g --keep-last 10 -q
	is "$rc" 1 "$kind archive path: prune fails"
	ok "$kind archive path: the file outside the repository is still there" test -s "$target"
	ok "$kind archive path: one line of error" one_line_error $L err.txt
	like "$(cat err.txt)" "^$L: catalog: damaged" "$kind archive path: saying the catalog is damaged"
	is "$(sqlite3 r/catalog.db "SELECT count(*) FROM archives WHERE path = '$bad'")" 1 \
		"$kind archive path: the catalog is left as it was"
	run $L prune r g --keep-last 10 --dry-run
	is "$rc" 1 "$kind archive path: prune --dry-run reports it too"
	run $L verify r
	is "$rc" 1 "$kind archive path: verify reports it"
	like "$(cat err.txt)" "not one rawkit writes" "$kind archive path: verify says what is wrong"
done
# a path with a NUL byte, and one naming another directory of the repository
for bad in "X'646174612f672f312d6161616161616161002e7461722e7a7374'" "'data/../catalog.db'" "'tmp/1-aaaaaaaa.tar.zst'"; do
	fresh r "INSERT INTO archives(path, compression, size) VALUES($bad, 'zstd', 5)"
	run $L prune r g --keep-last 10 -q
	is "$rc" 1 "archive path $bad: prune fails"
done
ok "nothing else of the repository was removed" test -s r/catalog.db

# restore and verify --read-data read no archive outside the repository
arch=$(sqlite3 clean/catalog.db 'SELECT path FROM archives LIMIT 1')
cp "clean/$arch" copy.tar.zst
fresh r "UPDATE archives SET path = '../copy.tar.zst'"
rm -f "r/$arch"
run $L restore r g --to t1 -q
is "$rc" 1 "an archive outside the repository: restore fails"
like "$(cat err.txt)" "damaged catalog" "and says the catalog is damaged"
ok "and restores no file from it" test ! -e t1/p1/d/big.bin
run $L verify r --read-data
is "$rc" 1 "an archive outside the repository: verify --read-data fails"

# --- 2. a version's size that lies (defect 4)
file_id="(SELECT id FROM versions WHERE name = CAST('big.bin' AS BLOB))"
for lie in "-1" "300001" "1099511627776"; do
	fresh r "UPDATE versions SET size = $lie WHERE id = $file_id"
	run $L verify r --read-data
	is "$rc" 1 "size $lie: verify --read-data fails"
	like "$(cat err.txt)" "size" "size $lie: and names the size"
	run $L restore r g --to "t-$lie" -q
	is "$rc" 1 "size $lie: restore fails within 20 s"
	ok "size $lie: no file with a wrong content is left" test ! -e "t-$lie/p1/d/big.bin"
	is "$(cat "t-$lie/p1/d/small" 2>/dev/null)" hello "size $lie: the other files are restored"
done
# the content's size lies with it: the archive entry is the judge
fresh r "UPDATE contents SET size = 1099511627776 WHERE id = (SELECT content_id FROM versions WHERE id = $file_id);
	 UPDATE versions SET size = 1099511627776 WHERE id = $file_id"
run $L verify r --read-data
is "$rc" 1 "version and content claim 1 TiB: verify --read-data fails"
run $L restore r g --to t2 -q
is "$rc" 1 "version and content claim 1 TiB: restore fails within 20 s"
ok "version and content claim 1 TiB: no file left" test ! -e t2/p1/d/big.bin
fresh r "UPDATE contents SET size = -5 WHERE id = (SELECT content_id FROM versions WHERE id = $file_id)"
run $L verify r
is "$rc" 1 "a negative content size: verify fails (without --read-data)"

# --- a content id that is not its archive entry's: each file is checked as
# it is written (6 bytes unpacked whole for the writer thread, 1.1 MB
# streamed to it block by block)
fresh r "UPDATE contents SET sha256 = randomblob(32) WHERE size IN (6, 1100000)"
run $L restore r g --to t4 -q
is "$rc" 1 "content ids that do not match: restore fails (exit 1)"
is "$(grep -c 'does not match its checksum' err.txt)" 2 "a small and a large file: each reported"
ok "neither is left behind, the others are restored" \
	sh -c "test ! -e t4/p1/d/small && test ! -e t4/p1/d/big.bin && cmp src/plain t4/p1/plain"
like "$(tail -n1 err.txt)" "2 files could not be restored" "the count of files not restored"
# the same over existing files (--overwrite: written inline, into a temp
# file renamed over them)
mkdir -p t5/p1/d && echo old >t5/p1/d/small && echo old >t5/p1/d/big.bin
run $L restore r g --to t5 --overwrite -q
is "$rc" 1 "--overwrite, content ids that do not match: restore fails (exit 1)"
is "$(grep -c 'does not match its checksum' err.txt)" 2 "--overwrite: each reported"
is "$(cat t5/p1/d/small t5/p1/d/big.bin)" "old
old" "--overwrite: the files they would have replaced are kept"
ok "--overwrite: no temp file left" sh -c "! ls -a t5/p1/d | grep -q rawkit-restore"
# an archive that ends inside the streamed file: blocks already handed to
# the writer, then the unpacker fails; one report, the file removed
fresh r ""
arch=r/$(sqlite3 r/catalog.db 'SELECT path FROM archives LIMIT 1')
truncate -s 600000 "$arch"
run $L restore r g --to t6 -q
is "$rc" 1 "an archive that ends inside a large file: restore fails (exit 1)"
is "$(grep -c 'big.bin' err.txt)" 1 "the large file is reported once"
ok "and is not left behind" test ! -e t6/p1/d/big.bin
ok "one line per error: $(head -n1 err.txt)" sh -c "! grep -v '^$L: ' err.txt"

# --- 3. frame offsets and sizes (defect 5)
for edit in "csize = -1" "csize = -1000000" "offset = -4096" "csize = 1099511627776" "offset = 1099511627776"; do
	fresh r "UPDATE frames SET $edit WHERE idx = 0"
	run $L verify r
	is "$rc" 1 "frame $edit: verify fails"
	like "$(cat err.txt)" "frame" "frame $edit: and names the frame"
done
# a clean prune still removes what it should
mkdir src2 && head -c 200000 /dev/urandom >src2/other.bin
put_ext4 d.img 1 -d src2
ok "clean: a second full backup of new files" $L backup clean d.img --name g --level full -q
old=$(sqlite3 clean/catalog.db 'SELECT path FROM archives ORDER BY id LIMIT 1')
# --- a catalog page that cannot be read (a damaged disk under the
# catalog; on PostgreSQL: the connection lost) ends the reading loops
# early: what was listed or restored is incomplete, and the run says so
# and fails, not "done" with an empty listing or nothing restored
rm -rf many && mkdir -p many/d && for i in $(seq 1 3000); do echo "f $i" >many/d/file$i; done
mkdisk m.img 64M <<'S'
label: gpt
start=2048, type=linux
S
put_ext4 m.img 1 -d many
$L init mrepo >/dev/null && $L backup mrepo m.img --name m -q &&
	sqlite3 mrepo/catalog.db 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null || echo "Bail out! backup failed"
page=$(sqlite3 mrepo/catalog.db "SELECT max(pageno) FROM dbstat WHERE name = 'versions' AND pagetype = 'leaf'")
printf '\377' | dd of=mrepo/catalog.db bs=1 seek=$(( (page - 1) * $(sqlite3 mrepo/catalog.db 'PRAGMA page_size') )) \
	conv=notrunc status=none
for cmd in "ls mrepo m p1/d" "restore mrepo m --to mout -q" "export mrepo m --to m.tar -q"; do
	run $L $cmd
	is "$rc" 1 "a catalog page that cannot be read: ${cmd%% *} fails"
	like "$(cat err.txt)" "^rawkit-lanfree: .*: database disk image is malformed$" "${cmd%% *}: says why"
	ok "${cmd%% *}: in one line" one_line_error $L err.txt
done

ok "clean: prune --keep-last 1" $L prune clean g --keep-last 1 -q
ok "clean: the old archive is removed" test ! -e "clean/$old"
is "$(ls clean/data/g | wc -l)" 1 "clean: one archive left"
ok "clean: the repository verifies" $L verify clean --read-data
done_testing
