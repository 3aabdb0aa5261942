#!/bin/bash
# rawkit-v2p with a swap partition last (Debian's default layouts): GPT
# p1 ext4, p2 swap; MBR p1 ext4, extended p2 holding logical p5 swap.
# Onto a larger disk the filesystem grows and the swap moves to the end
# (same size, type, GUID, name, UUID and label); onto a smaller one the
# filesystem shrinks and the swap moves down.  Layouts rawkit does not move
# end with exit 3 and a line naming what was not grown.  Checked with
# sfdisk --verify/-J, e2fsck -fn, dumpe2fs, blkid -p and debugfs.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

V="timeout 60 rawkit-v2p --drivers ahci,nvme,sd_mod"
is_root || skip_all "growing a filesystem in place uses loop devices (root)"
[ -n "$KVER" ] || skip_all "no kernel modules on this machine (linux-image-amd64)"

# pfield FILE N FIELD: start, size, type, uuid or name of partition N (sfdisk -d)
pfield() {
	sfdisk -d "$1" | sed -n "s/^[^ ]*[^0-9]$2 : //p" | tr ',' '\n' | sed -n "s/^ *$3= *//p" | tr -d '"'
}
tree_of() { rm -rf "$3" && mkdir -p "$3" && debugfs -R "rdump / $3" "$1?offset=$2" 2>/dev/null; }

# The root filesystem's files, made once: a Debian-like guest whose fstab
# names its root /dev/vda1 (converted to UUID=) and its swap by UUID.
SWAP_UUID=$(cat /proc/sys/kernel/random/uuid)
root="$SCRATCH/root"
mkdir -p "$root/etc" "$root/boot/grub" "$root/lib/modules/$KVER" "$root/srv/data"
printf '/dev/vda1 / ext4 errors=remount-ro 0 1\nUUID=%s none swap sw 0 0\n' "$SWAP_UUID" >"$root/etc/fstab"
printf 'ID=debian\n' >"$root/etc/os-release"
printf 'linux /boot/vmlinuz-%s root=/dev/vda1 ro resume=UUID=%s\n' "$KVER" "$SWAP_UUID" >"$root/boot/grub/grub.cfg"
cp "/lib/modules/$KVER/modules.builtin" "$root/lib/modules/$KVER/"
head -c 2M /dev/urandom >"$root/boot/vmlinuz-$KVER"
make_initrd "$root/boot/initrd.img-$KVER" physical
head -c 6000000 /dev/urandom >"$root/srv/data/blob"
seq 1 30000 >"$root/srv/data/numbers"

# make_swap_last DISK gpt|dos: that guest with its swap last (UUID, label
# "debswap").  Sets SWAPN; the root is p1 at 1 MiB.
make_swap_last() {
	local disk=$1
	if [ "$2" = gpt ]; then
		mkdisk "$disk" 200M <<-'S' || return 1
		label: gpt
		start=2048, size=160M, type=L, name=root
		size=+, type=S, name=swap
		S
		SWAPN=2
	else
		# as Debian's installer makes it: the extended partition 2046
		# sectors after p1, its logical swap 2 sectors further (aligned)
		mkdisk "$disk" 200M <<-'S' || return 1
		label: dos
		start=2048, size=327680, type=83, bootable
		start=331774, type=5
		start=331776, type=82
		S
		SWAPN=5
	fi
	mkfs.ext4 -q -F -E "offset=1048576" -d "$root" "$disk" 163840k >/dev/null || return 1
	put_fs swap "$disk" "$SWAPN" -U "$SWAP_UUID" -L debswap
}

printf '%s\n' etc/fstab boot/grub/grub.cfg >changed.list
: >removed.list

for label in gpt dos; do
	make_swap_last img.img "$label" || { echo "Bail out! cannot build the $label image"; exit 1; }
	img_stamp=$(stat -c '%y %z %s' img.img) # (any write changes the times)
	tree_of img.img 1048576 img-tree
	swap_size=$(pfield img.img "$SWAPN" size)
	img_swap="$(pfield img.img "$SWAPN" type) $(pfield img.img "$SWAPN" uuid) $(pfield img.img "$SWAPN" name)"
	[ "$label" = gpt ] && moved='\{"partition":"p2","content":"swap"' ||
		moved='\{"partition":"p2","content":"extended".*\{"partition":"p5","content":"swap"'
	for size in 400M 150M; do
		t=t-$label-$size.img
		rm -f "$t" && truncate -s "$size" "$t"
		$V --json --verify img.img "$t" >out.json 2>err
		rc=$?
		is "$rc" 0 "$label, $size: deployed"
		[ -s err ] && diag "$(cat err)"
		[ "$rc" = 0 ] || continue
		[ "$size" = 400M ] && want=grow || want=shrink
		like "$(cat out.json)" "\"action\":\"$want\".*\"resized\":\\{\"partition\":\"p1\"" \
			"$label, $size: p1 is the filesystem resized ($want)"
		like "$(cat out.json)" "\"moved\":\\[$moved[^]]*\\],\"not_grown\":null" "$label, $size: the swap moved"
		ok "$label, $size: sfdisk --verify" sfdisk --verify "$t"
		sectors=$(($(stat -c %s "$t") / 512))
		p1_start=$(pfield "$t" 1 start) p1_size=$(pfield "$t" 1 size)
		swap_start=$(pfield "$t" "$SWAPN" start) swap_end=$(($(pfield "$t" "$SWAPN" start) + $(pfield "$t" "$SWAPN" size)))
		is "$(pfield "$t" "$SWAPN" size)" "$swap_size" "$label, $size: the swap keeps its size"
		# at the disk's end: within 1 MiB of it (a GPT's backup table after it)
		ok "$label, $size: the swap ends at the disk's end ($swap_end of $sectors sectors)" \
			test "$swap_end" -le "$sectors" -a "$swap_end" -gt "$((sectors - 2048 - 34))"
		is "$p1_start" 2048 "$label, $size: p1 stays where it was"
		if [ "$label" = gpt ]; then
			is "$((p1_start + p1_size))" "$swap_start" "$label, $size: p1 fills the disk up to the swap"
			is "$(pfield "$t" 2 type) $(pfield "$t" 2 uuid) $(pfield "$t" 2 name)" "$img_swap" \
				"$label, $size: the swap keeps its type, GUID and name"
		else
			ext_start=$(pfield "$t" 2 start)
			is "$((p1_start + p1_size + 2046)) $((ext_start + 2)) $((ext_start + $(pfield "$t" 2 size))) $(pfield "$t" 2 type) $(pfield "$t" 5 type)" \
				"$ext_start $swap_start $swap_end 5 82" \
				"$label, $size: p1 fills the disk up to the extended partition, which holds the swap as before"
		fi
		ok "$label, $size: e2fsck -fn" e2fsck -fn "$t?offset=1048576"
		fs_bytes=$(dumpe2fs -h "$t?offset=1048576" 2>/dev/null |
			awk -F: '/^Block size/ { bs = $2 } /^Block count/ { n = $2 } END { print bs * n }')
		ok "$label, $size: the filesystem fills p1 ($fs_bytes of $((p1_size * 512)) bytes)" \
			test "$fs_bytes" -le "$((p1_size * 512))" -a "$fs_bytes" -gt "$((p1_size * 512 - 4096))"
		[ "$size" = 400M ] && ok "$label, $size: p1 grew to 360 MiB" test "$((p1_size * 512))" -eq $((360 << 20))
		is "$(blkid -p -o export -s TYPE -s UUID -s LABEL -O "$((swap_start * 512))" "$t" | grep -v ^DEVNAME= | sort | tr '\n' ' ')" \
			"LABEL=debswap TYPE=swap UUID=$SWAP_UUID " "$label, $size: blkid finds the swap, same UUID and label, at its new place"
		tree_of "$t" 1048576 t-tree
		ok "$label, $size: every file identical, but the converted ones" \
			python3 "$TESTS_DIR/lib/clonecmp.py" img-tree t-tree changed.list removed.list
		like "$(ext_cat "$t" 1048576 /etc/fstab)" "UUID=$SWAP_UUID none swap" "$label, $size: fstab's swap line stays"
		like "$(ext_cat "$t" 1048576 /etc/fstab)" "^UUID=$(blkid -p -o value -s UUID -O 1048576 "$t") / ext4" \
			"$label, $size: fstab names the root by UUID (converted)"
	done
	is "$(stat -c '%y %z %s' img.img)" "$img_stamp" "$label: the image is untouched"
	# too small for the data: refused before a byte is written
	rm -f small.img && truncate -s 40M small.img
	$V -q img.img small.img 2>err
	is "$?" 1 "$label: a target too small is refused"
	like "$(cat err)" 'too small: [0-9]+ bytes' "$label: too small: says so"
	is "$(du -k small.img | cut -f1)" 0 "$label: too small: nothing written"
	# --dry-run says what would move
	rm -f dry.img && truncate -s 400M dry.img
	$V --dry-run --json img.img dry.img >dry.json
	like "$(cat dry.json)" '"action":"grow".*"moved":\[\{"partition":"p2"' "$label: --dry-run --json: the plan moves the swap"
	is "$(du -k dry.img | cut -f1)" 0 "$label: --dry-run: nothing written"
done

# ---- MBR with a primary swap after the root (p1 ext4, p2 swap)
mkdisk prim.img 200M <<-'S'
label: dos
start=2048, size=160M, type=83
size=+, type=82
S
mkfs.ext4 -q -F -E "offset=1048576" -d "$root" prim.img 163840k >/dev/null && put_fs swap prim.img 2 -U "$SWAP_UUID" -L debswap
rm -f t-prim.img && truncate -s 400M t-prim.img
$V -q prim.img t-prim.img 2>err
is "$?" 0 "MBR, primary swap: deployed"
[ -s err ] && diag "$(cat err)"
ok "MBR, primary swap: sfdisk --verify" sfdisk --verify t-prim.img
is "$(($(pfield t-prim.img 1 size) * 512)) $(($(pfield t-prim.img 2 start) + $(pfield t-prim.img 2 size)))" \
	"$((360 << 20)) $((400 << 11))" "MBR, primary swap: p1 grew up to the swap, the swap ends at the disk's end"
ok "MBR, primary swap: e2fsck -fn" e2fsck -fn "t-prim.img?offset=1048576"
is "$(blkid -p -o value -s UUID -O "$(($(pfield t-prim.img 2 start) * 512))" t-prim.img)" "$SWAP_UUID" \
	"MBR, primary swap: the swap's UUID at its new place"

# ---- layouts rawkit does not move: exit 3, and the report names them
mkdisk odd.img 200M <<-'S'
label: gpt
start=2048, size=160M, type=U
size=+, type=S
S
put_fs vfat odd.img 1
put_fs swap odd.img 2
rm -f t-odd.img && truncate -s 400M t-odd.img
$V --json odd.img t-odd.img >odd.json 2>err
is "$?" 3 "vfat then swap: done with warnings"
like "$(cat err)" 'rawkit-v2p: t-odd.img: warning: not grown: p2 \(swap\) was not moved to the end and p1 before it not grown: p1 holds vfat' \
	"vfat then swap: stderr names what was not grown and why"
like "$(cat odd.json)" '"not_grown":"p2 \(swap\) .*p1 holds vfat.*left unused"' "vfat then swap: --json not_grown says it too"
ok "vfat then swap: sfdisk --verify" sfdisk --verify t-odd.img

mkdisk two.img 200M <<-'S'
label: dos
start=2048, size=100M, type=83
start=206848, type=5
start=208896, size=40M, type=83
start=292864, type=82
S
put_ext4 two.img 1 && put_ext4 two.img 5 && put_fs swap two.img 6
rm -f t-two.img && truncate -s 400M t-two.img
$V -q two.img t-two.img 2>err
is "$?" 3 "an extended partition holding a filesystem and a swap: done with warnings"
like "$(cat err)" 'not grown: p6 \(swap\) was not moved to the end: the extended partition p2 holds p5' \
	"extended with two logical partitions: the report says why"
rm -f s-two.img && truncate -s 150M s-two.img
$V -q two.img s-two.img 2>err
is "$?" 1 "the same onto a smaller disk: refused"
like "$(cat err)" 'too small.*cannot shrink its last partition \(p6: swap\); p6 \(swap\) was not moved' \
	"smaller: the refusal says why"
is "$(du -k s-two.img | cut -f1)" 0 "smaller: nothing written"

done_testing
