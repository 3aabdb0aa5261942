#!/bin/bash
# Disks that are block devices: a whole loop device, a partition device and
# an LVM logical volume; and what libblkid names besides ext and NTFS.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

fstype_of() { # DISK VOLUME
	rawkit-info --json "$1" | python3 -c '
import json, sys
for v in json.load(sys.stdin)["volumes"]:
    if v["name"] == sys.argv[1]:
        print(v["fstype"])' "$2"
}

# --- what libblkid names: vfat, xfs, btrfs, swap (files, no root needed)
mkdisk kinds.img 900M <<'S'
label: gpt
start=2048, size=40M, type=uefi
size=320M, type=linux
size=200M, type=linux
size=16M, type=swap
S
put_fs vfat kinds.img 1
put_fs xfs kinds.img 2
put_fs btrfs kinds.img 3
put_fs swap kinds.img 4
for pair in p1:vfat p2:xfs p3:btrfs p4:swap; do
	is "$(fstype_of kinds.img "${pair%%:*}")" "${pair#*:}" "libblkid names ${pair#*:} on ${pair%%:*}"
done
like "$(imgfmt-tool used kinds.img)" "note 2 p3: no filesystem rawkit can read \\(btrfs\\)" \
	"btrfs: copied whole, and the note says why"
ok "xfs: its free space is read (no note)" sh -c '! imgfmt-tool used kinds.img | grep -q "^note 1"'

is_root && losetup -f >/dev/null 2>&1 || done_testing

loop() { local l; l=$(losetup -f --show "$@") && echo "$l" >>"$SCRATCH/.loops" && echo "$l"; }

# --- a whole disk as a block device, and one of its partitions
make_tree src
mkdisk dev.img 64M <<'S'
label: dos
start=2048, size=40M, type=83
S
put_ext4 dev.img 1 -d src
disk=$(loop -P dev.img)
udevadm settle 2>/dev/null || sleep 1
ok "whole block device: readable" sh -c "rawkit-info --json $disk > info.json"
is "$(python3 -c 'import json; d=json.load(open("info.json")); print(d["block_device"], d["label"], d["volumes"][0]["fstype"])')" \
	"True dos ext4" "whole block device: MBR and ext4 seen"
ok "whole block device: files read" \
	sh -c "imgfmt-tool extract $disk p1 out1 && diff -r --no-dereference -x lost+found src out1"
# A partition device (here a loop device over the partition's bytes: this
# machine may have no udev to make /dev/loopNp1).
part=$(loop -o "$(part_start dev.img 1)" --sizelimit "$(part_size dev.img 1)" dev.img)
is "$(fstype_of "$part" disk)" ext4 "partition device: its filesystem covers the whole 'disk'"
ok "partition device: files read" \
	sh -c "imgfmt-tool extract $part disk out2 && diff -r --no-dereference -x lost+found src out2"

# --- LVM: a physical volume is named; a logical volume where device-mapper works
truncate -s 64M pv.img
pv=$(loop pv.img)
vg="rawkit$$"
if pvcreate -q "$pv" >/dev/null 2>&1; then
	is "$(fstype_of "$pv" disk)" LVM2_member "the physical volume is an LVM2_member"
	if vgcreate -q "$vg" "$pv" >/dev/null 2>&1 && lvcreate -q -y -L 32M -n lv0 "$vg" >/dev/null 2>&1; then
		udevadm settle 2>/dev/null || true
		lv=/dev/mapper/$vg-lv0
		mkfs.ext4 -q -F -d src "$lv" >/dev/null
		is "$(fstype_of "$lv" disk)" ext4 "the logical volume holds ext4"
		ok "logical volume: files read" \
			sh -c "imgfmt-tool extract $lv disk out3 && diff -r --no-dereference -x lost+found src out3"
		lvremove -q -y "$vg/lv0" >/dev/null 2>&1
	else
		ok "logical volume: skipped (no device-mapper in this kernel)" true
	fi
	vgremove -q -y "$vg" >/dev/null 2>&1
	pvremove -q -y "$pv" >/dev/null 2>&1
fi

done_testing
