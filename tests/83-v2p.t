#!/bin/bash
# rawkit-v2p: a guest disk onto larger, equal, smaller-that-fits and
# too-small targets, GPT (ext4 last) and MBR (NTFS last); checked with
# sfdisk --verify, e2fsck -fn, ntfsfix -n, dumpe2fs, ntfsresize --info and
# a file-by-file comparison.  The round trip that boots is in tests/boot.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

V="rawkit-v2p --drivers ahci,nvme,sd_mod"
is_root || skip_all "growing a filesystem in place uses loop devices (root)"
[ -n "$KVER" ] || skip_all "no kernel modules on this machine (linux-image-amd64)"

tree_of() { # DISK OFFSET DIR: the ext filesystem's files
	rm -rf "$3" && mkdir -p "$3" && debugfs -R "rdump / $3" "$1?offset=$2" 2>/dev/null
}
part_of() { # DISK N OUT: partition N alone
	dd if="$1" of="$3" bs=1M skip=$(($(part_start "$1" "$2") / 1048576)) count=$(($(part_size "$1" "$2") / 1048576)) status=none
}
printf '%s\n' etc/fstab boot/grub/grub.cfg >changed.list
: >removed.list

for label in gpt dos; do
	make_virtual img.img "$label" || { echo "Bail out! cannot build the $label image"; exit 1; }
	img_sum=$(sum img.img)
	tree_of img.img "$RO" img-tree
	if [ "$label" = dos ]; then
		part_of img.img 3 img-ntfs.img
		ntfs_files=$(ntfsls -f -R img-ntfs.img 2>/dev/null | sort | md5sum)
		ntfs_big=$(ntfscat -f img-ntfs.img docs/big.bin 2>/dev/null | sha256sum)
	fi
	[ "$label" = gpt ] && shrink=150M || shrink=240M
	for size in 500M 300M $shrink; do
		t=t-$label-$size.img
		rm -f "$t" && truncate -s "$size" "$t"
		$V -q --verify "$t.missing" "$t" 2>/dev/null
		$V --json --verify img.img "$t" >out.json 2>err
		is "$?" 0 "$label, $size target: deployed"
		[ -s err ] && diag "$(cat err)"
		action=$(python3 -c 'import json; print(json.load(open("out.json"))["action"])')
		ok "$label, $size: sfdisk --verify" sfdisk --verify "$t"
		is "$(stat -c %s "$t")" "$(numfmt --from=iec "$size")" "$label, $size: the target keeps its size"
		ok "$label, $size: e2fsck -fn on the root" e2fsck -fn "$t?offset=$RO"
		tree_of "$t" "$RO" t-tree
		ok "$label, $size: every root file identical, but the converted ones" \
			python3 "$TESTS_DIR/lib/clonecmp.py" img-tree t-tree changed.list removed.list
		like "$(ext_cat "$t" "$RO" /etc/fstab)" "^UUID=$(blkid -p -o value -s UUID -O "$RO" "$t") / ext4" \
			"$label, $size: fstab names the root by UUID"
		like "$(ext_cat "$t" "$RO" /etc/fstab)" "^/dev/xvdb1 /srv/other" "$label, $size: another disk's name stays"
		like "$(ext_cat "$t" "$RO" /boot/grub/grub.cfg)" "root=UUID=" "$label, $size: grub.cfg root=UUID="
		last_size=$(part_size "$t" "$LASTN")
		if [ "$label" = gpt ]; then
			bs=$(dumpe2fs -h "$t?offset=$(part_start "$t" "$LASTN")" 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
			blocks=$(dumpe2fs -h "$t?offset=$(part_start "$t" "$LASTN")" 2>/dev/null | awk -F: '/^Block count/ { print $2 + 0 }')
			is "$((bs * blocks))" "$last_size" "$label, $size ($action): the filesystem fills its partition"
		else
			part_of "$t" 3 t-ntfs.img
			ok "$label, $size: ntfsfix -n accepts the NTFS" ntfsfix -n t-ntfs.img
			vol=$(ntfsresize --info --force --no-progress-bar t-ntfs.img 2>/dev/null | awk '/Current volume size/ { print $4 }')
			ok "$label, $size ($action): NTFS fills its partition ($vol of $last_size bytes)" \
				test "$vol" -le "$last_size" -a "$vol" -gt $((last_size - 1048576))
			# (ntfsresize leaves the volume marked for a chkdsk at Windows' next boot: -f)
			is "$(ntfsls -f -R t-ntfs.img 2>/dev/null | sort | md5sum)" "$ntfs_files" "$label, $size: NTFS holds the same names"
			is "$(ntfscat -f t-ntfs.img docs/big.bin 2>/dev/null | sha256sum)" "$ntfs_big" "$label, $size: NTFS file contents identical"
		fi
		is "$(sum img.img)" "$img_sum" "$label, $size: the image is untouched"
	done
	is "$(python3 -c 'import json; print(json.load(open("out.json"))["action"])')" shrink "$label: $shrink is a shrink"
	# too small: refused before a byte is written
	[ "$label" = gpt ] && small=50M || small=210M
	rm -f small.img && truncate -s "$small" small.img && small_sum=$(sum small.img)
	$V -q img.img small.img 2>err
	is "$?" 1 "$label: a target that cannot hold the data is refused"
	like "$(cat err)" 'too small: [0-9]+ bytes; the image (fits in|needs more than) [0-9]+' \
		"$label: the message says how much is needed"
	ok "$label: too small: one line on stderr" one_line_error rawkit-v2p err
	is "$(sum small.img)" "$small_sum" "$label: too small: the target is untouched"
	rm -f g.img && truncate -s "$shrink" g.img
	$V -q --grow img.img g.img 2>/dev/null
	is "$?" 1 "$label: --grow refuses a smaller target"
	rm -f nr.img && truncate -s 500M nr.img
	$V -q --no-resize img.img nr.img
	is "$?" 0 "$label: --no-resize onto a larger disk"
	is "$(part_size nr.img "$LASTN")" "$(part_size img.img "$LASTN")" "$label: --no-resize keeps the partition's size"
	ok "$label: --no-resize: sfdisk --verify (the backup GPT at the new end)" sfdisk --verify nr.img
done

# ---- a target that holds something: --force, and the message names it
make_virtual img.img gpt
rm -f used.img && truncate -s 400M used.img
printf 'label: dos\nstart=2048, size=100M, type=83\n' | sfdisk -q used.img && put_ext4 used.img 1 -L precious
used_sum=$(sum used.img)
$V -q img.img used.img 2>err
is "$?" 1 "a target holding a partition table is refused"
like "$(cat err)" 'holds a dos partition table \(p1 ext4 "precious"\): --force' "the message names what would be destroyed"
is "$(sum used.img)" "$used_sum" "refused: the target is untouched"
ok "--force overwrites it" $V -q --force img.img used.img
ok "--force: a clean filesystem" e2fsck -fn "used.img?offset=$RO"

# ---- block devices: in use is refused; a loop device works
rm -f dev.img && truncate -s 400M dev.img
dev=$(losetup -P -f --show dev.img) && echo "$dev" >>"$SCRATCH/.loops"
ok "a block device target" $V -q --verify img.img "$dev"
ok "block device: sfdisk --verify" sfdisk --verify "$dev"
partprobe "$dev" 2>/dev/null || blockdev --rereadpt "$dev" 2>/dev/null
mkdir -p m && mount -o ro "${dev}p2" m 2>/dev/null
if mountpoint -q m; then
	$V -q --force img.img "$dev" 2>err
	is "$?" 1 "a mounted disk is refused"
	like "$(cat err)" 'in use' "mounted: the message says so"
	umount m
else
	skip 2 "could not mount the loop device"
fi

# ---- dry run, bad input
rm -f dry.img && truncate -s 500M dry.img && dry_sum=$(sum dry.img)
$V --dry-run --json img.img dry.img >dry.json
is "$?" 0 "--dry-run exits 0"
is "$(sum dry.img)" "$dry_sum" "--dry-run writes nothing"
is "$(python3 -c 'import json; d=json.load(open("dry.json")); print(d["action"], d["dry_run"])')" "grow True" "--dry-run --json: the plan"
$V -q img.img nowhere.img 2>err
is "$?" 1 "a missing target file is refused"
like "$(cat err)" 'truncate -s' "missing target: says how to make one"
$V -q missing.img dry.img 2>err
is "$?" 1 "a missing image is refused"
cp --sparse=always img.img dirty.img
debugfs -w -R "ssv state 2" "dirty.img?offset=$RO" 2>/dev/null
$V -q dirty.img dry.img 2>err
is "$?" 1 "an image whose filesystem has errors is refused"
like "$(cat err)" "has errors or needs journal recovery" "errors: the message says what to do"
is "$(sum dry.img)" "$dry_sum" "errors: nothing written"
rawkit-v2p --drivers 'bad;name' img.img dry.img 2>/dev/null
is "$?" 2 "--drivers with a non-module name is a usage error"

done_testing
