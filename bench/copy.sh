#!/bin/bash
# copy.sh --- the imgfmt copy engine against cp, qemu-img and partclone
#
# A generated 5 GiB disk (GPT, one ext4 partition) with >= 2 GB of files and
# >= 1 GB written and then deleted (allocated in the image, free in ext4).
# Each tool copies it once, cold cache where root allows, synced to disk.
. "$(dirname "$0")/lib.sh"
cd "$BENCH_DIR"
USED_MB=${USED_MB:-2200} FREED_MB=${FREED_MB:-1200}

make_disk() {
	[ -f copy-src.img ] && [ "$(cat copy-src.stamp 2>/dev/null)" = "$USED_MB/$FREED_MB" ] && return
	echo "bench: generating copy-src.img ($USED_MB MB used, $FREED_MB MB freed-but-allocated)"
	rm -f copy-src.img
	truncate -s 5G copy-src.img
	printf 'label: gpt\nstart=2048, size=4800M, type=linux\n' | sfdisk -q copy-src.img >/dev/null
	mkfs.ext4 -q -F -b 4096 -E offset=1048576 copy-src.img 4800M
	mkdir -p mnt
	mount -o loop,offset=1048576 copy-src.img mnt
	# Files of mixed sizes, incompressible; then a large file written and deleted.
	for i in $(seq 1 $((USED_MB / 100))); do
		mkdir -p "mnt/d$i"
		openssl rand -out "mnt/d$i/big" $((60 * 1048576))
		for j in $(seq 1 40); do openssl rand -out "mnt/d$i/f$j" $((1048576)); done
	done
	openssl rand -out mnt/freed $((FREED_MB * 1048576))
	sync
	rm mnt/freed
	sync
	umount mnt
	echo "$USED_MB/$FREED_MB" >copy-src.stamp
}

is_root || { echo "bench/copy.sh: needs root (loop mount to build the disk, drop_caches)"; exit 1; }
make_disk
used=$(imgfmt-tool used copy-src.img | awk '/^total/ { print $2 }')
alloc=$(du -B1 copy-src.img | cut -f1)
echo "disk: $(human "$(stat -c %s copy-src.img)") image, $(human "$alloc") allocated, $(human "$used") used by ext4"

# The disk's sequential read speed: cold dd over 2 GiB of allocated data.
cold
bytes_per_s=$(dd if=copy-src.img of=/dev/null bs=8M skip=1 count=256 2>&1 | tail -n1 |
	awk '{ print int($1 / $(NF - 3)) }')
echo "sequential read (cold dd, 2 GiB): $(human "$bytes_per_s")/s"

loop=$(losetup -f --show -o 1048576 --sizelimit $((4800 * 1048576)) copy-src.img)
truncate -s $((4800 * 1048576)) out-partclone.img # partclone -b writes to a device only
loop_out=$(losetup -f --show out-partclone.img)
trap 'losetup -d "$loop" "$loop_out"; rm -f "$BENCH_DIR"/out-*.img' EXIT
echo "whole disk (${REPEAT} runs each):"
timed rawkit "rm -f out-rawkit.img" imgfmt-tool copy copy-src.img out-rawkit.img
timed cp-sparse "rm -f out-cp.img" cp --sparse=always copy-src.img out-cp.img
timed qemu-img "rm -f out-qemu.img" qemu-img convert -f raw -O raw copy-src.img out-qemu.img
echo "partition only:"
timed rawkit-p1 "rm -f out-rawkit-p1.img" imgfmt-tool copy copy-src.img out-rawkit-p1.img --volume p1
timed partclone "true" partclone.ext4 -q -b -s "$loop" -o "$loop_out"
echo "targets on disk: rawkit $(human "$(du -B1 out-rawkit.img | cut -f1)"), cp $(human "$(du -B1 out-cp.img | cut -f1)"), qemu-img $(human "$(du -B1 out-qemu.img | cut -f1)")"

ideal=$(echo "scale=3; $used / $bytes_per_s" | bc -l)
echo
echo "ratios (other tool's time / rawkit's time; > 1 means rawkit is faster):"
echo "  cp --sparse=always        $(ratio cp-sparse rawkit)"
echo "  qemu-img convert          $(ratio qemu-img rawkit)"
echo "  partclone.ext4 (p1)       $(ratio partclone rawkit-p1)"
echo "rawkit vs reading the used bytes once at $(human "$bytes_per_s")/s (${ideal} s): $(echo "scale=2; ${SECONDS_OF[rawkit]} / $ideal" | bc -l)x (target <= 1.2)"
echo "(a copy also writes and fsyncs the used bytes on the same device; reads and writes overlap in rawkit's pipeline)"
