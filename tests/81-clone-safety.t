#!/bin/bash
# rawkit-clone and bad input: every refusal happens before the first write,
# with one line on stderr and a non-zero exit; what cannot be edited is said
# (exit 3) and never half-done.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

C=rawkit-clone
make_golden g.img gpt || { echo "Bail out! cannot build the golden disk"; exit 1; }
golden_sum=$(sum g.img)

refused() { # DESC EXPECTED-EXIT CMD...: exit status and the one-line error
	local desc=$1 want=$2
	shift 2
	"$@" >out 2>err
	is "$?" "$want" "$desc: exit $want"
	if [ "$want" -eq 2 ]; then # a usage error adds a pointer to --help
		ok "$desc: one message on stderr" sh -c "head -1 err | grep -q '^$C: ' && [ \$(wc -l <err) -le 2 ]"
	else
		ok "$desc: one line on stderr" one_line_error "$C" err
	fi
}

# ---- the golden disk
refused "golden missing" 1 $C missing.img t.img
ok "golden missing: no target" test ! -e t.img
head -c 150M g.img >trunc.img
refused "golden truncated (GPT backup gone)" 1 $C trunc.img t.img
like "$(cat err)" 'trunc.img' "golden truncated: the message names the disk"
ok "golden truncated: no target" test ! -e t.img
cp --sparse=always g.img bad.img
debugfs -w -R "ssv state 2" "bad.img?offset=$O1" 2>/dev/null # EXT2_ERROR_FS
refused "a filesystem with errors" 1 $C bad.img t.img
like "$(cat err)" 'p1: ext4 has errors' "a filesystem with errors: the message says which and what to do"
ok "a filesystem with errors: no target" test ! -e t.img
refused "the golden disk as its own target" 1 $C g.img g.img
like "$(cat err)" 'source disk itself' "target = golden: the message says so"
ln g.img hardlink.img
refused "a hard link to the golden disk as target" 1 $C --overwrite g.img hardlink.img
rm -f hardlink.img
is "$(sum g.img)" "$golden_sum" "the golden disk is untouched by all of this"

# ---- targets
echo precious >exists.img
refused "target exists" 1 $C g.img exists.img
is "$(cat exists.img)" precious "target exists: left as it was"
refused "one refused target stops them all" 1 $C g.img new1.img exists.img new2.img
ok "one refused target: no target was created" test ! -e new1.img -a ! -e new2.img
ok "--overwrite replaces a file" $C -q --overwrite g.img exists.img
ok "--overwrite: the result is a clone" e2fsck -fn "exists.img?offset=$O1"
echo old >dest.img && ln -s dest.img link.img
ok "--overwrite through a symlink" $C -q --overwrite g.img link.img
ok "symlink: the link stays a link" test -L link.img
ok "symlink: its destination is the clone" e2fsck -fn "dest.img?offset=$O1"
refused "the same target twice" 2 $C g.img a.img ./a.img
refused "several targets, one host name" 2 $C --hostname web g.img a.img b.img
refused "a host name with a space" 2 $C --hostname 'web 1' g.img a.img
refused "two numbers in --hostname" 2 $C --hostname 'w%d-%d' g.img a.img b.img
refused "--jobs 0" 2 $C --jobs 0 g.img a.img
refused "no target" 2 $C g.img
ok "usage errors create nothing" test ! -e a.img -a ! -e b.img
if is_root; then
	mkdir ro && mount -t tmpfs -o size=64m tmpfs ro && mount -o remount,ro ro
	refused "a target on a read-only filesystem" 1 $C g.img ro/t.img
	like "$(cat err)" 'Read-only' "read-only location: the message says why"
	umount ro

	# block devices: too small is refused before any write; big enough works
	truncate -s 100M small.bin && small=$(losetup -f --show small.bin) && echo "$small" >>"$SCRATCH/.loops"
	small_sum=$(sum small.bin)
	refused "a block device smaller than the golden disk" 1 $C g.img "$small"
	like "$(cat err)" 'too small' "small device: the message says why"
	is "$(sum small.bin)" "$small_sum" "small device: not a byte written"
	truncate -s 300M big.bin && big=$(losetup -f --show big.bin) && echo "$big" >>"$SCRATCH/.loops"
	head -c 300M /dev/urandom >big.bin # old data where the golden disk has holes
	ok "a block device target" $C -q --hostname dev1 g.img "$big"
	is "$(ext_cat "$big" "$O1" /etc/hostname)" dev1 "block device: personalized"
	ok "block device: e2fsck -fn is clean" e2fsck -fn "$big?offset=$O1"
	ok "block device: sfdisk --verify" sfdisk --verify "$big"
	ok "block device: NTFS serial readable" blkid -p -O "$O3" "$big"

	gloop=$(losetup -f --show g.img) && echo "$gloop" >>"$SCRATCH/.loops"
	refused "a loop device over the golden disk as target" 1 $C g.img "$gloop"
	like "$(cat err)" 'source disk itself' "loop over the golden disk: the message says so"
	is "$(sum g.img)" "$golden_sum" "loop over the golden disk: untouched"

	# reflink: a clone on XFS with reflink=1 shares the golden disk's blocks
	truncate -s 1G xfs.bin && mkfs.xfs -q -m reflink=1 xfs.bin && mkdir xfs && mount -o loop xfs.bin xfs
	cp --sparse=always g.img xfs/g.img
	$C --json --hostname rl%d xfs/g.img xfs/r1.img xfs/r2.img >rl.json
	is "$?" 0 "reflink clones on XFS"
	is "$(python3 -c 'import json; print([t["method"] for t in json.load(open("rl.json"))["targets"]])')" \
		"['reflink', 'reflink']" "XFS: both targets are reflinked"
	is "$(ext_cat xfs/r2.img "$O1" /etc/hostname)" rl2 "XFS: the reflinked clone is personalized"
	ok "XFS: e2fsck -fn is clean" e2fsck -fn "xfs/r1.img?offset=$O1"
	is "$(sum xfs/g.img)" "$golden_sum" "XFS: the golden disk is unchanged by the writes to its reflinks"
	umount xfs
else
	skip 21 "not root: read-only mounts, loop devices and XFS need root"
fi

# ---- a root filesystem rawkit cannot edit: a plain copy, said, exit 3
mkdisk x.img 400M <<'S'
label: gpt
start=2048, size=320M, type=L
size=40M, type=L
S
put_fs btrfs x.img 1
put_ext4 x.img 2 -L data
x_sum=$(sum x.img)
$C --hostname web1 x.img xc.img >out 2>err
is "$?" 3 "a btrfs root: exit 3"
like "$(cat err)" 'p1: rawkit cannot edit btrfs: not edited' "a btrfs root: the message names the volume"
like "$(cat err)" 'identities kept' "a btrfs root: no identity is changed (its fstab may name them)"
is "$(blkid -p -o value -s UUID -O "$(part_start x.img 2)" xc.img)" \
	"$(blkid -p -o value -s UUID -O "$(part_start x.img 2)" x.img)" "a btrfs root: the ext4 UUID is kept"
ok "a btrfs root: the target is a complete copy" cmp x.img xc.img
is "$(sum x.img)" "$x_sum" "a btrfs root: the golden disk is untouched"

# ---- crafted guest content: symlinks where files are expected
cp --sparse=always g.img sym.img
debugfs -w -R "rm /etc/hostname" "sym.img?offset=$O1" 2>/dev/null
debugfs -w -R "symlink /etc/hostname /proc/self/environ" "sym.img?offset=$O1" 2>/dev/null
$C -q --hostname sym1 sym.img sym1.img 2>err
is "$?" 1 "/etc/hostname is a symlink: the clone fails"
like "$(cat err)" 'etc/hostname.*not a regular file' "symlink: the message names the file"
ok "symlink: no half-edited target is left" test ! -e sym1.img

done_testing
