#!/bin/bash
# rawkit-lanfree restore-disk: a generation made into a whole disk again:
# the partition table (ids, types, names, attributes), each filesystem with
# its UUID and label, its files attribute by attribute as restore brings
# them back, swap, and the boot areas GRUB writes outside any file (MBR boot
# code, the gap after the table, a BIOS boot partition); a larger target
# grows the last ext4; what cannot be done is refused before any write.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && losetup -f >/dev/null 2>&1 || skip_all "needs root and loop devices (restore-disk mounts the filesystems it makes)"
CMP="python3 $TESTS_DIR/lib/treecmp.py"
VOCAB="python3 $TESTS_DIR/lib/json_vocab.py $TESTS_DIR/../doc/json.md"
L=rawkit-lanfree
MiB=1048576

# fsid IMG N: what blkid sees in partition N (type, UUID, label)
fsid() {
	blkid -p -o export -O "$(part_start "$1" "$2")" -S "$(part_size "$1" "$2")" "$1" |
		grep -E '^(TYPE|UUID|LABEL)=' | sort | tr '\n' ' '
}
# table IMG: sfdisk's dump without the device's name
table() { sfdisk -d "$1" | sed -e '/^device:/d' -e "s|^$1\([0-9]*\) :|part\1 :|"; }
# pattern WORD BYTES: recognizable bytes, as a boot loader's would be
pattern() { yes "$1" | head -c "$2"; }

# ---- a dos disk as GRUB leaves it: boot code, its core image in the gap
mkdisk dos.img 160M <<'S'
label: dos
label-id: 0x1234abcd
start=2048, size=100M, type=83, bootable
size=32M, type=82
S
put_ext4 dos.img 1 -U 0b5e3d1e-1111-4222-8333-444455556666 -L rootfs -I 256 -b 4096 -m 2
put_fs swap dos.img 2 -U 5a5a5a5a-1111-4222-8333-444455556666 -L swapper
mount_part dos.img 1 src
make_torture src
umount src
pattern BOOTCODE 440 | dd of=dos.img conv=notrunc status=none
pattern GRUBCORE 60000 | dd of=dos.img bs=512 seek=1 conv=notrunc status=none

ok "init a repository" $L init repo
ok "back up the dos disk" $L backup repo dos.img --name dosvm -q
ok "plain restore of the generation (the reference)" $L restore repo dosvm --to ref -q
is "$(sqlite3 repo/catalog.db 'SELECT COUNT(*) FROM generations WHERE shape_id IS NOT NULL')" 1 \
	"the generation has a shape in the catalog"

# ---- onto a new image file (the recorded size)
$L restore-disk repo dosvm same.img --json >same.json 2>same.err
is "$?" 0 "restore-disk onto a new image file: exit 0"
is "$(stat -c %s same.img)" "$(stat -c %s dos.img)" "the new image has the recorded disk's size"
is "$(table same.img)" "$(table dos.img)" "sfdisk -d: the same table (label-id, starts, sizes, types, bootable)"
is "$(fsid same.img 1)" "$(fsid dos.img 1)" "p1: the same ext4 UUID and label"
is "$(fsid same.img 2)" "$(fsid dos.img 2)" "p2: the same swap UUID and label"
ok "p1: e2fsck -fn finds it clean" e2fsck -fn "same.img?offset=$(part_start same.img 1)"
is "$(dumpe2fs -h "same.img?offset=$MiB" 2>/dev/null | grep -E '^(Inode size|Block size|Inode count|Reserved block count|Filesystem features):')" \
	"$(dumpe2fs -h "dos.img?offset=$MiB" 2>/dev/null | grep -E '^(Inode size|Block size|Inode count|Reserved block count|Filesystem features):')" \
	"p1: made with the same block and inode size, inode count, reserved blocks and features"
ok "the MBR boot code is back" cmp -n 440 dos.img same.img
ok "the gap between the MBR and p1 (GRUB's core image) is back" cmp -i 512 -n $((MiB - 512)) dos.img same.img
mount_part same.img 1 m ro
ok "p1's files equal a plain restore's, attribute by attribute" $CMP ref/p1 m
umount m
is "$($VOCAB restore-disk same.json done)" "" "--json: the keys and rules of doc/json.md"
is "$(python3 -c 'import json; d=json.load(open("same.json")); print(d["resized"], [(v["name"], v["action"]) for v in d["volumes"]], d["files"] > 50)')" \
	"None [('p1', 'mkfs'), ('p2', 'mkswap')] True" "--json: nothing resized, p1 made and filled, p2 made"

# ---- onto a larger image: p1 grows, the swap after it moves to the end
truncate -s 400M big.img
ok "restore-disk onto a larger image (holding nothing)" $L restore-disk repo dosvm big.img -q
is "$(part_size big.img 1)" $((100 * MiB + 240 * MiB)) "p1 grew by what the target has more"
is "$(part_start big.img 2):$(part_size big.img 2)" "$(($(part_start dos.img 2) + 240 * MiB)):$((32 * MiB))" \
	"p2 (swap) moved along, its size kept"
is "$(table big.img | sed 's/start=[ 0-9]*, size=[ 0-9]*,//')" "$(table dos.img | sed 's/start=[ 0-9]*, size=[ 0-9]*,//')" \
	"sfdisk -d: the same table but for the places and sizes"
ok "p1: e2fsck -fn clean" e2fsck -fn "big.img?offset=$MiB"
is "$(( $(dumpe2fs -h "big.img?offset=$MiB" 2>/dev/null | awk -F': *' '/^Block count/ { print $2 }') * 4096 ))" \
	$((340 * MiB)) "p1: the ext4 fills the grown partition"
is "$(fsid big.img 1)/$(fsid big.img 2)" "$(fsid dos.img 1)/$(fsid dos.img 2)" "UUIDs and labels kept"
ok "the boot code and gap are back" sh -c "cmp -n 440 dos.img big.img && cmp -i 512 -n $((MiB - 512)) dos.img big.img"
mount_part big.img 1 m ro
ok "p1's files equal a plain restore's" $CMP ref/p1 m
umount m

# ---- onto a smaller image: p1 sized to its files plus slack, the swap moves up
truncate -s 100M less.img
$L restore-disk repo dosvm less.img --json >less.json 2>err.txt
is "$?:$(cat err.txt)" "0:" "restore-disk onto a smaller image (100 MiB, the disk 160 MiB): exit 0"
p1=$(part_size less.img 1)
ok "p1 shrank to fit ($p1 bytes < 100 MiB), the swap after it kept its size" \
	test "$p1" -lt $((100 * MiB)) -a "$(part_size less.img 2)" = $((32 * MiB))
is "$(part_start less.img 2)" $((MiB + p1)) "p2 moved up behind p1"
ok "p1: e2fsck -fn clean" e2fsck -fn "less.img?offset=$MiB"
is "$(( $(dumpe2fs -h "less.img?offset=$MiB" 2>/dev/null | awk -F': *' '/^Block count/ { print $2 }') * 4096 ))" \
	"$p1" "p1: the ext4 fills its partition"
is "$(fsid less.img 1)/$(fsid less.img 2)" "$(fsid dos.img 1)/$(fsid dos.img 2)" "UUIDs and labels kept"
ok "the boot code and gap are back" sh -c "cmp -n 440 dos.img less.img && cmp -i 512 -n $((MiB - 512)) dos.img less.img"
mount_part less.img 1 m ro
ok "p1's files equal a plain restore's" $CMP ref/p1 m
umount m
is "$(python3 -c 'import json; d=json.load(open("less.json")); v=d["volumes"][0]; print(d["shrunk"], v["recorded_size_bytes"], v["size_bytes"] < v["recorded_size_bytes"])')" \
	"True $((100 * MiB)) True" "--json: shrunk, with each volume's recorded size"

# ---- refusals: nothing written
truncate -s 40M small.img
s0=$(sum small.img)
$L restore-disk repo dosvm small.img 2>err.txt
is "$?" 1 "a target too small even for the files: exit 1"
like "$(cat err.txt)" "too small: 41943040 bytes; the generation's files need [0-9]* \\(each ext filesystem sized to its files plus slack: p1 [0-9]*\\)" \
	"the message gives the size needed"
is "$(sum small.img)" "$s0" "the small target is untouched"
$L restore-disk repo dosvm small.img --json >small.json 2>/dev/null
is "$($VOCAB restore-disk small.json failed)" "" "--json on a refusal: status failed, the error, doc/json.md's keys"
s0=$(sum same.img)
$L restore-disk repo dosvm same.img 2>err.txt
is "$?:$(sum same.img)" "1:$s0" "an image holding a partition table: refused without --force, untouched"
like "$(cat err.txt)" "holds a dos partition table \\(p1 ext4 \"rootfs\", p2 swap \"swapper\"\\): --force to overwrite it" \
	"the refusal says what it holds, partition by partition (as v2p's)"
truncate -s 300M dry.img
s0=$(sum dry.img)
$L restore-disk repo dosvm dry.img --dry-run --json >dry.json
is "$?:$(sum dry.img)" "0:$s0" "--dry-run: exit 0, nothing written"
is "$(python3 -c 'import json; d=json.load(open("dry.json")); print(d["dry_run"], d["resized"]["partition"], d["resized"]["new_size_bytes"])')" \
	"True p1 $((100 * MiB + 140 * MiB))" "--dry-run --json: the plan (p1 grows)"
$L restore-disk repo dosvm nothere.img --dry-run -q
ok "--dry-run does not create a new target" test ! -e nothere.img
$L restore-disk repo dosvm x.img --grow p2 2>err.txt
is "$?:$(cat err.txt)" "1:rawkit-lanfree: p2: holds swap: only an ext2/3/4, xfs, ntfs or LVM partition grows" "--grow on a swap: refused"
ok "nothing left behind by a refusal" test ! -e x.img
$L restore-disk repo dosvm x.img --grow root >/dev/null 2>&1
is "$?" 2 "--grow with a name that is not pN: usage error"

# ---- a block device holding a filesystem
truncate -s 200M dev.img
mkfs.ext4 -q -F dev.img
dev=$(losetup -f --show dev.img) && echo "$dev" >>"$SCRATCH/.loops"
s0=$(sum dev.img)
$L restore-disk repo dosvm "$dev" 2>err.txt
is "$?:$(sum dev.img)" "1:$s0" "a block device holding a filesystem: refused without --force, untouched"
like "$(cat err.txt)" "holds a ext4 signature: --force" "the refusal says what it holds"
mkdir -p busy && mount "$dev" busy
$L restore-disk repo dosvm "$dev" --force 2>err.txt
is "$?:$(cat err.txt)" "1:rawkit-lanfree: $dev: the disk is in use (mounted, or held open)" "a mounted block device: refused even with --force"
umount busy
ok "with --force it is written" $L restore-disk repo dosvm "$dev" --force -q
is "$(sfdisk -d "$dev" | sed -e '/^device:/d' -e "s|^${dev}p\{0,1\}\([0-9]*\) :|part\1 :|" | sed 's/start=[ 0-9]*, size=[ 0-9]*,//')" \
	"$(table dos.img | sed 's/start=[ 0-9]*, size=[ 0-9]*,//')" "the device has the table"
ok "the device's p1: e2fsck -fn clean" e2fsck -fn "$dev?offset=$MiB"
ok "the device's boot areas" sh -c "cmp -n 440 dos.img $dev && cmp -i 512 -n $((MiB - 512)) dos.img $dev"
losetup -d "$dev"

# ---- gpt with a BIOS boot partition
mkdisk gpt.img 128M <<'S'
label: gpt
label-id: 7E57D15C-0000-4000-8000-000000000001
start=2048, size=1M, type=21686148-6449-6E6F-744E-656564454649, name="bios", uuid=7E57D15C-0000-4000-8000-0000000000B1
size=80M, type=linux, name="root", attrs="LegacyBIOSBootable", uuid=7E57D15C-0000-4000-8000-0000000000B2
size=16M, type=swap, name="swap", uuid=7E57D15C-0000-4000-8000-0000000000B3
S
put_ext4 gpt.img 2 -U 6b6b6b6b-1111-4222-8333-444455556666 -L groot
put_fs swap gpt.img 3 -U 7c7c7c7c-1111-4222-8333-444455556666 -L gswap
mount_part gpt.img 2 src
make_tree src
umount src
pattern PROTECTIVE 440 | dd of=gpt.img conv=notrunc status=none
pattern GRUBBIOSBOOT 700000 | dd of=gpt.img bs=512 seek=2048 conv=notrunc status=none
ok "back up the gpt disk" $L backup repo gpt.img --name gptvm -q
ok "plain restore (the reference)" $L restore repo gptvm --to gref -q
ok "restore-disk onto a new image" $L restore-disk repo gptvm g.img -q
is "$(table g.img)" "$(table gpt.img)" "sfdisk -d: the same GPT (disk and partition GUIDs, names, attributes)"
ok "the BIOS boot partition's contents are back" cmp -i "$MiB" -n "$MiB" gpt.img g.img
ok "the protective MBR's boot code is back" cmp -n 440 gpt.img g.img
is "$(fsid g.img 2)/$(fsid g.img 3)" "$(fsid gpt.img 2)/$(fsid gpt.img 3)" "UUIDs and labels kept"
ok "p2: e2fsck -fn clean" e2fsck -fn "g.img?offset=$(part_start g.img 2)"
mount_part g.img 2 m ro
ok "p2's files equal a plain restore's" $CMP gref/p2 m
umount m
truncate -s 256M gbig.img
ok "restore-disk onto a larger image" $L restore-disk repo gptvm gbig.img -q
is "$(part_size gbig.img 2)" $((80 * MiB + 128 * MiB)) "the gpt's root grew"
ok "its backup GPT is at the end: sfdisk -V finds nothing wrong" sfdisk -V gbig.img

# ---- UEFI: an EFI system partition (vfat): its files backed up, and put
# back in the ESP restore-disk makes
mkdisk efi.img 96M <<'S'
label: gpt
start=2048, size=34M, type=uefi, name="EFI System Partition"
size=40M, type=linux, name="root"
S
put_fs vfat efi.img 1 -F 32 -i 5EC70A11 -n ESPLABEL
put_ext4 efi.img 2 -L eroot
export MTOOLS_SKIP_CHECK=1
pattern SHIMX64 200000 >shim.efi
mmd -i "efi.img@@$MiB" ::/EFI ::/EFI/debian && mcopy -m -i "efi.img@@$MiB" shim.efi ::/EFI/debian/shimx64.efi
ok "a disk with an ESP: backed up" $L backup repo efi.img --name efivm -q
like "$($L ls repo efivm p1/EFI/debian)" "shimx64.efi" "the ESP's files are in the generation"
$L restore-disk repo efivm e.img >/dev/null 2>err.txt
is "$?" 0 "restore-disk: exit 0, the ESP filled"
is "$(cat err.txt)" "" "no warning"
is "$(table e.img)" "$(table efi.img)" "sfdisk -d: the same GPT"
is "$(fsid e.img 1)" "$(fsid efi.img 1)" "the ESP has its serial (UUID) and label back"
ok "the ESP is a clean FAT32" sh -c "dd if=e.img bs=1M skip=1 count=34 status=none >esp.img && fsck.fat -n esp.img"
ok "the ESP's file is back (mtype)" sh -c "mtype -i 'e.img@@$MiB' ::/EFI/debian/shimx64.efi | cmp -s - shim.efi"
is "$(fsid e.img 2)" "$(fsid efi.img 2)" "the root's UUID and label"

# ---- shapes are kept once, and swept with the last generation having them
ok "an unchanged backup" $L backup repo gpt.img --name gptvm -q
is "$(sqlite3 repo/catalog.db 'SELECT COUNT(DISTINCT shape_id) || "/" || COUNT(*) FROM generations g JOIN guests u ON u.id = g.guest_id WHERE u.name = "gptvm"')" \
	"1/2" "two generations of an unchanged disk share one shape"
e2label "gpt.img?offset=$(part_start gpt.img 2)" relabelled 2>/dev/null || tune2fs -L relabelled "gpt.img?offset=$(part_start gpt.img 2)" >/dev/null
ok "a backup after a relabel" $L backup repo gpt.img --name gptvm -q
is "$(sqlite3 repo/catalog.db 'SELECT COUNT(*) FROM shapes')" 4 "a changed disk: a new shape (dosvm, efivm, gptvm twice)"
ok "prune keeps the newest" $L prune repo gptvm --keep-last 1 -q
is "$(sqlite3 repo/catalog.db 'SELECT COUNT(*) FROM shapes')" 3 "the shape no generation has is swept"
ok "the newest restores with its label" sh -c "$L restore-disk repo gptvm r.img -q && blkid -p -o value -s LABEL -O $(part_start gpt.img 2) r.img | grep -qx relabelled"

# ---- an LVM guest (RHEL's layout: /boot xfs, a PV with root xfs in two
# runs, home ext4, swap): /boot is remade and filled; the PV's label and
# metadata are written back as they were, so the volume group and its
# logical volumes are back in their places, each made and filled (root
# through a temp file, its runs written through the LV's mapping); a
# logical volume's filesystem also comes back alone with --volume
if rhel_disk rhel.img --fs >/dev/null 2>&1; then
	mount_part rhel.img 1 src && make_tree src && umount src
	lvm_assemble_lv rhel.img "$RHEL_P2" rhel root root.fs && mkdir -p lv && mount -o loop root.fs lv &&
		make_tree lv && umount lv && lvm_disassemble_lv rhel.img "$RHEL_P2" rhel root root.fs
	ok "back up an LVM guest" $L backup repo rhel.img --name rhelvm -q
	ok "plain restore (the reference)" $L restore repo rhelvm --to rref -q
	is "$(sqlite3 repo/catalog.db 'SELECT json_array_length(s.json, "$.volumes") FROM shapes s JOIN generations g ON g.shape_id = s.id JOIN guests u ON u.id = g.guest_id WHERE u.name = "rhelvm"')" \
		3 "its shape records the logical volumes (root, home, swap)"
	$L restore-disk repo rhelvm rhel-new.img --dry-run --json >rhel.json
	is "$?" 0 "restore-disk --dry-run: exit 0"
	is "$(python3 -c 'import json; d=json.load(open("rhel.json")); print(sorted((v["name"], v["action"]) for v in d["volumes"]))')" \
		"[('p1', 'mkfs'), ('p2', 'lvm'), ('rhel-home', 'mkfs'), ('rhel-root', 'mkfs'), ('rhel-swap', 'mkswap')]" \
		"the plan: p1 made, the PV written back, each logical volume made"
	is "$($VOCAB restore-disk rhel.json done)" "" "--json: doc/json.md's keys"
	$L restore-disk repo rhelvm rhel-new.img -q
	is "$?" 0 "restore-disk of the LVM guest: exit 0"
	is "$(fsid rhel-new.img 1)" "$(fsid rhel.img 1)" "p1: the same XFS UUID and label"
	dd if=rhel-new.img of=boot.fs bs=1M skip=1 count=300 status=none
	ok "p1: xfs_repair -n finds it clean" xfs_repair -n -f boot.fs
	is "$(xfs_info boot.fs 2>/dev/null | grep -oE '(bsize|isize|crc|finobt|reflink|ftype|sparse|rmapbt|bigtime)=[0-9]+' | tr '\n' ' ')" \
		"$(dd if=rhel.img bs=1M skip=1 count=300 status=none >orig-boot.fs && xfs_info orig-boot.fs 2>/dev/null | grep -oE '(bsize|isize|crc|finobt|reflink|ftype|sparse|rmapbt|bigtime)=[0-9]+' | tr '\n' ' ')" \
		"p1: made with the same block and inode size and features"
	mount -o loop,ro,nouuid boot.fs m
	ok "p1's files equal a plain restore's" $CMP rref/p1 m
	umount m
	ok "the PV's label and metadata areas are back byte for byte" cmp -i "${RHEL_P2%%:*}" -n $MiB rhel.img rhel-new.img
	is "$(lvm_lv_ranges rhel-new.img "$RHEL_P2" rhel root | tr '\n' ' ')" "$(lvm_lv_ranges rhel.img "$RHEL_P2" rhel root | tr '\n' ' ')" \
		"lvm2 finds root where it was (two runs)"
	lvm_assemble_lv rhel-new.img "$RHEL_P2" rhel root newroot.fs
	is "$(blkid -p -o value -s UUID newroot.fs)/$(blkid -p -o value -s LABEL newroot.fs)" \
		"$(blkid -p -o value -s UUID root.fs)/root" "root: its XFS UUID and label"
	ok "root: xfs_repair -n finds it clean" xfs_repair -n -f newroot.fs
	mount -o loop,ro,nouuid newroot.fs m
	ok "root's files equal a plain restore's" $CMP rref/rhel-root m
	umount m
	lvm_assemble_lv rhel-new.img "$RHEL_P2" rhel home newhome.fs
	lvm_assemble_lv rhel.img "$RHEL_P2" rhel home home.fs
	is "$(blkid -p -o value -s UUID newhome.fs)" "$(blkid -p -o value -s UUID home.fs)" "home: its ext4 UUID"
	ok "home: e2fsck -fn clean" e2fsck -fn newhome.fs
	lvm_assemble_lv rhel-new.img "$RHEL_P2" rhel swap newswap.fs
	lvm_assemble_lv rhel.img "$RHEL_P2" rhel swap swap.fs
	is "$(blkid -p -o value -s UUID newswap.fs)/$(blkid -p -o value -s LABEL newswap.fs)" \
		"$(blkid -p -o value -s UUID swap.fs)/swap" "swap: its UUID and label"
	# a larger target: the PV (the last partition) grows, its LVs stay
	truncate -s 1710M rhel-big.img
	$L restore-disk repo rhelvm rhel-big.img --json >rbig.json
	is "$?" 0 "onto a larger image: exit 0"
	is "$(part_size rhel-big.img 2)" $((1400 * MiB)) "the PV's partition grew by what the target has more"
	like "$(python3 -c 'import json; d=json.load(open("rbig.json")); print(d["resized"]["partition"], d["not_grown"])')" \
		"^p2 p2: the LVM physical volume grows by 200.0 MiB, its logical volumes do not" "--json: p2 resized, the LVs not"
	vgfree() { lvm_with "$1" "${RHEL_P2%%:*}:$2" vgs --noheadings --units b --nosuffix -o vg_free rhel | tr -d ' '; }
	is "$(( $(vgfree rhel-big.img $((1400 * MiB))) - $(vgfree rhel.img $((1200 * MiB))) ))" $((200 * MiB)) \
		"lvm2: the volume group has 200 MiB more free (pvresize's work)"
	is "$(lvm_lv_ranges rhel-big.img "${RHEL_P2%%:*}:$((1400 * MiB))" rhel root | tr '\n' ' ')" \
		"$(lvm_lv_ranges rhel.img "$RHEL_P2" rhel root | tr '\n' ' ')" "root's runs have not moved"
	lvm_assemble_lv rhel-big.img "${RHEL_P2%%:*}:$((1400 * MiB))" rhel root bigroot.fs
	ok "root: xfs_repair -n finds it clean" xfs_repair -n -f bigroot.fs
	ok "--volume rhel-root (the root logical volume) onto an image" $L restore-disk repo rhelvm lvroot.img --volume rhel-root -q
	is "$(blkid -p -o value -s UUID lvroot.img)" "$(blkid -p -o value -s UUID root.fs)" "its XFS UUID is the recorded one"
	ok "xfs_repair -n finds it clean" xfs_repair -n -f lvroot.img
	mount -o loop,ro,nouuid lvroot.img m
	ok "its files equal a plain restore's" $CMP rref/rhel-root m
	umount m
else
	skip 33 "cannot build the LVM fixture here"
fi

# ---- interrupted while filling: no mount, loop device or temp file left
mkdisk slow.img 400M <<'S'
label: dos
start=2048, size=390M, type=83
S
put_ext4 slow.img 1
mount_part slow.img 1 src
head -c 300M /dev/urandom >src/big
umount src
ok "back up a disk with 300 MB to restore" $L backup repo slow.img --name slowvm --compress none -q
# (its scratch directory under a TMPDIR of its own: other tests running
# beside this one mount theirs)
mkdir -p tmp
TMPDIR=$SCRATCH/tmp $L restore-disk repo slowvm int.img >/dev/null 2>&1 &
pid=$!
seen=0
for i in $(seq 1 200); do
	grep -q " $SCRATCH/tmp/rawkit-restore-disk-[^ ]*/p1 " /proc/mounts && seen=1 && break
	sleep 0.02
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
if [ "$seen" = 1 ]; then
	is "$rc" 143 "SIGTERM while filling: restore-disk dies of it"
	is "$(grep -c " $SCRATCH/tmp/" /proc/mounts)" 0 "no mount left behind"
	is "$(ls tmp)" "" "no scratch directory left behind"
	ok "no image and no temp file left behind" sh -c '! ls | grep -q "int\.img"'
	is "$(losetup -a | grep -c "$SCRATCH/slow.img")" 0 "no loop device left behind"
else
	skip 5 "the fill ended before it could be interrupted"
fi

# ---- a generation without a shape (an older rawkit's)
sqlite3 repo/catalog.db 'UPDATE generations SET shape_id = NULL WHERE seq = 1 AND guest_id = (SELECT id FROM guests WHERE name = "dosvm")'
$L restore-disk repo dosvm@1 old.img 2>err.txt
is "$?" 1 "a generation without a recorded shape: exit 1"
like "$(cat err.txt)" "no disk shape recorded with this generation" "says so, and how to get the files"

done_testing
