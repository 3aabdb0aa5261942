#!/bin/bash
# crash.sh --- a crash-consistent snapshot of a running guest, backed up
#
# A generated guest disk (GPT, one 2 GiB ext4 with a 128 MiB journal,
# files copied from this machine's /usr: >= 30k files), mounted, a burst of
# work done (1% of the files appended to, 5000 new files, 2% touched, a
# directory tree removed), then the filesystem stopped as a crash stops it
# (EXT4_IOC_SHUTDOWN after the log is flushed) and the image copied:
# needs_recovery set, the work only in the journal.  In one run, cold cache:
#   rawkit-lanfree backup of the crash copy (journal replayed in memory)
#   vs the same copy after `e2fsck -E journal_only` (the target: <= +10 %)
#   the replay alone: jbd2-replay on the crash copy's journal (time, memory;
#   target for a full 128 MiB journal: < 0.3 s, < 16 MiB of map)
. "$(dirname "$0")/lib.sh"
cd "$BENCH_DIR"
is_root || { echo "bench/crash.sh: needs root (loop mounts, drop_caches)"; exit 1; }
OFF=1048576 SIZE=$((2048 * 1048576)) FILES_MIN=${FILES_MIN:-30000}


usr_guest_disk crash-guest.img $SIZE "$FILES_MIN" 0 -J size=128
rm -f crash.img crash-ref.img
cp --sparse=always crash-guest.img crash.img
loop=$(losetup -f --show -o $OFF --sizelimit $SIZE crash.img)
mkdir -p mnt && mount "$loop" mnt
find mnt -type f -printf '%p\n' | awk 'NR % 100 == 7' | while read -r f; do echo "changed" >>"$f"; done
sync
mkdir -p mnt/new && for i in $(seq 1 5000); do echo "$i" >"mnt/new/f$i"; done
find mnt -type f -printf '%p\n' | awk 'NR % 50 == 3' | head -20000 | xargs -r touch
rm -rf mnt/usr/include
xfs_io -x -c "shutdown -f" mnt
cp --sparse=always crash.img crash.snap
umount mnt; losetup -d "$loop"
mv crash.snap crash.img
cp --sparse=always crash.img crash-ref.img
loop=$(losetup -f --show -o $OFF --sizelimit $SIZE crash-ref.img)
e2fsck -p -E journal_only "$loop" >/dev/null 2>&1
losetup -d "$loop"
info=$(dumpe2fs -h "crash.img?offset=$OFF" 2>/dev/null)
echo "crash copy: $(grep -o needs_recovery <<<"$info"), journal $(sed -n 's/^Total journal size: *//p' <<<"$info")"

echo "the replay alone (jbd2-replay, cold cache):"
cold
jbd2-replay crash.img $OFF | sed 's/^/  /'

REPEAT=${REPEAT:-1}
echo "full backup:"
timed crash "rm -rf repo-c && rawkit-lanfree init repo-c >/dev/null" \
	rawkit-lanfree backup repo-c crash.img --name g --level full -q
timed replayed-by-e2fsck "rm -rf repo-e && rawkit-lanfree init repo-e >/dev/null" \
	rawkit-lanfree backup repo-e crash-ref.img --name g --level full -q
echo "  crash copy / after e2fsck: $(ratio crash replayed-by-e2fsck)x (target <= 1.10)"
rawkit-lanfree list repo-c | tail -n1 | sed 's/^/  /'

# The replay of a full journal: 128 MiB, data=journal so that file data
# fills it (about 100 MiB written after the last checkpoint), crashed.
echo "a full 128 MiB journal (data=journal, ~100 MiB written), the replay alone, cold cache:"
rm -f full.img && truncate -s 512M full.img && mkfs.ext4 -q -F -b 4096 -J size=128 full.img
loop=$(losetup -f --show full.img)
mount -o data=journal,commit=60 "$loop" mnt
dd if=/dev/urandom of=mnt/data bs=1M count=100 status=none
xfs_io -x -c "shutdown -f" mnt
cp --sparse=always full.img full.snap
umount mnt; losetup -d "$loop"
cold
jbd2-replay full.snap 0 | sed 's/^/  /'
/usr/bin/time -f '  rawkit-info on it: %e s, %M KiB peak RSS' rawkit-info full.snap >/dev/null
