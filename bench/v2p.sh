#!/bin/bash
# v2p.sh --- rawkit-v2p against dd + sfdisk + resize2fs and qemu-img convert:
# the same image onto the same larger "physical" disk (a loop device over
# an 8 GiB file), cold cache, synced.
#
# The image is copy.sh's disk (5 GiB GPT, one ext4 partition, 2.2 GB used,
# 1.2 GB freed-but-allocated); every tool ends with the partition grown to
# the disk's end and ext4 grown with it (qemu-img cannot: it only copies).
BENCH_SCRIPTS=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_SCRIPTS/lib.sh"
cd "$BENCH_DIR"

is_root || { echo "bench/v2p.sh: needs root (loop devices, drop_caches)"; exit 1; }
[ -f copy-src.img ] || RAWKIT_BIN=$RAWKIT_BIN REPEAT=1 "$BENCH_SCRIPTS/copy.sh" >/dev/null
used=$(imgfmt-tool used copy-src.img | awk '/^total/ { print $2 }')
rm -f metal.bin && truncate -s 8G metal.bin
dev=$(losetup -P -f --show metal.bin)
trap 'losetup -d "$dev"; rm -f "$BENCH_DIR/metal.bin"' EXIT
wipe() { wipefs -a -q "$dev" >/dev/null 2>&1; blkdiscard "$dev" 2>/dev/null || true; }
echo "image: $(human "$(stat -c %s copy-src.img)"), $(human "$used") used; target: $dev, 8 GiB"

cold
write_rate=$(dd if=/dev/zero of="$dev" bs=8M count=256 oflag=direct 2>&1 | tail -n1 | awk '{ print int($1 / $(NF - 3)) }')
echo "sequential write (dd, 2 GiB, direct): $(human "$write_rate")/s"
wipe

echo "deploy and grow (${REPEAT} runs each):"
# (exit 3: this image holds no Linux to convert; the copy and resize are what is timed)
timed rawkit wipe sh -c "rawkit-v2p -q --force --no-rebuild copy-src.img $dev 2>/dev/null; rc=\$?; [ \$rc -eq 0 ] || [ \$rc -eq 3 ]"
timed dd+sfdisk+resize2fs wipe sh -c "dd if=copy-src.img of=$dev bs=8M conv=sparse,fsync status=none &&
	sfdisk -q --relocate gpt-bak-std $dev && echo ', +' | sfdisk -q -N 1 $dev >/dev/null 2>&1 &&
	partx -u $dev; resize2fs -f \$(ls ${dev}p1) >/dev/null 2>&1"
timed qemu-img wipe qemu-img convert -n -f raw -O raw copy-src.img "$dev"
echo "check: the partition and ext4 after rawkit-v2p:"
wipe
rawkit-v2p -q --force --no-rebuild copy-src.img "$dev" 2>/dev/null || true
partx -u "$dev" 2>/dev/null || true
sfdisk --verify "$dev" | tail -n1
e2fsck -fn "${dev}p1" >/dev/null 2>&1 && echo "  e2fsck -fn: clean" || echo "  e2fsck -fn: NOT clean"

ideal=$(echo "scale=3; $used / $write_rate" | bc -l)
echo
echo "ratios (other tool's time / rawkit's time; > 1 means rawkit is faster):"
echo "  dd + sfdisk + resize2fs   $(ratio dd+sfdisk+resize2fs rawkit)"
echo "  qemu-img convert (no resize)  $(ratio qemu-img rawkit)"
echo "rawkit vs writing the used bytes once at $(human "$write_rate")/s (${ideal} s): $(echo "scale=2; ${SECONDS_OF[rawkit]} / $ideal" | bc -l)x (target <= 1.3)"
