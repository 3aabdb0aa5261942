#!/bin/bash
# Partition tables read through libfdisk, checked against sfdisk's own view.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

# field VOLUME KEY: one value from rawkit-info --json
field() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for v in d["volumes"]:
    if v["name"] == sys.argv[2]:
        print(v[sys.argv[3]])
        break
else:
    print("MISSING-IN-RAWKIT")
' info.json "$1" "$2"
}

# --- MBR with an extended partition and two logical ones
mkdisk mbr.img 64M <<'S'
label: dos
start=2048, size=32768, type=83
start=34816, size=81920, type=5
start=36864, size=16384, type=83
start=55296, size=16384, type=82
S
put_ext4 mbr.img 5
put_fs swap mbr.img 6
ok "rawkit-info reads the MBR disk" sh -c 'rawkit-info --json mbr.img > info.json'
is "$(python3 -c 'import json; print(" ".join(v["name"] for v in json.load(open("info.json"))["volumes"]))')" \
	"p1 p2 p5 p6" "MBR volumes are p1 p2 p5 p6"
is "$(field p2 container)" "True" "the extended partition is a container"
for n in 1 2 5 6; do
	is "$(field p$n offset_bytes)" "$(part_start mbr.img $n)" "p$n starts where sfdisk says"
	is "$(field p$n size_bytes)" "$(part_size mbr.img $n)" "p$n has the size sfdisk says"
done
is "$(field p5 fstype)" "ext4" "logical p5 holds ext4"
is "$(field p5 fs_uuid)" "$(blkid -p -o value -s UUID -O "$(part_start mbr.img 5)" mbr.img)" "p5 UUID matches blkid"
is "$(field p6 fstype)" "swap" "logical p6 holds swap"
is "$(field p6 type)" "0x82" "p6 type is 0x82"
is "$(python3 -c 'import json; print(json.load(open("info.json"))["id"])')" \
	"$(sfdisk --disk-id mbr.img)" "MBR disk signature matches sfdisk"

# --- GPT with names and GUIDs
mkdisk gpt.img 64M <<'S'
label: gpt
start=2048, size=20M, type=linux, name="root fs"
size=20M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="data"
S
put_ext4 gpt.img 1 -L rootlabel
ok "rawkit-info reads the GPT disk" sh -c 'rawkit-info --json gpt.img > info.json'
is "$(field p1 part_name)" "root fs" "GPT partition name"
is "$(field p1 part_uuid)" "$(sfdisk --part-uuid gpt.img 1)" "GPT partition GUID matches sfdisk"
is "$(field p2 type)" "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" "GPT type GUID"
is "$(field p1 fs_label)" "rootlabel" "filesystem label from libblkid"
is "$(python3 -c 'import json; print(json.load(open("info.json"))["id"])')" \
	"$(sfdisk --disk-id gpt.img)" "GPT disk GUID matches sfdisk"
for n in 1 2; do
	is "$(field p$n offset_bytes)" "$(part_start gpt.img $n)" "GPT p$n offset"
done

# --- damaged primary GPT header: the backup is used, with a warning
cp gpt.img gpt-bad-primary.img
dd if=/dev/zero of=gpt-bad-primary.img bs=512 seek=1 count=1 conv=notrunc status=none
before=$(sum gpt-bad-primary.img)
ok "damaged primary GPT: still readable" sh -c 'rawkit-info --json gpt-bad-primary.img > info.json'
is "$(field p1 offset_bytes)" "$(part_start gpt.img 1)" "damaged primary GPT: p1 found from the backup"
is "$(field p1 fstype)" "ext4" "damaged primary GPT: p1 still ext4"
like "$(python3 -c 'import json; print([w["message"] for w in json.load(open("info.json"))["warnings"]])')" "GPT|backup|corrupt" \
	"damaged primary GPT: a warning says so"
is "$(sum gpt-bad-primary.img)" "$before" "damaged primary GPT: the disk was not repaired (not written)"

# --- damaged backup GPT header: the primary is enough
cp gpt.img gpt-bad-backup.img
dd if=/dev/zero of=gpt-bad-backup.img bs=512 seek=$(($(stat -c %s gpt.img) / 512 - 1)) count=1 conv=notrunc status=none
ok "damaged backup GPT: readable" sh -c 'rawkit-info --json gpt-bad-backup.img > info.json'
is "$(field p2 offset_bytes)" "$(part_start gpt.img 2)" "damaged backup GPT: p2 found"

# --- no partition table: the filesystem is the whole disk
truncate -s 32M whole.img
mkfs.ext4 -q -F whole.img
ok "no partition table: readable" sh -c 'rawkit-info --json whole.img > info.json'
is "$(python3 -c 'import json; d=json.load(open("info.json")); print(d["label"], len(d["volumes"]), d["volumes"][0]["name"])')" \
	" 1 disk" "no partition table: one volume named disk"
is "$(field disk fstype)" "ext4" "no partition table: ext4 on the whole disk"

# --- NTFS on the whole disk has 55AA at byte 510 but is not an MBR
truncate -s 32M whole-ntfs.img
mkntfs -q -F -Q whole-ntfs.img >/dev/null 2>&1
ok "NTFS on the whole disk: readable" sh -c 'rawkit-info --json whole-ntfs.img > info.json'
is "$(python3 -c 'import json; d=json.load(open("info.json")); print(d["label"], d["volumes"][0]["name"], d["volumes"][0]["fstype"])')" \
	" disk ntfs" "NTFS boot sector is not taken for an MBR"

done_testing
