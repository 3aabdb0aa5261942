#!/bin/bash
# The round trip: a physical Debian disk through rawkit-p2v to a guest disk,
# then through rawkit-v2p onto a larger "physical" disk; the same files, and
# it boots under qemu on an emulated AHCI (SATA) disk, finding its root by
# UUID (each conversion rebuilds the initramfs in a libguestfs appliance).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixtures.sh"
. "$TESTS_DIR/guest.sh"

boot_requirements

make_guest_tree root
printf '/dev/sda2 / ext4 errors=remount-ro 0 1\n/dev/sda1 none swap sw 0 0\n' >root/etc/fstab
mkdir -p root/boot/grub
printf "menuentry 'Debian' {\n  linux /boot/vmlinuz-%s root=/dev/sda2 ro quiet\n  initrd /boot/initrd.img-%s\n}\n" \
	"$KVER" "$KVER" >root/boot/grub/grub.cfg
make_initrd "root/boot/initrd.img-$KVER"
mkdisk phys.img 1600M <<'S'
label: gpt
start=2048, size=64M, type=S
size=1400M, type=L
S
put_fs swap phys.img 1
put_ext4 phys.img 2 -d root || { echo "Bail out! cannot build the guest"; exit 1; }
RO=$(part_start phys.img 2)

rawkit-p2v -q phys.img guest.img 2>err
is "$?" 0 "p2v: captured and converted"
[ -s err ] && diag "$(cat err)"
truncate -s 2500M metal.img
rawkit-v2p --json --verify --drivers ahci,sd_mod,nvme guest.img metal.img >v2p.json 2>err
is "$?" 0 "v2p: deployed onto a larger disk, grown, verified and converted"
[ -s err ] && diag "$(cat err)"
like "$(cat v2p.json)" '"action":"grow"' "v2p: the last partition grew"
ok "sfdisk --verify" sfdisk --verify metal.img
ok "e2fsck -fn is clean" e2fsck -fn "metal.img?offset=$RO"
printf '%s\n' etc/fstab boot/grub/grub.cfg "boot/initrd.img-$KVER" etc/initramfs-tools/modules >changed.list
: >removed.list
mkdir a b
debugfs -R "rdump / a" "phys.img?offset=$RO" 2>/dev/null
debugfs -R "rdump / b" "metal.img?offset=$RO" 2>/dev/null
# update-initramfs keeps what it replaced, and its state: new files there
ok "the round trip keeps every file (but those the conversions change)" \
	sh -c "python3 '$TESTS_DIR/../lib/clonecmp.py' a b changed.list removed.list | grep -v -e '^new: /boot/initrd.img-$KVER' -e '^new: /var/lib/initramfs-tools' | (! grep .)"
u=$(blkid -p -o value -s UUID -O "$RO" metal.img)
boot_disk metal.img ahci "$RO" >console.txt
like "$(cat console.txt)" "RAWKIT-BOOT-OK root=UUID=$u" "boots on an AHCI (SATA) disk and finds its root by UUID"
grep -q RAWKIT-BOOT-OK console.txt || diag "$(tail -n 30 console.txt)"

done_testing
