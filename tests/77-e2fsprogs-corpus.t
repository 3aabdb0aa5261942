#!/bin/bash
# Every corrupted filesystem image of e2fsprogs' own test suite (tests/f_*
# and tests/j_*, fetched by scripts/deps.sh from Debian's source package)
# backed up as a whole-disk filesystem: no crash, no run over 10 s, the
# image unchanged, and the repository verifies afterwards.  --allow-dirty:
# most images carry "not clean" flags, and the point is to read them.  The
# tally of backed up / partial / refused goes to bench/README.md.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

CORPUS=${RAWKIT_E2FSPROGS_CORPUS:-/var/cache/rawkit/e2fsprogs-tests}
[ -f "$CORPUS/.complete" ] || skip_all "no e2fsprogs test images in $CORPUS (scripts/deps.sh check fetches them)"
JOBS=2
# seconds per image: the issue's 10, three times that for ASan+UBSan builds
LIMIT=10
[ "${SANITIZE:-}" = 1 ] && LIMIT=30

# worker N: images N, N+JOBS, ... into repoN; one line per image in resN:
# NAME EXIT MS SAME|CHANGED FIRST-LINE-OF-STDERR
worker() {
	local n=$1 i=0 name img rc before t0 t1 same
	rawkit-lanfree init "repo$n" >/dev/null || return 1
	mkdir -p "w$n"
	for img in "$CORPUS"/[fj]_*/image.gz; do
		i=$((i + 1))
		[ $((i % JOBS)) -eq "$n" ] || continue
		name=$(basename "$(dirname "$img")")
		# raw disks are whole 512-byte sectors: pad the copy, never the image
		gzip -dc "$img" >"w$n/$name.img" && truncate -s %512 "w$n/$name.img"
		before=$(sum "w$n/$name.img")
		t0=$(date +%s%N)
		timeout $LIMIT rawkit-lanfree backup "repo$n" "w$n/$name.img" --name "$name" -q --jobs 1 --allow-dirty \
			>/dev/null 2>"w$n/err"
		rc=$?
		# a sanitizer report exits 1 like a refusal: count it as the crash it is
		grep -q 'Sanitizer\|runtime error:' "w$n/err" && rc=134
		t1=$(date +%s%N)
		same=SAME
		[ "$(sum "w$n/$name.img")" = "$before" ] || same=CHANGED
		printf '%s %s %s %s %s\n' "$name" "$rc" $(((t1 - t0) / 1000000)) "$same" \
			"$(head -n1 "w$n/err" | tr -d '\n' | cut -c1-200)" >>"res$n"
		# the libraries underneath must not print: every line is rawkit's own
		grep -v '^rawkit-lanfree: ' "w$n/err" | sed "s/^/$name: /" >>"foreign$n"
		rm -f "w$n/$name.img"
	done
}

start=$(date +%s)
for n in $(seq 0 $((JOBS - 1))); do
	worker "$n" &
done
wait
diag "backups took $(($(date +%s) - start)) s"

# files each image's generation holds, from the catalog: none is refused
declare -A files
while read -r name count; do
	files[$name]=$count
done < <(for n in $(seq 0 $((JOBS - 1))); do
	sqlite3 "repo$n/catalog.db" "SELECT g.name, max(n.files) FROM guests g JOIN generations n ON n.guest_id = g.id GROUP BY g.id"
done | tr '|' ' ')

backed=0 partial=0 refused=0 crashed=0 hung=0 total=0 refused_names=""
while read -r name rc ms same err; do
	total=$((total + 1))
	case $rc/${files[$name]:-0} in
	1/* | [03]/0) refused=$((refused + 1)) refused_names="$refused_names $name" ;;
	0/*) backed=$((backed + 1)) ;;
	3/*) partial=$((partial + 1)) ;;
	124/*) hung=$((hung + 1)) ;;
	*) crashed=$((crashed + 1)) ;;
	esac
	if [ "$rc" -le 3 ] && [ "$rc" -ne 2 ] && [ "$same" = SAME ]; then
		_tap_result 0 "$name: exit $rc, image unchanged, $ms ms"
	else
		_tap_result 1 "$name: exit $rc, image $same, $ms ms"
		diag "$name: ${err:-no message}"
	fi
done < <(sort res*)

like "$total" '^[1-9][0-9]+$' "images tried: $total"
for n in $(seq 0 $((JOBS - 1))); do
	ok "repository $n verifies, reading every frame" timeout 60 rawkit-lanfree verify "repo$n" --read-data
done
is "$crashed $hung" "0 0" "no crash, no run over $LIMIT s"
is "$(cat foreign* | head -n 5)" "" "every message is one rawkit-lanfree: line (no library printing)"
pct() { echo "$(($1 * 1000 / total / 10)).$(($1 * 1000 / total % 10))%"; }
diag "e2fsprogs corpus ($(cat "$CORPUS/SOURCE" 2>/dev/null)): $total images:" \
	"backed up $backed ($(pct $backed)), partial $partial ($(pct $partial))," \
	"refused $refused ($(pct $refused)), crashed $crashed, over $LIMIT s $hung"
diag "refused:$refused_names"

done_testing
