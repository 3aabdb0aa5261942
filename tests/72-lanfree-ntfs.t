#!/bin/bash
# rawkit-lanfree on NTFS: contents, alternate data streams, times, DOS
# attributes and security descriptors, Unicode names; incremental changes.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && [ -c /dev/fuse ] || skip_all "needs root and /dev/fuse to build the NTFS fixture"
L=rawkit-lanfree

mkdir -p src/Users/Public "src/Program Files/App" src/Windows
echo "hello ntfs" >src/hello.txt
head -c 2000000 /dev/urandom >"src/Program Files/App/app.exe"
: >src/Users/Public/empty.txt
printf 'unicode\n' >"src/Users/$(printf 'caf\303\251 \346\227\245\346\234\254 \360\237\230\200').txt"
touch -d '2020-01-02 03:04:05.1234567' src/hello.txt
NTFS_SETUP='setfattr -n user.Zone.Identifier -v "[ZoneTransfer] ZoneId=3" hello.txt &&
	setfattr -n system.ntfs_attrib_be -v 0x00000022 Windows'
mkdisk win.img 80M <<'S'
label: gpt
start=2048, size=70M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
S
put_ntfs_tree win.img 1 src || { echo "Bail out! cannot build the NTFS fixture"; exit 1; }
part_img() { dd if=win.img of=part.img bs=1M skip=1 count=70 status=none; }
ntfs_mtime() { part_img; mkdir -p m && ntfs-3g -o ro part.img m && stat -c %.9Y "m/$1"; umount m; }

ok "init" $L init repo
ok "full backup of an NTFS disk" $L backup repo win.img -q
# The root's security descriptor (4 KB from mkntfs) does not fit an ext4
# attribute: it is kept in rawkit-xattrs.txt, and the restore ends cleanly.
$L restore repo win.img --to r -q 2>err.txt
is "$?" 0 "restore: exit 0"
is "$(cat err.txt)" "" "restore: no warning (-q: no note either)"
ok "the root's security descriptor is an attribute or in rawkit-xattrs.txt" \
	sh -c 'grep -qx "# file: p1" r/rawkit-xattrs.txt || getfattr -n user.ntfs_security r/p1 >/dev/null 2>&1'
ok "contents and Unicode names equal the source" diff -r src r/p1
is "$(getfattr --only-values -n user.Zone.Identifier r/p1/hello.txt 2>/dev/null)" "[ZoneTransfer] ZoneId=3" \
	"the alternate data stream comes back as user.Zone.Identifier"
is "$(stat -c %.9Y r/p1/hello.txt)" "$(ntfs_mtime hello.txt)" "mtime equals what ntfs-3g shows (100 ns units)"
like "$(getfattr -e hex -n user.ntfs_attrib r/p1/Windows 2>/dev/null | sed -n 's/.*=//p')" "^0x(22|32)000000$" \
	"DOS attributes (hidden, system) kept as user.ntfs_attrib"
like "$(getfattr -e hex -n user.ntfs_security r/p1/hello.txt 2>/dev/null | sed -n 's/.*=//p')" "^0x01000[0-9a-f]+$" \
	"the security descriptor is kept as user.ntfs_security"
ok "verify --read-data" $L verify repo --read-data

# change the NTFS volume through ntfs-3g and back up again
part_img
mkdir -p m && ntfs-3g part.img m
echo changed >m/hello.txt
rm m/Users/Public/empty.txt
echo new >m/Windows/new.txt
umount m
dd if=part.img of=win.img bs=1M seek=1 conv=notrunc status=none
$L backup repo win.img --json >b2.json
is "$?" 0 "incremental NTFS backup"
ok "incremental stored only the changed content" \
	python3 -c 'import json,sys; sys.exit(not 0 < json.load(open("b2.json"))["new_bytes"] < 1000)'
$L restore repo win.img@2 --to r2 -q 2>/dev/null
is "$?" 0 "restore generation 2"
is "$(cat r2/p1/hello.txt)" changed "generation 2: the changed file"
ok "generation 2: the deleted file is gone" test ! -e r2/p1/Users/Public/empty.txt
is "$(cat r2/p1/Windows/new.txt)" new "generation 2: the new file"
ok "generation 2: the unchanged 2 MB file is intact" cmp "src/Program Files/App/app.exe" "r2/p1/Program Files/App/app.exe"
ok "generation 1 is unchanged" sh -c "$L restore repo win.img@1 --to r1b -q 2>/dev/null; diff -r src r1b/p1"

done_testing
