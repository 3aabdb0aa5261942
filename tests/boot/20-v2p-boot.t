#!/bin/bash
# The round trip: a physical Debian disk through rawkit-p2v to a guest disk,
# then through rawkit-v2p onto a larger "physical" disk; the same files, and
# it boots under qemu on an emulated AHCI (SATA) disk, finding its root by
# UUID.  Twice: the drivers injected without a VM (the default), and the
# initramfs rebuilt in a libguestfs appliance (--rebuild=appliance).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixtures.sh"
. "$TESTS_DIR/guest.sh"

boot_requirements

make_guest_tree root
printf '/dev/sda2 / ext4 errors=remount-ro 0 1\n/dev/sda1 none swap sw 0 0\n' >root/etc/fstab
mkdir -p root/boot/grub
printf "menuentry 'Debian' {\n  linux /boot/vmlinuz-%s root=/dev/sda2 ro quiet\n  initrd /boot/initrd.img-%s\n}\n" \
	"$KVER" "$KVER" >root/boot/grub/grub.cfg
make_guest_initrd root || { echo "Bail out! mkinitramfs failed"; exit 1; }
ok "the guest's initramfs lacks ahci" sh -c "! lsinitramfs root/boot/initrd.img-$KVER | grep -q /ahci.ko"
mkdisk phys.img 1600M <<'S'
label: gpt
start=2048, size=64M, type=S
size=1400M, type=L
S
put_fs swap phys.img 1
put_ext4 phys.img 2 -d root || { echo "Bail out! cannot build the guest"; exit 1; }
RO=$(part_start phys.img 2)
printf '%s\n' etc/fstab boot/grub/grub.cfg "boot/initrd.img-$KVER" etc/initramfs-tools/modules >changed.list
: >removed.list
mkdir a
debugfs -R "rdump / a" "phys.img?offset=$RO" 2>/dev/null

for how in inject appliance; do
	rawkit-p2v -q --rebuild=$how phys.img "guest-$how.img" 2>err
	is "$?" 0 "$how: p2v: captured and converted"
	[ -s err ] && diag "$(cat err)"
	truncate -s 2500M "metal-$how.img"
	rawkit-v2p --json --verify --rebuild=$how --drivers ahci,sd_mod,nvme "guest-$how.img" "metal-$how.img" >"v2p-$how.json" 2>err
	is "$?" 0 "$how: v2p: deployed onto a larger disk, grown, verified and converted"
	[ -s err ] && diag "$(cat err)"
	like "$(cat "v2p-$how.json")" '"action":"grow"' "$how: v2p: the last partition grew"
	if [ $how = inject ]; then
		like "$(cat "v2p-$how.json")" "injected [0-9]+ modules \\([^)]*ahci" "inject: v2p: ahci injected"
	else
		like "$(cat "v2p-$how.json")" "rebuilt in the guest with update-initramfs" "appliance: v2p: rebuilt in the appliance"
	fi
	ok "$how: sfdisk --verify" sfdisk --verify "metal-$how.img"
	ok "$how: e2fsck -fn is clean" e2fsck -fn "metal-$how.img?offset=$RO"
	rm -rf b && mkdir b
	debugfs -R "rdump / b" "metal-$how.img?offset=$RO" 2>/dev/null
	# update-initramfs keeps what it replaced, and its state: new files there
	ok "$how: the round trip keeps every file (but those the conversions change)" \
		sh -c "python3 '$TESTS_DIR/../lib/clonecmp.py' a b changed.list removed.list | grep -v -e '^new: /boot/initrd.img-$KVER' -e '^new: /var/lib/initramfs-tools' | (! grep .)"
	u=$(blkid -p -o value -s UUID -O "$RO" "metal-$how.img")
	boot_disk "metal-$how.img" ahci "$RO" >"console-$how.txt"
	like "$(cat "console-$how.txt")" "RAWKIT-BOOT-OK root=UUID=$u" "$how: boots on an AHCI (SATA) disk and finds its root by UUID"
	grep -q RAWKIT-BOOT-OK "console-$how.txt" || diag "$(tail -n 30 "console-$how.txt")"
done

done_testing
