#!/bin/bash
# restore fidelity: hard links to append-only and immutable files survive
# (inode flags are set last); an NTFS volume restored onto ext4 ends cleanly,
# the attribute values ext4 cannot hold kept in rawkit-xattrs.txt.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && losetup -f >/dev/null 2>&1 || skip_all "needs root and loop devices (chattr on a mounted ext4)"
L=rawkit-lanfree
ok "init a repository" $L init repo

# the restore target: a small ext4 of its own (4 KiB blocks: an attribute
# value must fit in one block)
truncate -s 64M target.img
mkfs.ext4 -q -F -b 4096 target.img
mkdir -p tgt && mount -o loop target.img tgt || { echo "Bail out! cannot mount the target"; exit 1; }

# --- hard links to flagged files
mkdisk links.img 64M <<'S'
label: dos
start=2048, type=83
S
put_ext4 links.img 1 -b 4096
mount_part links.img 1 src
mkdir -p src/d
echo log >src/d/append.log && ln src/d/append.log src/d/append-link && chattr +a src/d/append.log
echo fixed >src/d/immutable && ln src/d/immutable src/immutable-link && chattr +i src/d/immutable
echo plain >src/d/plain
umount src
ok "back up the flagged files" $L backup repo links.img --level full -q
timeout 20 $L restore repo links.img --to tgt/links -q 2>err.txt
is "$?" 0 "restore: exit 0"
is "$(cat err.txt)" "" "restore: no warning"
for pair in "d/append.log d/append-link" "d/immutable immutable-link"; do
	set -- $pair
	ok "$1: both names restored" test -f "tgt/links/p1/$1" -a -f "tgt/links/p1/$2"
	is "$(stat -c %i "tgt/links/p1/$1" 2>/dev/null)" "$(stat -c %i "tgt/links/p1/$2" 2>/dev/null)" "$1 and $2: one inode"
	is "$(stat -c %h "tgt/links/p1/$1" 2>/dev/null)" 2 "$1: two links"
done
like "$(lsattr -d tgt/links/p1/d/append.log 2>/dev/null)" "^-----a" "append-only flag restored"
like "$(lsattr -d tgt/links/p1/d/immutable 2>/dev/null)" "^----i" "immutable flag restored"
is "$(cat tgt/links/p1/immutable-link 2>/dev/null)" fixed "the immutable file's content"
like "$(lsattr -d tgt/links/p1/d/plain 2>/dev/null)" "^-------" "no flag where there was none"
chattr -R -i -a tgt/links 2>/dev/null

# --- a plain NTFS data volume, restored whole onto ext4
if [ -c /dev/fuse ]; then
	mkdir -p nsrc/Data
	echo "hello ntfs" >nsrc/hello.txt
	echo report >nsrc/Data/report.txt
	mkdisk win.img 48M <<'S'
label: gpt
start=2048, size=40M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
S
	put_ntfs_tree win.img 1 nsrc || { echo "Bail out! cannot build the NTFS fixture"; exit 1; }
	# security descriptors as ntfs-3g shows them (system.ntfs_acl; mkntfs gives the root a 4 KB one)
	dd if=win.img of=part.img bs=1M skip=1 count=40 status=none
	mkdir -p m && ntfs-3g -o ro part.img m
	root_sd=$(getfattr -e hex -n system.ntfs_acl m 2>/dev/null | sed -n 's/.*=0x//p')
	hello_sd=$(getfattr -e hex -n system.ntfs_acl m/hello.txt 2>/dev/null | sed -n 's/.*=0x//p')
	umount m
	ok "back up the NTFS disk" $L backup repo win.img -q
	timeout 60 $L restore repo win.img --to tgt/win >out.txt 2>err.txt
	is "$?" 0 "NTFS onto ext4: exit 0"
	like "$(cat err.txt)" "^rawkit-lanfree: p1: attribute user.ntfs_security: value of $(( ${#root_sd} / 2 )) bytes is larger than the target filesystem accepts; stored in tgt/win/rawkit-xattrs.txt$" \
		"the note says what failed and where the value is"
	ok "no 'No space left on device'" sh -c '! grep -q "No space" err.txt'
	ok "contents equal the source" diff -r nsrc tgt/win/p1
	ok "the sidecar is in getfattr --dump format" grep -qx '# file: p1' tgt/win/rawkit-xattrs.txt
	is "$(sed -n '/^# file: p1$/{n;s/^user.ntfs_security=0x//p}' tgt/win/rawkit-xattrs.txt)" "$root_sd" \
		"the sidecar holds the root's security descriptor, byte for byte"
	like "$(getfattr -e hex -n user.ntfs_security tgt/win/p1/hello.txt 2>/dev/null | sed -n 's/.*=0x//p')" "^$hello_sd\$" \
		"descriptors that fit stay attributes"
	# setfattr --restore puts them back where they fit (here: a value of the same name, shorter)
	ok "setfattr --restore reads the sidecar" sh -c 'cd tgt/win && sed "s/=0x.*/=0x01/" rawkit-xattrs.txt >small.txt && setfattr --restore=small.txt'
	is "$(getfattr -e hex -n user.ntfs_security tgt/win/p1 2>/dev/null | sed -n 's/.*=//p')" "0x01" "and the path in it names the right file"
else
	skip 9 "needs /dev/fuse to build the NTFS fixture"
fi

done_testing
