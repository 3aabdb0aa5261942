#!/bin/bash
# lib/imgfmt/jbd2.c against journals the kernel wrote: an ext3/ext4 image
# copied while mounted (the crash-consistent snapshot of a running guest),
# its journal's map applied to one copy, e2fsck -E journal_only run on
# another; the two must be the same disk but for the two superblocks.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root || skip_all "needs root (loop mounts)"
R=$RAWKIT_BIN/jbd2-replay
[ -x "$R" ] || skip_all "no jbd2-replay helper in $RAWKIT_BIN"

# snapshot NAME MKFS-ARGS MOUNT-OPTS: NAME.img copied while mounted, after
# work done since the last sync; NAME.ref: the same after e2fsck's replay.
# A sync by another process (a parallel test) between the work and the
# shutdown can write the journaled blocks home: then the journal proves
# nothing and the snapshot is taken again.
snapshot() {
	local try
	for try in 1 2 3 4 5; do
		snapshot_once "$@"
		[ "$(debugfs -c -R 'ls -l /' "$1.img" 2>/dev/null | grep -c ' late.txt')" = 0 ] && return 0
		diag "$1: the work reached its home blocks before the copy (try $try)"
	done
}

snapshot_once() {
	local name=$1 mkfs=$2 opts=$3 dev i
	rm -f "$name.img"
	truncate -s 128M "$name.img"
	mkfs.ext4 -q -F $mkfs "$name.img" >/dev/null
	mkdir -p "$name.mnt"
	dev=$(losetup -f --show "$name.img")
	mount -o "$opts" "$dev" "$name.mnt"
	mkdir -p "$name.mnt/old"
	for i in $(seq 1 60); do printf 'old %s\n' "$i" >"$name.mnt/old/f$i"; done
	sync
	for i in $(seq 1 150); do printf 'new %s\n' "$i" >"$name.mnt/n$i"; done
	printf 'appended\n' >>"$name.mnt/old/f1"
	mv "$name.mnt/old/f2" "$name.mnt/renamed"
	rm "$name.mnt/old/f3"
	ln "$name.mnt/n1" "$name.mnt/hardlink"
	setfattr -n user.note -v journaled "$name.mnt/n2"
	mkdir -p "$name.mnt/tree/a/b"; cp -r /etc/default "$name.mnt/tree/a/b/"
	sleep 2
	rm -rf "$name.mnt/tree"   # freed metadata blocks: revoke records
	printf 'late\n' >"$name.mnt/late.txt"
	# a crash: the log is committed, then the filesystem stops writing
	# (EXT4_IOC_SHUTDOWN, as xfstests' godown), so nothing reaches home
	xfs_io -x -c "shutdown -f" "$name.mnt"
	cp --sparse=always "$name.img" "$name.snap"
	umount "$name.mnt"
	losetup -d "$dev"
	mv "$name.snap" "$name.img"
	cp --sparse=always "$name.img" "$name.ref"
	e2fsck -p -E journal_only "$name.ref" >/dev/null 2>&1
}

# Blocks (of BS bytes) where A and B differ, one per line.
differing_blocks() {
	cmp -l "$1" "$2" | awk -v bs="$3" '{ b = int(($1 - 1) / bs); if (b != last) print b; last = b }'
}

check() { # NAME MKFS-ARGS MOUNT-OPTS WHAT
	local name=$1 bs jblk out diffs want sum
	snapshot "$1" "$2" "$3"
	bs=$(dumpe2fs -h "$name.img" 2>/dev/null | awk -F': *' '/^Block size/ { print $2 }')
	jblk=$(debugfs -c -R "bmap <8> 0" "$name.img" 2>/dev/null)
	like "$(dumpe2fs -h "$name.img" 2>/dev/null | grep '^Filesystem features')" needs_recovery "$4: the copy needs recovery"
	sum=$(sum "$name.img")
	cp --sparse=always "$name.img" "$name.mine"
	out=$("$R" "$name.img" 0 "$name.mine" 2>&1)
	like "$out" '^transactions [1-9][0-9]* blocks [1-9]' "$4: transactions replayed ($out)"
	is "$(sum "$name.img")" "$sum" "$4: the snapshot is not written"
	diffs=$(differing_blocks "$name.ref" "$name.mine" "$bs" | tr '\n' ' ')
	want="$([ "$bs" = 1024 ] && echo 1 || echo 0) $jblk "
	is "$diffs" "$want" "$4: same as e2fsck's replay but for the two superblocks"
	# (delayed allocation: the name is journaled, its data may not be yet)
	if [ "$(debugfs -c -R 'ls -l /' "$name.img" 2>/dev/null | grep -c ' late.txt')" = 0 ]; then
		ok "$4: without replay, late.txt is not there" true
	else
		skip 1 "other processes' syncs wrote the journaled blocks home before every crash"
	fi
	like "$(debugfs -R 'ls -l /' "$name.mine" 2>/dev/null)" ' late.txt' "$4: the file only the journal held is there"
	is "$(debugfs -R 'cat /late.txt' "$name.mine" 2>/dev/null)" "$(debugfs -R 'cat /late.txt' "$name.ref" 2>/dev/null)" \
		"$4: with the same contents as after e2fsck"
}

# The physical block of the newest commit block in IMAGE's journal.
last_commit() { # IMAGE BLOCK-SIZE
	debugfs -c -R "blocks <8>" "$1" 2>/dev/null | python3 -c '
import struct, sys
img, bs = sys.argv[1], int(sys.argv[2])
best = None
with open(img, "rb") as f:
    for b in sys.stdin.read().split():
        f.seek(int(b) * bs)
        magic, kind, seq = struct.unpack(">III", f.read(12))
        if magic == 0xC03B3998 and kind == 2 and (best is None or seq > best[0]):
            best = (seq, int(b))
print(best[1])' "$1" "$2"
}

torn() { # NAME WHAT: the last commit block damaged -> one transaction less
	local name=$1 bs blk before after
	bs=$(dumpe2fs -h "$name.img" 2>/dev/null | awk -F': *' '/^Block size/ { print $2 }')
	before=$("$R" "$name.img" 0 | awk '{ print $2 }')
	blk=$(last_commit "$name.img" "$bs")
	# the commit's checksum field (v1: crc32 of the blocks; v2/v3: of the commit block)
	printf '\377\377\377\377' | dd of="$name.img" bs=1 seek=$((blk * bs + 16)) conv=notrunc 2>/dev/null
	after=$("$R" "$name.img" 0)
	like "$after" "^transactions $((before - 1)) " "$2: a damaged last commit replays up to the transaction before ($after)"
	like "$after" "stop 'transaction [0-9]+: commit block checksum mismatch'" "$2: and says why the log ends there"
}

cd "$(mktemp -d)" || exit 1
check v3 "-O metadata_csum" "commit=1" "ext4, metadata_csum (csum v3, 64-bit)"
check plain "-O ^metadata_csum" "commit=1" "ext4 without checksums"
check csum "-O ^metadata_csum,^64bit" "commit=1,journal_checksum" "ext4, journal_checksum, 32-bit"
check ext3 "-t ext3" "commit=1" "ext3"
check small "-b 1024 -O metadata_csum" "commit=1" "ext4, 1 KiB blocks"
check async "-O ^metadata_csum" "commit=1,journal_async_commit,data=writeback" "ext4, async commit (v1 checksums)"
# fast commits (fsync of an append after a full commit) are not replayed:
# the volume is unreplayable, said so, rather than read older than it is.
# The kernel may fall back to a full commit; then the crash is made again.
fc_pending() { # IMAGE: debugfs's logdump shows fast-commit records for the log's next transaction
	debugfs -c -R "logdump" "$1" 2>/dev/null | awk '
		/^Journal starts at block/ { next_tid = $NF }
		/type 2 \(commit block\)/ { next_tid = $4 + 1 }
		/^tag HEAD/ { head = $NF }
		END { exit !(head != "" && head == next_tid) }'
}
for try in 1 2 3 4 5; do
	rm -f fc.img && truncate -s 64M fc.img && mkfs.ext4 -q -F -O fast_commit fc.img
	mkdir -p fc.mnt && dev=$(losetup -f --show fc.img) && mount -o commit=30 "$dev" fc.mnt
	echo base >fc.mnt/fc.txt && sync
	python3 -c 'import os; fd = os.open("fc.mnt/fc.txt", os.O_WRONLY | os.O_APPEND); os.write(fd, b"more\n"); os.fsync(fd)'
	xfs_io -x -c "shutdown" fc.mnt
	cp --sparse=always fc.img fc.snap
	umount fc.mnt && losetup -d "$dev"
	fc_pending fc.snap && break
	diag "the kernel made a full commit, not a fast one (try $try)"
done
if fc_pending fc.snap; then
	like "$("$R" fc.snap 0)" "^unreplayable: fast-commit records of transaction [0-9]+ are pending" \
		"fast-commit records pending: unreplayable, and why"
else
	skip 1 "the kernel made no fast commit in five tries"
fi

torn v3 "csum v3"
torn csum "journal_checksum"
torn async "async commit"
like "$(dumpe2fs -h v3.img 2>/dev/null | grep '^Journal features')" 'journal_64bit.*journal_checksum_v3' "the csum v3 case has a 64-bit v3 journal"
like "$(dumpe2fs -h csum.img 2>/dev/null | grep '^Journal features')" 'journal_checksum' "the journal_checksum case has journal checksums"
like "$(dumpe2fs -h async.img 2>/dev/null | grep '^Journal features')" 'journal_async_commit' "the async case has an async-commit journal"
is "$(dumpe2fs -h ext3.img 2>/dev/null | grep '^Journal features' | grep -c 64bit)" 0 "the ext3 case has a 32-bit journal"
done_testing
