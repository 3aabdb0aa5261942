#!/bin/bash
# lib/imgfmt/jbd2.c against the damaged journals of e2fsprogs' own test
# suite (tests/j_*, fetched by scripts/deps.sh): wherever e2fsck replays a
# journal, our map applied to a copy must give the same disk as
# `e2fsck -E journal_only` on another copy, but for the two superblocks;
# where the journal cannot be replayed (its superblock damaged, fast-commit
# records pending), rawkit must say so rather than guess.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

CORPUS=${RAWKIT_E2FSPROGS_CORPUS:-/var/cache/rawkit/e2fsprogs-tests}
[ -f "$CORPUS/.complete" ] || skip_all "no e2fsprogs test images in $CORPUS (scripts/deps.sh check fetches them)"
R=$RAWKIT_BIN/jbd2-replay
[ -x "$R" ] || skip_all "no jbd2-replay helper in $RAWKIT_BIN"

# What rawkit must say of each image: "same" (replayed as e2fsck does) or
# the start of the reason it gives for not replaying.
declare -A WANT=(
	[j_corrupt_commit_csum]=same [j_corrupt_commit_tid]=same [j_corrupt_descr_csum]=same
	[j_corrupt_descr_tid]=same [j_corrupt_journal_block]=same [j_corrupt_revoke_block]=same
	[j_corrupt_revoke_csum]=same [j_corrupt_revoke_rcount]=same
	[j_corrupt_sb_csum]="unreplayable: journal superblock: checksum mismatch"
	[j_corrupt_sb_magic]="unreplayable: journal superblock: bad magic"
	[j_recover_fast_commit]="unreplayable: fast-commit records"
)

for name in "${!WANT[@]}"; do
	img=$CORPUS/$name/image.gz
	[ -f "$img" ] || { skip 1 "$name: not in this e2fsprogs"; continue; }
	gzip -dc "$img" >"$name.img" && cp "$name.img" "$name.ref" && cp "$name.img" "$name.mine"
	out=$("$R" "$name.img" 0 "$name.mine" 2>&1)
	if [ "${WANT[$name]}" != same ]; then
		like "$out" "^${WANT[$name]}" "$name: ${WANT[$name]}"
		continue
	fi
	e2fsck -fy -E journal_only "$name.ref" >/dev/null 2>&1
	bs=$(dumpe2fs -h "$name.img" 2>/dev/null | awk -F': *' '/^Block size/ { print $2 }')
	sb=$([ "$bs" = 1024 ] && echo 1 || echo 0)
	jsb=$(debugfs -c -R "bmap <8> 0" "$name.img" 2>/dev/null)
	extra=$(cmp -l "$name.ref" "$name.mine" | awk -v bs="$bs" -v sb="$sb" -v jsb="$jsb" \
		'{ b = int(($1 - 1) / bs); if (b != sb && b != jsb && b != last) print b; last = b }' | tr '\n' ' ')
	is "$extra" "" "$name: the same disk as e2fsck's replay but for the superblocks ($out)"
done
done_testing
