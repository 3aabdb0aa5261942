#!/bin/bash
# lanfree.sh --- rawkit-lanfree against dump, restic and GNU tar
#
# A generated guest disk (GPT, one ext4 partition) holding real files copied
# from this machine's /usr: >= 80k files, >= 1.5 GB.  In one run, cold cache:
#   full backup:    rawkit-lanfree (zstd)  vs  dump -0 -z6,  restic backup
#                   (read-only loop mount),  tar --listed-incremental -z
#   1% of the files changed, then the incrementals:  rawkit incr vs dump -1,
#                   restic, tar --listed-incremental
#   one file back from the newest generation:  rawkit restore vs restore -x,
#                   tar -x
# Prints wall-time ratios, archive sizes and peak RSS.
. "$(dirname "$0")/lib.sh"
cd "$BENCH_DIR"
is_root || { echo "bench/lanfree.sh: needs root (loop mounts, dump, drop_caches)"; exit 1; }
FILES_MIN=${FILES_MIN:-80000} BYTES_MIN=${BYTES_MIN:-1600000000}
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$BENCH_DIR/restic-cache
OFF=1048576 SIZE=$((5 * 1024 * 1048576))


# change 1% of the regular files (append a line), as a day of work would
change_one_percent() {
	mount "$loop" mnt
	find mnt -type f -printf '%p\n' | awk 'NR % 100 == 7' | while read -r f; do echo "changed $(date +%s%N)" >>"$f"; done
	umount mnt
}

usr_guest_disk lf-guest.img $SIZE "$FILES_MIN" "$BYTES_MIN"
rm -rf repo-* dump* tar-* restic-* restore-* snar* mnt-ro
loop=$(losetup -f --show -o $OFF --sizelimit $SIZE lf-guest.img)
trap 'umount mnt-ro 2>/dev/null; losetup -d "$loop"' EXIT
files=$(debugfs -R "stats" "$loop" 2>/dev/null | awk -F: '/^Inode count/ {ic=$2} /^Free inodes/ {fi=$2} END {print ic - fi}')
echo "guest disk: $(human "$(stat -c %s lf-guest.img)"), ~$files inodes in use, $(human "$(imgfmt-tool used lf-guest.img | awk '/^total/ {print $2}')") used"
mkdir -p mnt-ro

REPEAT=1
echo "full backup:"
timed rawkit-full "rm -rf repo-r && rawkit-lanfree init repo-r >/dev/null" \
	rawkit-lanfree backup repo-r lf-guest.img --name g --level full -q
timed dump-0 "rm -f dump0" dump -0 -z6 -q -f dump0 "$loop"
timed restic-full "rm -rf restic-repo && restic init -q -r restic-repo >/dev/null && mount -o ro,noload $loop mnt-ro" \
	restic backup -q -r restic-repo mnt-ro
umount mnt-ro
timed tar-full "rm -f tar-full.tgz snar && mount -o ro,noload $loop mnt-ro" \
	tar --listed-incremental=snar -czf tar-full.tgz -C mnt-ro .
umount mnt-ro
cp snar snar-1
level0_date=$(date "+%a %b %e %H:%M:%S %Y")
sleep 1

change_one_percent
echo "incremental after changing 1% of the files:"
timed rawkit-incr "true" rawkit-lanfree backup repo-r lf-guest.img --name g -q
timed dump-1 "rm -f dump1" dump -1 -z6 -q -T "$level0_date" -f dump1 "$loop"
timed restic-incr "mount -o ro,noload $loop mnt-ro" restic backup -q -r restic-repo mnt-ro
umount mnt-ro
timed tar-incr "rm -f tar-incr.tgz && cp snar-1 snar-2 && mount -o ro,noload $loop mnt-ro" \
	tar --listed-incremental=snar-2 -czf tar-incr.tgz -C mnt-ro .
umount mnt-ro

# one file that the full backups hold, restored from the newest generation
target=$(tar -tzf tar-full.tgz | grep '/usr/share/doc/.*copyright$' | head -n1 || true)
target=${target#./}
REPEAT=5
echo "restore one file ($target):"
timed rawkit-one "rm -rf restore-r" rawkit-lanfree restore repo-r g "p1/$target" --to restore-r -q
timed restore-x "rm -rf restore-d && mkdir restore-d" \
	sh -c "cd restore-d && restore -x -y -a -f ../dump0 './$target'"
timed tar-x "rm -rf restore-t && mkdir restore-t" tar -xzf tar-full.tgz -C restore-t "./$target"
cmp "restore-r/p1/$target" "restore-d/$target" || echo "bench: restored files differ!"

rawkit_size=$(du -sb repo-r | cut -f1)
echo
echo "sizes after full + incremental: rawkit repo $(human "$rawkit_size"), dump $(human $(($(stat -c %s dump0) + $(stat -c %s dump1)))), restic $(human "$(du -sb restic-repo | cut -f1)"), tar $(human $(($(stat -c %s tar-full.tgz) + $(stat -c %s tar-incr.tgz))))"
echo "full archive: rawkit $(human "$(sqlite3 repo-r/catalog.db 'SELECT bytes_stored FROM generations WHERE seq = 1')") vs dump -0 -z6 $(human "$(stat -c %s dump0)") (target: no larger)"
echo
echo "ratios (other tool's time / rawkit's; > 1 means rawkit is faster):"
echo "  full:         dump -0 $(ratio dump-0 rawkit-full) (target >= 3)   restic $(ratio restic-full rawkit-full)   tar $(ratio tar-full rawkit-full)"
echo "  incremental:  dump -1 $(ratio dump-1 rawkit-incr) (target >= 3)   restic $(ratio restic-incr rawkit-incr)   tar $(ratio tar-incr rawkit-incr) (target >= 5)"
echo "  one file:     restore -x $(ratio restore-x rawkit-one)   tar -x $(ratio tar-x rawkit-one)   rawkit ${SECONDS_OF[rawkit-one]} s (target < 0.1 s)"
echo "peak RSS: rawkit full ${RSS_OF[rawkit-full]} KiB, incremental ${RSS_OF[rawkit-incr]} KiB (target < 64 MiB at 100k files)"
