#!/bin/bash
# Crafted XFS volumes (xfs_db -x writes: "-d" keeps checksums valid so that
# the reader's own bounds are reached, "-c" breaks them): every one is a
# clean error or a bounded read, never a crash or a hang; a damaged free
# space btree makes a copy take the volume whole.  Under SANITIZE=1 the
# same runs go through ASan and UBSan.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root || skip_all "loop mounts need root"
command -v mkfs.xfs >/dev/null && command -v xfs_db >/dev/null || skip_all "xfsprogs not installed"

# The volume is the whole image (no partition table): xfs_db works on it directly.
truncate -s 300M good.img
mkfs.xfs -q -d agcount=2 good.img
mkdir m && mount -o loop good.img m || skip_all "cannot loop-mount XFS here"
(
	cd m || exit 1
	echo hello >small
	mkdir short sub && touch short/a short/b sub/x
	echo deep >sub/x
	python3 -c "
f = open('frag', 'wb')
for i in range(300): f.seek(i * 8192); f.write(b'x' * 100)
"
	for i in $(seq 1 20); do setfattr -n "user.leaf$i" -v "$(printf 'v%.0s' $(seq 1 150))" small; done
	head -c 1000 /dev/urandom >big
	python3 -c "import os; os.setxattr('big', 'user.remote', os.urandom(65536))"
)
INO_SMALL=$(stat -c %i m/small) INO_SHORT=$(stat -c %i m/short) INO_FRAG=$(stat -c %i m/frag)
INO_BIG=$(stat -c %i m/big)
umount m

# crafted NAME XFS_DB_COMMANDS...: good.img with the commands applied
crafted() {
	local name=$1 args=()
	shift
	cp --sparse=always good.img "$name.img"
	for c in "$@"; do args+=(-c "$c"); done
	xfs_db -x "${args[@]}" "$name.img" >/dev/null 2>&1
}
# run NAME CMD...: RC, OUT and ERR, bounded in time; a crash or sanitizer report fails
run() {
	local name=$1
	shift
	timeout 30 "$@" >"$name.out" 2>"$name.err"
	RC=$?
}
no_crash() { # DESC: the last run ended by itself, with 0 or a clean failure
	if [ "$RC" -lt 124 ] && [ "$RC" -ne 99 ]; then
		ok "$1 (exit $RC)" true
	else
		ok "$1 (exit $RC: $(head -c 300 "$LAST.err"))" false
	fi
}
try() { # NAME DESC CMD...: run, expect a clean failure with a message matching WANT
	local name=$1 desc=$2
	shift 2
	LAST=$name
	run "$name" "$@"
	no_crash "$desc: no crash or hang"
}

ok "the good image reads" imgfmt-tool cat good.img disk /sub/x

# ---- superblock ----
crafted magic "sb 0" "write -d magicnum 0"
try magic "bad superblock magic" imgfmt-tool fsinfo magic.img disk
is "$RC" 1 "bad superblock magic: refused"
crafted sbcrc "sb 0" "write -c imax_pct 26"
try sbcrc "bad superblock checksum" imgfmt-tool fsinfo sbcrc.img disk
like "$(cat sbcrc.err)" "bad superblock checksum" "bad superblock checksum: said so"
crafted ag0 "sb 0" "write -d agcount 0"
try ag0 "agcount 0" imgfmt-tool fsinfo ag0.img disk
# (libblkid checks the geometry too: such a volume may not even be called XFS)
like "$(cat ag0.err)" "damaged XFS superblock: 0 AGs|no filesystem rawkit can read" "agcount 0: refused"
crafted aghuge "sb 0" "write -d agcount 4000000000"
try aghuge "agcount 4e9" imgfmt-tool ls aghuge.img disk /
like "$(cat aghuge.err)" "damaged XFS superblock|no filesystem rawkit can read" "agcount 4e9: refused"
crafted dblocks "sb 0" "write -d dblocks 99999999"
try dblocks "a filesystem larger than its volume" imgfmt-tool ls dblocks.img disk /
like "$(cat dblocks.err)" "damaged XFS superblock|larger than its volume|no filesystem rawkit can read" \
	"dblocks past the volume: refused"
crafted incompat "sb 0" "write -d features_incompat 0x100b"
try incompat "an unknown incompatible feature" imgfmt-tool ls incompat.img disk /
like "$(cat incompat.err)" "incompatible features rawkit does not know \(0x1000\)" "unknown incompat feature: refused, named"

# ---- inodes and their forks ----
crafted badino "inode $INO_SHORT" "write -d u3.sfdir3.list[0].inumber.i4 4294967295"
try badino "a directory entry naming an inode outside the fs" imgfmt-tool stat badino.img disk /short/a
like "$(cat badino.err)" "outside the filesystem" "an inode number outside the fs: clean error"
try badino-x "extract past it" imgfmt-tool extract badino.img disk out-badino
crafted inocrc "inode $INO_SMALL" "write -c core.uid 7"
try inocrc "an inode with a bad checksum" imgfmt-tool cat inocrc.img disk /small
like "$(cat inocrc.err)" "bad checksum" "an inode with a bad checksum: clean error"
try inocrc-scan "scan leaves the damaged inode out" imgfmt-tool scan inocrc.img disk
is "$(grep -c "^$INO_SMALL " inocrc-scan.out)" 0 "the damaged inode is not in the scan"
crafted extpast "inode $INO_BIG" "write -d u3.bmx[0].startblock 999999999"
try extpast "an extent past the end" imgfmt-tool cat extpast.img disk /big
like "$(cat extpast.err)" "outside the filesystem" "an extent past the end: clean error"
crafted nextents "inode $INO_BIG" "write -d core.nextents 1000"
try nextents "more extents than the fork holds" imgfmt-tool cat nextents.img disk /big
like "$(cat nextents.err)" "do not fit in the inode" "extent count past the fork: clean error"
crafted bmdepth "inode $INO_FRAG" "write -d u3.bmbt.level 60"
try bmdepth "a bmap btree 60 levels deep" imgfmt-tool cat bmdepth.img disk /frag
like "$(cat bmdepth.err)" "bmap btree root" "bmap btree depth: clean error"
leaf1=$(xfs_db -r -c "inode $INO_FRAG" -c 'p u3.bmbt.ptrs[1]' good.img | awk '{print $3}')
crafted bmloop "inode $INO_FRAG" "addr u3.bmbt.ptrs[1]" "write -d rightsib $leaf1"
try bmloop "a bmap btree leaf that is its own right sibling" imgfmt-tool cat bmloop.img disk /frag
like "$(cat bmloop.err)" "damaged XFS inode $INO_FRAG" "bmap btree loop: clean error"

# ---- directories ----
crafted dirloop "inode $INO_SHORT" "write -d u3.sfdir3.list[0].inumber.i4 128"
try dirloop "a subdirectory entry naming the root" \
	imgfmt-tool stat dirloop.img disk /short/a/short/a/short/a/short/a/small
is "$RC" 0 "a lookup through the loop ends (the walk is the caller's)"
try dirloop-x "extract over the loop (the helper stops at depth 64)" imgfmt-tool extract dirloop.img disk out-loop
crafted sfcount "inode $INO_SHORT" "write -d u3.sfdir3.hdr.count 200"
try sfcount "a shortform directory counting more entries than it holds" imgfmt-tool ls sfcount.img disk /short
like "$(cat sfcount.err)" "shortform entry past its end" "shortform count: clean error"

# ---- attributes ----
crafted nameidx "inode $INO_SMALL" "ablock 0" "write -d entries[0].nameidx 65000"
try nameidx "an attribute name past its block" imgfmt-tool xattrs nameidx.img disk /small
like "$(cat nameidx.err)" "leaf entry past its block" "attribute name offset: clean error"
crafted valuelen "inode $INO_SMALL" "ablock 0" "write -d nvlist[0].valuelen 60000"
try valuelen "an attribute value past its block" imgfmt-tool xattrs valuelen.img disk /small
like "$(cat valuelen.err)" "past its block" "attribute value length: clean error"
crafted remote "inode $INO_BIG" "ablock 0" "write -d nvlist[0].valueblk 99999"
try remote "a remote value past the attribute fork" imgfmt-tool xattrs remote.img disk /big
like "$(cat remote.err)" "not mapped" "remote value block: clean error"
crafted rmtlen "inode $INO_BIG" "ablock 0" "write -d nvlist[0].valuelen 16000000"
try rmtlen "a remote value of 16 MB" imgfmt-tool xattrs rmtlen.img disk /big
like "$(cat rmtlen.err)" "too long" "remote value length: clean error"

# ---- free space ----
allocated() { # bytes of the image file that hold data (SEEK_DATA/SEEK_HOLE)
	python3 - "$1" <<'PY'
import os, sys
fd, pos, total = os.open(sys.argv[1], os.O_RDONLY), 0, 0
end = os.fstat(fd).st_size
while pos < end:
    try:
        data = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    hole = os.lseek(fd, data, os.SEEK_HOLE)
    total += hole - data
    pos = hole
print(total)
PY
}
crafted bnoorder "agf 0" "addr bnoroot" "write -d recs[2].startblock 1"
try bnoorder "free space records out of order" imgfmt-tool used bnoorder.img
like "$(cat bnoorder.out)" "note 0 xfs: damaged XFS: AG 0: " "bnobt out of order: its note"
is "$(awk '/^total/{print $2}' bnoorder.out)" "$(allocated bnoorder.img)" "and the volume is copied whole"
crafted bnocrc "agf 1" "addr bnoroot" "write -c recs[1].blockcount 1"
try bnocrc "a free space block with a bad checksum" imgfmt-tool used bnocrc.img
like "$(cat bnocrc.out)" "note 0 xfs: damaged XFS: AG 1: bad btree block" "bnobt checksum: its note"
crafted agfsum "agf 0" "write -d freeblks 1"
try agfsum "free blocks that do not sum to the AGF's count" imgfmt-tool used agfsum.img
like "$(cat agfsum.out)" "the AGF says 1" "bnobt sum against the AGF: its note"
crafted agflen "agf 0" "write -d length 1"
try agflen "an AGF of the wrong length" imgfmt-tool used agflen.img
like "$(cat agflen.out)" "bad AGF header" "AGF length: its note"

# ---- the log ----
logstart=$(xfs_db -r -c 'sb 0' -c 'p logstart' good.img | awk '{print $3}')
crafted logpast "sb 0" "write -d logstart 999999999"
try logpast "a log outside the filesystem" imgfmt-tool fsinfo logpast.img disk
is "$RC" 1 "a log outside the filesystem: refused"
cp --sparse=always good.img logjunk.img
dd if=/dev/urandom of=logjunk.img bs=4096 seek="$(xfs_db -r -c "convert fsb $logstart byte" good.img | sed 's/.*(\([0-9]*\)).*/\1/;s/^/0+/' | bc)" \
	count=64 conv=notrunc status=none oflag=seek_bytes 2>/dev/null
try logjunk "a log full of noise" imgfmt-tool fsinfo logjunk.img disk
like "$(cat logjunk.out)" "consistency xfs-log-not-replayed" "a log full of noise is not clean"

done_testing
