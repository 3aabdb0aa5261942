#!/bin/bash
# rawkit-lanfree's command line: usage errors, bad repositories and names,
# JSON, and prune's retention policy.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
usage() { # DESC ARGS...: exit 2, a one-line message plus the --help pointer
	local desc=$1
	shift
	$L "$@" >/dev/null 2>err.txt
	is "$?" 2 "usage: $desc: exit 2"
	like "$(head -n1 err.txt)" "^rawkit-lanfree: " "usage: $desc: says what is wrong"
}
usage "no command"
usage "unknown command" frobnicate repo
usage "unknown option" list repo --frob
usage "bad level" backup repo d.img --level weekly
usage "bad compression" backup repo d.img --compress lz4
usage "zstd level 0" backup repo d.img --compress zstd:0
usage "zstd level 20" backup repo d.img --compress zstd:20
usage "gzip level 10" backup repo d.img --compress gzip:10
usage "a level that is not a number" backup repo d.img --compress zstd:fast
usage "an empty level" backup repo d.img --compress zstd:
usage "none with a level" backup repo d.img --compress none:1
usage "backup without a disk" backup repo
usage "restore without --to" restore repo g
usage "prune without a retention rule" prune repo g
usage "--keep-last 0" prune repo g --keep-last 0
usage "prune without GUEST or --all" prune repo --keep-last 1
usage "prune with GUEST and --all" prune repo g --all --keep-last 1
usage "--keep-within in seconds" prune repo g --keep-within 30s
usage "--keep-within out of order" prune repo g --keep-within 1d2y
usage "--keep-within without a unit" prune repo g --keep-within 7
usage "--keep-within of zero (it would keep nothing)" prune repo g --keep-within 0d
usage "an abbreviated option (--all for --allow-dirty)" backup repo d.img --all
usage "an abbreviated option (--keep-l)" prune repo g --keep-l 1
usage "--jobs not a number" backup repo d.img --jobs many
usage "--jobs 0" backup repo d.img --jobs 0
usage "--jobs above the one range" backup repo d.img --jobs 1025
usage "an option of another command" list repo --keep-daily 3
usage "backup -l" backup repo d.img -l
usage "-q before an unknown command" -q frobnicate
usage "verify --against without a guest" verify repo --against d.img

mkdisk d.img 40M <<'S'
label: dos
start=2048, size=30M, type=83
S
mkdir src && echo one >src/file && put_ext4 d.img 1 -d src

mkdir full && echo x >full/x
$L init full >/dev/null 2>err.txt
is "$?" 1 "init refuses a directory that is not empty"
like "$(cat err.txt)" "^rawkit-lanfree: full: cannot create repository: directory is not empty$" "and says so"
mkdir norepo
$L backup norepo d.img >/dev/null 2>err.txt
is "$?" 1 "backup into something that is not a repository: exit 1"
like "$(cat err.txt)" "not a rawkit-lanfree repository" "and says so"
ok "init" $L init repo
$L backup repo d.img --name 'bad/name' >/dev/null 2>err.txt
is "$?" 2 "an unusable guest name is a usage error"
$L backup repo missing.img >/dev/null 2>err.txt
is "$?" 1 "a missing disk: exit 1"
like "$(cat err.txt)" "^rawkit-lanfree: missing.img: cannot open: No such file or directory$" "a missing disk: one line"
is "$(sqlite3 repo/catalog.db 'SELECT count(*) FROM generations')" 0 "failed backups added nothing"

# --compress METHOD:LEVEL: each archive restores; the level is the one asked for
mkdisk lv.img 40M <<'S'
label: dos
start=2048, size=30M, type=83
S
mkdir lvsrc && seq 1 400000 >lvsrc/numbers && put_ext4 lv.img 1 -d lvsrc
for c in zstd:1 zstd:19 gzip:1 gzip:9 none; do
	$L init "lv-$c" >/dev/null && $L backup "lv-$c" lv.img -q --compress $c &&
		$L restore "lv-$c" lv.img --to "lvr-$c" -q
	ok "--compress $c: backup and restore" cmp lvsrc/numbers "lvr-$c/p1/numbers"
done
asize() { stat -c %s "lv-$1"/data/lv.img/*; }
ok "zstd:19 writes a smaller archive than zstd:1 ($(asize zstd:19) < $(asize zstd:1))" test "$(asize zstd:19)" -lt "$(asize zstd:1)"
ok "gzip:9 writes a smaller archive than gzip:1 ($(asize gzip:9) < $(asize gzip:1))" test "$(asize gzip:9)" -lt "$(asize gzip:1)"
ok "gzip archives are gzip (gzip -t)" gzip -t "lv-gzip:9"/data/lv.img/*.tar.gz
$L backup repo d.img --compress zstd:0 >/dev/null 2>err.txt
is "$?:$(head -n1 err.txt)" "2:rawkit-lanfree: backup: --compress: zstd's level must be 1..19, not \"0\"" "--compress: the level range, in --jobs' wording"

# six generations, a file changed in each
for i in 1 2 3 4 5 6; do
	echo "version $i" >src/file && put_ext4 d.img 1 -d src
	$L backup repo d.img --name g -q || echo "backup $i failed"
done
is "$(sqlite3 repo/catalog.db 'SELECT count(*) FROM generations')" 6 "six generations"
ok "list --json is valid JSON" sh -c "$L list repo --json | python3 -m json.tool >/dev/null"
ok "ls --json is valid JSON" sh -c "$L ls repo g@3 p1 --json | python3 -m json.tool >/dev/null"

# Each command takes its own options only (issue #11): a foreign one is a
# usage error, and nothing runs.
$L list repo --keep-daily 3 --overwrite --allow-dirty >out.txt 2>err.txt
is "$?" 2 "list with prune's, restore's and backup's options: exit 2"
is "$(cat err.txt)" "rawkit-lanfree: list: --keep-daily: not an option of this command
Try 'rawkit-lanfree list --help' for more information." "list --keep-daily: one wording, the command's --help"
is "$(wc -c <out.txt)" 0 "list with a foreign option lists nothing"
$L prune repo g --keep-last 1 --overwrite >/dev/null 2>err.txt
is "$?" 2 "prune --overwrite: exit 2"
is "$(sqlite3 repo/catalog.db 'SELECT count(*) FROM generations n JOIN guests g ON g.id = n.guest_id WHERE g.name = '"'g'")" 6 \
	"prune with a foreign option removes nothing"
$L verify repo g --to x >/dev/null 2>err.txt
is "$?:$(head -n1 err.txt)" "2:rawkit-lanfree: verify: --to: not an option of this command" "verify --to: refused"
$L init new --overwrite >/dev/null 2>err.txt
is "$?" 2 "init takes no --overwrite"
ok "init refused: no repository made" test ! -e new
$L backup repo d.img --name g --jobs many >/dev/null 2>err.txt
is "$?:$(head -n1 err.txt)" '2:rawkit-lanfree: backup: --jobs: must be 1..1024, not "many"' "--jobs: one range, one wording"
$L restore repo g --to >/dev/null 2>err.txt
is "$?:$(head -n1 err.txt)" "2:rawkit-lanfree: restore: --to needs a value" "--to without a value: one wording"
$L restore repo g >/dev/null 2>err.txt
is "$?:$(head -n1 err.txt)" "2:rawkit-lanfree: restore: --to DIR is required" "restore without --to: says so"
for c in init backup list ls find diff restore restore-disk export mount verify prune run; do
	$L "$c" -h >out.txt 2>err.txt
	is "$?:$(wc -c <err.txt)" "0:0" "$c -h: exit 0, nothing on stderr"
	like "$(head -n1 out.txt)" "^Usage: rawkit-lanfree $c " "$c -h: its own usage"
done
ok "backup --help shows backup's options only" sh -c "$L backup --help | grep -q -- --jobs && ! $L backup --help | grep -q -e --keep -e --to -e --read-data"
ok "list --help shows no option of another command" sh -c "! $L list --help | grep -q -e --name -e --keep -e --to -e --overwrite"
# A full stdout is a failure: exit 1, one line.
for args in "list repo" "list repo --json" "list repo g" "ls repo g@3 p1" "ls repo g p1 -l" "find repo g p1/file" "diff repo g" "verify repo" \
	"prune repo g --keep-last 100 --dry-run"; do
	$L $args >/dev/full 2>err.txt
	is "$?:$(cat err.txt)" "1:rawkit-lanfree: write error: No space left on device" "$args >/dev/full: exit 1, one line"
done
$L restore repo g@9 --to x >/dev/null 2>err.txt
is "$?" 1 "a generation that does not exist: exit 1"
like "$(cat err.txt)" "^rawkit-lanfree: g@9: no such generation$" "and says so"
$L restore repo g@two --to x >/dev/null 2>err.txt
is "$?" 1 "a generation that is not a number: exit 1"

# The racy rule: an inode changed in (or after) the second the base
# generation started is read again, even if its times and size match.
mkdir racy && echo a >racy/stable && echo b >racy/racy
mkdisk racy.img 40M <<'S'
label: dos
start=2048, size=30M, type=83
S
put_ext4 racy.img 1 -d racy
debugfs -w -R "sif /racy ctime @$(( $(date +%s) + 3600 ))" "racy.img?offset=1048576" >/dev/null 2>&1
for f in / /stable /lost+found; do # everything else an hour old: not racy
	debugfs -w -R "sif $f ctime @$(( $(date +%s) - 3600 ))" "racy.img?offset=1048576" >/dev/null 2>&1
done
ok "racy: first backup" $L backup repo racy.img -q
ok "racy: second backup" $L backup repo racy.img -q
is "$(sqlite3 repo/catalog.db "SELECT count(*) FROM versions v JOIN guests g ON g.id = v.guest_id WHERE g.name = 'racy.img' AND v.name = CAST('racy' AS BLOB)")" 2 \
	"a file with a ctime after the base started is looked at again (a new version row)"
is "$(sqlite3 repo/catalog.db "SELECT count(*) FROM versions v JOIN guests g ON g.id = v.guest_id WHERE g.name = 'racy.img' AND v.name = CAST('stable' AS BLOB)")" 1 \
	"an ordinary unchanged file continues its version row"
for f in /racy /stable; do # nothing racy any more: the next incremental reads nothing
	for t in ctime mtime; do
		debugfs -w -R "sif $f $t @$(( $(date +%s) - 7200 ))" "racy.img?offset=1048576" >/dev/null 2>&1
	done
done
ok "racy: metadata-only change of every file" $L backup repo racy.img -q
ok "an incremental with nothing to read" $L backup repo racy.img -q

# spread them in time: 1 and 2 two months ago, 3 last month, 4 and 5 the
# day before 6, on dates fixed in the calendar (the 14th and 15th of their
# months): counted back in days from today, "last month" and "yesterday"
# fall into the same month on the 1st
mid=$(date +%Y-%m-15)
at() { echo "$(date -d "$(date -d "$mid $1" +%Y-%m-%d) $2" +%s)000000000"; } # DAYS-OR-MONTHS-BACK TIME
sqlite3 repo/catalog.db "UPDATE generations SET finished = CASE seq
	WHEN 1 THEN $(at "-2 months" 10:00) WHEN 2 THEN $(at "-2 months" 11:00)
	WHEN 3 THEN $(at "-1 month" 12:00) WHEN 4 THEN $(at "-1 day" 11:00)
	WHEN 5 THEN $(at "-1 day" 12:00) ELSE $(at "" 12:00) END"
before=$(ls repo/data/g | wc -l)
$L prune repo g --keep-last 1 --keep-daily 2 --dry-run >dry.txt
like "$(grep '^g@1 ' dry.txt)" "full  would remove$" "dry run says what would go"
like "$(grep '^g@6 ' dry.txt)" "keep \\(last, daily\\)$" "and what stays, and why"
is "$(sqlite3 repo/catalog.db "SELECT count(*) FROM generations n JOIN guests g ON g.id = n.guest_id WHERE g.name = 'g'")" 6 \
	"dry run changes nothing"
is "$(ls repo/data/g | wc -l)" "$before" "dry run removes no archive"
ok "prune --keep-last 1 --keep-daily 2 --keep-monthly 3" $L prune repo g --keep-last 1 --keep-daily 2 --keep-monthly 3
is "$(sqlite3 repo/catalog.db "SELECT group_concat(seq) FROM (SELECT n.seq FROM generations n JOIN guests g ON g.id = n.guest_id WHERE g.name = 'g' ORDER BY n.seq)")" "2,3,5,6" \
	"kept: today's, yesterday's newest, and the newest of each month"
ok "archives only the removed generations used are gone" test "$(ls repo/data/g | wc -l)" -lt "$before"
ok "the repository verifies after prune" $L verify repo --read-data
for i in 2 3 5 6; do
	$L restore repo "g@$i" --to "r$i" -q
	is "$(cat "r$i/p1/file")" "version $i" "generation $i still restores"
done

# -q: only warnings and errors, for verify and prune too
is "$($L verify repo -q 2>&1)" "" "verify -q: nothing on a clean repository"
is "$($L prune repo g --keep-last 100 --dry-run -q 2>&1)" "" "prune -q: nothing when nothing is said to be wrong"
like "$($L verify repo 2>&1)" "frames checked" "verify without -q: the summary"
done_testing
