#!/bin/bash
# rawkit-p2v on a server whose root is on LVM (RHEL's layout, ext4 root in
# two segments): the capture copies only the used blocks of the LVs (free
# extents of the PV are not copied), /dev/mapper references stay, /dev/sdX
# ones become UUID=, and the initramfs is checked for device-mapper too.
# rawkit-v2p of the result onto a larger disk grows the PV, not the LVs.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"
is_root || skip_all "needs root (loop devices for the LVM fixtures)"
[ -n "$KVER" ] || skip_all "no kernel modules on this machine (linux-image-amd64)"

# /boot on p1 (ext4: kernel, initramfs with virtio but no dm_mod), VG rhel on p2
rhel_disk phys.img >places || { echo "Bail out! cannot build the LVM fixture"; exit 1; }
P2=$RHEL_P2
r=$SCRATCH/root b=$SCRATCH/boot
mkdir -p "$r/etc/default" "$r/lib/modules/$KVER" "$r/srv" "$b/grub"
cat >"$r/etc/fstab" <<'F'
/dev/mapper/rhel-root / ext4 defaults 0 1
/dev/sda1 /boot ext4 defaults 0 2
/dev/mapper/rhel-swap none swap defaults 0 0
F
printf 'ID=rhel\nVERSION_ID=8\n' >"$r/etc/os-release"
printf 'GRUB_CMDLINE_LINUX="rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap resume=/dev/mapper/rhel-swap"\n' >"$r/etc/default/grub"
cp "/lib/modules/$KVER/modules.builtin" "$r/lib/modules/$KVER/"
head -c 5000000 /dev/urandom >"$r/srv/blob"
cp "/boot/vmlinuz-$KVER" "$b/" 2>/dev/null || head -c 4M /dev/urandom >"$b/vmlinuz-$KVER"
make_initrd "$b/initrd.img-$KVER" virtio
printf 'menuentry x {\n linux /vmlinuz-%s root=/dev/mapper/rhel-root ro rd.lvm.lv=rhel/root\n initrd /initrd.img-%s\n}\n' \
	"$KVER" "$KVER" >"$b/grub/grub.cfg"
mkfs.ext4 -q -F -E offset=1048576 -d "$b" phys.img $((300 * 1024))k
truncate -s 600M root.fs && mkfs.ext4 -q -F -d "$r" root.fs && lvm_disassemble_lv phys.img "$P2" rhel root root.fs
read -r _ soff slen < <(grep '^swap ' places)
truncate -s "$slen" sw.fs && mkswap -q sw.fs >/dev/null &&
	dd if=sw.fs of=phys.img bs=1M iflag=count_bytes oflag=seek_bytes seek="$soff" conv=sparse,notrunc status=none
# junk in free extents of the PV: a capture must not carry it
pe_start=$(lvm_with phys.img "$P2" pvs --noheadings --units b --nosuffix -o pe_start | tr -d ' ')
free_at=$(( ${P2%%:*} + pe_start + 260 * 4194304 ))
head -c 8388608 /dev/urandom | dd of=phys.img bs=1M oflag=seek_bytes seek="$free_at" conv=notrunc status=none
phys_sum=$(sum phys.img)

rawkit-p2v --no-rebuild --json phys.img v.img >cap.json 2>cap.err
is "$?" 3 "capture: exit 3 (the initramfs lacks dm_mod and --no-rebuild)"
is "$(sum phys.img)" "$phys_sum" "the source is untouched"
like "$(cat cap.json)" "root on LVM \\(rhel-root\\)" "the report says the root is on LVM"
like "$(cat cap.json)" "lacks [^\"]*dm_mod" "the initramfs check asks for device-mapper"
is "$(cmp -n 8388608 <(tail -c +$((free_at + 1)) v.img) /dev/zero >/dev/null && echo zeros)" zeros \
	"free extents of the PV are not copied"
ok "capture is sparse (less than 200 MB allocated)" test "$(du -B1 v.img | cut -f1)" -lt 200000000
is "$(lvm_with v.img "$P2" lvs --noheadings -o lv_name rhel | tr -d ' ' | sort | tr '\n' ' ')" "home root swap " \
	"lvm2 reads the captured VG"
lvm_assemble_lv v.img "$P2" rhel root vroot.fs
ok "the captured root LV is a clean ext4" e2fsck -fn vroot.fs
is "$(debugfs -R 'cat /srv/blob' vroot.fs 2>/dev/null | sha256sum)" "$(sha256sum <"$r/srv/blob")" "its data is there"
bu=$(blkid -p -o value -s UUID -O 1048576 v.img)
fstab=$(debugfs -R 'cat /etc/fstab' vroot.fs 2>/dev/null)
like "$fstab" "^/dev/mapper/rhel-root / ext4" "fstab: /dev/mapper/rhel-root stays"
like "$fstab" "^UUID=$bu /boot ext4" "fstab: /dev/sda1 becomes the UUID of /boot"
like "$fstab" "^/dev/mapper/rhel-swap none swap" "fstab: the swap LV stays"
like "$(ext_cat v.img 1048576 /grub/grub.cfg)" "root=/dev/mapper/rhel-root ro rd.lvm.lv=rhel/root" "grub.cfg: LVM root untouched"

# ---- v2p onto a larger disk: the PV partition and the PV grow, the LVs do not
truncate -s 2500M big.img
rawkit-v2p --no-rebuild --drivers ahci v.img big.img >v2p.out 2>v2p.err
is "$?" 3 "v2p onto a larger disk: exit 3 (the LVs were not grown)"
like "$(cat v2p.err)" "the LVM physical volume grows by .*its logical volumes do not.*volume group rhel" \
	"it says the LVs were not grown"
p2_new=$(( ${P2%%:*} )):$(( $(part_size big.img 2) ))
is "$(lvm_with big.img "$p2_new" pvs --noheadings --units m --nosuffix -o pv_size | tr -d ' ' | cut -d. -f1)" \
	"$(( ($(part_size big.img 2) - 1048576) / 1048576 / 4 * 4 ))" "pvs: the PV fills its grown partition (whole extents)"
ok "vgck is clean" lvm_with big.img "$p2_new" vgck rhel
is "$(lvm_with big.img "$p2_new" lvs --noheadings --units m --nosuffix -o lv_size rhel/root | tr -d ' ')" "600.00" \
	"root keeps its size"
lvm_assemble_lv big.img "$p2_new" rhel root broot.fs
ok "the deployed root LV is a clean ext4" e2fsck -fn broot.fs
fails "v2p onto a smaller disk than the PV needs is refused" rawkit-v2p --no-rebuild --drivers ahci v.img \
	"$(truncate -s 1000M small.img && echo small.img)"
like "$(rawkit-v2p --no-rebuild --drivers ahci v.img small.img 2>&1)" "does not shrink an LVM physical volume" "and says why"

done_testing
