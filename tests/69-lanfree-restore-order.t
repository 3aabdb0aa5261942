#!/bin/bash
# A whole restore reads each archive once, front to back: files come back in
# archive order, the reader goes on from one entry to the next across frames,
# and a content stored once but named by several files (dedup) is read once.
# Each path checked against the source; a catalog whose frame sizes lie
# (so that going on lands elsewhere) still restores right, from the frame.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && losetup -f >/dev/null 2>&1 || skip_all "needs root and loop devices (the fixture is built on a mounted ext4)"
CMP="python3 $TESTS_DIR/lib/treecmp.py"
L=rawkit-lanfree
# strace SYSCALL CMD...: run CMD traced into trace.txt (LeakSanitizer does
# not run under ptrace: off for these runs of a SANITIZE=1 build)
traced() {
	local call=$1
	shift
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -e trace="$call" -o trace.txt "$@"
}

mkdisk d.img 96M <<'S'
label: gpt
start=2048, type=linux
S
put_ext4 d.img 1 -b 4096
mount_part d.img 1 src
# many files over several 1 MiB frames, in many directories
for d in $(seq 1 12); do
	mkdir -p "src/dir$d/sub"
	for f in $(seq 1 25); do head -c $((RANDOM * 3 + 1)) /dev/urandom >"src/dir$d/f$f"; done
	echo "small $d" >"src/dir$d/sub/note"
done
# one content under many names, small and over the 1 MiB the reader keeps
head -c 5000 /dev/urandom >src/dup-small
for d in 1 4 9 12; do cp src/dup-small "src/dir$d/sub/dup-small"; done
head -c 3000000 /dev/urandom >src/dup-big
for d in 2 7; do cp src/dup-big "src/dir$d/dup-big"; done
# sparse and empty files between them
truncate -s 4M src/dir3/sparse && printf data | dd of=src/dir3/sparse bs=1 seek=2000000 conv=notrunc status=none
: >src/dir5/empty
ln src/dir6/f1 src/dir6/hardlink
umount src

ok "init" $L init repo
ok "full backup" $L backup repo d.img --name d --level full -q
frames=$(sqlite3 repo/catalog.db 'SELECT count(*) FROM frames')
ok "the archive has several frames ($frames)" test "$frames" -ge 4
is "$(sqlite3 repo/catalog.db "SELECT count(*) FROM contents c JOIN versions v ON v.content_id = c.id WHERE c.size = 5000")" 5 \
	"the small duplicate: one content, five names"
ok "restore everything" $L restore repo d --to r1 -q
mount_part d.img 1 src ro
ok "restored tree equals the source (content, modes, times, links, holes)" $CMP src r1/p1
umount src
seeks=$(traced openat $RAWKIT_BIN/rawkit-lanfree restore repo d --to r2 -q && grep -c 'openat(.*/data/d/' trace.txt)
# once, and once more for each further name of the 3 MB content (more than
# the reader keeps in memory); not once per file (~320)
ok "the archive is opened at a frame 3 times, not once per file ($seeks opens)" test "$seeks" -ge 1 -a "$seeks" -le 3

# frames whose sizes lie: going on from one entry cannot find the next
# where the catalog says; each such entry is read from its frame instead
cp -r repo lie
sqlite3 lie/catalog.db 'UPDATE frames SET usize = usize + 4096 WHERE idx % 2 = 0'
lies=$(traced openat $RAWKIT_BIN/rawkit-lanfree restore lie d --to r3 -q && grep -c 'openat(.*/data/d/' trace.txt)
ok "restore with lying frame sizes: done, from the frames ($lies opens)" test "$lies" -gt "$seeks"
ok "the same tree as the honest catalog's" $CMP r1 r3

# a path is found through the directory index; a catalog without it still
# answers (more slowly)
cp -r repo noidx
sqlite3 noidx/catalog.db 'DROP INDEX versions_dir'
ok "one path from a catalog without the directory index" $L restore noidx d p1/dir3/sparse --to r4 -q
ok "the same file" cmp r1/p1/dir3/sparse r4/p1/dir3/sparse
reads=$(traced pread64 $RAWKIT_BIN/rawkit-lanfree restore repo d p1/dir3/sparse --to r5 -q && grep -c 'pread64(' trace.txt)
walk=$(traced pread64 $RAWKIT_BIN/rawkit-lanfree restore noidx d p1/dir3/sparse --to r6 -q && grep -c 'pread64(' trace.txt)
ok "one path: fewer catalog reads through the index ($reads) than walking the versions ($walk)" test "$reads" -lt "$walk"
done_testing
