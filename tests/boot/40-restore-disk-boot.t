#!/bin/bash
# rawkit-lanfree restore-disk end to end: a bootable Debian disk (dos table,
# boot code in the MBR, GRUB's core image in the gap before p1, an ext4 root
# that fstab and grub.cfg name by UUID, a swap by UUID) is backed up file by
# file and deleted; restore-disk makes it again onto a new image of its size
# and onto a larger one.  Each has the same table, UUIDs and labels, boot
# areas and files as the lost disk, passes e2fsck, and boots under qemu on a
# virtio disk, finding its root by the same UUID.  Minutes under TCG: run by
# make check-boot.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixtures.sh"
. "$TESTS_DIR/guest.sh"

boot_requirements
losetup -f >/dev/null 2>&1 || skip_all "no loop devices (restore-disk mounts the filesystems it makes)"
L=rawkit-lanfree
MiB=1048576
ROOT_UUID=4e0c7d2a-5b1f-4c3e-9d8a-0123456789ab
SWAP_UUID=5f1d8e3b-6c2a-4d4f-8e9b-123456789abc

# table IMG: sfdisk's dump without the device's name
table() { sfdisk -d "$1" | sed -e '/^device:/d' -e "s|^$1\([0-9]*\) :|part\1 :|"; }
# fsid IMG N: what blkid sees in partition N (type, UUID, label)
fsid() {
	blkid -p -o export -O "$(part_start "$1" "$2")" -S "$(part_size "$1" "$2")" "$1" |
		grep -E '^(TYPE|UUID|LABEL)=' | sort | tr '\n' ' '
}
# tree_list IMG: every entry of p1 (mounted read-only) with its type, mode,
# owner, link count, size, mtime to the nanosecond and symlink target, then
# the SHA-256 of every regular file; sorted.  Left out: inode numbers, and a
# directory's size (its blocks: how its entries were added, not what it holds)
tree_list() {
	mount_part "$1" 1 m ro,noload || return 1
	(cd m && find . \( -type d -printf '%p %y %m %U:%G %n - %T@\n' \) -o -printf '%p %y %m %U:%G %n %s %T@ %l\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 sha256sum)
	umount m
}
# pattern WORD BYTES: recognizable bytes, as a boot loader's would be
pattern() { yes "$1" | head -c "$2"; }

# ---- the guest: its initramfs (MODULES=list) has what a virtio disk needs
make_guest_tree root
# (no sound, graphics, network or media drivers: half the modules' bytes,
# and minutes less of backing up, restoring and comparing them twice)
rm -rf "root/usr/lib/modules/$KVER/kernel/sound" "root/usr/lib/modules/$KVER/kernel/drivers/"{gpu,net,media,infiniband,staging}
PATH=$PATH:/usr/sbin:/sbin depmod -b root "$KVER" || { echo "Bail out! depmod failed"; exit 1; }
printf 'virtio_pci\nvirtio_blk\n' >>root/etc/initramfs-tools/modules
printf 'UUID=%s / ext4 errors=remount-ro 0 1\nUUID=%s none swap sw 0 0\n' "$ROOT_UUID" "$SWAP_UUID" >root/etc/fstab
mkdir -p root/boot/grub
printf "menuentry 'Debian' {\n  linux /boot/vmlinuz-%s root=UUID=%s ro quiet\n  initrd /boot/initrd.img-%s\n}\n" \
	"$KVER" "$ROOT_UUID" "$KVER" >root/boot/grub/grub.cfg
make_guest_initrd root || { echo "Bail out! mkinitramfs failed"; exit 1; }
ok "the guest's initramfs has virtio_blk" sh -c "lsinitramfs root/boot/initrd.img-$KVER | grep -q /virtio_blk.ko"
mkdisk guest.img 1100M <<'S'
label: dos
label-id: 0x0b5e0b5e
start=2048, size=1000M, type=83, bootable
size=64M, type=82
S
put_ext4 guest.img 1 -U "$ROOT_UUID" -L rkroot -d root || { echo "Bail out! cannot build the guest"; exit 1; }
put_fs swap guest.img 2 -U "$SWAP_UUID" -L rkswap || { echo "Bail out! mkswap failed"; exit 1; }
rm -rf root
pattern BOOTCODE 440 | dd of=guest.img conv=notrunc status=none
pattern GRUBCORE 60000 | dd of=guest.img bs=512 seek=1 conv=notrunc status=none
RO=$(part_start guest.img 1)

# what is lost with the disk, kept to compare with
table guest.img >table.ref
fsid guest.img 1 >p1.ref
fsid guest.img 2 >p2.ref
dd if=guest.img of=mbr.ref bs=440 count=1 status=none
dd if=guest.img of=gap.ref bs=512 skip=1 count=2047 status=none
tree_list guest.img >tree.ref
size=$(stat -c %s guest.img)
is "$(cat p1.ref)" "LABEL=rkroot TYPE=ext4 UUID=$ROOT_UUID " "(the guest's root is the ext4 fstab and grub.cfg name)"
ok "(the guest's files are listed)" test "$(wc -l <tree.ref)" -gt 1000

ok "init a repository" $L init repo
ok "back up the guest disk" $L backup repo guest.img --name debvm -q
rm -f guest.img

# check IMG WHAT: the checks both restored disks pass
check() {
	local img=$1 what=$2 u
	if [ "$what" = same ]; then
		is "$(table "$img")" "$(cat table.ref)" "$what: sfdisk -d: the same table (label-id, starts, sizes, types, bootable)"
	else
		is "$(table "$img" | sed 's/start=[ 0-9]*, size=[ 0-9]*,//')" "$(sed 's/start=[ 0-9]*, size=[ 0-9]*,//' table.ref)" \
			"$what: sfdisk -d: the same table but for the places and sizes"
	fi
	is "$(fsid "$img" 1)" "$(cat p1.ref)" "$what: p1: the same ext4 UUID and label"
	is "$(fsid "$img" 2)" "$(cat p2.ref)" "$what: p2: the same swap UUID and label"
	ok "$what: p1: e2fsck -fn is clean" e2fsck -fn "$img?offset=$RO"
	ok "$what: the MBR boot code is back" cmp -n 440 mbr.ref "$img"
	ok "$what: the gap between the MBR and p1 (GRUB's core image) is back" cmp -i 0:512 -n $((MiB - 512)) gap.ref "$img"
	tree_list "$img" >"tree-$what.txt"
	ok "$what: the same files (type, mode, owner, links, size, mtime, symlink target, content)" diff tree.ref "tree-$what.txt"
	u=$(blkid -p -o value -s UUID -O "$RO" "$img")
	boot_disk "$img" virtio "$RO" >"console-$what.txt"
	like "$(cat "console-$what.txt")" "RAWKIT-BOOT-OK root=UUID=$ROOT_UUID" "$what: boots on a virtio disk and finds its root by the same UUID"
	grep -q RAWKIT-BOOT-OK "console-$what.txt" || diag "$(tail -n 30 "console-$what.txt")"
	is "$u" "$ROOT_UUID" "$what: (blkid agrees with the UUID the kernel was given)"
}

# ---- onto a new image file: the recorded disk's size
$L restore-disk repo debvm same.img -q 2>err.txt
is "$?" 0 "restore-disk onto a new image file: exit 0"
[ -s err.txt ] && diag "$(cat err.txt)"
is "$(stat -c %s same.img)" "$size" "the new image has the lost disk's size"
check same.img same
rm -f same.img

# ---- onto a larger image: p1 and its ext4 grow, the swap moves to the end
truncate -s 1400M big.img
$L restore-disk repo debvm big.img -q 2>err.txt
is "$?" 0 "restore-disk onto a larger image: exit 0"
[ -s err.txt ] && diag "$(cat err.txt)"
is "$(part_size big.img 1)" $((1000 * MiB + 300 * MiB)) "p1 grew by what the target has more"
is "$(part_start big.img 2):$(part_size big.img 2)" "$((RO + 1300 * MiB)):$((64 * MiB))" "p2 (swap) moved along, its size kept"
is "$(($(dumpe2fs -h "big.img?offset=$RO" 2>/dev/null | awk -F': *' '/^Block count/ { print $2 }') * \
	$(dumpe2fs -h "big.img?offset=$RO" 2>/dev/null | awk -F': *' '/^Block size/ { print $2 }')))" \
	$((1300 * MiB)) "p1: the ext4 fills the grown partition"
check big.img big

done_testing
