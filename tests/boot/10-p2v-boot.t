#!/bin/bash
# rawkit-p2v end to end: a physical Debian disk whose fstab and GRUB name
# /dev/sda1 and whose initramfs (made by mkinitramfs, MODULES=list) lacks
# the virtio drivers is captured and converted, the drivers injected
# without a VM (the default) and, again, with the initramfs rebuilt by the
# guest's own update-initramfs in a libguestfs appliance
# (--rebuild=appliance); each boots under qemu on a virtio disk, finding its
# root by UUID.  Minutes under TCG: run by make check-boot.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixtures.sh"
. "$TESTS_DIR/guest.sh"

boot_requirements

make_guest_tree root
printf '/dev/sda1 / ext4 errors=remount-ro 0 1\n/dev/sda2 none swap sw 0 0\n' >root/etc/fstab
mkdir -p root/boot/grub
printf "menuentry 'Debian' {\n  linux /boot/vmlinuz-%s root=/dev/sda1 ro quiet\n  initrd /boot/initrd.img-%s\n}\n" \
	"$KVER" "$KVER" >root/boot/grub/grub.cfg
make_guest_initrd root || { echo "Bail out! mkinitramfs failed"; exit 1; }
ok "the guest's initramfs lacks virtio_blk" sh -c "! lsinitramfs root/boot/initrd.img-$KVER | grep -q virtio_blk"
mkdisk phys.img 1600M <<'S'
label: dos
start=2048, size=1400M, type=83, bootable
size=64M, type=82
S
put_ext4 phys.img 1 -d root || { echo "Bail out! cannot build the guest"; exit 1; }
put_fs swap phys.img 2
RO=$(part_start phys.img 1)

for how in inject appliance; do
	rawkit-p2v --json --rebuild=$how phys.img "v-$how.img" >"p2v-$how.json" 2>p2v.err
	is "$?" 0 "--rebuild=$how: captured and converted"
	[ -s p2v.err ] && diag "$(cat p2v.err)"
	if [ $how = inject ]; then
		like "$(cat p2v-$how.json)" "initrd.img-$KVER: injected [0-9]+ modules \\([^)]*virtio_blk" "inject: the report says what was injected where"
		ok "inject: no appliance" sh -c "! grep -q 'rebuilt in the guest' p2v-$how.json"
		diag "conversion: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["convert_ns"] / 1e9)' "p2v-$how.json" 2>/dev/null) s"
	else
		like "$(cat p2v-$how.json)" 'rebuilt in the guest with update-initramfs' "appliance: the report says how the initramfs was rebuilt"
	fi
	ok "$how: the converted initramfs has the virtio drivers" \
		sh -c "rawkit-p2v --in-place --dry-run v-$how.img | grep -q 'has the drivers the virtual hardware needs'"
	u=$(blkid -p -o value -s UUID -O "$RO" "v-$how.img")
	like "$(debugfs -R 'cat /etc/fstab' "v-$how.img?offset=$RO" 2>/dev/null)" "^UUID=$u / ext4" "$how: fstab names the root by UUID"
	ok "$how: e2fsck -fn is clean" e2fsck -fn "v-$how.img?offset=$RO"
	boot_disk "v-$how.img" virtio "$RO" >"console-$how.txt"
	like "$(cat "console-$how.txt")" "RAWKIT-BOOT-OK root=UUID=$u" "$how: boots on a virtio disk and finds its root by UUID"
	grep -q RAWKIT-BOOT-OK "console-$how.txt" || diag "$(tail -n 30 "console-$how.txt")"
done
boot_disk phys.img virtio "$RO" >console-before.txt
ok "(the unconverted disk does not: no virtio driver in its initramfs)" sh -c '! grep -q RAWKIT-BOOT-OK console-before.txt'

done_testing
