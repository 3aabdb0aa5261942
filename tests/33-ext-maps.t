#!/bin/bash
# Crafted ext block maps cost what the filesystem holds, not what they claim
# (issue #10: every loop bounded by something verified).  An ext2 file whose
# triple-indirect block names itself 1024 times claims a billion blocks; an
# extent file with the "encrypted" flag and a 512 TiB size has no block map
# rawkit reads.  Each must end quickly with the file reported, never a scan
# of the claim; an inode whose size does not fit SQLite's integer keeps the
# catalog verifiable.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
T=20

# put 4-byte little-endian NUMBER COUNT times at byte OFFSET of FILE
put_le32() {
	python3 -c 'import sys, struct
f, off, n, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(f, "r+b") as fh:
    fh.seek(off); fh.write(struct.pack("<I", n) * count)' "$@"
}
sif() { debugfs -w -R "sif $2 $3 $4" "$1" >/dev/null 2>&1; }

# ---- 1. ext2: a triple-indirect block that names itself
mkdir tree && echo hello >tree/a.txt && echo keep >tree/b.txt
truncate -s 64M loop.img
mkfs.ext2 -q -F -b 4096 -d tree loop.img
B=16000 # a free block near the end of the 16384
is "$(debugfs -R "testb $B" loop.img 2>/dev/null | grep -c 'not in use')" 1 "block $B is free"
put_le32 loop.img $((B * 4096)) "$B" 1024
sif loop.img /a.txt 'block[TIND]' "$B"
sif loop.img /a.txt size 4398046511104
before=$(sum loop.img)

$L init repo >/dev/null
timeout $T $L backup repo loop.img --name loop -q >out 2>err
rc=$?
is "$rc" 3 "a self-naming triple-indirect block: backup ends in time with a warning (exit 3)"
like "$(cat err)" 'a\.txt: .*(claims more|map)' "the warning names the file and its block map"
is "$(grep -vc '^rawkit-lanfree: ' err)" 0 "every message is one rawkit-lanfree: line"
ok "the other file is backed up" sh -c "$L ls repo loop@1 disk | grep -q b.txt"
ok "the repository verifies" timeout $T $L verify repo --read-data
is "$(sum loop.img)" "$before" "the disk is not written"
timeout $T $L verify repo loop --against loop.img >/dev/null 2>&1
rc=$?
is "$([ $rc -lt 124 ] && [ $rc -ne 2 ] && echo ended)" ended "verify --against ends in time on the same disk (exit $rc)"

# ---- 2. ext4: an "encrypted" file of 512 TiB with no extents
rm -rf tree && mkdir tree && echo hello >tree/c.txt && echo keep >tree/d.txt
truncate -s 64M enc.img
mkfs.ext4 -q -F -b 4096 -O ^metadata_csum -d tree enc.img
sif enc.img /c.txt flags 0x80800
sif enc.img /c.txt size 562949953421312
like "$(debugfs -R 'stat /c.txt' enc.img 2>/dev/null)" 'Size: 562949953421312' "the crafted size is in place"
timeout $T $L backup repo enc.img --name enc -q >out 2>err
rc=$?
is "$rc" 3 "an encrypted-flag file of 512 TiB: backup ends in time with a warning (exit 3)"
like "$(cat err)" 'c\.txt' "the warning names the file"
ok "the other file is backed up" sh -c "$L ls repo enc@1 disk | grep -q d.txt"

# ---- 3. a size no int64 holds (f_messy_inode has one)
rm -rf tree && mkdir tree && echo hello >tree/e.txt
truncate -s 16M big.img
mkfs.ext2 -q -F -b 1024 -d tree big.img
sif big.img /e.txt size 0xffff000000001000
sif big.img /e.txt size_high 0xffff0000
timeout $T $L backup repo big.img --name big -q >/dev/null 2>err
rc=$?
is "$([ $rc -eq 1 ] || [ $rc -eq 3 ] && echo warned)" warned "a size past 2^63: backup ends with a warning or refusal (exit $rc)"
ok "the catalog still verifies (no negative size stored)" timeout $T $L verify repo --read-data

done_testing
