#!/bin/bash
# rawkit-lanfree prune as restic forget: every rule on a catalog whose
# generations are spread over dates, --all, the reasons, and a dry run that
# says exactly what the real prune then frees.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
export TZ=UTC
VOCAB="python3 $TESTS_DIR/lib/json_vocab.py $TESTS_DIR/../doc/json.md"

# two guests, each backup with its own new content (so each generation
# has an archive of its own that only it uses)
mkdir -p t/etc
echo "the same in both guests" >t/etc/shared
mkdisk a.img 32M <<'D'
label: dos
start=2048, type=83
D
cp a.img b.img
$L init repo >/dev/null
bseq=0
for i in $(seq 1 12); do
	echo "a $i" >t/etc/version
	head -c 65536 /dev/urandom >t/etc/blob
	put_ext4 a.img 1 -d t
	$L backup repo a.img --name a -q || echo "Bail out! backup a $i"
	case $i in 1|11|12) ;; *) continue ;; esac
	echo "b $i" >t/etc/version
	head -c 65536 /dev/urandom >t/etc/blob
	put_ext4 b.img 1 -d t
	$L backup repo b.img --name b -q || echo "Bail out! backup b $i"
done

# the generations' dates: a@N finished on the Nth date below (newest last,
# the last two on one day); b's three one hour after a@1, a@11 and a@12
dates=(2024-06-15 2025-01-10 2025-08-01 2025-10-01 2025-10-20 2025-11-02 2025-11-03 2025-11-20 2025-11-25 2025-11-29 2025-11-30 2025-11-30)
for i in $(seq 1 12); do
	t=$(( $(date -u -d "${dates[$((i - 1))]} 02:00:00" +%s) + (i == 12 ? 6 * 3600 : 0) ))
	sqlite3 repo/catalog.db "UPDATE generations SET finished = ($t * 1000000000), started = ($t * 1000000000)
		WHERE seq = $i AND guest_id = (SELECT id FROM guests WHERE name = 'a')"
	case $i in 1) b=1 ;; 11) b=2 ;; 12) b=3 ;; *) continue ;; esac
	sqlite3 repo/catalog.db "UPDATE generations SET finished = (($t + 3600) * 1000000000), started = (($t + 3600) * 1000000000)
		WHERE seq = $b AND guest_id = (SELECT id FROM guests WHERE name = 'b')"
done
cp -a repo pristine

kept() { # GUEST: its generations left, in order
	sqlite3 repo/catalog.db "SELECT group_concat(seq) FROM (SELECT seq FROM generations n JOIN guests g ON g.id = n.guest_id WHERE g.name = '$1' ORDER BY seq)"
}
would_keep() { # RULES...: the generations of a a dry run keeps
	$L prune repo a "$@" --dry-run --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(",".join(str(g["generation"]) for g in sorted(d["generations"], key=lambda g: g["generation"]) if g["keep"]))'
}

is "$(would_keep --keep-last 3)" "10,11,12" "--keep-last 3"
is "$(would_keep --keep-daily 3)" "9,10,12" "--keep-daily 3: the newest of each of the 3 newest days that have one"
is "$(would_keep --keep-hourly 2)" "11,12" "--keep-hourly 2"
is "$(would_keep --keep-weekly 3)" "7,8,12" "--keep-weekly 3: ISO weeks (W48 ends Sunday 30 Nov; 3 Nov opens W45)"
is "$(would_keep --keep-monthly 3)" "3,5,12" "--keep-monthly 3: the newest of November, October, August"
is "$(would_keep --keep-yearly 5)" "1,12" "--keep-yearly 5: the two years that have one"
is "$(would_keep --keep-within 10d)" "9,10,11,12" "--keep-within 10d: newer than 10 days before the newest"
is "$(would_keep --keep-within 1m)" "6,7,8,9,10,11,12" "--keep-within 1m: a calendar month back from the newest"
is "$(would_keep --keep-last 1 --keep-monthly 2 --keep-yearly 2)" "1,5,12" "rules together: any rule keeps"

$L prune repo a --keep-last 1 --keep-monthly 2 --dry-run >dry.txt
like "$(grep '^a@12 ' dry.txt)" "keep \\(last, monthly\\)$" "each generation's line names every rule that keeps it"
like "$(grep '^a@5 ' dry.txt)" "keep \\(monthly\\)$" "one kept by one rule"
like "$(grep '^a@3 ' dry.txt)" "would remove$" "and says what would go"
like "$(tail -n1 dry.txt)" "^a: would remove 10 of 12 generations, 9 archives \\([0-9.]+ KiB\\)" "the summary: generations, archives (a@1's holds what b shares), bytes"
$L prune repo a --keep-last 1 --keep-monthly 2 --dry-run --json >dry.json
is "$($VOCAB prune dry.json done)" "" "--dry-run --json: the vocabulary"
is "$(sqlite3 repo/catalog.db 'SELECT count(*) FROM generations')" 15 "--dry-run changes nothing"
dry_freed=$(python3 -c 'import json; d=json.load(open("dry.json")); print(d["archives_removed"], d["freed_bytes"])')
$L prune repo a --keep-last 1 --keep-monthly 2 --json >real.json
is "$($VOCAB prune real.json done)" "" "--json: the vocabulary"
is "$(python3 -c 'import json; d=json.load(open("real.json")); print(d["archives_removed"], d["freed_bytes"])')" "$dry_freed" \
	"the dry run's archives and bytes are what the prune then frees"
is "$(kept a) / $(kept b)" "5,12 / 1,2,3" "only guest a pruned"
ok "the pruned repository verifies" $L verify repo --read-data -q
for g in 5 12; do
	$L restore repo "a@$g" --to "r$g" -q
	is "$(cat "r$g/p1/etc/version")" "a $g" "a@$g restores"
done

# --all: every guest by its own generations
rm -rf repo && cp -a pristine repo
$L prune repo --all --keep-within 5d --json >all.json
is "$(kept a) / $(kept b)" "10,11,12 / 2,3" "--all --keep-within 5d: each guest by its own newest"
is "$(python3 -c 'import json; d=json.load(open("all.json")); print(d["guest"], d["generations_removed"], sorted({g["guest"] for g in d["generations"]}))')" \
	"None 10 ['a', 'b']" "--all --json: guest null, both guests judged"
ok "verify after --all" $L verify repo --read-data -q

# contents shared between guests stay while one guest still holds them
rm -rf repo && cp -a pristine repo
$L prune repo a --keep-last 1 -q
ok "b's generations still restore after a's were pruned" sh -c "$L restore repo b@1 --to rb1 -q && test \"\$(cat rb1/p1/etc/version)\" = 'b 1'"
ok "and verify" $L verify repo --read-data -q

# a prune that removes nothing
rm -rf repo && cp -a pristine repo
$L prune repo a --keep-last 100 >none.txt
like "$(tail -n1 none.txt)" "^a: removed 0 of 12 generations, 0 archives \\(0 B\\)" "nothing to remove: said so, exit 0"
$L prune repo nosuch --keep-last 1 2>err.txt
is "$?" 1 "no such guest: exit 1"
like "$(cat err.txt)" "^rawkit-lanfree: nosuch: no such guest in the repository$" "and says so"
done_testing
