#!/bin/bash
# rawkit-lanfree: backup, verify and restore cost what a file's data costs,
# not its apparent size (issue #10, defect 7).  A guest file of 16 TiB with
# a few bytes of data, an extent pointing past the volume after a 64 GiB
# hole, and a disk that ends in the middle of a file each take well under a
# second; holes are never hashed, packed or written, and a file that cannot
# be read to its end is recorded unreadable (exit 3) and left out of the
# archive instead of being padded with zeros.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
T=20 # seconds: the unfixed code needs hours for the first disk, minutes for the others
TIB16=$((16 * 1024 ** 4 - 4096)) # the largest file ext4 holds with 4 KiB blocks
truncate -s "$TIB16" probe 2>/dev/null || skip_all "the scratch filesystem cannot hold a 16 TiB sparse file"
rm -f probe

# put DATA at byte OFFSET of FILE, without touching the rest
put_at() { printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# the archive's table of contents as GNU tar sees it
tar_list() { zstd -dc "$1"/data/*/*.tar.zst | tar -tvf -; }

# ---- 1. a real sparse file with a huge apparent size
mkdir src
truncate -s "$TIB16" src/huge
put_at src/huge 0 head
put_at src/huge $((1 << 40)) middle
put_at src/huge $((TIB16 - 4)) tail
head -c 3000000 /dev/urandom >src/dense
head -c 700000 /dev/urandom >src/sparse
truncate -s 16M src/sparse
head -c 500000 /dev/urandom | dd of=src/sparse bs=1M seek=9 conv=notrunc status=none
truncate -s 16M src/holes-only
# a whole-disk filesystem (volume "disk"): no partition table needed here
truncate -s 64M g1.img
mkfs.ext4 -q -F -b 4096 -d src g1.img

$L init repo >/dev/null
start=$(date +%s.%N)
timeout $T $L backup repo g1.img --name g1 -q
is "$?" 0 "backup of a 16 TiB sparse file completes within ${T}s (exit 0)"
diag "backup took $(echo "$(date +%s.%N) - $start" | bc) s"
is "$(sqlite3 repo/catalog.db "SELECT lower(hex(c.sha256)) FROM versions v JOIN contents c ON c.id = v.content_id
	WHERE v.name = CAST('dense' AS BLOB)")" "$(sha256sum <src/dense | cut -d' ' -f1)" \
	"a file without holes is still identified by what sha256sum prints"
stored=$(sqlite3 repo/catalog.db "SELECT sum(size) FROM archives")
ok "the archive holds the data, not the holes ($stored bytes)" test "$stored" -lt 10000000
ok "verify --read-data passes within ${T}s" timeout $T $L verify repo --read-data
list=$(tar_list repo)
like "$list" " $TIB16 .* disk/huge" "GNU tar lists the 16 TiB file with its size"
like "$list" " 16777216 .* disk/holes-only" "GNU tar lists the file made of holes only"
mkdir gnutar
ok "GNU tar extracts the archive (GNU sparse 1.0 entries) within ${T}s" \
	sh -c "zstd -dc repo/data/*/*.tar.zst | timeout $T tar -xf - -C gnutar"
ok "GNU tar's copy of the sparse file is the source" cmp src/sparse gnutar/disk/sparse
is "$(tail -c 4 gnutar/disk/huge)" tail "GNU tar's copy of the 16 TiB file ends with its data"

timeout $T $L restore repo g1 --to r -q
is "$?" 0 "restore completes within ${T}s"
is "$(stat -c %s r/disk/huge)" "$TIB16" "the restored file has the apparent size"
is "$(head -c 4 r/disk/huge)$(dd if=r/disk/huge bs=1 skip=$((1 << 40)) count=6 status=none)$(tail -c 4 r/disk/huge)" \
	headmiddletail "its data is at its offsets"
ok "its holes are holes: $(du -k r/disk/huge | cut -f1) KiB on the disk" test "$(du -k r/disk/huge | cut -f1)" -lt 1024
ok "a sparse file restores byte for byte" cmp src/sparse r/disk/sparse
ok "so does a file of holes only" cmp src/holes-only r/disk/holes-only
ok "... and a dense file" cmp src/dense r/disk/dense
ok "verify --against the disk agrees with the generation" timeout $T $L verify repo g1 --against g1.img

# ---- 2. read errors: a file that cannot be read ends, it is not padded
mkdir src2
echo hi >src2/ok
head -c 5000 /dev/urandom >src2/a
head -c 1500000 /dev/urandom >src2/b
head -c 3000000 /dev/urandom >src2/f
truncate -s 64G src2/f
head -c 100000 /dev/urandom | dd of=src2/f bs=1M seek=$((64 * 1024 - 1)) conv=notrunc status=none
rm -f fs.img
truncate -s 32M fs.img
mkfs.ext4 -q -F -b 4096 -O inline_data -d src2 fs.img
tail_extent() { debugfs -R "stat /f" fs.img 2>/dev/null | sed -n 's/.*(16776960-[0-9]*):\([0-9]*\)-.*/\1/p'; }
pblk=$(tail_extent)
ok "fixture: f's last extent is on the disk (block $pblk)" test -n "$pblk"

# unreadable_backup REPO IMG FILE WHY DESC: IMG backs up with a warning
# (exit 3) that names FILE and WHY, and FILE is recorded as unreadable
unreadable_backup() {
	local repo=$1 img=$2 file=$3 why=$4 desc=$5
	$L init "$repo" >/dev/null
	timeout $T $L backup "$repo" "$img" --name "${img%.img}" -q 2>err
	is "$?" 3 "$desc: backup finishes within ${T}s with a warning (exit 3)"
	like "$(cat err)" "^rawkit-lanfree: $file: warning: $why" "$desc: the warning names the file and why"
	is "$(sqlite3 "$repo/catalog.db" "SELECT error FROM versions WHERE name = CAST('$file' AS BLOB)")" unreadable \
		"$desc: the file is recorded as unreadable"
}

# (a) the extent after a 64 GiB hole points past the volume's end
cp fs.img past.img
debugfs -w past.img -f - >/dev/null 2>&1 <<'E'
extent_open f
last_leaf
replace_node 16776960 25 40000000
extent_close
E
like "$(debugfs -R 'stat /f' past.img 2>/dev/null)" '40000000-40000024' "fixture: the extent points past the end"
unreadable_backup repo2 past.img f '.*outside the volume' "an extent past the volume's end"
ok "the repository verifies" timeout $T $L verify repo2 --read-data

# (b) the disk ends inside f's last extent: a read error half-way through
cp fs.img short.img
truncate -s $((pblk * 4096 + 2048)) short.img
unreadable_backup repo3 short.img f 'cannot read' "a disk that ends inside a file"
list=$(tar_list repo3)
ok "the unreadable file is not in the archive (no zero padding)" sh -c "! printf '%s' '$list' | grep -q 'disk/f\$'"
like "$list" 'disk/b' "the files read before it are"
like "$list" 'disk/ok' "and so are the files read after it"
ok "the repository verifies" timeout $T $L verify repo3 --read-data
timeout $T $L restore repo3 short --to r3 -q 2>/dev/null
is "$?" 3 "restore: the unreadable file is reported (exit 3)"
ok "the others restore byte for byte" sh -c "cmp src2/a r3/disk/a && cmp src2/b r3/disk/b && cmp src2/ok r3/disk/ok"
ok "the unreadable file is not restored as zeros" test ! -e r3/disk/f

# (c) a small file (read ahead on the reader thread) whose blocks the disk
# no longer has: the same warning and record, the rest of the disk intact
cp fs.img small.img
debugfs -w small.img -f - >/dev/null 2>&1 <<'E'
extent_open a
last_leaf
replace_node 0 2 8190
extent_close
E
like "$(debugfs -R 'stat /a' small.img 2>/dev/null)" '8190-8191' "fixture: a's blocks are the volume's last two"
truncate -s $((8190 * 4096 + 2048)) small.img
unreadable_backup repo4 small.img a 'cannot read' "a small file the disk ends inside"
timeout $T $L restore repo4 small --to r4 -q 2>/dev/null
ok "the files after it restore byte for byte" sh -c "cmp src2/b r4/disk/b && cmp src2/ok r4/disk/ok"

done_testing
