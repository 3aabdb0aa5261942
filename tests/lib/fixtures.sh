# fixtures.sh --- build test disks at run time (sourced after tap.sh)
#
# Every test works in its own scratch directory, removed on exit.  Disks are
# sparse files partitioned with sfdisk; filesystems are made with the real
# mkfs tools at the partition's offset; results are checked with independent
# tools (debugfs, e2fsck, ntfscat, blkid, sfdisk, cmp).
#
# This file sets up the scratch directory and the environment; the builders
# are in fixtures/, one file per kind of thing built: ptable.sh (disk images),
# fs.sh (filesystems in partitions), ntfs.sh, tree.sh (directory trees),
# golden.sh (rawkit-clone's guest), convert.sh (P2V/V2P guests, initramfs),
# windows.sh (a Windows system disk and its SYSTEM hive), ceph.sh (a throw-away
# Ceph cluster for disks on RBD), postgres.sh (a throw-away PostgreSQL server
# for catalogs there).

: "${RAWKIT_BIN:?RAWKIT_BIN must point at the built binaries (make check sets it)}"
export PATH="$RAWKIT_BIN:$PATH"
export LC_ALL=C
# Sanitizer builds: fail on the first report, including leaks.
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:exitcode=99${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
FIXTURES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fixtures
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/rawkit-test.XXXXXX")
_fixture_cleanup() {
	local m
	for m in $(awk -v s="$SCRATCH" 'index($2, s) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	[ -f "$SCRATCH/.loops" ] && while read -r l; do losetup -d "$l" 2>/dev/null; done <"$SCRATCH/.loops"
	chattr -R -i -a "$SCRATCH" 2>/dev/null
	rm -rf "$SCRATCH"
}
trap _fixture_cleanup EXIT
cd "$SCRATCH" || exit 1

is_root() { [ "$(id -u)" -eq 0 ]; }

# sha256 of a file, alone
sum() { sha256sum "$1" | cut -d' ' -f1; }

# The one-line error contract: exactly one line on stderr, starting "PROG: ".
one_line_error() { # PROG STDERR-FILE
	[ "$(wc -l <"$2")" -eq 1 ] && grep -q "^$1: " "$2"
}

# The usage-error contract: PROG ARGS... exits 2 with one line matching
# REGEX, and nothing else but the pointer to --help (three checks).
usage_error() { # DESC REGEX PROG ARGS...
	local desc=$1 re=$2
	shift 2
	"$@" >/dev/null 2>err.txt
	is "$?" 2 "$desc: exit 2"
	like "$(head -1 err.txt)" "$re" "$desc: says why"
	is "$(sed -n '2{/^Try /d;p}' err.txt; sed -n '3,$p' err.txt)" "" "$desc: one line (and the pointer to --help)"
}

# The builders, one file per kind of thing built.
for _f in ptable fs ntfs tree golden convert lvm rhel windows ceph postgres; do
	. "$FIXTURES_DIR/$_f.sh"
done
unset _f
