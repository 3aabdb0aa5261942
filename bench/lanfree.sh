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
#   the whole newest generation back, each run onto a new ext4 filesystem:
#                   rawkit restore vs restic restore, restore -r (level 0)
#   the machine's limit: the image read cold (dd, 16 MiB reads, through the
#                   page cache and O_DIRECT: the faster), SHA-256 and zstd of
#                   the archived bytes per core (a 256 MiB sample)
#   full backups with --jobs 1, 2 and all cores
#   MANY_FILES (default 1000000) small files on a disk of their own: full,
#                   incremental and whole restore, time and peak RSS (0: skip)
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
	find mnt -type f -printf '%P\n' | awk 'NR % 100 == 7' >changed.list
	while IFS= read -r f; do echo "changed $(date +%s%N)" >>"mnt/$f"; done <changed.list
	umount mnt
}

usr_guest_disk lf-guest.img $SIZE "$FILES_MIN" "$BYTES_MIN"
rm -rf repo-* dump* tar-* restic-* restore-* snar* mnt-ro
loop=$(losetup -f --show -o $OFF --sizelimit $SIZE lf-guest.img)
trap 'umount mnt-ro rt 2>/dev/null || true; losetup -d "$loop"' EXIT
files=$(debugfs -R "stats" "$loop" 2>/dev/null | awk -F: '/^Inode count/ {ic=$2} /^Free inodes/ {fi=$2} END {print ic - fi}')
echo "guest disk: $(human "$(stat -c %s lf-guest.img)"), ~$files inodes in use, $(human "$(imgfmt-tool used lf-guest.img | awk '/^total/ {print $2}')") used"
mkdir -p mnt-ro

REPEAT=1
echo "full backup:"
ncpu=$(nproc)
# the default is one compression thread per core; --jobs 1 and 2 beside it
for j in 1 2; do
	[ "$j" -lt "$ncpu" ] || continue
	timed rawkit-full-j$j "rm -rf repo-r && rawkit-lanfree init repo-r >/dev/null" \
		rawkit-lanfree backup repo-r lf-guest.img --name g --level full --jobs $j -q
done
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
# the incremental's floor: the changed files read cold (through a read-only
# mount, in the order find listed them), what every tool has to read
timed incr-limit "mount -o ro,noload $loop mnt-ro" sh -c "cd mnt-ro && tr '\\n' '\\0' <../changed.list | xargs -0 cat >/dev/null"
umount mnt-ro

# the whole newest generation, each run onto a new ext4 filesystem (a
# filesystem whose inodes were just freed makes ext4's allocator slow)
truncate -s 8G rt.img
fresh_target() { umount rt 2>/dev/null || true; rm -rf rt; mkdir rt && mkfs.ext4 -q -F -i 4096 rt.img && mount -o loop rt.img rt; }
echo "restore the whole newest generation:"
timed rawkit-restore "fresh_target" rawkit-lanfree restore repo-r g --to rt/r -q
timed restic-restore "fresh_target" restic restore -q -r restic-repo latest --target rt/r
# (the level 0 only: restore -r takes a level 1 made with -T, without
# /etc/dumpdates, as "too low"; the 1% it would add is small)
timed restore-r "fresh_target && mkdir rt/r" sh -c "cd rt/r && restore -r -y -f ../../dump0"
umount rt; rm -f rt.img

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
# the machine's limit: the image read cold; SHA-256 (OpenSSL, as rawkit) and zstd -3 of the
# archived bytes per core, from a sample of them in memory
# (read through the page cache, and past it: on a virtual machine filling the
# cache costs about as much CPU as the read takes; the faster one is the floor)
cold
t0=$(date +%s.%N); dd if=lf-guest.img of=/dev/null bs=16M status=none; t1=$(date +%s.%N)
cached_s=$(echo "$t1 - $t0" | bc -l)
cold
t0=$(date +%s.%N); dd if=lf-guest.img of=/dev/null bs=16M iflag=direct status=none; t1=$(date +%s.%N)
direct_s=$(echo "$t1 - $t0" | bc -l)
read_s=$(echo "if ($direct_s < $cached_s) $direct_s else $cached_s" | bc -l)
arch=$(ls repo-r/data/g/1-*.tar.zst)
{ zstd -dc "$arch" 2>/dev/null || true; } | head -c 268435456 >sample.bin
rate() { local t0 t1; t0=$(date +%s.%N); "$@" <sample.bin >/dev/null; t1=$(date +%s.%N); echo "268435456 / ($t1 - $t0)" | bc -l; }
# (the level rawkit compresses at by default on this many cores)
zlevel=1; [ "$ncpu" -lt 4 ] || zlevel=3
sha_rate=$(rate openssl dgst -sha256) zstd_rate=$(rate zstd -q -$zlevel -T1 -c)
rm -f sample.bin
bytes=$(zstd -lv "$arch" 2>/dev/null | awk '/Decompressed Size/ {gsub(/[(),]/, "", $0); for (i = 1; i <= NF; i++) if ($i == "B") print $(i - 1)}' | tail -n1)
[ -n "$bytes" ] || bytes=$(zstd -dc "$arch" | wc -c)
cpu_s=$(echo "$bytes / $sha_rate + $bytes / $zstd_rate" | bc -l)
limit=$(echo "if ($read_s > $cpu_s / $ncpu) $read_s else $cpu_s / $ncpu" | bc -l)
SECONDS_OF[limit]=$limit
printf 'machine limit: image read cold %.2f s (through the page cache %.2f s, O_DIRECT %.2f s); %s archived: SHA-256 %.0f MB/s, zstd -%d %.0f MB/s per core; on %d cores: %.2f s\n' \
	"$read_s" "$cached_s" "$direct_s" "$(human "$bytes")" "$(echo "$sha_rate / 1000000" | bc -l)" "$zlevel" "$(echo "$zstd_rate / 1000000" | bc -l)" "$ncpu" "$limit"
echo "incremental floor: the $(wc -l <changed.list) changed files read cold: ${SECONDS_OF[incr-limit]} s"

echo
echo "ratios (other tool's time / rawkit's; > 1 means rawkit is faster):"
echo "  full:         dump -0 $(ratio dump-0 rawkit-full) (target >= 5)   restic $(ratio restic-full rawkit-full) (target >= 4)   tar $(ratio tar-full rawkit-full)"
echo "                rawkit / machine limit $(ratio rawkit-full limit) (target <= 1.5);  --jobs 1 took $(ratio rawkit-full-j1 rawkit-full)x the default's ($ncpu cores)"
echo "  incremental:  dump -1 $(ratio dump-1 rawkit-incr) (target >= 4)   restic $(ratio restic-incr rawkit-incr) (target >= 10)   tar $(ratio tar-incr rawkit-incr)"
echo "                rawkit / the changed files read cold $(ratio rawkit-incr incr-limit);  dump -1 / the same $(ratio dump-1 incr-limit)"
echo "  restore all:  restic $(ratio restic-restore rawkit-restore) (target >= 2)   restore -r $(ratio restore-r rawkit-restore) (target >= 2)"
echo "  one file:     restore -x $(ratio restore-x rawkit-one)   tar -x $(ratio tar-x rawkit-one)   rawkit ${SECONDS_OF[rawkit-one]} s (target < 0.1 s)"
echo "peak RSS: rawkit full ${RSS_OF[rawkit-full]} KiB, incremental ${RSS_OF[rawkit-incr]} KiB, restore ${RSS_OF[rawkit-restore]} KiB (target < 64 MiB at 100k files)"

# many small files: how time and memory grow
MANY_FILES=${MANY_FILES:-1000000}
if [ "$MANY_FILES" -gt 0 ]; then
	if [ ! -f many.img ] || [ "$(cat many.stamp 2>/dev/null)" != "$MANY_FILES" ]; then
		echo "bench: generating many.img ($MANY_FILES small files)"
		rm -rf many.img many-tree && mkdir many-tree
		python3 - many-tree "$MANY_FILES" <<-'PY'
		import os, sys
		root, n = sys.argv[1], int(sys.argv[2])
		for i in range(n):
		    d = os.path.join(root, "d%03d" % (i // 1000 % 1000), "e%03d" % (i // 1000000))
		    if i % 1000 == 0:
		        os.makedirs(d, exist_ok=True)
		    with open(os.path.join(d, "f%06d" % i), "w") as f:
		        f.write("file %d\n" % i * (1 + i % 7))
		PY
		truncate -s 8G many.img
		printf 'label: gpt\nstart=2048, type=linux\n' | sfdisk -q many.img >/dev/null
		mkfs.ext4 -q -F -N $((MANY_FILES + 100000)) -E offset=1048576 -d many-tree many.img $((8 * 1024 * 1024 - 2048))k
		rm -rf many-tree
		echo "$MANY_FILES" >many.stamp
	fi
	echo "$MANY_FILES small files:"
	REPEAT=1 # (a growth figure: one run each)
	timed many-full "rm -rf repo-m && rawkit-lanfree init repo-m >/dev/null" \
		rawkit-lanfree backup repo-m many.img --name m --level full -q
	timed many-incr "true" rawkit-lanfree backup repo-m many.img --name m -q
	truncate -s 8G rt.img
	timed many-restore "fresh_target" rawkit-lanfree restore repo-m m --to rt/r -q
	umount rt; rm -f rt.img
	echo "  per 1000 files: full $(echo "scale=3; ${SECONDS_OF[many-full]} * 1000 / $MANY_FILES" | bc -l) s, incremental $(echo "scale=3; ${SECONDS_OF[many-incr]} * 1000 / $MANY_FILES" | bc -l) s, restore $(echo "scale=3; ${SECONDS_OF[many-restore]} * 1000 / $MANY_FILES" | bc -l) s"
fi
