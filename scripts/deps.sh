#!/bin/sh
# deps.sh --- install what rawkit needs from Debian's packages (idempotent)
#
# usage: scripts/deps.sh [build|check|bench|all]...
#   build  compilers and -dev libraries
#   check  build + the independent tools the tests use to check results
#   boot   check + qemu and libguestfs for the boot tests (make check-boot)
#   bench  check + boot + the tools the benchmarks compare against
# Prints nothing when everything is already installed.
set -eu

BUILD="gcc make pkg-config libc6-dev libext2fs-dev libfdisk-dev libblkid-dev
ntfs-3g-dev libarchive-dev libzstd-dev zlib1g-dev libsqlite3-dev libssl-dev
libguestfs-dev"
CHECK="perl e2fsprogs fdisk util-linux ntfs-3g clang libclang-rt-14-dev
sqlite3 zstd gzip tar bsdextrautils coreutils acl attr cpio python3 qemu-utils
xfsprogs e2fsprogs man-db groff-base strace dosfstools btrfs-progs lvm2 libarchive-tools
openssh-client mtools linux-image-amd64"
# virt-sysprep (libguestfs-tools) needs a kernel to build its appliance from
# the boot tests: qemu, and libguestfs' appliance for initramfs rebuilds
BOOT="qemu-system-x86 libguestfs-tools supermin"
BENCH="partclone dump restic time bc openssl libguestfs-tools qemu-system-x86"

want=""
[ $# -eq 0 ] && set -- check
for group in "$@"; do
	case $group in
	build) want="$want $BUILD" ;;
	check) want="$want $BUILD $CHECK" ;;
	boot) want="$want $BUILD $CHECK $BOOT" ;;
	bench|all) want="$want $BUILD $CHECK $BOOT $BENCH" ;;
	*) echo "deps.sh: $group: unknown group (build, check, boot, bench, all)" >&2; exit 2 ;;
	esac
done

missing=""
for pkg in $want; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root or install them)" >&2
	exit 1
fi
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# An empty or stale package list makes apt-get install fail; refresh once.
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
