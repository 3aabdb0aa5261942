#!/bin/bash
# Crafted ext superblocks and group descriptors: every tool reports the
# volume as damaged, none crashes (issue #10, defect 1: s_first_data_block
# 1000 on 4 KiB blocks made libext2fs write past its bitmap buffers), and a
# disk copy takes such a volume whole.  Healthy layouts stay readable.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

mkdir -p src/etc && echo guest >src/etc/hostname

# patch_u32 FILE OFFSET VALUE: a little-endian 32-bit field
patch_u32() {
	local v=$3
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((v & 255)) $((v >> 8 & 255)) $((v >> 16 & 255)) $((v >> 24 & 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# u32 FILE OFFSET
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

# make_ext DISK [mkfs options]: GPT, p1 (1 MiB, 64 MiB) ext4 with a small
# tree.  No metadata_csum: libext2fs would refuse the patched superblock on
# its checksum before rawkit's own checks are reached.
O1=1048576 SB=$((1048576 + 1024))
mkdisk blank.img 80M <<'S'
label: gpt
start=2048, size=64M, type=linux
S
make_ext() {
	local disk=$1
	shift
	cp --sparse=always blank.img "$disk" &&
	mkfs.ext4 -q -F -E "offset=$O1" -O ^metadata_csum "$@" -d src "$disk" 65536k >/dev/null
}
make_ext good.img -b 4096
is "$(part_start good.img 1) $(part_size good.img 1)" "$O1 67108864" "p1 lies where the patches expect it"

# run NAME CMD...: RC, OUT and ERR of one tool run, bounded in time
run() {
	local name=$1
	shift
	timeout 20 "$@" >"$name.out" 2>"$name.err"
	RC=$?
	[ "$RC" -lt 124 ] || diag "$name: exit $RC: $(head -c 300 "$name.err")"
}

# --- defect 1: first data block 1000 on a 4 KiB-block filesystem
cp good.img fdb.img
patch_u32 fdb.img $((SB + 0x14)) 1000
before=$(sum fdb.img)
fails "e2fsck (independent) finds the superblock corrupt" e2fsck -fn "fdb.img?offset=$O1"
WHY="damaged ext filesystem: first data block is 1000, should be 0 for 4096-byte blocks"

run info rawkit-info fdb.img
like "$RC" '^(0|3)$' "info: no crash (exit $RC)"
like "$(grep '^p1 ' info.out)" "$WHY" "info: p1 is damaged, and why"

rawkit-lanfree init repo >/dev/null
run backup rawkit-lanfree backup repo fdb.img --name hostile -q
like "$RC" '^(1|3)$' "lanfree backup: fails or warns, no crash (exit $RC)"
like "$(cat backup.err)" "p1: $WHY" "lanfree backup: says p1 is damaged, and why"
ok "lanfree verify: the repository is sound" timeout 20 rawkit-lanfree verify repo --read-data

run clone rawkit-clone --hostname c1 fdb.img clone.img
like "$RC" '^(1|3)$' "clone: fails or warns, no crash (exit $RC)"
like "$(cat clone.err)" "$WHY" "clone: says p1 is damaged, and why"

run p2v rawkit-p2v --no-convert fdb.img p2v.img
like "$RC" '^(0|3)$' "p2v capture: no crash (exit $RC)"
ok "p2v capture: the damaged volume is copied whole (equals the source)" cmp fdb.img p2v.img

truncate -s 80M v2p.img
run v2p rawkit-v2p --no-resize --no-rebuild fdb.img v2p.img
like "$RC" '^(0|1|3)$' "v2p: no crash (exit $RC)"
if [ "$RC" -eq 1 ]; then
	skip 1 "v2p refused the disk"
else
	ok "v2p: the damaged volume is copied whole" cmp fdb.img v2p.img
fi
rm -f v2p.img && truncate -s 100M v2p.img
run v2p-grow rawkit-v2p --no-rebuild fdb.img v2p.img
like "$RC" '^(1|3)$' "v2p onto a larger disk: fails or warns, no crash (exit $RC)"
ok "v2p onto a larger disk: one line on stderr" one_line_error rawkit-v2p v2p-grow.err
is "$(sum fdb.img)" "$before" "no tool changed the damaged disk"

# --- more geometry that libext2fs opens but its bitmap code must not see
# hostile NAME IMAGE PATTERN: rawkit-info names p1 damaged, matching PATTERN
hostile() {
	run "$1" rawkit-info "$2"
	like "$RC" '^(0|3)$' "$1: info does not crash (exit $RC)"
	like "$(grep '^p1 ' "$1.out")" "damaged ext filesystem: $3" "$1: p1 is damaged, and why"
}
# 1 KiB blocks, 16384 blocks per group: a group bitmap would need 2 blocks
make_ext bpg.img -b 1024 -N 4096 -O ^flex_bg,^uninit_bg
ipg=$(u32 bpg.img $((SB + 0x28)))
patch_u32 bpg.img $((SB + 0x20)) 16384
patch_u32 bpg.img $((SB + 0x24)) 16384
patch_u32 bpg.img $((SB + 0x00)) $((ipg * 4))
hostile "16384 blocks per 1 KiB-block group" bpg.img "16384 clusters per group \(8192 at most\)"
# 1 KiB blocks with a first data block of 0
make_ext fdb1k.img -b 1024
patch_u32 fdb1k.img $((SB + 0x14)) 0
hostile "first data block 0 with 1 KiB blocks" fdb1k.img "first data block is 0, should be 1"
# group descriptors (no checksums, no flex_bg: each group's metadata in its group)
make_ext gd.img -b 4096 -O ^flex_bg,^uninit_bg
GD=$((O1 + 4096))
cp gd.img bb.img && patch_u32 bb.img $((GD + 0)) 5000000
hostile "block bitmap past the end" bb.img "group 0: block bitmap at block 5000000"
# what e2fsck repairs and goes on: files still read, bitmaps not trusted, no edits
run bb-backup rawkit-lanfree backup repo bb.img --name bb -q
like "$RC" '^(0|3)$' "block bitmap past the end: backup reads the files (exit $RC)"
is "$(rawkit-lanfree restore repo bb p1/etc/hostname --to bb-r -q && cat bb-r/p1/etc/hostname)" guest \
	"block bitmap past the end: a file restores"
run bb-clone rawkit-clone --hostname c1 bb.img bb-clone.img
like "$(cat bb-clone.err)" "damaged ext filesystem: group 0: block bitmap" "block bitmap past the end: clone does not edit it"
cp gd.img ib.img && patch_u32 ib.img $((GD + 4)) 16384
hostile "inode bitmap just past the end" ib.img "group 0: inode bitmap at block 16384"
cp gd.img it.img && patch_u32 it.img $((GD + 8)) 16383
hostile "inode table running off the end" it.img "group 0: inode table at block 16383"
cp good.img ino.img && patch_u32 ino.img $((SB + 0x54)) 3
hostile "first inode 3" ino.img "first inode 3 is out of range"

# --- healthy layouts pass the same checks
for opts in "-b 1024" "-b 2048 -I 128" "-b 4096 -O bigalloc -C 65536" "-b 4096 -O meta_bg,^resize_inode" \
	"-b 4096 -O ^64bit,^flex_bg" "-b 1024 -g 1024 -N 2048" "-t ext2 -b 4096" "-t ext3 -b 1024"; do
	make_ext ok.img $opts 2>/dev/null
	run ok rawkit-info ok.img
	ok "mkfs $opts: e2fsck (independent) finds it clean" e2fsck -fn "ok.img?offset=$O1"
	is "$RC $(grep -c 'damaged\|cannot' ok.out)" "0 0" "mkfs $opts: info reads it"
	is "$(imgfmt-tool cat ok.img p1 /etc/hostname 2>&1)" guest "mkfs $opts: a file reads back"
done

done_testing
