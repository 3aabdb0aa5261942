#!/bin/bash
# LVM2 logical volumes as volumes of a disk: listed, read through their
# segments, backed up and restored, copied by their used blocks only (a PV's
# free extents left out), refused with a reason when rawkit cannot read them.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"
is_root || skip_all "needs root (loop devices for the LVM fixtures)"
CMP="python3 $TESTS_DIR/lib/treecmp.py"

# A RHEL-style disk, but with ext4 in the two-segment root (XFS is tested elsewhere).
rhel_disk r.img >places || { echo "Bail out! cannot build the LVM fixture"; exit 1; }
P2=$RHEL_P2
read -r _ hoff hlen < <(grep '^home ' places)
make_tree tree
mkdir -p tree/etc && echo "/dev/mapper/rhel-root / ext4 defaults 0 0" >tree/etc/fstab
head -c 3000000 /dev/urandom >tree/big.bin
truncate -s 600M root.fs && mkfs.ext4 -q -F -L root -d tree root.fs
lvm_disassemble_lv r.img "$P2" rhel root root.fs
mkfs.ext4 -q -F -L home -E offset="$hoff" r.img $((hlen / 1024))k
read -r _ soff slen < <(grep '^swap ' places)
truncate -s "$slen" sw.fs && mkswap -q -L swap sw.fs >/dev/null &&
	dd if=sw.fs of=r.img bs=1M iflag=count_bytes oflag=seek_bytes seek="$soff" conv=sparse,notrunc status=none

# --- listing
rawkit-info --json r.img >info.json
is "$?" 0 "rawkit-info reads the disk"
vj() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v={x["name"]:x for x in d["volumes"]}; print(eval(sys.argv[2]))' info.json "$1"; }
is "$(vj '[x["name"] for x in d["volumes"]]')" "['p1', 'p2', 'rhel-root', 'rhel-home', 'rhel-swap']" "LVs listed after the partitions, named like device-mapper"
is "$(vj 'v["rhel-root"]["fstype"], v["rhel-root"]["segments"], v["rhel-root"]["parent"], v["rhel-root"]["lv_layout"]')" \
	"('ext4', 2, 'p2', 'linear')" "root: ext4 found by libblkid through its two segments"
is "$(vj 'v["rhel-root"]["lv_vg"], v["rhel-root"]["lv_name"], v["p2"]["lv_vg"]')" "('rhel', 'root', 'rhel')" "VG and LV names"
is "$(vj 'v["rhel-root"]["size_bytes"]')" $((600 * 1048576)) "root's size"
is "$(vj 'v["rhel-swap"]["fstype"], v["rhel-home"]["fs_label"]')" "('swap', 'home')" "swap and home probed"
lvs_uuid=$(lvm_with r.img "$P2" lvs --noheadings -o lv_uuid rhel/root | tr -d ' ')
is "$(vj 'v["rhel-root"]["lv_uuid"]')" "$lvs_uuid" "LV UUID as lvs shows it"
rawkit-info r.img >info.txt
like "$(grep '^rhel-root' info.txt)" "linear LV in 2 runs from p2" "text output says where the LV is"

# --- reading through the segments: every file as the filesystem has it
ok "extract the root LV" imgfmt-tool extract r.img rhel-root out
lvm_assemble_lv r.img "$P2" rhel root asm.fs
mkdir mnt && mount -o loop,ro asm.fs mnt
ok "tree read through two segments = mount of the assembled LV (contents)" diff -r --no-dereference mnt out
umount mnt
is "$(imgfmt-tool cat r.img rhel-root /big.bin | sha256sum)" "$(sha256sum <tree/big.bin | sed 's/-$/-/')" "a 3 MB file across the segment boundary region reads back"

# --- backup and restore of every LV, compared with mounts
ok "init" rawkit-lanfree init repo
rawkit-lanfree backup repo r.img --name rhel >bk.out 2>bk.err
is "$?" 0 "backup of an LVM disk: exit 0 (PV and swap skipped quietly)"
like "$(cat bk.out)" "p2: skipped: LVM2 physical volume of volume group rhel" "the PV is named, not warned about"
ok "restore" rawkit-lanfree restore repo rhel --to res
mount -o loop,ro asm.fs mnt
ok "rhel-root restored = its mount" $CMP --no-flags mnt res/rhel-root
umount mnt
ok "fstab path reads rhel-root/etc/fstab" test -f res/rhel-root/etc/fstab

# --- the used map: free extents of the PV are not copied
# garbage in a free extent (PEs 216.. of the PV) must not reach a copy
pe_start=$(lvm_with r.img "$P2" pvs --noheadings --units b --nosuffix -o pe_start | tr -d ' ')
free_at=$(( ${P2%%:*} + pe_start + 250 * 4194304 ))
head -c 1048576 /dev/urandom | dd of=r.img bs=1M oflag=seek_bytes seek="$free_at" conv=notrunc status=none
imgfmt-tool used r.img >used.txt
ok "used map computed" test -s used.txt
ok "copy the disk" imgfmt-tool copy r.img c.img
is "$(cmp -n 1048576 <(tail -c +$((free_at + 1)) c.img) /dev/zero >/dev/null && echo zeros)" "zeros" "a free extent of the PV is not copied"
lvm_assemble_lv c.img "$P2" rhel root casm.fs
ok "the copy's root LV is a clean ext4" e2fsck -fn casm.fs
is "$(debugfs -R 'cat /big.bin' casm.fs 2>/dev/null | sha256sum)" "$(sha256sum <tree/big.bin)" "and holds the data"
is "$(lvm_with c.img "$P2" lvs --noheadings -o lv_name rhel | tr -d ' ' | sort | tr '\n' ' ')" "home root swap " "lvm2 reads the copy's VG"
ok "a copy of the one-segment home LV alone" imgfmt-tool copy r.img home.img --volume rhel-home
ok "a copy of the two-segment root LV alone is refused" sh -c '! imgfmt-tool copy r.img root.img --volume rhel-root 2>err && grep -q "several runs" err'

# --- LVs rawkit cannot read: listed with the reason, backup warns (exit 3)
lvm_backup r.img "$P2" rhel vg.txt
{
	lvm_lv root pv0:0:100 pv0:150:50
	lvm_lv home pv0:100:50
	lvm_lv swap pv0:200:16
	lvm_lv cow pv0:216:10
	lvm_lv empty pv0:240:2
} >lvs.txt
lvm_vg_text vg.txt lvs.txt meta.txt
# a snapshot of home (as lvm2 writes one: a visible COW LV, and snapshot0
# tying it to its origin): listed under the COW's name, refused
python3 - meta.txt <<'PY'
import sys, re
p = sys.argv[1]; s = open(p).read()
snap = '''
snapshot0 {
id = "SNAPID-0000-0000-0000-0000-0000-000000"
status = ["READ", "WRITE", "VISIBLE"]
flags = []
segment_count = 1
segment1 {
start_extent = 0
extent_count = 10
type = "snapshot"
chunk_size = 8
origin = "home"
cow_store = "cow"
}
}
'''
i = s.rindex("logical_volumes {") + len("logical_volumes {")
open(p, "w").write(s[:i] + snap + s[i:])
PY
if lvm_restore r.img "$P2" rhel meta.txt; then
	rawkit-info --json r.img >info.json
	like "$(vj 'v.get("rhel-cow", {}).get("note", "not listed")')" "snapshot" "a snapshot LV is listed with why it is not read"
	rawkit-lanfree backup repo r.img --name rhel >/dev/null 2>bk.err
	is "$?" 3 "backup: exit 3 for the snapshot"
	like "$(cat bk.err)" "rhel-cow: not backed up: LVM2 logical volume: snapshot of home: not supported" "one warning names it"
	is "$(grep -c warning bk.err)" 1 "a blank LV (all zeros) is skipped quietly, like a blank partition"
	# clone: an LV it cannot read may name the filesystems' identities, so they are all kept
	rawkit-clone r.img cl.img >/dev/null 2>cl.err
	is "$?" 3 "clone: exit 3 for the snapshot it cannot edit"
	like "$(cat cl.err)" "rhel-cow: snapshot of home: not supported: not edited" "clone names the snapshot LV"
	like "$(cat cl.err)" "fs-uuids, disk-ids: identities kept" "and keeps the identities"
	is "$(blkid -p -o value -s UUID -O "$hoff" cl.img)" "$(blkid -p -o value -s UUID -O "$hoff" r.img)" \
		"home's filesystem UUID is the golden's"
else
	skip 8 "vgcfgrestore refused the hand-made snapshot metadata"
fi

# --- damaged metadata: a warning, the partitions still read
cp r.img bad.img
mda=$(( ${P2%%:*} + 4096 ))
printf 'XXXXXXXX' | dd of=bad.img bs=1 seek=$((mda + 4)) conv=notrunc status=none
rawkit-info bad.img >bad.txt 2>&1
is "$?" 0 "rawkit-info opens a disk whose LVM metadata is damaged"
like "$(cat bad.txt)" "p2: LVM2 physical volume not read" "and warns about it"
ok "no LV of it listed" sh -c '! grep -q "^rhel-" bad.txt'

done_testing
