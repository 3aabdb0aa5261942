#!/bin/bash
# The copy engine: used blocks only, sparse, exact; safe targets; reflink.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

make_tree src
mkdisk src.img 200M <<'S'
label: gpt
start=2048, size=100M, type=linux
size=40M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
size=16M, type=swap
size=8M, type=linux
S
put_ext4 src.img 1 -b 4096 -d src
off1=$(part_start src.img 1)
# 40 MB written and deleted: allocated in the image, free in the filesystem.
head -c 40000000 /dev/urandom >freed.bin
debugfs -w -R "write freed.bin /freed.bin" "src.img?offset=$off1" >/dev/null 2>&1
debugfs -w -R "rm /freed.bin" "src.img?offset=$off1" >/dev/null 2>&1
rm freed.bin
if is_root && [ -c /dev/fuse ]; then
	mkdir ntree && head -c 3000000 /dev/urandom >ntree/app.bin && echo hi >ntree/hi.txt
	put_ntfs_tree src.img 2 ntree
	have_ntfs=1
else
	put_fs ntfs src.img 2
	have_ntfs=0
fi
put_fs swap src.img 3
off4=$(part_start src.img 4)
head -c 1000000 /dev/urandom | dd of=src.img bs=1M seek=$((off4 / 1048576)) conv=notrunc status=none
src_sum=$(sum src.img)

# cmp_range A B OFFSET LENGTH
cmp_range() { cmp <(tail -c +$(($3 + 1)) "$1" | head -c "$4") <(tail -c +$(($3 + 1)) "$2" | head -c "$4"); }

# --- whole disk to a new sparse file
ok "copy the whole disk" imgfmt-tool copy src.img dst.img --checksum
is "$(stat -c %s dst.img)" "$(stat -c %s src.img)" "target has the source's size"
is "$(sfdisk -d dst.img | sed 's/dst\.img/src.img/g')" "$(sfdisk -d src.img)" "partition table identical (sfdisk)"
for n in 1 2 3; do
	is "$(blkid -p -o value -s UUID -O "$(part_start dst.img $n)" dst.img)" \
		"$(blkid -p -o value -s UUID -O "$(part_start src.img $n)" src.img)" "p$n: same filesystem UUID (blkid)"
done
ok "ext4 in the copy is clean (e2fsck -fn)" e2fsck -fn "dst.img?offset=$off1"
ok "ext4 files in the copy equal the source tree" \
	sh -c "imgfmt-tool extract dst.img p1 out && diff -r --no-dereference -x lost+found src out"
if [ "$have_ntfs" = 1 ]; then
	off2=$(part_start src.img 2)
	dd if=dst.img of=ntfs.img bs=1M skip=$((off2 / 1048576)) count=40 status=none
	ok "NTFS file in the copy equals the source (ntfscat)" bash -c 'cmp ntree/app.bin <(ntfscat ntfs.img /app.bin)'
	ok "NTFS in the copy is consistent (ntfsfix -n)" ntfsfix -n ntfs.img
fi
ok "unknown partition copied whole" cmp_range src.img dst.img "$off4" "$(part_size src.img 4)"
ok "MBR gap and GPT copied" cmp_range src.img dst.img 0 "$off1"
ok "backup GPT copied" cmp_range src.img dst.img $(($(stat -c %s src.img) - 33 * 512)) $((33 * 512))
ok "every used range equals the source" python3 - src.img dst.img <<'PY'
import subprocess, sys
used = subprocess.run(["imgfmt-tool", "used", sys.argv[1]], capture_output=True, text=True, check=True).stdout
with open(sys.argv[1], "rb") as a, open(sys.argv[2], "rb") as b:
    for line in used.splitlines():
        f = line.split()
        if len(f) == 2 and f[0].isdigit():
            off, n = int(f[0]), int(f[1])
            a.seek(off); b.seek(off)
            if a.read(n) != b.read(n):
                sys.exit("range %d+%d differs" % (off, n))
PY
cp --sparse=always src.img cp-sparse.img
dst_du=$(du -B1 dst.img | cut -f1) cp_du=$(du -B1 cp-sparse.img | cut -f1)
ok "freed-but-allocated blocks are not copied: $dst_du < cp --sparse=always's $cp_du - 30 MB" \
	test "$dst_du" -lt $((cp_du - 30000000))
is "$(sum src.img)" "$src_sum" "the source was not written"

# --- checksums and verification
ok "verify: an exact copy verifies" imgfmt-tool verify src.img dst.img
printf 'X' | dd of=dst.img bs=1 seek=$((off1 + 1024 + 100)) conv=notrunc status=none
fails "verify: one changed byte in a used range is found" imgfmt-tool verify src.img dst.img
ok "copy --verify checks its own target" imgfmt-tool copy src.img dst2.img --verify

# --- one partition to a filesystem image
ok "copy one partition" imgfmt-tool copy src.img p1.img --volume p1
is "$(stat -c %s p1.img)" "$(part_size src.img 1)" "partition copy has the partition's size"
ok "partition copy is a clean ext4 (e2fsck -fn)" e2fsck -fn p1.img
fails "an extended or missing volume is refused" imgfmt-tool copy src.img p9.img --volume p9

# --- targets that must be refused before anything is written
refused() { # DESC PATTERN CMD...
	local desc=$1 pattern=$2
	shift 2
	"$@" >/dev/null 2>err.txt
	local rc=$?
	is "$rc" 1 "$desc: exit 1"
	ok "$desc: one-line error" one_line_error imgfmt-tool err.txt
	like "$(cat err.txt)" "$pattern" "$desc: says why"
}
before=$(sum dst2.img)
refused "existing target" "target exists \\(use --overwrite" imgfmt-tool copy src.img dst2.img
is "$(sum dst2.img)" "$before" "existing target: untouched"
ok "--overwrite replaces an existing target" imgfmt-tool copy src.img dst2.img --overwrite
ok "--overwrite: the replacement is exact" imgfmt-tool verify src.img dst2.img
refused "target is the source" "target is the source disk itself" imgfmt-tool copy src.img src.img --overwrite
ln src.img hardlink.img
refused "target is a hard link to the source" "target is the source" imgfmt-tool copy src.img hardlink.img --overwrite
rm hardlink.img
refused "target directory missing" "cannot create: No such file or directory" imgfmt-tool copy src.img nodir/x.img
ok "no temp files left behind" sh -c '! ls -A . nodir 2>/dev/null | grep -q rawkit-'
if is_root; then
	mkdir ro && chattr +i ro
	refused "read-only target directory" "cannot create: Operation not permitted" imgfmt-tool copy src.img ro/x.img
	chattr -i ro
	mkdir small && mount -t tmpfs -o size=4m tmpfs small
	refused "not enough space" "not enough space in small: [0-9]+ bytes free, the copy needs [0-9]+" \
		imgfmt-tool copy src.img small/x.img
	is "$(ls -A small | wc -l)" 0 "not enough space: nothing written"
	umount small
fi
is "$(sum src.img)" "$src_sum" "the source is still unchanged"

# --- block device targets
if is_root && losetup -f >/dev/null 2>&1; then
	truncate -s 100M tiny.img
	tiny=$(losetup -f --show tiny.img) && echo "$tiny" >>"$SCRATCH/.loops"
	refused "block device smaller than the source" "device too small: 104857600 bytes, the source needs 209715200" \
		imgfmt-tool copy src.img "$tiny"
	is "$(sum tiny.img)" "$(head -c 100M /dev/zero | sha256sum | cut -d' ' -f1)" "too-small device: untouched"
	# A device full of old data: holes of the source must become zeros.
	head -c 200M /dev/urandom >dev.img
	dev=$(losetup -f --show dev.img) && echo "$dev" >>"$SCRATCH/.loops"
	ok "copy to a block device" imgfmt-tool copy src.img "$dev"
	sync
	ok "block device: ext4 clean (e2fsck -fn)" e2fsck -fn "dev.img?offset=$off1"
	ok "block device: files equal the source" \
		sh -c "imgfmt-tool extract dev.img p1 outdev && diff -r --no-dereference -x lost+found src outdev"
	ok "block device: verifies" imgfmt-tool verify src.img "$dev"
	mkfs.ext4 -q -F tiny.img && mkdir mnt && mount "$tiny" mnt
	refused "block device in use" "device is in use" imgfmt-tool copy src.img "$tiny"
	umount mnt
fi

# --- reflink on a filesystem that shares extents (XFS, reflink=1)
if is_root && command -v mkfs.xfs >/dev/null && losetup -f >/dev/null 2>&1; then
	truncate -s 600M xfs.img
	mkfs.xfs -q -m reflink=1 xfs.img && mkdir -p xfs && mount -o loop xfs.img xfs
	cp --sparse=always src.img xfs/src.img
	ok "reflink: copy on XFS" sh -c 'imgfmt-tool copy xfs/src.img xfs/clone.img > stats.txt'
	is "$(awk '/^method/{print $2}' stats.txt)" reflink "reflink: extents were shared, not copied"
	is "$(awk '/^written_bytes/{print $2}' stats.txt)" 0 "reflink: no data written"
	ok "reflink: the clone verifies" imgfmt-tool verify xfs/src.img xfs/clone.img
	ok "reflink: ext4 in the clone is clean" e2fsck -fn "xfs/clone.img?offset=$off1"
	ok "--no-reflink copies instead" sh -c 'imgfmt-tool copy xfs/src.img xfs/copy.img --no-reflink > stats.txt'
	is "$(awk '/^method/{print $2}' stats.txt)" copy "--no-reflink: method is copy"
	umount xfs
fi

done_testing
