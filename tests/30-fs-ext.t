#!/bin/bash
# ext2/3/4 read through libext2fs at a partition's offset, checked against
# the source tree (kernel stat, getfattr) and debugfs.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

make_tree src
printf 'two links\n' >src/data/hard1
ln src/data/hard1 src/data/hard2
printf 'newline\n' >"src/data/new
line"
printf 'latin1\n' >"src/data/$(printf 'caf\351')"
long=$(printf 'n%.0s' $(seq 1 255))
printf 'long\n' >"src/data/$long"
touch -d '2021-03-04 05:06:07.123456789' src/etc/hostname
setfattr -n user.comment -v "hello world" src/etc/hostname
setfattr -n user.binary -v 0x00ff10 src/etc/hostname
setfacl -m u:1234:rw- src/etc/fstab
if is_root; then
	chown 1234:5678 src/etc/fstab
	chmod 4755 src/data/random.bin
	chmod 1777 src/empty-dir
	setfattr -n trusted.secret -v t src/etc/fstab
	setfattr -n security.selinux -v "system_u:object_r:etc_t:s0" src/etc/hostname
	mknod src/data/null c 1 3
	mknod src/data/sda b 8 0
	mkfifo src/data/fifo
fi

# The extract helper copies files, directories and symlinks only.
NODIFF="-x lost+found -x fifo -x null -x sda"

mkdisk disk.img 96M <<'S'
label: gpt
start=2048, size=40M, type=linux
size=40M, type=linux
S
put_ext4 disk.img 1 -b 4096 -I 256 -d src
off=$(part_start disk.img 1)

ok "ext4 at an offset: e2fsck (independent) finds it clean" e2fsck -fn "disk.img?offset=$off"
ok "extract the ext4 tree" imgfmt-tool extract disk.img p1 out
ok "extracted names, contents and link targets equal the source" diff -r --no-dereference $NODIFF src out

# mke2fs -d keeps whole seconds only: give one file nanoseconds with debugfs.
cp disk.img ns.img
debugfs -w -R "sif /etc/hostname mtime_extra $((123456789 << 2))" "ns.img?offset=$off" >/dev/null 2>&1
is "$(imgfmt-tool stat ns.img p1 /etc/hostname | awk '/^mtime /{print $2}')" "1614834367.123456789" \
	"mtime to the nanosecond (set by debugfs)"
debugfs -w -R "sif /etc/hostname mtime_extra $(((999999999 << 2) | 1))" "ns.img?offset=$off" >/dev/null 2>&1
is "$(imgfmt-tool stat ns.img p1 /etc/hostname | awk '/^mtime /{print $2}')" "5909801663.999999999" \
	"mtime epoch bits extend past 2038"
ino=$(debugfs -R "stat /etc/hostname" "disk.img?offset=$off" 2>/dev/null | awk '/^Inode:/ { print $2 }')
imgfmt-tool stat disk.img p1 /etc/hostname >st.txt
is "$(awk '/^ino /{print $2}' st.txt)" "$ino" "inode number matches debugfs"
is "$(awk '/^generation /{print $2}' st.txt)" \
	"$(debugfs -R "stat /etc/hostname" "disk.img?offset=$off" 2>/dev/null | sed -n 's/.*Generation: \([0-9]*\).*/\1/p')" \
	"generation matches debugfs"

# Every attribute: mode, owner, size, nlink, times, device numbers, xattrs.
check_attrs() { # PATH
	local p=$1 want got
	want="$(stat -c '%f %u %g %s %h %Y' "src$p")"
	got="$(imgfmt-tool stat disk.img p1 "$p" | awk '
		/^mode /{m=$2} /^uid /{u=$2} /^gid /{g=$2} /^size /{s=$2} /^nlink /{n=$2} /^mtime /{t=$2}
		END { sub(/\..*/, "", t); print m, u, g, s, n, t }')"
	got="$(printf %x "$((8#${got%% *}))") ${got#* }"
	[ -d "src$p" ] && want="${want#* * * }" got="${got#* * * }" # directory sizes differ by design
	is "$got" "$want" "$p: mode, owner, size, links and mtime"
	want=$(getfattr -h -d -m - -e hex "src$p" 2>/dev/null | grep = | sed 's/=0x/=/' | sort)
	got=$(imgfmt-tool xattrs disk.img p1 "$p" | sort)
	is "$got" "$want" "$p: extended attributes equal getfattr's"
}
for p in /etc/hostname /etc/fstab /data/random.bin /data/hard1 /data/sparse /empty-dir /data/sub/deeper/file.txt; do
	check_attrs "$p"
done
if is_root; then
	is "$(imgfmt-tool stat disk.img p1 /data/sda | awk '/^rdev /{print $2}')" "8:0" "block device numbers"
	is "$(imgfmt-tool stat disk.img p1 /data/null | awk '/^rdev /{print $2}')" "1:3" "character device numbers"
		is "$(printf %o $((8#$(imgfmt-tool stat disk.img p1 /data/fifo | awk '/^mode /{print $2}') & 8#170000)))" \
		"10000" "a FIFO is a FIFO"
fi

is "$(imgfmt-tool readlink disk.img p1 /data/link-fast)" "../etc/hostname" "fast symlink target"
is "$(imgfmt-tool readlink disk.img p1 /data/link-slow)" "$(readlink src/data/link-slow)" "slow (300-byte) symlink target"
is "$(imgfmt-tool runs disk.img p1 /data/sparse)" "2097152 4096" "sparse file: one data run at 2 MiB, holes elsewhere"
is "$(imgfmt-tool runs disk.img p1 /data/random.bin | awk '{ s += $2 } END { print s }')" 1500000 \
	"dense file: runs cover its size"
# a directory's runs: where its entries lie (a backup's walk reads them
# ahead), the blocks debugfs lists for it
dirblocks=$(debugfs -R "blocks /data" "disk.img?offset=$off" 2>/dev/null | tr -s ' ' '\n' | grep . | sort -n)
mine=$(imgfmt-tool physruns disk.img p1 /data | awk '{ for (b = 0; b < $2 / 4096; b++) printf "%d\n", $3 / 4096 + b }' | sort -n)
ok "a directory has runs on the disk" test -n "$mine"
is "$mine" "$dirblocks" "a directory's runs are its blocks, as debugfs lists them"
fails "a symlink has no runs" imgfmt-tool runs disk.img p1 /data/link-slow
is "$(imgfmt-tool ls disk.img p1 /data | awk -F'\t' '$1 ~ /^hard/ { print $2 }' | sort -u | wc -l)" 1 \
	"hard links share one inode"
fails "a missing path is an error" imgfmt-tool stat disk.img p1 /no/such/file
fails "a file used as a directory is an error" imgfmt-tool stat disk.img p1 /etc/hostname/x
fails "\"..\" in a path is refused" imgfmt-tool stat disk.img p1 /etc/../etc/hostname
fails "a symlink in the middle of a path is not followed" imgfmt-tool stat disk.img p1 /data/link-fast/x

# ext2 and ext3, and ext4 with inline data, in the second partition.
off2=$(part_start disk.img 2)
for variant in "ext2:-t ext2" "ext3:-t ext3" "ext4:-O inline_data -I 256"; do
	name=${variant%%:*} skip=""
	# shellcheck disable=SC2086
	put_ext4 disk.img 2 ${variant#*:} -d src
	is "$(rawkit-info --json disk.img | python3 -c 'import json,sys; print(json.load(sys.stdin)["volumes"][1]["fstype"])')" \
		"$name" "$name: detected"
	# mke2fs 1.47.0 -d with inline_data drops a sparse file's trailing hole
	# (debugfs agrees): compare that file with debugfs instead of the source.
	case $variant in *inline_data*) skip="-x sparse" ;; esac
	rm -rf out2
	ok "$name ($variant): extracted tree equals the source" \
		sh -c "imgfmt-tool extract disk.img p2 out2 && diff -r --no-dereference $NODIFF $skip src out2"
	debugfs -R "dump /data/sparse $SCRATCH/dbg.out" "disk.img?offset=$off2" >/dev/null 2>&1
	ok "$name: sparse file reads as debugfs dumps it" cmp dbg.out out2/data/sparse
done

# needs_recovery over an empty log (the flag alone): nothing to replay,
# read as it is (a crash-consistent snapshot's replay: tests/87, 88).
cp --sparse=always disk.img flag.img
debugfs -w -R "feature needs_recovery" "flag.img?offset=$off" >/dev/null 2>&1
like "$(rawkit-info --json flag.img)" '"consistency": *"replayed", *"journal_transactions": *0' \
	"needs_recovery with an empty log: replayed, 0 transactions"
is "$(imgfmt-tool used flag.img p1 | grep -c 'not cleanly')" 0 "needs_recovery with an empty log: free blocks trusted"

# A journal that needs recovery and cannot be replayed: reported, and the
# whole volume counts as used.
unreplayable_journal disk.img "$off"
like "$(rawkit-info disk.img | grep '^p1 ')" "not cleanly unmounted" "needs_recovery is reported"
like "$(rawkit-info disk.img | grep '^p1 ')" "journal cannot be replayed: journal superblock: bad magic" \
	"and why the journal cannot be replayed"
like "$(imgfmt-tool used disk.img p1)" "note 0 ext4 not cleanly unmounted: copied whole" \
	"needs_recovery: the volume's free blocks are not trusted"
# (written back first: ext4 may zero out and allocate blocks next to an
# unwritten extent when it writes it back, and a sync elsewhere can do that
# between two measures)
sync disk.img
allocated=$(python3 - disk.img "$off" "$(part_size disk.img 1)" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
pos, end, total = int(sys.argv[2]), int(sys.argv[2]) + int(sys.argv[3]), 0
while pos < end:
    try:
        data = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    if data >= end:
        break
    hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
    total += hole - data
    pos = hole
print(total)
PY
)
is "$(imgfmt-tool used disk.img p1 | awk '/^total/{print $2}')" "$allocated" \
	"needs_recovery: every allocated byte of the volume is copied"

done_testing
