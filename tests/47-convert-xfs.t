#!/bin/bash
# rawkit-p2v and rawkit-v2p on a RHEL 7+ server: XFS /boot on p1, LVM2 on
# p2 with an XFS root in two segments (and ext4 home), a swap partition p3.
# The XFS files are edited through a kernel mount of the disk being
# converted (the root LV served through FUSE), never of the source: fstab,
# grub.cfg, grubenv, the BLS entry and /etc/default/grub name /dev/sdaN by
# UUID=, /dev/mapper names stay, MAC pinning goes; both filesystems stay
# xfs_repair-clean.  v2p onto a larger disk grows the PV, not the LVs.  A
# dry run writes nothing; without root the conversion is refused before
# anything is written.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"
is_root || skip_all "needs root (loop devices, XFS mounts)"
[ -n "$KVER" ] || skip_all "no kernel modules on this machine (linux-image-amd64)"
[ -c /dev/fuse ] || skip_all "needs /dev/fuse (the root LV in two segments is served through FUSE)"

mkdir -p m tmp
export TMPDIR=$SCRATCH/tmp # the tools' mount points, ours alone
left_behind() { # no mount under this test's scratch directory, no loop device over its files
	! grep -q " $SCRATCH/" /proc/mounts && ! losetup -a | grep -q "$SCRATCH/"
}
label() { getfattr --only-values -n security.selinux "$1" 2>/dev/null | tr -d '\0'; }
uuid_at() { blkid -p -o value -s UUID ${2:+-O "$2"} "$1"; }
boot_of() { dd if="$1" of="$2" bs=1M skip=1 count=300 conv=sparse status=none; }

# --- the "physical" disk: rhel_disk --fs, then a swap partition p3 after the PV
rhel_disk phys.img --fs >places || { echo "Bail out! cannot build the RHEL disk"; exit 1; }
P2=$RHEL_P2
echo 'size=6MiB, type=S' | sfdisk -q --append --no-reread --no-tell-kernel phys.img >/dev/null &&
	put_fs swap phys.img 3 || { echo "Bail out! cannot add the swap partition"; exit 1; }
SWAP_UUID=$(uuid_at phys.img "$(part_start phys.img 3)")
BOOT_UUID=$(uuid_at phys.img 1048576)

lvm_assemble_lv phys.img "$P2" rhel root root.fs && mount -o loop,nouuid root.fs m ||
	{ echo "Bail out! cannot mount the root LV"; exit 1; }
mkdir -p m/etc/default m/etc/udev/rules.d m/etc/sysconfig/network-scripts "m/lib/modules/$KVER" m/srv m/boot m/home
cat >m/etc/fstab <<'F'
/dev/mapper/rhel-root   /       xfs     defaults        0 0
/dev/sda1               /boot   xfs     defaults        0 0
/dev/mapper/rhel-home   /home   ext4    defaults        1 2
/dev/sda3               none    swap    defaults        0 0
F
setfattr -n security.selinux -v system_u:object_r:etc_t:s0 m/etc/fstab
printf 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n' >m/etc/os-release
printf 'GRUB_CMDLINE_LINUX="rd.lvm.lv=rhel/root resume=/dev/sda3"\n' >m/etc/default/grub
echo 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="00:11:22:33:44:55", NAME="eth0"' \
	>m/etc/udev/rules.d/70-persistent-net.rules
printf 'DEVICE=eth0\nHWADDR=00:11:22:33:44:55\nONBOOT=yes\n' >m/etc/sysconfig/network-scripts/ifcfg-eth0
cp "/lib/modules/$KVER/modules.builtin" "m/lib/modules/$KVER/"
head -c 3000000 /dev/urandom >m/srv/blob
blob_sum=$(sum m/srv/blob)
umount m && lvm_disassemble_lv phys.img "$P2" rhel root root.fs || { echo "Bail out! cannot write the root LV"; exit 1; }
rm -f root.fs

mount -o loop,nouuid,offset=1048576,sizelimit=$((300 << 20)) phys.img m || { echo "Bail out! cannot mount /boot"; exit 1; }
mkdir -p m/grub2 m/loader/entries
cp "/boot/vmlinuz-$KVER" m/ 2>/dev/null || head -c 4M /dev/urandom >"m/vmlinuz-$KVER"
make_initrd "m/initramfs-$KVER.img" virtio
cat >m/grub2/grub.cfg <<G
search --no-floppy --fs-uuid --set=boot $BOOT_UUID
menuentry 'Red Hat Enterprise Linux' {
  linux /vmlinuz-$KVER root=/dev/mapper/rhel-root ro rd.lvm.lv=rhel/root resume=/dev/sda3
  initrd /initramfs-$KVER.img
}
G
printf 'title Red Hat Enterprise Linux\nlinux /vmlinuz-%s\ninitrd /initramfs-%s.img\noptions root=/dev/mapper/rhel-root ro rd.lvm.lv=rhel/root resume=/dev/sda3\n' \
	"$KVER" "$KVER" >m/loader/entries/x.conf
{ printf '# GRUB Environment Block\nkernelopts=root=/dev/mapper/rhel-root ro resume=/dev/sda3\n'; head -c 1024 /dev/zero | tr '\0' '#'; } |
	head -c 1024 >m/grub2/grubenv
setfattr -n security.selinux -v system_u:object_r:boot_t:s0 m/grub2/grub.cfg
umount m
phys_sum=$(sum phys.img)

# --- p2v: capture and convert
rawkit-p2v --no-rebuild --json phys.img v.img >cap.json 2>cap.err
is "$?" 3 "capture of the XFS-on-LVM server: exit 3 (the initramfs lacks dm_mod and --no-rebuild)"
[ -s cap.err ] && diag "$(cat cap.err)"
is "$(sum phys.img)" "$phys_sum" "the source is untouched"
like "$(cat cap.json)" '"converted":true' "the guest was converted"
like "$(cat cap.json)" "root on LVM \\(rhel-root\\)" "the report says the root is on LVM"
like "$(cat cap.json)" "initramfs-$KVER.img lacks [^\"]*dm_mod" "the initramfs on the XFS /boot was checked"
ok "no mount or loop device is left behind" left_behind

lvm_assemble_lv v.img "$P2" rhel root vroot.fs && boot_of v.img vboot.fs
ok "xfs_repair -n: /boot (p1) is clean" xfs_repair -n vboot.fs
ok "xfs_repair -n: the root LV is clean" xfs_repair -n vroot.fs
is "$(uuid_at vboot.fs)" "$BOOT_UUID" "/boot keeps its UUID"
mount -o ro,loop,nouuid vroot.fs m
fstab=$(cat m/etc/fstab)
like "$fstab" "^/dev/mapper/rhel-root +/ +xfs" "fstab: /dev/mapper/rhel-root stays"
like "$fstab" "(^|$(printf '\n'))UUID=$BOOT_UUID +/boot +xfs" "fstab: /dev/sda1 becomes the UUID of /boot"
like "$fstab" "/dev/mapper/rhel-home +/home +ext4" "fstab: the home LV stays"
like "$fstab" "UUID=$SWAP_UUID +none +swap" "fstab: /dev/sda3 becomes the UUID of the swap"
ok "fstab names no /dev/sd device" sh -c '! grep -q /dev/sd m/etc/fstab'
is "$(label m/etc/fstab)" "system_u:object_r:etc_t:s0" "fstab keeps its SELinux label"
like "$(cat m/etc/default/grub)" "resume=UUID=$SWAP_UUID\"" "/etc/default/grub: resume=UUID="
ok "the persistent-net rule is removed" test ! -e m/etc/udev/rules.d/70-persistent-net.rules
is "$(grep -c HWADDR m/etc/sysconfig/network-scripts/ifcfg-eth0)" 0 "MAC pinning removed from ifcfg-eth0"
is "$(sum m/srv/blob)" "$blob_sum" "other files untouched"
umount m
mount -o ro,loop,nouuid vboot.fs m
like "$(cat m/grub2/grub.cfg)" "root=/dev/mapper/rhel-root ro rd.lvm.lv=rhel/root resume=UUID=$SWAP_UUID\$" \
	"/boot/grub2/grub.cfg: the LVM root stays, resume=UUID="
like "$(cat m/loader/entries/x.conf)" "options root=/dev/mapper/rhel-root ro rd.lvm.lv=rhel/root resume=UUID=$SWAP_UUID\$" \
	"the BLS entry too"
like "$(cat m/grub2/grubenv)" "kernelopts=root=/dev/mapper/rhel-root ro resume=UUID=$SWAP_UUID" "grubenv too"
is "$(stat -c %s m/grub2/grubenv)" 1024 "grubenv stays 1024 bytes"
is "$(label m/grub2/grub.cfg)" "system_u:object_r:boot_t:s0" "grub.cfg keeps its SELinux label"
umount m
rm -f vroot.fs vboot.fs

# --- a dry run: read through libimgfmt only
rawkit-p2v --dry-run phys.img dry.img >dry.out 2>&1
is "$?" 0 "a dry run"
like "$(cat dry.out)" "/etc/fstab" "it lists the XFS root's edits"
like "$(cat dry.out)" "/grub2/grub.cfg" "and the XFS /boot's"
ok "nothing is written" test ! -e dry.img -a "$(sum phys.img)" = "$phys_sum"
cp --sparse=always v.img dry-in-place.img
v_sum=$(sum dry-in-place.img)
rawkit-p2v --in-place --dry-run dry-in-place.img >dry2.out 2>&1
is "$(sum dry-in-place.img)" "$v_sum" "an in-place dry run writes nothing either"

# --- v2p onto a larger disk: the PV grows, the LVs do not
truncate -s 2200M big.img
rawkit-v2p --no-rebuild --json v.img big.img >v2p.json 2>v2p.err
is "$?" 3 "v2p onto a larger disk: exit 3"
like "$(cat v2p.err)" "logical volumes do not" "warning that the LVs were not grown"
like "$(cat v2p.json)" '"converted":true' "the guest was converted"
like "$(cat v2p.json)" "root on LVM \\(rhel-root\\)" "its root found on LVM"
ok "no mount or loop device is left behind" left_behind
p2size=$(part_size big.img 2)
ok "p2 grew (${p2size} bytes)" test "$p2size" -gt $((1200 << 20))
pv=$(lvm_with big.img "$(part_start big.img 2):$p2size" pvs --noheadings --units b --nosuffix -o pv_size,pv_free | tr -s ' ')
read -r pv_size pv_free <<<"$pv"
ok "pvs: the PV is larger ($pv_size bytes)" test "${pv_size:-0}" -gt $((1200 << 20))
ok "pvs: with free extents ($pv_free bytes)" test "${pv_free:-0}" -gt $((600 << 20))
lvm_assemble_lv big.img "$(part_start big.img 2):$p2size" rhel root broot.fs && boot_of big.img bboot.fs
ok "xfs_repair -n: the deployed root LV is clean" xfs_repair -n broot.fs
ok "xfs_repair -n: the deployed /boot is clean" xfs_repair -n bboot.fs
mount -o ro,loop,nouuid broot.fs m
like "$(cat m/etc/fstab)" "UUID=$BOOT_UUID +/boot" "the deployed fstab still names /boot by UUID"
umount m
rm -f broot.fs bboot.fs big.img

# --- without root: refused before anything is written
mkdir -m 0777 nr && chmod o+rx "$SCRATCH" && chmod 1777 tmp && chmod o+r phys.img
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
nobody rawkit-p2v --no-rebuild phys.img nr/x.img >nr.out 2>nr.err
is "$?" 1 "not root: p2v refuses the XFS conversion"
ok "with one line" one_line_error rawkit-p2v nr.err
like "$(cat nr.err)" "XFS files are edited through a kernel mount, which needs root" "saying why"
ok "and no target is made" test -z "$(ls nr)"
cp --sparse=always v.img nr/in-place.img && chmod o+rw nr/in-place.img
v_sum=$(sum nr/in-place.img)
nobody rawkit-p2v --in-place --no-rebuild nr/in-place.img >nr2.out 2>nr2.err
is "$?" 1 "not root: an in-place conversion is refused"
ok "with one line" one_line_error rawkit-p2v nr2.err
is "$(sum nr/in-place.img)" "$v_sum" "and the disk is not written"
truncate -s 2200M nr/t.img && chmod o+rw nr/t.img v.img
nobody rawkit-v2p --no-rebuild v.img nr/t.img >nr3.out 2>nr3.err
is "$?" 1 "not root: v2p refuses"
ok "with one line" one_line_error rawkit-v2p nr3.err
like "$(cat nr3.err)" "XFS files are edited through a kernel mount" "saying why"
is "$(cmp -n $((64 << 20)) nr/t.img /dev/zero >/dev/null && echo zeros)" zeros "and the target is not written"
nobody rawkit-p2v --dry-run phys.img nr/dry.img >nr4.out 2>&1
is "$?" 0 "a dry run needs no root"

# --- driver injection without a VM: the initramfs on the XFS /boot (edited
# through a kernel mount, appended to), the modules read from the XFS root LV
cp phys.img inj.img
mount -o loop,nouuid,offset=1048576,sizelimit=$((300 << 20)) inj.img m && rm -f "m/initramfs-$KVER.img" &&
	make_layout_initrd "m/initramfs-$KVER.img" dracut zstd 2>/dev/null && old=$(stat -c %s "m/initramfs-$KVER.img") &&
	umount m || { echo "Bail out! cannot replace the initramfs"; exit 1; }
lvm_assemble_lv inj.img "$P2" rhel root root.fs && mount -o loop,nouuid root.fs m && make_module_tree m 2>/dev/null &&
	umount m && lvm_disassemble_lv inj.img "$P2" rhel root root.fs || { echo "Bail out! cannot add the module tree"; exit 1; }
rm -f root.fs
rawkit-p2v --json inj.img vi.img >inj.json 2>inj.err
is "$?" 0 "XFS /boot, XFS root LV: the drivers injected (no appliance)"
[ -s inj.err ] && diag "$(cat inj.err)"
like "$(cat inj.json)" "initramfs-$KVER.img: injected [0-9]+ modules \\([^)]*dm_mod[^)]*\\) for kernel $KVER \\(dracut layout" \
	"the report says dm_mod and the virtio drivers were injected into the dracut initramfs"
boot_of vi.img viboot.fs
ok "xfs_repair -n: /boot is clean after the append" xfs_repair -n viboot.fs
mount -o ro,loop,nouuid viboot.fs m
tail -c +$((old + 1)) "m/initramfs-$KVER.img" | zstd -dc | cpio -t --quiet >inj.list 2>/dev/null
umount m
ok "cpio -t: the appended archive holds dm-mod.ko" grep -q 'kernel/drivers/md/dm-mod.ko$' inj.list
ok "and virtio_blk.ko" grep -q 'virtio_blk.ko$' inj.list
ok "no mount or loop device is left behind" left_behind

done_testing
