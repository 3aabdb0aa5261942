#!/bin/bash
# Restore never writes outside --to: ".." and absolute names, a symbolic link
# from the guest used as a directory, a link planted in the target, and a
# catalog edited by hand are all neutralized.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
mkdir -p src/etc && echo secret >src/etc/passwd && ln -s /tmp src/evil && echo x >src/plain
mkdisk d.img 40M <<'S'
label: dos
start=2048, size=30M, type=83
S
put_ext4 d.img 1 -d src
$L init repo >/dev/null && $L backup repo d.img --name g -q || echo "Bail out! backup failed"
mkdir outside
sql() { sqlite3 repo/catalog.db "$1"; }
nothing_outside() { is "$(find outside -mindepth 1 | wc -l)" 0 "$1: nothing written outside the target"; }

# 1. a name of ".." in the catalog
cp repo/catalog.db saved.db
sql "UPDATE versions SET name = CAST('..' AS BLOB) WHERE name = CAST('plain' AS BLOB)"
$L restore repo g --to t1 -q 2>err.txt
is "$?" 3 "'..' as a name: restore warns (exit 3)"
like "$(cat err.txt)" "unsafe path was left out" "'..' as a name: says so"
ok "'..' as a name: the entry is not written" test ! -e t1/plain
cp saved.db repo/catalog.db

# 2. a directory that climbs out: dir = "../../outside"
sql "UPDATE versions SET dir = CAST('../../../outside' AS BLOB) WHERE name = CAST('plain' AS BLOB)"
$L restore repo g --to t2 -q 2>err.txt
is "$?" 3 "'..' in a directory: restore warns"
nothing_outside "'..' in a directory"
cp saved.db repo/catalog.db

# 3. an absolute directory
sql "UPDATE versions SET dir = CAST('/$SCRATCH/outside' AS BLOB) WHERE name = CAST('plain' AS BLOB)"
$L restore repo g --to t3 -q 2>err.txt
is "$?" 3 "absolute directory: restore warns"
nothing_outside "absolute directory"
cp saved.db repo/catalog.db

# 4. a NUL byte inside a name
sql "UPDATE versions SET name = X'706c61696e002f2e2e' WHERE name = CAST('plain' AS BLOB)"
$L restore repo g --to t4 -q 2>err.txt
is "$?" 3 "NUL in a name: restore warns"
ok "NUL in a name: nothing created under a cut name" test ! -e t4/p1/plain
cp saved.db repo/catalog.db

# 5. the guest's symlink evil -> /tmp used as a directory by a forged entry
sql "INSERT INTO versions(guest_id, volume, dir, name, first_seq, last_seq, mode, uid, gid, size, atime, mtime, ctime, btime, ino, igen, nlink, rdev_major, rdev_minor, flags)
	SELECT guest_id, volume, CAST('evil' AS BLOB), CAST('planted' AS BLOB), first_seq, last_seq, 33188, 0, 0, 0, 0, 0, 0, 0, 999, 0, 1, 0, 0, 0
	FROM versions WHERE name = CAST('plain' AS BLOB)"
$L restore repo g --to t5 -q 2>err.txt
is "$?" 3 "a symlink used as a parent: restore warns"
ok "a symlink used as a parent: /tmp/planted not created" test ! -e /tmp/planted
is "$(readlink t5/p1/evil)" /tmp "the symlink itself is restored as a symlink"
cp saved.db repo/catalog.db

# 6. a symlink planted in the target before the restore
mkdir t6 && ln -s "$SCRATCH/outside" t6/p1
$L restore repo g --to t6 -q 2>err.txt
is "$?" 3 "a symlink planted in the target: restore warns"
nothing_outside "a symlink planted in the target"

# and a clean restore of the same repository works
ok "a clean restore" $L restore repo g --to clean -q
ok "the clean restore equals the source" diff -r --no-dereference -x lost+found src clean/p1

# progress on request, even when stderr is not a terminal
$L restore repo g --to prog --progress >/dev/null 2>err.txt
like "$(tr '\r' '\n' <err.txt)" "restore: " "--progress draws a progress line"
$L backup repo d.img --name g2 --progress >/dev/null 2>err.txt
like "$(tr '\r' '\n' <err.txt)" "backup: .* ETA [0-9]+:[0-9]{2}" "backup --progress: bytes, rate and ETA"

# a target that fills up (ENOSPC) in the middle of a large, streamed file:
# reported once, nothing left of it, and the rest of that file is not
# decompressed for nothing (before: the whole 24 MiB was read on)
if is_root && command -v strace >/dev/null; then
	mkdir -p srcbig/d && head -c $((24 * 1048576)) /dev/urandom >srcbig/d/big
	mkdisk big.img 64M <<'S'
label: gpt
start=2048, type=linux
S
	put_ext4 big.img 1 -d srcbig
	$L init rbig >/dev/null && $L backup rbig big.img --name b -q
	mkdir full && mount -t tmpfs -o size=2M tmpfs full
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -e trace=read -o reads.txt $L restore rbig b --to full/x -q 2>err.txt
	is "$?" 1 "a target that fills up: restore fails (exit 1)"
	is "$(grep -c 'p1/d/big: cannot write: No space left on device' err.txt)" 1 "the file is reported once, with why"
	ok "and not left half-written" test ! -e full/x/p1/d/big
	n=$(grep -c 'read(.*= 131072$' reads.txt || true)
	ok "the archive is not read on after the writer failed ($n reads of 128 KiB; 24 MiB is 192)" test "$n" -lt 120
	umount full
else
	skip 4 "needs root (a tmpfs that fills up) and strace"
fi

done_testing
