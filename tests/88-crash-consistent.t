#!/bin/bash
# A crash-consistent snapshot of a running guest (an ext4 copied after a
# crash: needs_recovery set, recent work only in the journal) is read as
# its journal replay shows it by every tool, and never written.  The
# reference is the same copy after `e2fsck -E journal_only`, loop-mounted:
# the kernel's view of the replayed filesystem.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root || skip_all "needs root (loop mounts)"
CMP="python3 $TESTS_DIR/lib/treecmp.py"

# crash_disk DISK: a dos disk whose p1 is an ext4 crashed after work done
# since the last sync (creates, appends, renames, deletes, xattrs, hard
# links, a symlink, chmod, a file deleted while open: an orphan).
crash_disk() {
	local disk=$1 dev mnt=$SCRATCH/crash.mnt
	mkdisk "$disk" 160M <<-'S' || return 1
	label: dos
	start=2048, size=120M, type=83
	S
	P1=$(part_start "$disk" 1)
	dev=$(losetup -f --show -o "$P1" --sizelimit $((120 << 20)) "$disk") || return 1
	mkfs.ext4 -q -F -O metadata_csum -J size=16 "$dev" >/dev/null
	mkdir -p "$mnt" && mount -o commit=1 "$dev" "$mnt" || return 1
	mkdir -p "$mnt/etc" "$mnt/old" "$mnt/tree/a/b"
	for i in $(seq 1 40); do printf 'old %s\n' "$i" >"$mnt/old/f$i"; done
	cp -r /etc/default "$mnt/tree/a/b/"
	sync
	for i in $(seq 1 120); do printf 'new %s\n' "$i" >"$mnt/new$i"; done
	printf 'appended\n' >>"$mnt/old/f1"
	mv "$mnt/old/f2" "$mnt/renamed"
	rm "$mnt/old/f3"
	ln "$mnt/new1" "$mnt/hardlink"
	ln -s ../new2 "$mnt/old/symlink"
	chmod 600 "$mnt/old/f4"
	setfattr -n user.note -v journaled "$mnt/new2"
	sleep 1.5
	rm -rf "$mnt/tree"
	exec 7>"$mnt/orphan"; printf 'held open\n' >&7; rm "$mnt/orphan"
	# recent work, fsync'd like a database commit: data home, name only in the journal
	printf 'late\n' | dd of="$mnt/late.txt" conv=fsync status=none
	xfs_io -x -c "shutdown -f" "$mnt"   # the crash: log committed, nothing more written
	cp --sparse=always "$disk" "$disk.crash" # (the unmount writes the journaled blocks home)
	exec 7>&-
	umount "$mnt" && losetup -d "$dev" && mv "$disk.crash" "$disk"
}

# The tree the kernel shows after e2fsck's replay of a copy of DISK, in DIR.
reference() {
	local disk=$1 dir=$2 dev
	cp --sparse=always "$disk" ref.img
	mkdir -p "$dir"
	dev=$(losetup -f --show -o "$P1" --sizelimit $((120 << 20)) ref.img)
	echo "$dev" >>"$SCRATCH/.loops"
	e2fsck -p -E journal_only "$dev" >/dev/null 2>&1
	mount -o ro "$dev" "$dir" && REF_DEV=$dev
}

# A sync by another process between the work and the crash can write the
# journaled blocks home: then the journal proves nothing; crash again.
for try in 1 2 3 4 5; do
	crash_disk snap.img || { echo "Bail out! cannot build the crash-consistent disk"; exit 1; }
	[ "$(debugfs -c -R 'ls -l /' "snap.img?offset=$P1" 2>/dev/null | grep -c ' late.txt')" = 0 ] && break
	diag "the work reached its home blocks before the crash (try $try)"
done
snap_sum=$(sum snap.img)
like "$(dumpe2fs -h "snap.img?offset=$P1" 2>/dev/null | grep '^Filesystem features')" needs_recovery \
	"the snapshot needs journal recovery"
if [ "$(debugfs -c -R 'ls -l /' "snap.img?offset=$P1" 2>/dev/null | grep -c ' late.txt')" = 0 ]; then
	ok "without a replay late.txt is not there (the journal holds it)" true
else
	skip 1 "other processes' syncs wrote the journaled blocks home before every crash"
fi
reference snap.img ref.mnt || { echo "Bail out! cannot mount the reference"; exit 1; }

# rawkit-info
info=$(rawkit-info snap.img 2>&1)
ok "rawkit-info reads the snapshot" rawkit-info snap.img
like "$(rawkit-info --json snap.img)" '"consistency": *"replayed"' "rawkit-info --json says the journal was replayed"

# rawkit-lanfree: backup by default, restore equals the replayed filesystem
rawkit-lanfree init repo >/dev/null
rawkit-lanfree backup -q repo snap.img --name g >backup.out 2>&1
is "$?" 0 "backup of the crash-consistent snapshot: exit 0 without --allow-dirty"
rawkit-lanfree restore -q repo g --to out >/dev/null 2>&1
ok "the restore is the replayed filesystem, attribute by attribute" $CMP out/p1 ref.mnt
is "$(cat out/p1/late.txt 2>/dev/null)" "late" "the file only the journal held is restored"
ok "the orphan (deleted while open) is not restored" test ! -e out/p1/orphan
like "$(rawkit-lanfree list --json repo g)" '"consistency": *"replayed"' "list --json records the replay"
ok "verify --against the snapshot" rawkit-lanfree verify -q repo g --against snap.img
is "$(sum snap.img)" "$snap_sum" "the snapshot is never written"

# Targets: the replay is written into them, they end fsck-clean
for tool in clone p2v; do
	case $tool in
	clone) rawkit-clone --json --hostname web1 snap.img t-$tool.img >t-$tool.json 2>/dev/null ;;
	p2v) rawkit-p2v --json --no-convert snap.img t-$tool.img >t-$tool.json 2>/dev/null ;;
	esac
	rc=$?
	ok "rawkit-$tool: a target from the snapshot (exit $rc)" test "$rc" -eq 0 -o "$rc" -eq 3
	like "$(cat t-$tool.json)" "journal replay" "rawkit-$tool: the report says the replay was written into the target"
	ok "rawkit-$tool: e2fsck -fn on the target is clean" e2fsck -fn "t-$tool.img?offset=$P1"
	is "$(ext_cat t-$tool.img "$P1" /late.txt)" "late" "rawkit-$tool: the journaled work is on the target"
	is "$(dumpe2fs -h "t-$tool.img?offset=$P1" 2>/dev/null | grep -c needs_recovery)" 0 \
		"rawkit-$tool: the target needs no recovery"
done
# p2v send | receive: the stream carries the journal, receive replays it
rawkit-p2v send -q snap.img 2>/dev/null | rawkit-p2v receive --json --no-convert recv.img >recv.json 2>/dev/null
ok "rawkit-p2v send | receive: e2fsck -fn on the target is clean" e2fsck -fn "recv.img?offset=$P1"
is "$(ext_cat recv.img "$P1" /late.txt)" "late" "rawkit-p2v send | receive: the journaled work is on the target"
like "$(cat recv.json)" "journal replay" "rawkit-p2v receive: the report says so"
truncate -s 200M phys.img
rawkit-v2p --json --verify --no-rebuild snap.img phys.img >v2p.json 2>v2p.err
rc=$?
like "$(cat v2p.json)" "journal replay" "rawkit-v2p: the report says the replay was written into the target"
ok "rawkit-v2p: onto a larger disk (exit $rc)" test "$rc" -eq 0 -o "$rc" -eq 3
P1V=$(part_start phys.img 1)
ok "rawkit-v2p: e2fsck -fn on the target is clean" e2fsck -fn "phys.img?offset=$P1V"
is "$(ext_cat phys.img "$P1V" /late.txt)" "late" "rawkit-v2p: the journaled work is on the target"
truncate -s 200M same.img
rawkit-v2p -q --verify --no-resize --no-rebuild snap.img same.img >/dev/null 2>v2p-same.err
rc=$?
ok "rawkit-v2p --verify --no-resize: the replayed volume verifies (exit $rc: $(head -c 300 v2p-same.err))" \
	test "$rc" -eq 0 -o "$rc" -eq 3
ok "rawkit-v2p --no-resize: e2fsck -fn on the target is clean" e2fsck -fn "same.img?offset=$P1"
is "$(sum snap.img)" "$snap_sum" "no tool wrote the snapshot"

# A journal that cannot be replayed: read as on disk, only with --allow-dirty
cp --sparse=always snap.img bad.img
jblk=$(debugfs -c -R "bmap <8> 0" "bad.img?offset=$P1" 2>/dev/null)
bs=$(dumpe2fs -h "bad.img?offset=$P1" 2>/dev/null | awk -F': *' '/^Block size/ { print $2 }')
printf 'XXXX' | dd of=bad.img bs=1 seek=$((P1 + jblk * bs)) conv=notrunc 2>/dev/null
like "$(rawkit-info --json bad.img)" '"consistency": *"unreplayable"' "a damaged journal: unreplayable"
fails "backup of an unreplayable snapshot needs --allow-dirty" rawkit-lanfree backup -q repo bad.img --name bad
rawkit-lanfree backup -q --allow-dirty repo bad.img --name bad >/dev/null 2>&1
rc=$?
is "$rc" 3 "with --allow-dirty: backed up as on disk, exit 3"
like "$(rawkit-lanfree list --json repo bad)" '"consistency": *"unreplayable"' "and marked unreplayable"

# A frozen snapshot (fsfreeze, as a guest agent does before it): clean, no
# replay work, backed up as before
mkdisk frozen.img 64M <<'S' || exit 1
label: dos
start=2048, size=60M, type=83
S
dev=$(losetup -f --show -o "$(part_start frozen.img 1)" --sizelimit $((60 << 20)) frozen.img)
echo "$dev" >>"$SCRATCH/.loops"
mkfs.ext4 -q -F "$dev" && mkdir -p frozen.mnt && mount "$dev" frozen.mnt
echo work >frozen.mnt/work.txt
fsfreeze -f frozen.mnt && cp --sparse=always frozen.img frozen.snap; fsfreeze -u frozen.mnt
umount frozen.mnt
like "$(rawkit-info --json frozen.snap)" '"consistency": *"clean", *"journal_transactions": *0' \
	"a frozen snapshot is clean: nothing replayed"
rawkit-lanfree backup -q repo frozen.snap --name frozen >/dev/null 2>&1
is "$?" 0 "and backs up with exit 0"
like "$(rawkit-lanfree list --json repo frozen)" '"consistency": *"clean"' "recorded clean"

# A running Windows guest's NTFS (marked dirty): read-only as it is, exit 3,
# one warning, marked; no --allow-dirty needed (there is no log replay)
mkdisk win.img 64M <<'S' || exit 1
label: dos
start=2048, size=60M, type=7
S
mkdir -p winsrc/Users && echo hello >winsrc/Users/a.txt
put_ntfs_tree win.img 1 winsrc || { echo "Bail out! cannot build the NTFS disk"; exit 1; }
ok "the NTFS is marked dirty (\$Volume's VOLUME_IS_DIRTY)" ntfs_mark_dirty win.img "$(part_start win.img 1)"
like "$(rawkit-info --json win.img)" '"consistency": *"ntfs-unclean"' "rawkit-info: ntfs-unclean"
win_sum=$(sum win.img)
rawkit-lanfree backup -q repo win.img --name win >/dev/null 2>win.err
is "$?" 3 "backup of a dirty NTFS: exit 3 without --allow-dirty"
is "$(grep -c 'not cleanly shut down' win.err)" 1 "one clear warning"
like "$(rawkit-lanfree list --json repo win)" '"consistency": *"ntfs-unclean"' "marked ntfs-unclean in the catalog"
rawkit-lanfree restore -q repo win --to wout >/dev/null 2>&1
is "$(cat wout/p1/Users/a.txt 2>/dev/null)" "hello" "its files are restored"
is "$(sum win.img)" "$win_sum" "the dirty NTFS is not written (its log is not reset)"

umount ref.mnt 2>/dev/null; [ -n "${REF_DEV:-}" ] && losetup -d "$REF_DEV"
done_testing
