#!/bin/bash
# restoredisk.sh --- rawkit-lanfree restore-disk against rebuilding the disk
# by hand and against restoring an image-level backup
#
# A generated guest disk as a BIOS server has it: dos table, boot code in
# the MBR and a core image in the gap before p1, p1 an ext4 (2 GiB) holding
# real files copied from this machine's /usr (>= 40k files, >= 600 MB), p2
# a swap (256 MiB).  Backed up beforehand, untimed, twice: file by file with
# rawkit-lanfree, and as an image with qemu-img convert -c -O qcow2.  Then
# the whole disk back onto a new image file, in one run, cold cache each:
#   (a)  rawkit-lanfree restore-disk
#   (b)  what an admin does without it: rawkit-lanfree restore into a
#        directory, then the table from a kept sfdisk -d, mkfs.ext4 and
#        mkswap with the recorded UUIDs and labels, a loop mount and cp -a
#        (the boot areas left out: grub-install in a chroot comes on top)
#   (b') the same without the staging directory: restore straight into the
#        mounted new filesystem (the quickest way by hand)
#   (c)  qemu-img convert -O raw of the compressed qcow2
# Prints times, ratios, the bytes each wrote and the machine's limit.
. "$(dirname "$0")/lib.sh"
cd "$BENCH_DIR"
is_root || { echo "bench/restoredisk.sh: needs root (loop mounts, drop_caches)"; exit 1; }
FILES_MIN=${FILES_MIN:-40000} BYTES_MIN=${BYTES_MIN:-600000000}
MiB=1048576 OFF=1048576
ROOT_SIZE=$((2048 * MiB)) SWAP_SIZE=$((256 * MiB))
DISK_SIZE=$((OFF + ROOT_SIZE + SWAP_SIZE))
ROOT_UUID=7d1f3c2e-0b5e-4a6d-9c8b-5e70d15c0001 SWAP_UUID=7d1f3c2e-0b5e-4a6d-9c8b-5e70d15c0002

# rd_guest_disk IMG: the guest disk above, kept between runs (IMG's .stamp)
rd_guest_disk() {
	local img=$1 stamp=${1%.img}.stamp loop
	[ -f "$img" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$FILES_MIN/$BYTES_MIN" ] && return
	echo "bench: generating $img from /usr (>= $FILES_MIN files, >= $BYTES_MIN bytes)"
	rm -f "$img"
	truncate -s $DISK_SIZE "$img"
	printf 'label: dos\nlabel-id: 0x0be7c4d1\nstart=2048, size=%d, type=83, bootable\nsize=%d, type=82\n' \
		$((ROOT_SIZE / 512)) $((SWAP_SIZE / 512)) | sfdisk -q --no-reread --no-tell-kernel "$img" >/dev/null
	mkfs.ext4 -q -F -b 4096 -U $ROOT_UUID -L rdroot -E offset=$OFF "$img" $((ROOT_SIZE / 1024))k
	loop=$(losetup -f --show -o $((OFF + ROOT_SIZE)) --sizelimit $SWAP_SIZE "$img")
	mkswap -q -U $SWAP_UUID -L rdswap "$loop" >/dev/null
	losetup -d "$loop"
	printf "BOOTCODE%.0s" $(seq 55) | dd of="$img" conv=notrunc status=none
	head -c 60000 /dev/urandom | dd of="$img" bs=512 seek=1 conv=notrunc status=none
	mkdir -p mnt && mount -o loop,offset=$OFF,sizelimit=$ROOT_SIZE "$img" mnt
	usr_fill mnt "$FILES_MIN" "$BYTES_MIN"
	umount mnt
	echo "$FILES_MIN/$BYTES_MIN" >"$stamp"
}

rd_guest_disk rd-guest.img
rm -rf rd-repo rd-files rd-direct rd-a.img rd-b.img rd-b2.img rd-c.img rd-guest.qcow2 rd-table.sfdisk rd-by-hand*.sh
mkdir -p rd-mnt
trap 'umount rd-mnt rd-direct/p1 2>/dev/null || true' EXIT
files=$(debugfs -R stats "rd-guest.img?offset=$OFF" 2>/dev/null | awk -F: '/^Inode count/ {ic=$2} /^Free inodes/ {fi=$2} END {print ic - fi}')
used=$(imgfmt-tool used rd-guest.img | awk '/^total/ {print $2}')
echo "guest disk: $(human $DISK_SIZE) (dos: p1 ext4 $(human $ROOT_SIZE), p2 swap $(human $SWAP_SIZE); boot code and gap), ~$files inodes in use, $(human "$used") used"

# the backups, untimed by the bench (printed for scale)
t0=$(date +%s.%N)
rawkit-lanfree init rd-repo >/dev/null
rawkit-lanfree backup rd-repo rd-guest.img --name g -q
t1=$(date +%s.%N)
qemu-img convert -c -O qcow2 rd-guest.img rd-guest.qcow2
t2=$(date +%s.%N)
printf 'backups (made beforehand, warm cache): rawkit-lanfree backup %.1f s, %s repository; qemu-img convert -c -O qcow2 %.1f s, %s\n' \
	"$(echo "$t1 - $t0" | bc -l)" "$(human "$(du -sb rd-repo | cut -f1)")" \
	"$(echo "$t2 - $t1" | bc -l)" "$(human "$(stat -c %s rd-guest.qcow2)")"
# what an admin kept of the disk: sfdisk -d, and the UUIDs and labels
sfdisk -d rd-guest.img | sed -e '/^device:/d' -e 's|^rd-guest\.img[0-9]* : ||' >rd-table.sfdisk

# by_hand SCRIPT STAGING: (b) when STAGING is a directory; (b') when empty:
# the new filesystem mounted as rd-direct/p1, restored into straight
by_hand() {
	local script=$1 staging=$2 mnt=rd-mnt
	[ -n "$staging" ] || mnt=rd-direct/p1
	cat >"$script" <<-EOF
	#!/bin/bash
	set -e
	${staging:+rawkit-lanfree restore rd-repo g --to $staging -q}
	truncate -s $DISK_SIZE \$1
	sfdisk -q --no-reread --no-tell-kernel \$1 <rd-table.sfdisk
	mkfs.ext4 -q -F -b 4096 -U $ROOT_UUID -L rdroot -E offset=$OFF \$1 $((ROOT_SIZE / 1024))k
	loop=\$(losetup -f --show -o $((OFF + ROOT_SIZE)) --sizelimit $SWAP_SIZE \$1)
	mkswap -q -U $SWAP_UUID -L rdswap \$loop
	losetup -d \$loop
	mkdir -p $mnt
	mount -o loop,offset=$OFF,sizelimit=$ROOT_SIZE \$1 $mnt
	EOF
	if [ -n "$staging" ]; then
		echo "cp -a $staging/p1/. $mnt/" >>"$script"
	else
		echo "rawkit-lanfree restore rd-repo g --to rd-direct --overwrite -q" >>"$script"
	fi
	echo "umount $mnt" >>"$script"
	chmod +x "$script"
}
by_hand rd-by-hand.sh rd-files
by_hand rd-by-hand-direct.sh ""

echo "the whole disk back onto a new image file:"
timed restore-disk "rm -f rd-a.img" rawkit-lanfree restore-disk rd-repo g rd-a.img -q
timed by-hand "rm -rf rd-files rd-b.img" ./rd-by-hand.sh rd-b.img
staged=$(du -sb rd-files | cut -f1)
timed by-hand-direct "rm -f rd-b2.img" ./rd-by-hand-direct.sh rd-b2.img
timed qemu-img "rm -f rd-c.img" qemu-img convert -O raw rd-guest.qcow2 rd-c.img

# each result checked (untimed): UUIDs and a clean e2fsck
for img in rd-a.img rd-b.img rd-b2.img rd-c.img; do
	u=$(blkid -p -o value -s UUID -O $OFF "$img")
	s=$(blkid -p -o value -s UUID -O $((OFF + ROOT_SIZE)) "$img")
	e2fsck -fn "$img?offset=$OFF" >/dev/null 2>&1 && fsck=clean || fsck=ERRORS
	[ "$u/$s" = "$ROOT_UUID/$SWAP_UUID" ] && ids=same || ids=DIFFERENT
	cmp -s -n $OFF rd-guest.img "$img" && boot=same || boot=missing
	echo "  $img: UUIDs $ids, p1 e2fsck $fsck, boot areas $boot"
done

# the machine's limit: the used bytes written once (dd, 16 MiB writes, then
# fsync), and the archive decompressed and its bytes hashed (one core each)
cold
t0=$(date +%s.%N)
dd if=/dev/zero of=rd-w.bin bs=16M count=$(((used + 16 * MiB - 1) / (16 * MiB))) conv=fsync status=none
t1=$(date +%s.%N)
rm -f rd-w.bin
write_s=$(echo "$t1 - $t0" | bc -l)
cold
t0=$(date +%s.%N)
cat rd-repo/data/g/* | zstd -dcq | openssl dgst -sha256 >/dev/null
t1=$(date +%s.%N)
cpu_s=$(echo "$t1 - $t0" | bc -l)
SECONDS_OF[limit]=$(echo "if ($write_s > $cpu_s) $write_s else $cpu_s" | bc -l)
printf 'machine limit: %s of used blocks written once %.2f s; the archive read cold, zstd -d and SHA-256 (a pipe) %.2f s: %.2f s\n' \
	"$(human "$used")" "$write_s" "$cpu_s" "${SECONDS_OF[limit]}"

echo
printf '%-16s %9s %12s %18s\n' method seconds written "target allocated"
for m in restore-disk by-hand by-hand-direct qemu-img; do
	case $m in
	restore-disk) t=rd-a.img ;; by-hand) t=rd-b.img ;; by-hand-direct) t=rd-b2.img ;; qemu-img) t=rd-c.img ;;
	esac
	printf '%-16s %9.2f %12s %18s\n' "$m" "${SECONDS_OF[$m]}" "$(human "${WRITTEN_OF[$m]}")" "$(human "$(du -sB1 "$t" | cut -f1)")"
done
echo "(written: what the command and its children wrote through the filesystems (getrusage); (b) includes its $(human "$staged") staging directory)"
echo
echo "ratios (restore-disk's time / the other's; < 1 means restore-disk is faster):"
printf '  restore-disk / (b)  restore + sfdisk + mkfs + mkswap + cp -a:  %.2f\n' "$(ratio restore-disk by-hand)"
printf "  restore-disk / (b') the same, restored straight into the mount: %.2f\n" "$(ratio restore-disk by-hand-direct)"
printf '  restore-disk / (c)  qemu-img convert -O raw of a qcow2 -c:      %.2f\n' "$(ratio restore-disk qemu-img)"
printf '  restore-disk / machine limit:                                  %.2f\n' "$(ratio restore-disk limit)"
echo "peak RSS: restore-disk ${RSS_OF[restore-disk]} KiB, qemu-img ${RSS_OF[qemu-img]} KiB"
rm -rf rd-files rd-a.img rd-b.img rd-b2.img rd-c.img
