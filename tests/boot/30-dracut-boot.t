#!/bin/bash
# A guest whose initramfs dracut made (every storage driver but virtio's):
# rawkit-p2v injects the virtio drivers without a VM (rd.driver.pre in
# etc/cmdline.d, modules-load.d, the indexes from depmod -b) and the disk
# boots under qemu on a virtio disk.  Minutes: run by make check-boot.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixtures.sh"
. "$TESTS_DIR/guest.sh"

boot_requirements
command -v dracut >/dev/null || skip_all "dracut is not installed (dracut-core)"

make_guest_tree root
printf '/dev/sda1 / ext4 errors=remount-ro 0 1\n' >root/etc/fstab
mkdir -p root/boot/grub
printf "menuentry 'Debian' {\n  linux /boot/vmlinuz-%s root=/dev/sda1 ro quiet\n  initrd /boot/initrd.img-%s\n}\n" \
	"$KVER" "$KVER" >root/boot/grub/grub.cfg
make_guest_initrd root dracut || { echo "Bail out! dracut failed"; exit 1; }
ok "the guest's initramfs is dracut's" sh -c "lsinitrd root/boot/initrd.img-$KVER 2>/dev/null | grep -q dracut-lib.sh"
ok "and lacks virtio_blk" sh -c "! lsinitrd root/boot/initrd.img-$KVER 2>/dev/null | grep -q 'virtio_blk.ko'"
mkdisk phys.img 1600M <<'S'
label: dos
start=2048, size=1500M, type=83, bootable
S
put_ext4 phys.img 1 -d root || { echo "Bail out! cannot build the guest"; exit 1; }
RO=$(part_start phys.img 1)
old=$(stat -c %s "root/boot/initrd.img-$KVER")

rawkit-p2v --json phys.img v.img >p2v.json 2>p2v.err
is "$?" 0 "captured and converted"
[ -s p2v.err ] && diag "$(cat p2v.err)"
like "$(cat p2v.json)" "injected [0-9]+ modules \\([^)]*virtio_blk[^)]*\\) for kernel $KVER \\(dracut layout" "the drivers were injected into a dracut initramfs"
debugfs -R "dump /boot/initrd.img-$KVER new.img" "v.img?offset=$RO" 2>/dev/null
ok "lsinitrd still reads it" sh -c "lsinitrd new.img 2>/dev/null | grep -q dracut-lib.sh"
tail -c +$((old + 1)) new.img | gzip -dc 2>/dev/null | cpio -t --quiet >seg.list 2>/dev/null || tail -c +$((old + 1)) new.img | zstd -dc | cpio -t --quiet >seg.list
ok "cpio -t: the appended archive holds virtio_blk" grep -q 'virtio_blk.ko' seg.list
ok "and etc/cmdline.d/50-rawkit-drivers.conf" grep -qx 'etc/cmdline.d/50-rawkit-drivers.conf' seg.list
u=$(blkid -p -o value -s UUID -O "$RO" v.img)
boot_disk v.img virtio "$RO" >console.txt
like "$(cat console.txt)" "RAWKIT-BOOT-OK root=UUID=$u" "boots on a virtio disk and finds its root by UUID"
grep -q RAWKIT-BOOT-OK console.txt || diag "$(tail -n 30 console.txt)"

done_testing
