#!/bin/bash
# rawkit-lanfree on FAT (an EFI system partition, and FAT16/FAT12 volumes):
# long and Unicode names, 8.3 names with the NT lower-case bits, nested
# directories, an empty file, a fragmented file, FAT attributes, times;
# backed up, listed, restored and remade by restore-disk, all checked with
# mtools, fsck.fat and blkid; hostile volumes (a FAT chain loop, directories
# pointing at themselves or an ancestor, a cluster past the end, a boot
# sector with no sectors per cluster) backed up without a crash or hang.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

command -v mcopy >/dev/null && command -v fsck.fat >/dev/null || skip_all "needs mtools and dosfstools"
L=rawkit-lanfree
MiB=1048576
export MTOOLS_SKIP_CHECK=1
# mtools as restore-disk runs it: FAT times are UTC, names UTF-8
mt() { LC_ALL=C.UTF-8 TZ=UTC0 "$@"; }
UNI="caf$(printf '\303\251') $(printf '\346\227\245\346\234\254').txt"

# populate IMG@@OFFSET: the same tree in each volume, with known mtimes
populate() {
	local i=$1 t=1600000000 f
	mkdir -p srcf
	head -c 8192 /dev/urandom >srcf/a.bin
	head -c 4096 /dev/urandom >srcf/b.bin
	head -c 65536 /dev/urandom >srcf/frag.bin
	head -c 100000 /dev/urandom >srcf/boot.efi
	head -c 50000 /dev/urandom >srcf/grub.efi
	for f in a.bin b.bin frag.bin boot.efi grub.efi; do touch -d "@$((t += 3602))" "srcf/$f"; done
	echo "read me" >srcf/readme; echo notes >srcf/notes; echo long >srcf/long; echo uni >srcf/uni
	echo leaf >srcf/leaf; echo hidden >srcf/hidden; echo ro >srcf/ro; : >srcf/empty
	for f in readme notes long uni leaf hidden ro empty; do touch -d "@$((t += 7200))" "srcf/$f"; done
	# fragmented: a hole left by a.bin, then frag.bin fills it and goes on
	# after b.bin (FAT32: the FSInfo's next-free hint made "unknown" first,
	# else mtools goes on after b.bin)
	mt mcopy -m -i "$i" srcf/a.bin ::/a.bin && mt mcopy -m -i "$i" srcf/b.bin ::/b.bin && mt mdel -i "$i" ::/a.bin &&
	{ [ "$(blkid -p -o value -s VERSION "${i%@@*}" -O "${i#*@@}")" != FAT32 ] ||
		printf '\377\377\377\377' | dd of="${i%@@*}" bs=1 seek=$((${i#*@@} + 512 + 492)) conv=notrunc status=none; } &&
	mt mcopy -m -i "$i" srcf/frag.bin "::/Fragmented File.bin" &&
	mt mmd -i "$i" ::/EFI ::/EFI/BOOT ::/EFI/debian ::/deep ::/deep/a ::/deep/a/b ::/deep/a/b/c "::/Empty Dir" &&
	mt mcopy -m -i "$i" srcf/boot.efi ::/EFI/BOOT/BOOTX64.EFI &&
	mt mcopy -m -i "$i" srcf/grub.efi ::/EFI/debian/grubx64.efi &&
	mt mcopy -m -i "$i" srcf/readme ::/readme.TXT &&
	mt mcopy -m -i "$i" srcf/notes ::/NOTES.txt &&
	mt mcopy -m -i "$i" srcf/long "::/A Long File Name.txt" &&
	mt mcopy -m -i "$i" srcf/uni "::/$UNI" &&
	mt mcopy -m -i "$i" srcf/leaf ::/deep/a/b/c/leaf.txt &&
	mt mcopy -m -i "$i" srcf/hidden ::/hidden.sys &&
	mt mcopy -m -i "$i" srcf/ro ::/RO.TXT &&
	mt mcopy -m -i "$i" srcf/empty ::/empty &&
	mt mattrib -i "$i" +r +h +s ::/hidden.sys && mt mattrib -i "$i" +r ::/RO.TXT
}

# files IMG@@OFFSET: every file's path, size and mtime, as mtools reads them
files() {
	local p
	mt mdir -i "$1" -/ -a -b ::/ | sed -n 's|^::/||p' | grep -v '/$' | sort | while IFS= read -r p; do
		rm -f .one && mt mcopy -m -n -i "$1" "::/$p" .one && printf '%s %s %s %s\n' "$p" "$(stat -c %s .one)" \
			"$(stat -c %Y .one)" "$(sum .one)"
	done
}
# tree DIR: the same from a restored directory
tree() { (cd "$1" && find . -type f -printf '%P\n' | sort | while IFS= read -r p; do
	printf '%s %s %s %s\n' "$p" "$(stat -c %s "$p")" "$(stat -c %Y "$p")" "$(sum "$p")"; done); }
# dirs IMG@@OFFSET / dirs_of DIR: the directories
dirs() { mt mdir -i "$1" -/ -a -b ::/ | sed -n 's|^::/\(.*\)/$|\1|p' | sort; }
dirs_of() { (cd "$1" && find . -mindepth 1 -type d -printf '%P\n' | sort); }
fsid() {
	blkid -p -o export -O "$(part_start "$1" "$2")" -S "$(part_size "$1" "$2")" "$1" |
		grep -E '^(TYPE|UUID|LABEL|VERSION)=' | sort | tr '\n' ' '
}

mkdisk esp.img 80M <<'S'
label: gpt
start=2048, size=40M, type=uefi, name="EFI System Partition"
size=16M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="fat16"
size=4M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="fat12"
S
put_fs vfat esp.img 1 -F 32 -i 5EC70A11 -n ESPLABEL
put_fs vfat esp.img 2 -F 16 -i 16161616 -n DATA16
put_fs vfat esp.img 3 -F 12 -i 12121212 -n SMALL12
for n in 1 2 3; do
	populate "esp.img@@$(part_start esp.img "$n")" || { echo "Bail out! cannot build the FAT fixture (p$n)"; exit 1; }
done
is "$(fsid esp.img 1)$(fsid esp.img 2)$(fsid esp.img 3)" \
	'LABEL=ESPLABEL TYPE=vfat UUID=5EC7-0A11 VERSION=FAT32 LABEL=DATA16 TYPE=vfat UUID=1616-1616 VERSION=FAT16 LABEL=SMALL12 TYPE=vfat UUID=1212-1212 VERSION=FAT12 ' \
	"the fixture: FAT32, FAT16 and FAT12 (blkid)"
for n in 1 2 3; do
	like "$(mt mshowfat -i "esp.img@@$(part_start esp.img "$n")" "::/Fragmented File.bin")" '<[0-9]+-[0-9]+> <[0-9]+-[0-9]+>' \
		"the fixture: p$n's Fragmented File.bin is in two runs (mshowfat)"
done

ok "init" $L init repo
$L backup repo esp.img --name efivm -q 2>err.txt
is "$?" 0 "backup of FAT32, FAT16 and FAT12 volumes: exit 0"
is "$(cat err.txt)" "" "no warning"
is "$($L ls repo efivm | sort | tr '\n' ' ')" "p1 p2 p3 " "ls: three volumes"
like "$($L ls -l repo efivm p1)" '-r--r--r-- +0 +0 +3 .* RO\.TXT' "ls -l: a read-only file is 0444, owner 0, its size"
like "$($L ls -l repo efivm p1)" "drwxr-xr-x .* deep" "ls -l: a directory is 0755"
like "$($L ls repo efivm p1 | tr '\n' '/')" "readme\.TXT/" "an 8.3 name with the base lower-case bit: readme.TXT"
like "$($L ls repo efivm p1/EFI/debian)" "^grubx64\.efi$" "an 8.3 name with both lower-case bits: grubx64.efi"
like "$($L ls repo efivm p1/EFI/BOOT)" "^BOOTX64\.EFI$" "an upper-case 8.3 name stays upper-case"

$L restore repo efivm --to r -q 2>err.txt
is "$?" 0 "restore: exit 0"
is "$(cat err.txt)" "" "restore: no warning"
for n in 1 2 3; do
	img="esp.img@@$(part_start esp.img "$n")"
	is "$(tree "r/p$n")" "$(files "$img")" "p$n: every file's name, size, mtime and sha256 equal mtools' (long, Unicode, 8.3, empty, fragmented)"
	is "$(dirs_of "r/p$n")" "$(dirs "$img")" "p$n: the same directories, an empty one and a nested one too"
done
is "$(stat -c %a r/p1/RO.TXT r/p1/hidden.sys r/p1/NOTES.txt)" \
	"$(printf '444\n444\n644')" "modes: read-only 0444, others 0644"
is "$(getfattr -e hex -n user.fat_attrib r/p1/hidden.sys 2>/dev/null | sed -n 's/.*=//p')" "0x27000000" \
	"FAT attributes (read-only, hidden, system, archive) kept as user.fat_attrib"
is "$(getfattr --only-values -n user.fat_attrib r/p1/NOTES.txt 2>/dev/null | wc -c)" 0 "a file with only the archive bit has no attribute"
is "$(stat -c %s r/p1/empty)" 0 "the empty file"

# ---- restore-disk: the ESP and the other FAT volumes made and filled
$L restore-disk repo efivm new.img >out.txt 2>err.txt
is "$?" 0 "restore-disk: exit 0"
is "$(cat err.txt)" "" "restore-disk: no warning"
for n in 1 2 3; do
	is "$(fsid new.img "$n")" "$(fsid esp.img "$n")" "p$n: the same FAT type, serial and label (blkid)"
	ok "p$n: fsck.fat -n is clean" sh -c "dd if=new.img of=part.img bs=512 skip=$(($(part_start new.img "$n") / 512)) \
		count=$(($(part_size new.img "$n") / 512)) status=none && fsck.fat -n part.img >/dev/null"
	is "$(files "new.img@@$(part_start new.img "$n")")" "$(files "esp.img@@$(part_start esp.img "$n")")" \
		"p$n: every file back with its name, size, mtime and contents (mtools)"
	is "$(dirs "new.img@@$(part_start new.img "$n")")" "$(dirs "esp.img@@$(part_start esp.img "$n")")" "p$n: every directory back"
done
like "$(mt mattrib -i "new.img@@$MiB" ::/hidden.sys)" '^ +A +SHR +::/hidden.sys' "the hidden system read-only file's attributes are back (mattrib)"
like "$(mt mattrib -i "new.img@@$MiB" ::/RO.TXT)" '^ +A +R +::/RO.TXT' "the read-only file's attribute is back"
is "$(mt mdir -i "new.img@@$MiB" ::/EFI/debian | grep -c '^grubx64  efi')" 1 "grubx64.efi is an 8.3 name again (no long name needed)"

# without mtools the FAT volumes are made empty, said before anything is written
mkdir -p nomtools
for d in $(echo "$PATH" | tr ':' ' '); do
	for f in "$d"/*; do
		case ${f##*/} in mcopy | mattrib) ;; *) [ -e "nomtools/${f##*/}" ] || ln -s "$f" "nomtools/${f##*/}" ;; esac
	done
done 2>/dev/null
PATH=$SCRATCH/nomtools $L restore-disk repo efivm nomt.img >/dev/null 2>nomt.err
is "$?" 3 "without mcopy and mattrib: exit 3"
like "$(head -n1 nomt.err)" "p1: mtools \\(mcopy, mattrib\\) is not installed: made empty" "the warning says why, first"
ok "the ESP is a clean, empty FAT" sh -c "dd if=nomt.img of=part.img bs=512 skip=$(($(part_start esp.img 1) / 512)) \
	count=$(($(part_size esp.img 1) / 512)) status=none && fsck.fat -n part.img >/dev/null && [ -z \"\$(MTOOLS_SKIP_CHECK=1 mdir -b -i part.img ::/)\" ]"

# ---- an incremental backup: nothing changed, nothing read
$L backup repo esp.img --name efivm --json >inc.json 2>err.txt
is "$?" 0 "an incremental backup of the unchanged volumes: exit 0"
like "$(cat inc.json)" '"bytes_new_bytes":0|"new_bytes":0' "nothing new is stored"
echo changed >changed.txt && touch -d @1700000000 changed.txt
mt mcopy -o -m -i "esp.img@@$MiB" changed.txt ::/NOTES.txt
ok "a backup after a file changed" $L backup repo esp.img --name efivm -q
ok "the new version is restored" sh -c "$L restore repo efivm p1/NOTES.txt --to r2 -q && cmp r2/p1/NOTES.txt changed.txt"

# ---- hostile volumes, each alone on a disk (no partition table): backed up
# within a minute, the damage a per-file or per-volume warning (exit 3)
cat >fatpatch.py <<'PY'
import struct, sys
img, cmd = sys.argv[1], sys.argv[2]
f = open(img, 'r+b')
b = f.read(512)
bps, spc = struct.unpack_from('<H', b, 11)[0], b[13]
rsvd, nfats, rootent = struct.unpack_from('<H', b, 14)[0], b[16], struct.unpack_from('<H', b, 17)[0]
fatsz = struct.unpack_from('<H', b, 22)[0]
root_off = (rsvd + nfats * fatsz) * bps
data_off = root_off + rootent * 32
cs = bps * spc
def fat_get(c):
    f.seek(rsvd * bps + 2 * c); return struct.unpack('<H', f.read(2))[0]
def fat_set(c, v):
    for i in range(nfats):
        f.seek((rsvd + i * fatsz) * bps + 2 * c); f.write(struct.pack('<H', v))
def entries(where):
    off, n = where
    f.seek(off); d = f.read(n)
    for i in range(0, n, 32):
        yield off + i, d[i:i + 32]
def short(name):
    base, _, ext = name.partition('.')
    return (base.ljust(8) + ext.ljust(3)).encode()
def find(path):
    where, pos = (root_off, rootent * 32), None
    for name in path.split('/'):
        for pos, e in entries(where):
            if e[:11] == short(name):
                break
        else:
            sys.exit('no ' + name)
        c = struct.unpack_from('<H', e, 26)[0]
        where = (data_off + (c - 2) * cs, cs)
    return pos, c
def set_cluster(pos, c):
    f.seek(pos + 26); f.write(struct.pack('<H', c))
if cmd == 'loop':        # the file's 3rd cluster leads back to its 1st
    pos, c = find(sys.argv[3]); c2 = fat_get(c); fat_set(fat_get(c2), c)
elif cmd == 'self':      # DIR/INNER is DIR again
    pos, c = find(sys.argv[3]); ipos, ic = find(sys.argv[3] + '/' + sys.argv[4]); set_cluster(ipos, c)
elif cmd == 'ancestor':  # A/B/C is A
    pos, c = find(sys.argv[3]); ipos, ic = find(sys.argv[4]); set_cluster(ipos, c)
elif cmd == 'past':      # the file starts past the last cluster
    pos, c = find(sys.argv[3]); set_cluster(pos, 0xfff0)
elif cmd == 'spc0':
    f.seek(13); f.write(b'\0')
PY
# hostile NAME: a FAT16 of 16 MiB with ok.txt, a 4-cluster LOOP.BIN and SELF/INNER, A/B/C
hostile() {
	truncate -s 16M "$1" && mkfs.fat -F 16 -s 1 -n HOSTILE "$1" >/dev/null &&
	echo fine >ok.txt && head -c 2048 /dev/urandom >loop.bin &&
	mt mcopy -i "$1" ok.txt ::/OK.TXT && mt mcopy -i "$1" loop.bin ::/LOOP.BIN &&
	mt mmd -i "$1" ::/SELF ::/SELF/INNER ::/A ::/A/B ::/A/B/C && mt mcopy -i "$1" ok.txt ::/A/B/C/DEEP.TXT
}
backup_hostile() { # NAME: backed up within 60 s; exit status and stderr in $name.rc, $name.err
	timeout 60 $L backup repo "$1.img" --name "$1" -q 2>"$1.err"
	echo $? >"$1.rc"
}

hostile loop.img && python3 fatpatch.py loop.img loop LOOP.BIN
backup_hostile loop
is "$(cat loop.rc)" 3 "a FAT chain loop: backed up with a warning (exit 3)"
like "$(cat loop.err)" 'LOOP\.BIN.*loops at cluster' "the warning names the file and the loop"
ok "the other files are in the generation" sh -c "$L restore repo loop --to rl -q 2>/dev/null; cmp rl/disk/OK.TXT ok.txt"

hostile self.img && python3 fatpatch.py self.img self SELF INNER
backup_hostile self
is "$(cat self.rc)" 3 "a directory pointing at itself: backed up with a warning (exit 3)"
like "$(cat self.err)" 'SELF/INNER.*left out' "the warning names the directory left out"

hostile anc.img && python3 fatpatch.py anc.img ancestor A A/B/C
backup_hostile anc
is "$(cat anc.rc)" 3 "a directory pointing at its ancestor: backed up with a warning (exit 3)"
like "$(cat anc.err)" 'A/B/C.*left out' "the warning names the directory left out"

hostile past.img && python3 fatpatch.py past.img past OK.TXT
backup_hostile past
is "$(cat past.rc)" 3 "a cluster number past the end: backed up with a warning (exit 3)"
like "$(cat past.err)" 'OK\.TXT.*cluster 65520 is outside the volume' "the warning names the file and the cluster"

# a boot sector with no sectors per cluster is no FAT to libblkid: the
# volume is said to be not backed up, the disk's other volume is
mkdisk spc.img 40M <<'S'
label: gpt
start=2048, size=16M, type=uefi
size=16M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
S
put_fs vfat spc.img 1 -F 16
put_fs vfat spc.img 2 -F 16
mt mcopy -i "spc.img@@$MiB" ok.txt ::/OK.TXT
printf '\000' | dd of=spc.img bs=1 seek=$((MiB + 16 * MiB + 13)) conv=notrunc status=none
backup_hostile spc
is "$(cat spc.rc)" 3 "a boot sector with 0 sectors per cluster: backed up with a warning (exit 3)"
like "$(cat spc.err)" 'p2: not backed up: .*damaged or unknown' "the warning names the volume"
like "$($L ls repo spc p1)" "OK.TXT" "the disk's sound FAT volume is backed up"

done_testing
