# fixtures.sh --- build test disks at run time (sourced after tap.sh)
#
# Every test works in its own scratch directory, removed on exit.  Disks are
# sparse files partitioned with sfdisk; filesystems are made with the real
# mkfs tools at the partition's offset; results are checked with independent
# tools (debugfs, e2fsck, ntfscat, blkid, sfdisk, cmp).

: "${RAWKIT_BIN:?RAWKIT_BIN must point at the built binaries (make check sets it)}"
export PATH="$RAWKIT_BIN:$PATH"
export LC_ALL=C
# Sanitizer builds: fail on the first report, including leaks.
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:exitcode=99${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/rawkit-test.XXXXXX")
_fixture_cleanup() {
	local m
	for m in $(awk -v s="$SCRATCH" 'index($2, s) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	[ -f "$SCRATCH/.loops" ] && while read -r l; do losetup -d "$l" 2>/dev/null; done <"$SCRATCH/.loops"
	chattr -R -i "$SCRATCH" 2>/dev/null
	rm -rf "$SCRATCH"
}
trap _fixture_cleanup EXIT
cd "$SCRATCH" || exit 1

is_root() { [ "$(id -u)" -eq 0 ]; }

# mkdisk FILE SIZE < sfdisk-script
mkdisk() {
	rm -f "$1"
	truncate -s "$2" "$1" && sfdisk -q --no-reread --no-tell-kernel "$1" >/dev/null
}

# part_start FILE N / part_size FILE N: in bytes, from sfdisk's own view
part_field() {
	sfdisk -J "$1" | python3 -c '
import json, sys
pt = json.load(sys.stdin)["partitiontable"]
ss = pt.get("sectorsize", 512)
for p in pt["partitions"]:
    if p["node"].endswith(sys.argv[1]) and p["node"][len(p["node"]) - len(sys.argv[1]) - 1].isalpha():
        print(p[sys.argv[2]] * ss)
        break
else:
    print("MISSING-IN-SFDISK")
' "$2" "$3"
}
part_start() { part_field "$1" "$2" start; }
part_size() { part_field "$1" "$2" size; }

# put_ext4 DISK N [mkfs options...]: mkfs.ext4 at partition N's offset
put_ext4() {
	local disk=$1 n=$2 off size
	shift 2
	off=$(part_start "$disk" "$n") size=$(part_size "$disk" "$n")
	mkfs.ext4 -q -F -E "offset=$off" "$@" "$disk" "$((size / 1024))k" >/dev/null
}

# put_fs TYPE DISK N [options...]: any mkfs.TYPE, built in a file, placed with dd
put_fs() {
	local type=$1 disk=$2 n=$3 off size
	shift 3
	off=$(part_start "$disk" "$n") size=$(part_size "$disk" "$n")
	rm -f "$SCRATCH/.fs.img"
	truncate -s "$size" "$SCRATCH/.fs.img"
	case $type in
	ntfs) mkntfs -q -F -Q -p "$((off / 512))" -H 255 -S 63 "$@" "$SCRATCH/.fs.img" >/dev/null 2>&1 ;;
	swap) mkswap -q "$@" "$SCRATCH/.fs.img" >/dev/null ;;
	vfat) mkfs.vfat "$@" "$SCRATCH/.fs.img" >/dev/null ;;
	*) "mkfs.$type" -q "$@" "$SCRATCH/.fs.img" >/dev/null 2>&1 ;;
	esac || return 1
	place_fs "$disk" "$n"
}

# place_fs DISK N: copy $SCRATCH/.fs.img into partition N (sparse, in place)
place_fs() {
	dd if="$SCRATCH/.fs.img" of="$1" bs=1M seek="$(($(part_start "$1" "$2") / 1048576))" \
		conv=notrunc,sparse status=none && rm -f "$SCRATCH/.fs.img"
}

# put_ntfs_tree DISK N DIR: NTFS in partition N holding a copy of DIR
# (through an ntfs-3g mount of the partition's image: streams as xattrs).
put_ntfs_tree() {
	local disk=$1 n=$2 dir=$3 off size mnt="$SCRATCH/.ntfs-mnt"
	off=$(part_start "$disk" "$n") size=$(part_size "$disk" "$n")
	rm -f "$SCRATCH/.fs.img"
	truncate -s "$size" "$SCRATCH/.fs.img"
	mkntfs -q -F -Q -p "$((off / 512))" -H 255 -S 63 "$SCRATCH/.fs.img" >/dev/null 2>&1 || return 1
	mkdir -p "$mnt"
	ntfs-3g -o streams_interface=xattr "$SCRATCH/.fs.img" "$mnt" || return 1
	cp -a "$dir/." "$mnt/" || { umount "$mnt"; return 1; }
	[ -n "${NTFS_SETUP:-}" ] && (cd "$mnt" && eval "$NTFS_SETUP")
	umount "$mnt" || return 1
	place_fs "$disk" "$n"
}

# A tree with the usual suspects: text, binary, empty, sparse, nested, links.
make_tree() {
	local d=$1
	mkdir -p "$d/etc" "$d/data/sub/deeper" "$d/empty-dir"
	echo "guest01" >"$d/etc/hostname"
	printf 'UUID=1234 / ext4 defaults 0 1\n' >"$d/etc/fstab"
	head -c 1500000 /dev/urandom >"$d/data/random.bin"
	: >"$d/data/empty"
	echo deep >"$d/data/sub/deeper/file.txt"
	truncate -s 5M "$d/data/sparse"
	printf 'middle' | dd of="$d/data/sparse" bs=1 seek=2097152 conv=notrunc status=none
	ln -s ../etc/hostname "$d/data/link-fast"
	ln -s "$(printf 'x%.0s' $(seq 1 300))" "$d/data/link-slow"
}

# sha256 of a file, alone
sum() { sha256sum "$1" | cut -d' ' -f1; }

# The one-line error contract: exactly one line on stderr, starting "PROG: ".
one_line_error() { # PROG STDERR-FILE
	[ "$(wc -l <"$2")" -eq 1 ] && grep -q "^$1: " "$2"
}
