#!/bin/bash
# XFS read by rawkit's own reader (lib/imgfmt/fs_xfs*.c), checked against
# the kernel (a read-only loop mount: lstat, getfattr, file contents),
# xfs_db, xfs_repair, xfs_logprint and blkid.  v5 (mkfs default: bigtime,
# sparse inodes, ftype) populated through a mount; v4 (ftype=0), which this
# kernel no longer mounts, populated by mkfs.xfs's prototype file.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root || skip_all "loop mounts need root"
command -v mkfs.xfs >/dev/null && command -v xfs_db >/dev/null || skip_all "xfsprogs not installed"

mkdisk disk.img 340M <<'S'
label: gpt
start=2048, size=320M, type=linux
S
off=$(part_start disk.img 1) size=$(part_size disk.img 1)
put_fs xfs disk.img 1 -d agcount=4 -i sparse=1
mount_part disk.img 1 m || skip_all "cannot loop-mount XFS here"

# ---- the tree: every inode, directory and attribute format ----
(
	cd m || exit 1
	: >empty
	echo hello >small
	ln small hard
	head -c 3000000 /dev/urandom >big
	truncate -s 20M big
	dd if=/dev/urandom of=big bs=4k count=2 seek=3000 conv=notrunc status=none
	fallocate -l 1M prealloc
	printf 'head' >prealloc-written && fallocate -o 4096 -l 1M prealloc-written
	python3 -c "
f = open('frag', 'wb')
for i in range(300):  # every other block: a btree-format data fork
    f.seek(i * 8192); f.write(b'%06d' % i * 100)
"
	ln -s small sl
	ln -s "$(printf 'x%.0s' $(seq 1 300))" longsl
	mknod cdev c 1 3 && mknod bdev b 8 16 && mkfifo fifo
	mkdir short && touch short/a short/b short/c
	mkdir block && for i in $(seq 1 40); do touch "block/name-$i"; done
	mkdir leaf && for i in $(seq 1 250); do touch "leaf/entry-with-a-longer-name-$i"; done
	mkdir node && python3 -c "
import os
for i in range(20000): open('node/n%05d' % i, 'w').close()
for i in range(0, 20000, 3): os.unlink('node/n%05d' % i)  # freed entries among live ones
"
	setfattr -n user.short -v v small
	for i in $(seq 1 30); do setfattr -n "user.leaf$i" -v "$(printf 'v%.0s' $(seq 1 150))" leaf; done
	for i in $(seq 1 400); do setfattr -n "user.node-attribute-$i" -v "value-$i-$(printf 'w%.0s' $(seq 1 80))" node; done
	python3 -c "import os; os.setxattr('big', 'user.remote', os.urandom(65536))"
	setfattr -n trusted.secret -v t small
	setfattr -n security.selinux -v "system_u:object_r:etc_t:s0" small 2>/dev/null
	setfacl -m u:1234:rw-,g:55:r-- small
	setfacl -d -m u:1234:rwx short
	chown 1234:5678 hard
	chmod 4755 big && chmod 1777 short
	touch -d '2100-01-01 00:00:00.123456789' small
	touch -d '1960-05-05 01:02:03.5' empty
	touch -d '2038-01-19 03:14:08' block
	chattr +d +A frag
)
umount m
NODIFF="-x fifo -x cdev -x bdev"

dd if=disk.img of=p1.img bs=1M skip=$((off / 1048576)) count=$((size / 1048576)) status=none
ok "xfs_repair -n finds the volume clean" xfs_repair -n p1.img
is "$(xfs_db -r -c 'version' p1.img | grep -o 'BIGTIME\|SPARSE_INODES\|FTYPE' | sort | tr '\n' ' ')" \
	"BIGTIME FTYPE SPARSE_INODES " "v5 with bigtime, sparse inodes and ftype"

mount_part disk.img 1 m ro,norecovery
ino() { stat -c %i "m/$1"; }
fmt() { xfs_db -r -c "inode $(ino "$1")" -c "p core.$2" p1.img | awk '{ print $3 }'; }
is "$(fmt frag format)" 3 "frag: a btree data fork (xfs_db)"
is "$(fmt short format)" 1 "short: a shortform directory"
is "$(fmt leaf aformat)" 2 "leaf: attributes in a leaf block (extents attribute fork)"
like "$(xfs_db -r -c "inode $(ino node)" -c 'ablock 0' -c 'p' p1.img | head -3)" 'magic = 0x3ebe' \
	"node: attributes in a node tree"
# directory blocks at 32 GiB (block 8388608) are the leaves: one leaf, or a node
like "$(xfs_db -r -c "inode $(ino leaf)" -c 'dblock 8388608' -c 'p' p1.img | head -3)" 'magic = 0x3df1' \
	"leaf: a leaf-format directory"
like "$(xfs_db -r -c "inode $(ino node)" -c 'dblock 8388608' -c 'p' p1.img | head -3)" 'magic = 0x3ebe' \
	"node: a node-format directory"
like "$(xfs_db -r -c "inode $(ino block)" -c 'dblock 0' -c 'p' p1.img | head -3)" 'magic = 0x58444233' \
	"block: a single-block directory"

# ---- everything the kernel says about every inode ----
imgfmt-tool fsinfo disk.img p1 >info.txt
like "$(cat info.txt)" "type xfs" "detected and opened as XFS"
like "$(cat info.txt)" "consistency clean" "a cleanly unmounted XFS is clean"
imgfmt-tool scan disk.img p1 | sort -n >scan.txt
python3 - m >kernel.txt <<'PY'
import os, sys
def t(ns): return "%d.%09d" % (ns // 10**9, ns % 10**9)
seen = set()
for root, dirs, files in os.walk(sys.argv[1]):
    for p in [root] + [os.path.join(root, n) for n in dirs + files]:
        st = os.lstat(p)
        if st.st_ino in seen: continue
        seen.add(st.st_ino)
        print(st.st_ino, "%o" % st.st_mode, st.st_uid, st.st_gid, st.st_nlink, st.st_size,
              t(st.st_mtime_ns), t(st.st_atime_ns), t(st.st_ctime_ns),
              "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
PY
sort -n kernel.txt -o kernel.txt
is "$(wc -l <scan.txt)" "$(wc -l <kernel.txt)" "scan: as many inodes as the mount shows ($(wc -l <kernel.txt))"
ok "scan: inode, mode, owner, links, size, mtime/atime/ctime (ns), rdev equal lstat's for every file" \
	diff <(cut -d' ' -f1-10 scan.txt) kernel.txt
is "$(awk '/^files /{print $2}' info.txt)" "$(($(wc -l <kernel.txt) + 2))" \
	"files in use: the tree, plus the realtime bitmap and summary inodes"
is "$(imgfmt-tool stat disk.img p1 /small | awk '/^mtime /{print $2}')" "4102444800.123456789" \
	"bigtime: 2100-01-01 to the nanosecond"
is "$(imgfmt-tool stat disk.img p1 /empty | awk '/^mtime /{print $2}')" "-304815477.500000000" "a date before 1970"
is "$(imgfmt-tool stat disk.img p1 /small | awk '/^generation /{print $2}')" \
	"$(xfs_db -r -c "inode $(ino small)" -c 'p core.gen' p1.img | awk '{print $3}')" "generation equals xfs_db's"
like "$(imgfmt-tool stat disk.img p1 /small | awk '/^btime /{print $2}')" '^1[0-9]{9}\.' "btime: the creation time"
is "$(imgfmt-tool stat disk.img p1 /frag | awk '/^flags /{print $2}')" "c0" "nodump and noatime as FS_*_FL (lsattr)"
is "$(imgfmt-tool stat disk.img p1 /bdev | awk '/^rdev /{print $2}')" "8:16" "block device numbers"

# ---- contents, links, directories ----
ok "extract the whole tree" imgfmt-tool extract disk.img p1 out
ok "extracted names, contents and link targets equal the mount's" diff -r --no-dereference $NODIFF m out
is "$(imgfmt-tool readlink disk.img p1 /longsl)" "$(readlink m/longsl)" "a 300-byte symlink (in a block)"
is "$(imgfmt-tool ls disk.img p1 /node | wc -l)" "$(ls m/node | wc -l)" "node directory: every live entry"
is "$(imgfmt-tool ls disk.img p1 / | awk -F'\t' '$1 == "cdev" || $1 == "sl" || $1 == "fifo" { print $1, $3 }' | sort | tr '\n' ' ')" \
	"cdev 2 fifo 1 sl 10 " "entry types from ftype"
is "$(imgfmt-tool runs disk.img p1 /big | tr '\n' ' ')" "0 3002368 12288000 8192 " \
	"runs: data, a hole, two blocks; the tail hole left out"
is "$(imgfmt-tool runs disk.img p1 /prealloc)" "" "unwritten extents are no runs"
ok "preallocated (unwritten) space reads as zeros" cmp <(imgfmt-tool cat disk.img p1 /prealloc-written) m/prealloc-written
is "$(imgfmt-tool runs disk.img p1 /frag | wc -l)" 300 "300 runs from a btree-format fork"
# a directory's runs: where its entries lie (a backup's walk reads them
# ahead), the data blocks xfs_bmap lists for it (512-byte units)
size512=$(( $(stat -c %s m/node) / 512 ))
theirs=$(xfs_bmap m/node | awk -v max="$size512" '$3 != "hole" && /^[ \t]*[0-9]+: \[/ {
	split($2, f, /[^0-9]+/); split($3, p, /[^0-9]+/)
	for (i = f[2]; i <= f[3] && i < max; i++) print p[1] + i - f[2] }')
mine=$(imgfmt-tool physruns disk.img p1 /node | awk '{ for (i = 0; i < $2 / 512; i++) printf "%d\n", $3 / 512 + i }')
ok "a node-form directory has runs on the disk" test -n "$mine"
is "$mine" "$theirs" "a directory's runs are its data blocks, as xfs_bmap lists them"
like "$(imgfmt-tool physruns disk.img p1 /short)" " inode$" "a short-form directory's entries are in its inode"

# ---- extended attributes ----
# (this kernel lists XFS's raw ACL attributes, trusted.SGI_ACL_*, beside the
# system.posix_acl_* names it also gives them: rawkit gives them once)
for p in /small /leaf /node /big /short /hard; do
	want=$(getfattr -h -d -m - -e hex "m$p" 2>/dev/null | grep = | grep -v '^trusted.SGI_ACL_' | sed 's/=0x/=/' | sort)
	got=$(imgfmt-tool xattrs disk.img p1 "$p" | sort)
	is "$got" "$want" "$p: extended attributes equal getfattr's ($(echo "$want" | wc -l))"
done
like "$(imgfmt-tool xattrs disk.img p1 /small)" "system.posix_acl_access=02000000" "ACL in the Linux xattr format"
umount m

# ---- free space: the used map against xfs_db's free space btrees ----
free=$(xfs_db -r -c 'freesp -s' p1.img | awk '/total free blocks/{print $4}')
cp --sparse=never disk.img full.img
is "$(imgfmt-tool used full.img p1 | awk '/^total/{print $2}')" "$((size - free * 4096))" \
	"used bytes: the volume less xfs_db's free blocks ($free)"
rm -f full.img
is "$(imgfmt-tool used disk.img p1 | grep -c '^note')" 0 "the free space is trusted"

# ---- consistency: a log with changes not written back ----
cp --sparse=always disk.img live.img
mount_part live.img 1 m
echo late >m/late && mkdir m/late-dir
xfs_io -x -c 'shutdown -f' m
cp --sparse=always live.img crashed.img
umount m
like "$(imgfmt-tool fsinfo crashed.img p1)" "consistency xfs-log-not-replayed" "a crashed XFS: xfs-log-not-replayed"
like "$(imgfmt-tool fsinfo crashed.img p1)" "note XFS log not replayed: the last [0-9]+ KiB" "and how much is not read"
like "$(imgfmt-tool used crashed.img p1)" "note 0 xfs not cleanly unmounted: copied whole" \
	"its free space is not trusted"
dd if=crashed.img of=c1.img bs=1M skip=$((off / 1048576)) count=$((size / 1048576)) status=none
like "$(xfs_logprint -t c1.img 2>&1 | grep 'state:')" "DIRTY" "xfs_logprint agrees: dirty"
mount_part live.img 1 m && umount m
like "$(imgfmt-tool fsinfo live.img p1)" "consistency clean" "after the kernel's recovery and unmount: clean"
# frozen: the kernel covers the log but writes no unmount record
mount_part live.img 1 m
echo frozen >m/frozen && xfs_freeze -f m && cp --sparse=always live.img frozen.img && xfs_freeze -u m
umount m
state=$(imgfmt-tool fsinfo frozen.img p1 | awk '/^consistency /{print $2}')
is "$state" "xfs-log-not-replayed" "a frozen XFS's log is not clean (covered, no unmount record): copied whole"

# ---- set_uuid, as xfs_admin -U ----
old=$(blkid -o value -s UUID -p --offset "$off" disk.img)
new=0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9
cp --sparse=always disk.img uuid.img
ok "set the UUID" imgfmt-tool set-uuid uuid.img p1 "$new"
is "$(blkid -o value -s UUID -p --offset "$off" uuid.img)" "$new" "blkid sees the new UUID"
dd if=uuid.img of=u1.img bs=1M skip=$((off / 1048576)) count=$((size / 1048576)) status=none
is "$(xfs_db -r -c 'sb 0' -c 'p meta_uuid' u1.img | awk '{print $3}')" "$old" "meta_uuid keeps the old one (META_UUID)"
is "$(xfs_db -r -c 'sb 3' -c 'p uuid' u1.img | awk '{print $3}')" "$new" "secondary superblocks too"
ok "xfs_repair -n finds it clean" xfs_repair -n u1.img
like "$(xfs_logprint -t u1.img 2>&1 | grep 'state:')" "CLEAN" "the log was rewritten clean"
like "$(imgfmt-tool fsinfo uuid.img p1)" "consistency clean" "rawkit reads that log as clean"
ok "the kernel mounts it" mount_part uuid.img 1 m
cmp -s m/small out/small && [ "$(ls m/node | wc -l)" -gt 1000 ]
ok "and reads it" test $? -eq 0
umount m
ok "back to the old UUID" imgfmt-tool set-uuid uuid.img p1 "$old"
dd if=uuid.img of=u1.img bs=1M skip=$((off / 1048576)) count=$((size / 1048576)) status=none
unlike_meta=$(xfs_db -r -c version u1.img | grep -c META_UUID)
is "$unlike_meta" 0 "the META_UUID feature is cleared again"
ok "xfs_repair -n finds it clean" xfs_repair -n u1.img
fails "a crashed XFS: the UUID is not set" imgfmt-tool set-uuid crashed.img p1 "$new"
fails "XFS cannot be edited otherwise" imgfmt-tool set-uuid disk.img p1 not-a-uuid

# ---- v4 (crc=0) with ftype=0: populated by a prototype file ----
mkdir -p v4src/sub && echo v4 >v4src/f && head -c 200000 /dev/urandom >v4src/data
for i in $(seq 1 120); do echo "$i" >"v4src/sub/file-$i"; done
{
	echo dummy; echo 0 0; echo d--755 0 0
	echo "f ---644 10 20 $SCRATCH/v4src/f"
	echo "data ---600 0 0 $SCRATCH/v4src/data"
	echo "link l--777 0 0 f"
	echo "sub d--750 0 0"
	for i in $(seq 1 120); do echo " file-$i ---644 0 0 $SCRATCH/v4src/sub/file-$i"; done
	echo " \$"
	echo "\$"
} >proto
ln -s f v4src/link
if put_fs xfs disk.img 1 -m crc=0 -n ftype=0 -p "$SCRATCH/proto"; then
	rm -rf out4
	ok "v4: extracted tree equals the prototype's source" \
		sh -c "imgfmt-tool extract disk.img p1 out4 && diff -r --no-dereference v4src out4"
	is "$(imgfmt-tool ls disk.img p1 /sub | awk -F'\t' '{print $3}' | sort -u)" 8 "v4 without ftype: types from the inodes"
	is "$(imgfmt-tool stat disk.img p1 /f | awk '/^uid |^gid /{print $2}' | tr '\n' ' ')" "10 20 " "v4: owner"
	like "$(imgfmt-tool fsinfo disk.img p1)" "consistency clean" "v4: a fresh log is clean"
	ok "v4: set the UUID" imgfmt-tool set-uuid disk.img p1 "$new"
	dd if=disk.img of=v4.img bs=1M skip=$((off / 1048576)) count=$((size / 1048576)) status=none
	is "$(xfs_db -r -c uuid v4.img | awk '{print $3}')" "$new" "v4: xfs_db sees the new UUID"
	ok "v4: xfs_repair -n finds it clean" xfs_repair -n v4.img
	free=$(xfs_db -r -c 'freesp -s' v4.img | awk '/total free blocks/{print $4}')
	cp --sparse=never disk.img full.img
	is "$(imgfmt-tool used full.img p1 | awk '/^total/{print $2}')" "$((size - free * 4096))" \
		"v4: used bytes: the volume less xfs_db's free blocks"
	rm -f full.img
else
	skip 8 "mkfs.xfs here makes no v4 filesystem"
fi

done_testing
