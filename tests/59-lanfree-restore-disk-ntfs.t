#!/bin/bash
# rawkit-lanfree restore-disk of a Windows-style GPT disk (an EFI system
# partition and an NTFS data partition): the NTFS is made again by mkntfs
# with its cluster size, label, serial and hidden sectors, and filled
# through ntfs-3g with its files' contents, alternate data streams, DOS
# attributes, security descriptors, creation, write and access times,
# reparse points and hard links, Windows' boot code around the new BPB;
# onto the recorded size and a larger disk (the NTFS grows); on a dos disk
# an NTFS that moves gets its new start as hidden sectors; what cannot be
# made is said; a killed restore-disk leaves no mount or loop device.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && losetup -f >/dev/null 2>&1 && [ -c /dev/fuse ] || skip_all "needs root, loop devices and /dev/fuse"
command -v mkntfs >/dev/null && command -v ntfs-3g >/dev/null || skip_all "needs ntfs-3g's mkntfs and ntfs-3g"
L=rawkit-lanfree
MiB=1048576

# loop IMG N: partition N of IMG as a loop device (detached on exit)
loop() {
	local dev
	dev=$(losetup -f --show -o "$(part_start "$1" "$2")" --sizelimit "$(part_size "$1" "$2")" "$1") || return 1
	echo "$dev" >>"$SCRATCH/.loops"
	echo "$dev"
}
unloop() { losetup -d "$1"; }
# fsid IMG N: what blkid sees in partition N (type, UUID, label)
fsid() {
	blkid -p -o export -O "$(part_start "$1" "$2")" -S "$(part_size "$1" "$2")" "$1" |
		grep -E '^(TYPE|UUID|LABEL)=' | sort | tr '\n' ' '
}
# table IMG: sfdisk's dump without the device's name
table() { sfdisk -d "$1" | sed -e '/^device:/d' -e "s|^$1\([0-9]*\) :|part\1 :|"; }
# boot_field IMG N OFFSET SIZE: a little-endian field of partition N's NTFS boot sector
boot_field() {
	python3 -c 'import sys; f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2]) + int(sys.argv[3]))
print(int.from_bytes(f.read(int(sys.argv[4])), "little"))' "$1" "$(part_start "$1" "$2")" "$3" "$4"
}
# ntfs_meta DIR: every entry of an ntfs-3g mount with what ntfs-3g shows of
# it: type, size, links, DOS attributes, security descriptor, creation,
# write and access times (not the MFT change time: nothing can set it),
# reparse data, streams, a link's target
ntfs_meta() {
	python3 - "$1" <<'PY'
import os, stat, sys
root = sys.argv[1]
def x(p, n, cut=None):
    try:
        v = os.getxattr(p, n, follow_symlinks=False)
    except OSError as e:
        return "-%d" % e.errno
    return v[:cut].hex() if cut else v.hex()
out = []
for d, dirs, files in os.walk(root):
    for name in [""] + sorted(dirs + files) if d == root else sorted(dirs + files):
        p = os.path.join(d, name) if name else d
        st = os.lstat(p)
        kind = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else "f"
        streams = sorted(n + "=" + x(p, n) for n in os.listxattr(p, follow_symlinks=False) if n.startswith("user."))
        out.append(" ".join([os.path.relpath(p, root), kind, str(st.st_size if kind == "f" else 0), str(st.st_nlink),
                             x(p, "system.ntfs_attrib"), x(p, "system.ntfs_acl"), x(p, "system.ntfs_times", 24),
                             x(p, "system.ntfs_reparse_data"), os.readlink(p) if kind == "l" else "", *streams]))
print("\n".join(sorted(out)))
PY
}
# meta IMG N FILE: ntfs_meta of partition N (mounted read-only) into FILE
meta() {
	local dev
	dev=$(loop "$1" "$2") && mkdir -p mm && ntfs-3g -o ro "$dev" mm && ntfs_meta mm >"$3"
	umount mm
	unloop "$dev"
}
# contents IMG N: "sha256 path" of each file of SUMS, read by ntfscat
contents() {
	local dev path
	dev=$(loop "$1" "$2") || return 1
	while read -r _ path; do
		printf '%s %s\n' "$(ntfscat "$dev" "$path" | sha256sum | cut -d' ' -f1)" "$path"
	done <sums.txt
	unloop "$dev"
}

# ---- the source disk: an ESP and an NTFS with 2 KiB clusters
mkdisk win.img 96M <<'S'
label: gpt
label-id: 5C1D0E5A-0000-4000-8000-00000000A001
start=2048, size=16M, type=uefi, name="EFI system partition", uuid=5C1D0E5A-0000-4000-8000-0000000000E1
size=70M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition", uuid=5C1D0E5A-0000-4000-8000-0000000000D2
S
put_fs vfat win.img 1 -F 16 -i 1A2B3C4D -n ESP
dev=$(loop win.img 2)
mkntfs -q -Q -c 2048 -p "$(($(part_start win.img 2) / 512))" -H 255 -S 63 -L WinData "$dev" &&
	ntfslabel -q --new-serial=0123456789ABCDEF "$dev" >/dev/null || { echo "Bail out! cannot make the NTFS"; exit 1; }
# Windows' boot code, as format and bootsect leave it: the boot sector's
# code and its loader in the 15 sectors after it ($Boot)
python3 - "$dev" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(0x54)
    f.write((b"WINDOWS-BOOT-SECTOR-CODE " * 20)[:0x1fe - 0x54])
    f.seek(512)
    f.write((b"BOOTMGR-LOADER " * 600)[:8192 - 512])
PY
mkdir -p src && ntfs-3g "$dev" src || { echo "Bail out! cannot mount the NTFS"; exit 1; }
mkdir -p "src/Program Files/App" src/Users/Public src/Windows src/Junction
echo "hello ntfs" >src/hello.txt
setfattr -n user.Zone.Identifier -v "[ZoneTransfer] ZoneId=3" src/hello.txt
head -c 3000000 /dev/urandom >"src/Program Files/App/app.exe"
ln "src/Program Files/App/app.exe" src/Users/Public/app-link.exe
: >src/Users/Public/empty.txt
printf 'unicode\n' >"src/Users/$(printf 'caf\303\251 \346\227\245\346\234\254').txt"
echo "read only" >src/readonly.txt
setfattr -n system.ntfs_attrib_be -v 0x00000021 src/readonly.txt
setfattr -n system.ntfs_attrib_be -v 0x00000016 src/Windows
echo secret >src/Windows/secret.txt
# the root's security descriptor (mkntfs's) on a file: not the default one
setfattr -n system.ntfs_acl -v "$(getfattr -e hex -n system.ntfs_acl src | sed -n 's/^system.ntfs_acl=//p')" \
	src/Windows/secret.txt
truncate -s 8M src/sparse.bin
echo "in the middle" | dd of=src/sparse.bin bs=1 seek=$((4 * MiB)) conv=notrunc status=none
ln -s "Program Files/App/app.exe" src/app.lnk # ntfs-3g's (Interix) symbolic link
# a junction: a directory reparse point to C:\Windows
setfattr -n system.ntfs_reparse_data -v 0x030000a03c00000000001c001e0014005c003f003f005c0043003a005c00570069006e0064006f0077007300000043003a005c00570069006e0064006f00770073000000 src/Junction
touch -d '2019-05-06 07:08:09.1234567' src/hello.txt
setfattr -n system.ntfs_crtime -v 0x00806cfd9a14d001 src/hello.txt # 2014-10-04
(cd src && find . -type f ! -name app.lnk -print0 | sort -z | xargs -0 sha256sum | sed 's|  \./| |') >sums.txt
umount src
unloop "$dev"
meta win.img 2 meta-src.txt
is "$(wc -l <meta-src.txt):$(wc -l <sums.txt)" "16:8" "the source: 16 entries, 8 files' contents to compare"

ok "init a repository" $L init repo
$L backup repo win.img --name winvm -q 2>backup.err
is "$?" 0 "back up the disk (the ESP's vfat too)"
is "$(cat backup.err)" "" "no warning"

# ---- onto a new image of the recorded size
$L restore-disk repo winvm same.img --json >same.json 2>same.err
is "$?" 0 "restore-disk onto a new image: exit 0"
is "$(cat same.err)" "" "no warning"
is "$(python3 -c 'import json; d=json.load(open("same.json")); v=d["volumes"][1]; print(v["name"], v["fstype"], v["action"], v["note"], v["files"] >= 14)')" \
	"p2 ntfs mkfs  True" "--json: p2 made and filled"
is "$(table same.img)" "$(table win.img)" "sfdisk -d: the same GPT"
is "$(fsid same.img 2)" "$(fsid win.img 2)" "p2: the same NTFS serial (blkid's UUID) and label"
is "$(fsid same.img 1)" "$(fsid win.img 1)" "p1: the ESP's serial and label"
is "$(boot_field same.img 2 28 4)" $(($(part_start win.img 2) / 512)) "the boot sector's hidden sectors are the partition's start"
is "$(boot_field same.img 2 11 2):$(boot_field same.img 2 13 1)" "512:4" "512-byte sectors, 2 KiB clusters as recorded"
is "$(boot_field same.img 2 72 8)" "$(boot_field win.img 2 72 8)" "the serial in the boot sector"
is "$(python3 -c 'import sys; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])-512); print(f.read(512)[72:80].hex())' same.img $(($(part_start same.img 2) + $(part_size same.img 2))))" \
	"efcdab8967452301" "the serial in the backup boot sector at the partition's end"
# boot_code_equal IMG: p2 of IMG has win.img's NTFS boot code (the boot sector's, $Boot's loader, the backup boot sector's)
boot_code_equal() {
	local a=$(part_start win.img 2) b=$(part_start "$1" 2) end=$(($(part_start "$1" 2) + $(part_size "$1" 2) - 512))
	cmp -i $((a + 84)):$((b + 84)) -n $((510 - 84)) win.img "$1" &&
		cmp -i $((a + 512)):$((b + 512)) -n $((8192 - 512)) win.img "$1" &&
		cmp -i $((a + 84)):$((end + 84)) -n $((510 - 84)) win.img "$1"
}
ok "Windows' boot code is back around the new BPB (boot sector, \$Boot, backup boot sector)" boot_code_equal same.img
dev=$(loop same.img 2)
ok "ntfsfix -n: the new NTFS is clean" ntfsfix -n "$dev"
is "$(ntfsinfo -m "$dev" 2>/dev/null | grep -E 'Cluster Size|Volume Version' | tr -s ' \t' ' ')" \
	"$(d=$(loop win.img 2); ntfsinfo -m "$d" 2>/dev/null | grep -E 'Cluster Size|Volume Version' | tr -s ' \t' ' '; unloop "$d")" \
	"ntfsinfo: the same cluster size and NTFS version"
unloop "$dev"
is "$(contents same.img 2)" "$(cat sums.txt)" "each file's content (ntfscat) equals the source's"
meta same.img 2 meta-same.txt
ok "every entry's attributes, security descriptor, times, reparse data, streams and links equal the source's" \
	sh -c 'test -s meta-same.txt && diff meta-src.txt meta-same.txt'
like "$(grep '^hello.txt ' meta-same.txt)" "user.Zone.Identifier=5b5a6f6e655472616e736665725d205a6f6e6549643d33" \
	"(the check sees the alternate data stream)"
like "$(grep '^Junction ' meta-same.txt)" " l 0 .* 030000a0" "(the junction is a reparse point again)"
like "$(grep '^app.lnk ' meta-same.txt)" "Program Files/App/app.exe" "(ntfs-3g's symbolic link is one again)"
like "$(grep '^readonly.txt ' meta-same.txt)" " 21000000 " "(the read-only attribute)"
is "$(grep '^Windows/secret.txt ' meta-same.txt | cut -d' ' -f6)" "$(grep '^\. ' meta-src.txt | cut -d' ' -f6)" \
	"(the file's own security descriptor)"
like "$(grep '^Users/Public/app-link.exe ' meta-same.txt)" "^[^ ]+ f 3000000 2 " "(the hard link)"

# ---- onto a larger image: the NTFS, last, grows
truncate -s 160M big.img
$L restore-disk repo winvm big.img -q 2>/dev/null
is "$?" 0 "restore-disk onto a larger image: exit 0"
is "$(part_size big.img 2)" $((70 * MiB + 64 * MiB)) "p2 grew by what the target has more"
is "$(table big.img | sed -e 's/start=[ 0-9]*, size=[ 0-9]*,//' -e '/^last-lba:/d')" \
	"$(table win.img | sed -e 's/start=[ 0-9]*, size=[ 0-9]*,//' -e '/^last-lba:/d')" \
	"sfdisk -d: the same table but for p2's size (and the disk's last usable sector)"
is "$(part_start big.img 1):$(part_size big.img 1):$(part_start big.img 2)" \
	"$(part_start win.img 1):$(part_size win.img 1):$(part_start win.img 2)" "p1 and p2's start in place"
is "$(fsid big.img 2)" "$(fsid win.img 2)" "p2: serial and label kept"
is "$(boot_field big.img 2 40 8)" $((134 * MiB / 512 - 1)) "the NTFS fills the grown partition (its last sector: the backup boot sector)"
ok "Windows' boot code is back" boot_code_equal big.img
dev=$(loop big.img 2)
ok "ntfsfix -n: clean" ntfsfix -n "$dev"
unloop "$dev"
is "$(contents big.img 2)" "$(cat sums.txt)" "each file's content equals the source's"
meta big.img 2 meta-big.txt
ok "every entry's metadata equals the source's" sh -c 'test -s meta-big.txt && diff meta-src.txt meta-big.txt'

# ---- a dos disk whose NTFS moves (the ext4 before it grows): its hidden
# sectors follow it
mkdisk dos.img 100M <<'S'
label: dos
label-id: 0x0badcafe
start=2048, size=40M, type=83
size=50M, type=7, bootable
S
put_ext4 dos.img 1 -L linux
dev=$(loop dos.img 2)
mkntfs -q -Q -p "$(($(part_start dos.img 2) / 512))" -H 255 -S 63 -L Moved "$dev" >/dev/null && mkdir -p m && ntfs-3g "$dev" m &&
	echo "moved along" >m/moved.txt && umount m
unloop "$dev"
ok "back up the dos disk" $L backup repo dos.img --name dosvm -q
truncate -s 160M dosbig.img
ok "restore-disk onto a larger image, p1 grown" $L restore-disk repo dosvm dosbig.img --grow p1 -q
is "$(part_start dosbig.img 2)" $(($(part_start dos.img 2) + 60 * MiB)) "p2 (ntfs) moved along"
is "$(boot_field dosbig.img 2 28 4)" $(($(part_start dosbig.img 2) / 512)) "its hidden sectors are its new start"
is "$(fsid dosbig.img 2)" "$(fsid dos.img 2)" "its serial and label kept"
is "$(d=$(loop dosbig.img 2); ntfscat "$d" moved.txt; unloop "$d")" "moved along" "its file is back"

# ---- what cannot be made is said, and left empty
cp -a repo repo-bad
sqlite3 repo-bad/catalog.db "UPDATE shapes SET json = json_set(json, '\$.partitions[1].params.cluster_bytes', 3000)"
$L restore-disk repo-bad winvm bad.img --dry-run --json >bad.json 2>bad.err
is "$?" 3 "damaged NTFS parameters: exit 3"
is "$(python3 -c 'import json; d=json.load(open("bad.json")); print(d["volumes"][1]["action"])')" skip "p2 is not made"
like "$(cat bad.err)" "p2: its recorded NTFS parameters are damaged: left empty" "the warning says why"
cp -a repo repo-badboot
sqlite3 repo-badboot/catalog.db "UPDATE shapes SET json = (SELECT json_set(shapes.json, '\$.boot_areas[' || j.key || '].stored_bytes', 100)
	FROM json_each(shapes.json, '\$.boot_areas') j WHERE json_extract(j.value, '\$.what') = 'ntfs_boot_code') WHERE json LIKE '%ntfs_boot_code%'"
$L restore-disk repo-badboot winvm badboot.img 2>badboot.err
is "$?" 1 "a damaged record of the NTFS boot code: exit 1"
like "$(cat badboot.err)" "^rawkit-lanfree: catalog: the recorded NTFS boot code of p2 is damaged$" "the error says so"
ok "no image left behind" test ! -e badboot.img
truncate -s 96M baddev.img
dev=$(losetup -f --show baddev.img) && echo "$dev" >>"$SCRATCH/.loops"
s0=$(sum baddev.img)
$L restore-disk repo-badboot winvm "$dev" --force 2>/dev/null
is "$?:$(sum baddev.img)" "1:$s0" "onto a block device: refused before the first write (no table written)"
losetup -d "$dev"
mkdir -p nontfs
for d in $(echo "$PATH" | tr ':' ' '); do
	for f in "$d"/*; do
		case ${f##*/} in mkntfs | ntfslabel | ntfs-3g) ;; *) [ -e "nontfs/${f##*/}" ] || ln -s "$f" "nontfs/${f##*/}" ;; esac
	done
done 2>/dev/null
PATH=$SCRATCH/nontfs $L restore-disk repo winvm no.img --dry-run 2>no.err >/dev/null
is "$?" 3 "without ntfs-3g's tools: exit 3"
like "$(cat no.err)" "p2: mkntfs is not installed \\(Debian's ntfs-3g package\\): left empty" "the warning names the tool"
PATH=$SCRATCH/nontfs $L restore-disk repo winvm no.img -q 2>/dev/null
is "$?:$(fsid no.img 2)" "3:" "no NTFS is made without them (p2 empty)"

# ---- killed while filling: no mount, loop device or temp file left
mkdisk slow.img 320M <<'S'
label: gpt
start=2048, size=310M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
S
dev=$(loop slow.img 1) && mkntfs -q -Q -p 2048 -H 255 -S 63 "$dev" && mkdir -p m && ntfs-3g "$dev" m &&
	head -c 250M /dev/urandom >m/big.bin
umount m
unloop "$dev"
ok "back up an NTFS with 250 MB to restore" $L backup repo slow.img --name slowvm --compress none -q
mkdir -p tmp
TMPDIR=$SCRATCH/tmp $L restore-disk repo slowvm int.img >/dev/null 2>&1 &
pid=$!
seen=0
for i in $(seq 1 300); do
	grep -q " $SCRATCH/tmp/rawkit-restore-disk-[^ ]*/p1 fuseblk" /proc/mounts && seen=1 && break
	sleep 0.02
done
sleep 0.3
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
if [ "$seen" = 1 ]; then
	is "$rc" 143 "SIGTERM while filling: restore-disk dies of it"
	sleep 1
	is "$(grep -c " $SCRATCH/tmp/" /proc/mounts)" 0 "no mount left behind"
	ok "no image and no temp file left behind" sh -c '! ls | grep -q "int\.img"'
	is "$(losetup -a | grep -c "$SCRATCH/.*int\.img")" 0 "no loop device left behind"
	is "$(ls tmp | wc -l)" 0 "no scratch directory left behind"
else
	skip 5 "the fill ended before it could be interrupted"
fi

done_testing
