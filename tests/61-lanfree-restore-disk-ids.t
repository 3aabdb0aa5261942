#!/bin/bash
# rawkit-lanfree restore-disk --new-ids (a restored copy beside the
# original: fresh filesystem, swap, disk and partition ids, every reference
# rewritten as rawkit-clone does) and --volume NAME (one volume remade and
# filled on a partition or an image of one: a damaged data disk).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && losetup -f >/dev/null 2>&1 || skip_all "needs root and loop devices (restore-disk mounts the filesystems it makes)"
CMP="python3 $TESTS_DIR/lib/treecmp.py"
VOCAB="python3 $TESTS_DIR/lib/json_vocab.py $TESTS_DIR/../doc/json.md"
L=rawkit-lanfree
MiB=1048576
ROOT=0b5e3d1e-1111-4222-8333-444455556666
SWAP=5a5a5a5a-1111-4222-8333-444455556666

# a guest whose fstab and grub.cfg name its root and swap by UUID and
# PARTUUID; the swap has no label (mkswap was once given none)
mkdisk d.img 120M <<'S'
label: dos
label-id: 0x11112222
start=2048, size=80M, type=83, bootable
size=32M, type=82
S
mkdir -p src/etc src/boot/grub
printf 'UUID=%s / ext4 defaults 0 1\nUUID=%s none swap sw 0 0\nPARTUUID=11112222-02 none swap sw 0 0\n' \
	$ROOT $SWAP >src/etc/fstab
printf 'linux /boot/vmlinuz root=UUID=%s resume=UUID=%s ro\n' $ROOT $SWAP >src/boot/grub/grub.cfg
make_tree src/data
put_ext4 d.img 1 -U $ROOT -L root -d src
put_fs swap d.img 2 -U $SWAP
ok "init a repository" $L init repo
ok "back up the guest" $L backup repo d.img --name vm -q
ok "plain restore (the reference)" $L restore repo vm --to ref -q

# ---- --new-ids
$L restore-disk repo vm copy.img --new-ids --json >copy.json 2>err.txt
is "$?:$(cat err.txt)" "0:" "restore-disk --new-ids: exit 0, nothing on stderr"
root=$(blkid -p -o value -s UUID -O $MiB copy.img)
swap=$(blkid -p -o value -s UUID -O $((81 * MiB)) copy.img)
ok "p1's ext4 UUID is new ($root)" test -n "$root" -a "$root" != $ROOT
ok "p2's swap UUID is new ($swap)" test -n "$swap" -a "$swap" != $SWAP
is "$(blkid -p -o value -s TYPE -O $((81 * MiB)) copy.img)" swap "the swap without a label was made (mkswap was given its device)"
id=$(sfdisk -d copy.img | sed -n 's/^label-id: 0x//p')
ok "the disk signature is new (0x$id)" test -n "$id" -a "$id" != 11112222
is "$(ext_cat copy.img $MiB /etc/fstab)" \
	"$(printf 'UUID=%s / ext4 defaults 0 1\nUUID=%s none swap sw 0 0\nPARTUUID=%s-02 none swap sw 0 0' "$root" "$swap" "$id")" \
	"fstab names the new UUIDs and PARTUUID"
is "$(ext_cat copy.img $MiB /boot/grub/grub.cfg)" "linux /boot/vmlinuz root=UUID=$root resume=UUID=$swap ro" \
	"grub.cfg names the new root and resume UUIDs"
is "$(blkid -p -o value -s LABEL -O $MiB copy.img)" root "the label is kept"
ok "p1: e2fsck -fn clean" e2fsck -fn "copy.img?offset=$MiB"
is "$(sfdisk -d copy.img | sed -e '/^label-id/d' -e '/^device/d' -e 's/^copy.img/IMG/')" \
	"$(sfdisk -d d.img | sed -e '/^label-id/d' -e '/^device/d' -e 's/^d.img/IMG/')" "the same table but for the signature"
mount_part copy.img 1 m ro
ok "the files but fstab and grub.cfg equal a plain restore's" \
	sh -c "cp -a ref/p1 refx && cp -a m mx && rm refx/etc/fstab refx/boot/grub/grub.cfg mx/etc/fstab mx/boot/grub/grub.cfg &&
		touch -r ref/p1/etc refx/etc mx/etc && touch -r ref/p1/boot/grub refx/boot/grub mx/boot/grub && $CMP refx mx"
umount m
is "$($VOCAB restore-disk copy.json done)" "" "--json: the keys and rules of doc/json.md"
is "$(python3 -c 'import json; d=json.load(open("copy.json")); print(sorted((c["volume"], c["kind"]) for c in d["ids"]))')" \
	"[('disk', 'disk'), ('p1', 'fs'), ('p1', 'part'), ('p2', 'fs'), ('p2', 'part')]" "--json: each id changed, as clone lists them"
is "$(python3 -c 'import json; d=json.load(open("copy.json")); print([c["new"] for c in d["ids"] if c["volume"] == "p1" and c["kind"] == "fs"][0])')" \
	"$root" "--json: the new root UUID is the one on the disk"
ok "without --new-ids the ids are the recorded ones" sh -c "$L restore-disk repo vm same.img -q &&
	blkid -p -o value -s UUID -O $MiB same.img | grep -qx $ROOT && sfdisk -d same.img | grep -qx 'label-id: 0x11112222'"
$L restore-disk repo vm dry.img --new-ids --dry-run >dry.txt
is "$?" 0 "--new-ids --dry-run: exit 0"
ok "--dry-run creates nothing" test ! -e dry.img
like "$(cat dry.txt)" "new ids: rawkit-clone --in-place --operations fs-uuids,disk-ids" "--dry-run says how the ids change"

# ---- --volume
truncate -s 48M v.img
$L restore-disk repo vm v.img --volume p1 --json >v.json 2>err.txt
is "$?:$(cat err.txt)" "0:" "--volume p1 onto a 48 MiB image of a partition (recorded: 80 MiB): exit 0"
is "$(blkid -p -o value -s UUID v.img)/$(blkid -p -o value -s LABEL v.img)" "$ROOT/root" "its UUID and label are the recorded ones"
ok "e2fsck -fn clean" e2fsck -fn v.img
is "$(( $(dumpe2fs -h v.img 2>/dev/null | awk -F': *' '/^Block count/ { print $2 }') * $(dumpe2fs -h v.img 2>/dev/null | awk -F': *' '/^Block size/ { print $2 }') ))" \
	$((48 * MiB)) "the filesystem fills the target"
is "$(sfdisk -d v.img 2>/dev/null | grep -c label:)" 0 "no partition table written"
ok "no boot code written: the first 1 KiB is zeros" cmp -n 1024 v.img /dev/zero
mount -o loop,ro v.img m
ok "its files equal a plain restore's" $CMP ref/p1 m
umount m
is "$($VOCAB restore-disk v.json done)" "" "--volume --json: the keys of doc/json.md"
is "$(python3 -c 'import json; d=json.load(open("v.json")); print(d["volume"], d["shrunk"], d["boot_bytes"], len(d["volumes"]))')" \
	"p1 True 0 1" "--json: the volume, shrunk, no boot areas, one volume"

# on a block device: a loop device over the original disk's p1, its
# filesystem lost; refused while mounted, then written with --force
cp --sparse=always d.img broken.img
dd if=/dev/zero of=broken.img bs=1k seek=1024 count=2 conv=notrunc status=none
ok "the copy's p1 is damaged (no filesystem found)" sh -c "! blkid -p -O $MiB broken.img >/dev/null"
dev=$(losetup -f --show -o $MiB --sizelimit $((80 * MiB)) broken.img) && echo "$dev" >>"$SCRATCH/.loops"
ok "--volume p1 onto the damaged partition's device" $L restore-disk repo vm "$dev" --volume p1 -q
ok "the partition's filesystem is back, clean" e2fsck -fn "$dev"
is "$(blkid -p -o value -s UUID "$dev")" $ROOT "with its UUID"
ok "the rest of the disk is untouched (the swap)" cmp -i $((81 * MiB)) -n $((32 * MiB)) d.img broken.img
mkdir -p busy && mount -o ro "$dev" busy
$L restore-disk repo vm "$dev" --volume p1 --force 2>err.txt
is "$?:$(cat err.txt)" "1:rawkit-lanfree: $dev: the disk is in use (mounted, or held open)" "a mounted partition: refused even with --force"
umount busy
s0=$(sum broken.img)
$L restore-disk repo vm "$dev" --volume p1 2>err.txt
is "$?:$(sum broken.img)" "1:$s0" "a partition holding a filesystem: refused without --force, untouched"
like "$(cat err.txt)" "holds a ext4 signature: --force to overwrite it" "the refusal says what it holds"
losetup -d "$dev"

ok "--volume p2 (swap) onto a new image" $L restore-disk repo vm s.img --volume p2 -q
is "$(stat -c %s s.img):$(blkid -p -o value -s UUID s.img)" "$((32 * MiB)):$SWAP" "a new image of the recorded size, the swap's UUID"

# refusals
truncate -s 8M t.img
s0=$(sum t.img)
$L restore-disk repo vm t.img --volume p1 2>err.txt
is "$?:$(sum t.img)" "1:$s0" "a target too small for the volume's files: refused, untouched"
like "$(cat err.txt)" "^rawkit-lanfree: t.img: too small: 8388608 bytes; p1's files need [0-9]*$" "the message gives the size needed"
$L restore-disk repo vm x.img --volume p9 2>err.txt
is "$?:$(cat err.txt)" "1:rawkit-lanfree: p9: no filesystem of that name in the disk vm recorded (rawkit-lanfree ls lists its volumes)" \
	"an unknown volume: refused"
ok "nothing created" test ! -e x.img
$L restore-disk repo vm x.img --volume p1 --new-ids 2>err.txt
is "$?" 2 "--volume with --new-ids: usage error"
$L restore-disk repo vm x.img --volume p1 --grow p1 2>err.txt
is "$?" 2 "--volume with --grow: usage error"
like "$(head -n1 err.txt)" "--volume and --grow are mutually exclusive" "says which"
ok "nothing created by a usage error" test ! -e x.img

done_testing
