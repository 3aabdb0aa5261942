#!/bin/bash
# rawkit-lanfree backup reads a large file's data past the page cache
# (O_DIRECT, imgfmt_disk_read_direct()) where the disk allows it (an image
# file, a block device), and through the cache where it does not (a
# partition not on a 4 KiB boundary): the archive holds the same bytes
# either way.  Checked with cmp
# and sha256sum against the source files, and with strace for the path taken.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
command -v strace >/dev/null || skip_all "strace is not installed"

mkdir -p src/d
head -c $((5 * 1048576 + 123)) /dev/urandom >src/d/big      # a tail not a block
head -c $((3 * 1048576)) /dev/urandom >src/d/exact           # whole MiBs
head -c $((3 * 1048576)) /dev/urandom >src/d/exact2          # the same size: hashed first, read twice
head -c 700000 /dev/urandom >src/d/holey                     # data, a hole, data
truncate -s 6M src/d/holey
head -c 1500000 /dev/urandom | dd of=src/d/holey bs=1M seek=4 conv=notrunc status=none
head -c 200000 /dev/urandom >src/d/small
for i in $(seq 1 20); do head -c $((i * 70000)) /dev/urandom >"src/d/f$i"; done

# check NAME DISK: back up DISK, restore it; every file as in src/
check() {
	local name=$1 disk=$2
	rm -rf "r-$name" "t-$name"
	$L init "r-$name" >/dev/null
	# (LeakSanitizer does not run under ptrace)
	ok "$name: backup" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -o "trace-$name" -e trace=openat,pread64 $L backup "r-$name" "$disk" --name g -q
	ok "$name: verify --read-data" $L verify "r-$name" --read-data -q
	ok "$name: restore" $L restore "r-$name" g --to "t-$name" -q
	local bad=0 f
	for f in src/d/*; do
		cmp -s "$f" "t-$name/p1/d/${f##*/}" || { bad=1; diag "$name: ${f##*/} differs"; }
	done
	is "$bad" 0 "$name: every file back byte for byte ($(ls src/d | wc -l) files)"
}

# direct_reads NAME: how many reads the backup made through its O_DIRECT descriptor
direct_reads() {
	local fd
	fd=$(sed -n 's/.*O_DIRECT[|)].* = \([0-9][0-9]*\)$/\1/p' "trace-$1" | head -n1)
	if [ -n "$fd" ]; then grep -c "pread64($fd," "trace-$1" || true; else echo 0; fi
}

# 1. a partition at 1 MiB on a file on the scratch filesystem: past the cache
mkdisk a.img 64M <<'S'
label: gpt
start=2048, size=100000, type=linux
S
put_ext4 a.img 1 -b 4096 -d src
check aligned a.img
if grep -q 'O_DIRECT[|)]' trace-aligned; then
	n=$(direct_reads aligned)
	ok "aligned: the large files are read past the page cache (O_DIRECT: $n reads)" test "$n" -ge 8
else
	# a scratch filesystem without O_DIRECT (tmpfs TMPDIR): nothing to check
	skip 1 "aligned: the scratch filesystem refuses O_DIRECT"
fi

# 2. a partition one sector off a 4 KiB boundary: reads not aligned, cached
mkdisk u.img 64M <<'S'
label: gpt
start=2049, size=100000, type=linux
S
put_ext4 u.img 1 -b 4096 -d src
check unaligned u.img
is "$(direct_reads unaligned)" 0 "unaligned: no read goes past the page cache"

# 3. the same disk as a block device (a LUN, an LV): past the cache too
if is_root && loop=$(losetup -f --show -r a.img 2>/dev/null); then
	echo "$loop" >>"$SCRATCH/.loops" # (detached at exit, whatever happens)
	check blockdev "$loop"
	n=$(direct_reads blockdev)
	ok "blockdev: the device is read past the page cache (O_DIRECT: $n reads)" test "$n" -ge 8
	losetup -d "$loop"
else
	skip 5 "no loop device (needs root)"
fi

# 4. the archives hold the same bytes whichever way they were read
is "$(sqlite3 r-aligned/catalog.db 'SELECT hex(sha256) FROM contents ORDER BY 1' | sha256sum)" \
	"$(sqlite3 r-unaligned/catalog.db 'SELECT hex(sha256) FROM contents ORDER BY 1' | sha256sum)" \
	"the content ids are the same read past the cache or through it"
is "$(sqlite3 r-aligned/catalog.db 'SELECT count(*) FROM contents')" "$(ls src/d | wc -l)" \
	"one content per file"
ok "GNU tar reads the archive" sh -c "zstd -dc r-aligned/data/g/*.tar.zst | tar -tf - >/dev/null"
done_testing
