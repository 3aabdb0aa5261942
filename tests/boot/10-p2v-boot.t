#!/bin/bash
# rawkit-p2v end to end: a physical Debian disk whose fstab and GRUB name
# /dev/sda1 and whose initramfs lacks the virtio drivers is captured and
# converted (the initramfs rebuilt by the guest's own update-initramfs in a
# libguestfs appliance), then boots under qemu on a virtio disk, finding
# its root by UUID.  Minutes under TCG: run by make check-boot.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixtures.sh"
. "$TESTS_DIR/guest.sh"

boot_requirements

make_guest_tree root
printf '/dev/sda1 / ext4 errors=remount-ro 0 1\n/dev/sda2 none swap sw 0 0\n' >root/etc/fstab
mkdir -p root/boot/grub
printf "menuentry 'Debian' {\n  linux /boot/vmlinuz-%s root=/dev/sda1 ro quiet\n  initrd /boot/initrd.img-%s\n}\n" \
	"$KVER" "$KVER" >root/boot/grub/grub.cfg
make_initrd "root/boot/initrd.img-$KVER"
mkdisk phys.img 1600M <<'S'
label: dos
start=2048, size=1400M, type=83, bootable
size=64M, type=82
S
put_ext4 phys.img 1 -d root || { echo "Bail out! cannot build the guest"; exit 1; }
put_fs swap phys.img 2
RO=$(part_start phys.img 1)

rawkit-p2v --json phys.img v.img >p2v.json 2>p2v.err
is "$?" 0 "capture and convert, the initramfs rebuilt in the appliance"
[ -s p2v.err ] && diag "$(cat p2v.err)"
like "$(cat p2v.json)" 'rebuilt in the guest with update-initramfs' "the report says how the initramfs was rebuilt"
ok "the converted initramfs has the virtio drivers" \
	sh -c "rawkit-p2v --in-place --dry-run v.img | grep -q 'has the drivers the virtual hardware needs'"
u=$(blkid -p -o value -s UUID -O "$RO" v.img)
like "$(debugfs -R 'cat /etc/fstab' "v.img?offset=$RO" 2>/dev/null)" "^UUID=$u / ext4" "fstab names the root by UUID"
ok "e2fsck -fn is clean" e2fsck -fn "v.img?offset=$RO"
boot_disk v.img virtio "$RO" >console.txt
like "$(cat console.txt)" "RAWKIT-BOOT-OK root=UUID=$u" "boots on a virtio disk and finds its root by UUID"
grep -q RAWKIT-BOOT-OK console.txt || diag "$(tail -n 30 console.txt)"
boot_disk phys.img virtio "$RO" >console-before.txt
ok "(the unconverted disk does not: no virtio driver in its initramfs)" sh -c '! grep -q RAWKIT-BOOT-OK console-before.txt'

done_testing
