#!/bin/bash
# NTFS read through libntfs-3g at a partition's offset, checked against the
# source tree, ntfscat, ntfsinfo and what an ntfs-3g mount shows.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && [ -c /dev/fuse ] || skip_all "needs root and /dev/fuse to build the NTFS fixture"

mkdir -p src/Windows/System32 src/Users/Public "src/Program Files"
echo "hello ntfs" >src/hello.txt
head -c 1200000 /dev/urandom >src/Windows/System32/big.dll
: >src/Users/Public/empty.txt
printf 'unicode\n' >"src/Users/caf$(printf '\303\251') $(printf '\346\227\245\346\234\254') $(printf '\360\237\230\200').txt"
printf 'deep\n' >"src/Program Files/readme.txt"
touch -d '2020-01-02 03:04:05.1234567' src/hello.txt
NTFS_SETUP='setfattr -n user.Zone.Identifier -v "[ZoneTransfer] ZoneId=3" hello.txt &&
	setfattr -n system.ntfs_attrib_be -v 0x00000023 hello.txt'

mkdisk disk.img 80M <<'S'
label: gpt
start=2048, size=8M, type=linux
size=60M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
S
put_ntfs_tree disk.img 2 src || { echo "Bail out! cannot build the NTFS fixture"; exit 1; }
off=$(part_start disk.img 2)
dd if=disk.img of=part.img bs=1M skip=$((off / 1048576)) count=60 status=none

ok "NTFS at an offset: rawkit-info sees it" sh -c 'rawkit-info --json disk.img > info.json'
is "$(python3 -c 'import json; print(json.load(open("info.json"))["volumes"][1]["fstype"])')" ntfs "type is ntfs"
ok "extract the NTFS tree" imgfmt-tool extract disk.img p2 out
ok "extracted names (any Unicode) and contents equal the source" diff -r src out
ok "big.dll reads as ntfscat (independent) reads it" \
	bash -c 'imgfmt-tool cat disk.img p2 /Windows/System32/big.dll | cmp - <(ntfscat part.img /Windows/System32/big.dll)'

is "$(imgfmt-tool streams disk.img p2 /hello.txt)" "$(printf 'Zone.Identifier\t%s' "$(printf '[ZoneTransfer] ZoneId=3' | wc -c)")" \
	"alternate data stream listed with its size"
is "$(imgfmt-tool cat disk.img p2 /hello.txt Zone.Identifier)" \
	"$(ntfscat -a 0x80 -n Zone.Identifier part.img /hello.txt)" "alternate data stream content equals ntfscat's"
fails "a missing stream is an error" imgfmt-tool cat disk.img p2 /hello.txt NoSuchStream

mkdir mnt
ntfs-3g -o ro part.img mnt
want_sd=$(getfattr -e hex -n system.ntfs_acl mnt/hello.txt 2>/dev/null | sed -n 's/^system.ntfs_acl=0x//p')
want_attr=$(getfattr -e hex -n system.ntfs_attrib mnt/hello.txt 2>/dev/null | sed -n 's/^system.ntfs_attrib=0x//p')
want_mtime=$(stat -c %.9Y mnt/hello.txt)
want_size=$(stat -c %s mnt/Windows/System32/big.dll)
umount mnt
imgfmt-tool xattrs disk.img p2 /hello.txt >xa.txt
like "$want_sd" "^[0-9a-f]{40,}$" "ntfs-3g shows a security descriptor"
is "$(sed -n 's/^system.ntfs_security=//p' xa.txt)" "$want_sd" "security descriptor equals ntfs-3g's"
is "$(sed -n 's/^system.ntfs_attrib=//p' xa.txt)" "$want_attr" "DOS attributes equal ntfs-3g's"
is "$(imgfmt-tool stat disk.img p2 /hello.txt | awk '/^mtime /{print $2}')" "$want_mtime" "mtime equals ntfs-3g's (100 ns units)"
is "$(imgfmt-tool stat disk.img p2 /Windows/System32/big.dll | awk '/^size /{print $2}')" "$want_size" "size"
like "$(imgfmt-tool stat disk.img p2 /Windows | awk '/^mode /{print $2}')" "^40" "a directory is a directory"
like "$(imgfmt-tool ls disk.img p2 /)" "hello.txt" "root listing has the files"
ok "root listing hides NTFS metadata files" sh -c "! imgfmt-tool ls disk.img p2 / | grep -q '^\\\$'"

ntfsfield() { ntfsinfo -m part.img 2>/dev/null | sed -n "s/^[[:space:]]*$1: *\([0-9]*\).*/\1/p" | head -n1; }
free_clusters=$(ntfsfield "Free Clusters")
cluster=$(ntfsfield "Cluster Size")
is "$(python3 -c 'import json; print(json.load(open("info.json"))["volumes"][1]["fs_free_bytes"])')" \
	"$((free_clusters * cluster))" "free space equals ntfsinfo's"
used=$(imgfmt-tool used disk.img p2 | awk '/^total/{print $2}')
ok "used map of NTFS is smaller than the partition" test "$used" -lt "$(part_size disk.img 2)"
ok "used map of NTFS covers the used clusters" test "$used" -ge "$(( $(part_size disk.img 2) - free_clusters * cluster - 65536 ))"

# A damaged $MFTMirr (libblkid does not look at it, libntfs-3g does): the
# disk opens, the filesystem does not, with one line.
cp disk.img bad.img
mirr=$(ntfsfield "LCN of Data Attribute for File_MFTMirr")
like "$mirr" "^[0-9]+$" "ntfsinfo names the \$MFTMirr cluster"
dd if=/dev/urandom of=bad.img bs=1 seek=$((off + mirr * cluster)) count=1024 conv=notrunc status=none
ok "damaged \$MFTMirr: rawkit-info still works" rawkit-info bad.img
imgfmt-tool ls bad.img p2 / >/dev/null 2>err.txt
is "$?" 1 "damaged \$MFTMirr: reading fails"
ok "damaged \$MFTMirr: one-line error" one_line_error imgfmt-tool err.txt
like "$(cat err.txt)" "^imgfmt-tool: bad.img: p2: cannot open NTFS: [A-Za-z]" "damaged \$MFTMirr: says what failed and why"
like "$(imgfmt-tool used bad.img p2)" "note 1 p2: cannot open NTFS" "damaged \$MFTMirr: its free space is not trusted"

# ---- editing (IMGFMT_FS_WRITE): a file's contents replaced through
# libntfs-3g, checked with ntfscat, ntfsls, ntfsfix; nothing else changes
disk_sum=$(sum disk.img)
cp disk.img w.img
imgfmt-tool xattrs disk.img p2 /Windows/System32/big.dll >big-xa.txt
head -c 2000000 /dev/urandom >grown.bin
echo small >small.txt
ok "write: a small (resident) file grows to 2 MB" imgfmt-tool write w.img p2 '/Program Files/readme.txt' grown.bin
ok "write: a 1.2 MB file shrinks to 6 bytes" imgfmt-tool write w.img p2 /Windows/System32/big.dll small.txt
dd if=w.img of=wpart.img bs=1M skip=$((off / 1048576)) count=60 status=none
ok "write: ntfsfix -n accepts the volume" ntfsfix -n wpart.img
ok "write: the grown file reads back (ntfscat)" sh -c 'ntfscat wpart.img "/Program Files/readme.txt" | cmp - grown.bin'
ok "write: the shrunk file reads back (ntfscat)" sh -c 'ntfscat wpart.img /Windows/System32/big.dll | cmp - small.txt'
like "$(ntfsls -l -p /Windows/System32 wpart.img)" "^ +6 .* big\.dll" "write: the directory entry has the new size"
is "$(imgfmt-tool xattrs w.img p2 /Windows/System32/big.dll)" "$(cat big-xa.txt)" \
	"write: security descriptor and DOS attributes stay"
is "$(ntfscat wpart.img /hello.txt)" "hello ntfs" "write: another file is untouched"
w_sum=$(sum w.img)
like "$(imgfmt-tool write w.img p2 /hello.txt small.txt 2>&1)" "read-only" "write: a read-only file (DOS attribute) is refused"
fails "write: a missing file is not created" imgfmt-tool write w.img p2 /new.txt small.txt
fails "write: a directory is not a file" imgfmt-tool write w.img p2 /Windows small.txt
like "$(imgfmt-tool write w.img p2 /WINDOWS/System32/big.dll small.txt 2>&1)" "no such file" \
	"write: names are matched exactly"
like "$(imgfmt-tool write w.img p2 /Windows/System32/big.dll grown.bin --read-only 2>&1)" "open read-only" \
	"write: refused on a filesystem opened read-only"
is "$(sum w.img)" "$w_sum" "write: nothing written by the refused writes"
cp disk.img dirty.img
ntfs_mark_dirty dirty.img "$off"
dirty_sum=$(sum dirty.img)
like "$(imgfmt-tool write dirty.img p2 /Windows/System32/big.dll small.txt 2>&1)" "marked dirty" \
	"write: an NTFS marked dirty is not written"
is "$(sum dirty.img)" "$dirty_sum" "write: the dirty volume is left as it was"
is "$(sum disk.img)" "$disk_sum" "write: the disk copied from is untouched"

done_testing
