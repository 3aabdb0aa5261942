#!/bin/bash
# rawkit-lanfree when things go wrong: kill -9 at many points, a full disk,
# locks, a damaged archive, a damaged catalog, garbage filesystems.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
gens() { sqlite3 "$1/catalog.db" 'SELECT count(*) FROM generations'; }

# A disk with 64 MB in 400 files: big enough for a backup to take a while.
mkdir -p src
for d in $(seq 1 8); do
	mkdir -p "src/d$d"
	for f in $(seq 1 50); do head -c $(((f % 7 + 1) * 23000)) /dev/urandom >"src/d$d/f$f"; done
done
head -c 40000000 /dev/urandom >src/big.bin
mkdisk g.img 128M <<'S'
label: dos
start=2048, size=120M, type=83
S
put_ext4 g.img 1 -d src -I 256

# --- kill -9 at many points of a backup
ok "init" $L init repo
for delay in 0.02 0.05 0.1 0.15 0.2 0.3 0.4 0.6 0.8 1.2; do
	before=$(gens repo)
	{ timeout -s KILL "$delay" $L backup repo g.img --level full -q --jobs 2 >/dev/null 2>&1; } 2>/dev/null
	after=$(gens repo)
	ok "killed after ${delay}s: the repository verifies" $L verify repo -q
	ok "killed after ${delay}s: as before or one complete generation more ($before -> $after)" \
		test "$after" -eq "$before" -o "$after" -eq $((before + 1))
done
# ... and at each step of publishing a generation, deterministically
for point in archive-written archive-published before-commit after-commit; do
	before=$(gens repo)
	echo extra >>src/d1/f1 && put_ext4 g.img 1 -d src -I 256
	{ RAWKIT_FAULT=$point $L backup repo g.img -q >/dev/null 2>&1; } 2>/dev/null
	is "$?" 137 "crash at $point: the process was killed"
	ok "crash at $point: the repository verifies" $L verify repo --read-data
	want=$before
	[ "$point" = after-commit ] && want=$((before + 1))
	is "$(gens repo)" "$want" "crash at $point: $( [ "$want" = "$before" ] && echo 'no generation added' || echo 'the generation is complete')"
done
ok "a backup after all the kills works" $L backup repo g.img -q
ok "and its restore equals the source" sh -c "$L restore repo g.img --to r -q && diff -r src r/p1 -x lost+found"
ok "prune clears what killed backups left behind" $L prune repo g.img --keep-last 100 -q
is "$(ls repo/tmp | wc -l)" 0 "no temporary archives remain"
is "$(ls repo/data/g.img | wc -l)" "$(sqlite3 repo/catalog.db 'SELECT count(*) FROM archives')" \
	"every archive file is one the catalog names"
ok "the repository verifies with its data" $L verify repo --read-data

# --- locks
exec 9>repo/locks/g.img.lock
flock -x 9
$L backup repo g.img -q >/dev/null 2>err.txt
is "$?" 4 "a second backup of the same guest: refused, exit 4 (busy)"
like "$(cat err.txt)" "^rawkit-lanfree: g.img: busy: another backup or prune of this guest is running$" "and says so"
start=$(date +%s)
$L backup repo g.img -q --wait-lock 1 >/dev/null 2>err.txt
is "$? $(( $(date +%s) - start >= 1 ))" "4 1" "--wait-lock 1 while the lock stays held: waits a second, then exit 4"
( sleep 2; flock -u 9 ) &
unlocker=$!
exec 9>&-
$L backup repo g.img -q --wait-lock 30 >/dev/null 2>err.txt
is "$?" 0 "--wait-lock 30: the backup waits until the other one lets go, then runs"
wait $unlocker
cp g.img h.img
$L backup repo g.img --level full -q >/dev/null 2>&1 &
p1=$!
$L backup repo h.img --level full -q >/dev/null 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "$r1 $r2" "0 0" "two guests back up in parallel into one repository"
ok "after the parallel backups the repository verifies" $L verify repo --read-data
exec 9<repo/lock
flock -s 9
$L prune repo g.img --keep-last 1 -q >/dev/null 2>err.txt
is "$?" 4 "prune while a backup holds the repository: refused, exit 4 (busy)"
like "$(cat err.txt)" "repository busy" "and says so"
$L prune repo g.img --keep-last 1 -q --json >busy.json 2>/dev/null
is "$(python3 -c 'import json; d=json.load(open("busy.json")); print(d["status"], d["error"]["message"])')" \
	"failed repository busy: a backup, restore, verify, export or mount is using it" "--json: a failed object naming the lock"
exec 9<&-

# --- no space left on the repository's filesystem
if is_root; then
	mkdir small && mount -t tmpfs -o size=6m tmpfs small
	$L init small/repo >/dev/null
	$L backup small/repo g.img -q >/dev/null 2>err.txt
	is "$?" 1 "ENOSPC: the backup fails"
	ok "ENOSPC: one-line error" one_line_error rawkit-lanfree err.txt
	like "$(cat err.txt)" "No space left on device" "ENOSPC: says why"
	is "$(gens small/repo)" 0 "ENOSPC: no generation was added"
	is "$(ls small/repo/tmp small/repo/data | grep -c tar)" 0 "ENOSPC: no partial archive left"
	ok "ENOSPC: the repository verifies" $L verify small/repo
	umount small
fi

# --- one damaged byte in an archive
cp -a repo bad
a=$(ls bad/data/g.img/*.tar.zst | head -n1)
size=$(stat -c %s "$a")
printf '\x55' | dd of="$a" bs=1 seek=$((size / 2)) conv=notrunc status=none
$L verify bad >out.txt 2>err.txt
is "$?" 1 "damaged archive: verify fails"
like "$(cat err.txt)" "frame [0-9]+ at byte [0-9]+: checksum mismatch" "damaged archive: verify names the frame"
$L restore bad "g.img@$(sqlite3 bad/catalog.db "SELECT g.seq FROM generations g JOIN archives a ON a.path LIKE 'data/g.img/' || g.seq || '-%' LIMIT 1")" \
	--to rb -q >/dev/null 2>err.txt
is "$?" 1 "damaged archive: restore fails (exit 1)"
like "$(tail -n1 err.txt)" "files could not be restored" "damaged archive: restore says how many files failed"
ok "damaged archive: the other files were restored" test "$(find rb -type f | wc -l)" -gt 300

# --- a damaged catalog
cp -a repo badcat
sqlite3 badcat/catalog.db 'PRAGMA foreign_keys=OFF; DELETE FROM frames WHERE rowid IN (SELECT rowid FROM frames LIMIT 1)'
$L verify badcat >/dev/null 2>err.txt
is "$?" 1 "damaged catalog: verify fails"
like "$(cat err.txt)" "contents pointing at no frame" "damaged catalog: says what is wrong"

# --- garbage filesystems: no crash, a clean result, the repository intact
off=$(part_start g.img 1)
for seed in 1 2 3 4 5 6; do
	cp g.img junk.img
	python3 - junk.img "$off" "$seed" <<'PY'
import random, sys
path, off, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
with open(path, "r+b") as f:
    for _ in range(200):  # metadata lives in the first megabytes of the filesystem
        f.seek(off + 1024 + rnd.randrange(4 << 20))
        f.write(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 64))))
PY
	$L backup repo junk.img --name "junk$seed" -q >/dev/null 2>err.txt
	rc=$?
	ok "damaged filesystem $seed: exit $rc is 0, 1 or 3 (no crash)" test "$rc" -eq 0 -o "$rc" -eq 1 -o "$rc" -eq 3
	ok "damaged filesystem $seed: every message is one line naming the tool" \
		sh -c "! grep -v '^rawkit-lanfree: ' err.txt"
done
cp g.img nosb.img
dd if=/dev/zero of=nosb.img bs=1024 seek=$((off / 1024 + 1)) count=1 conv=notrunc status=none
$L backup repo nosb.img -q --json >out.json 2>err.txt
is "$?" 1 "a zeroed superblock on the only filesystem: nothing to back up, exit 1"
like "$(cat err.txt)" "^rawkit-lanfree: nosb.img: nothing to back up: .*p1: no filesystem signature" \
	"a zeroed superblock: the volume is named with the reason"
ok "after all the garbage the repository verifies" $L verify repo --read-data

done_testing
