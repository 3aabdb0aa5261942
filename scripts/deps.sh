#!/bin/sh
# deps.sh --- install what rawkit needs from Debian's packages (idempotent)
#
# usage: scripts/deps.sh [build|check|bench|all]...
#   build  compilers and -dev libraries
#   check  build + the independent tools the tests use to check results,
#          and e2fsprogs' corrupted test images (tests/77-e2fsprogs-corpus.t)
#   boot   check + qemu and libguestfs for the boot tests (make check-boot)
#   bench  check + boot + the tools the benchmarks compare against
# Prints nothing when everything is already installed.
set -eu

BUILD="gcc make pkg-config libc6-dev libext2fs-dev libfdisk-dev libblkid-dev libhivex-dev
ntfs-3g-dev libarchive-dev libzstd-dev zlib1g-dev libsqlite3-dev libssl-dev
libguestfs-dev libjansson-dev libfuse3-dev libinih-dev librbd-dev librados-dev libpq-dev"
CHECK="perl e2fsprogs fdisk util-linux ntfs-3g clang libclang-rt-14-dev
sqlite3 zstd gzip tar bsdextrautils coreutils acl attr cpio python3 qemu-utils libhivex-bin
xfsprogs e2fsprogs man-db groff-base strace dosfstools btrfs-progs lvm2 libarchive-tools
openssh-client mtools linux-image-amd64 kmod initramfs-tools-core tzdata fuse3
ceph-mon ceph-osd ceph-common uuid-runtime postgresql"
# virt-sysprep (libguestfs-tools) needs a kernel to build its appliance from
# the boot tests: qemu, and libguestfs' appliance for initramfs rebuilds
BOOT="qemu-system-x86 libguestfs-tools supermin dracut-core"
BENCH="partclone dump restic time bc openssl libguestfs-tools qemu-system-x86"

# e2fsprogs' own corrupted test images (tests/f_*/image.gz, tests/j_*/image.gz)
# from its Debian source package, unpacked once into CORPUS.
CORPUS=${RAWKIT_E2FSPROGS_CORPUS:-/var/cache/rawkit/e2fsprogs-tests}
SRC_LIST=/etc/apt/sources.list.d/rawkit-deb-src.sources

want=""
corpus=no
[ $# -eq 0 ] && set -- check
for group in "$@"; do
	case $group in
	build) want="$want $BUILD" ;;
	check) want="$want $BUILD $CHECK" corpus=yes ;;
	boot) want="$want $BUILD $CHECK $BOOT" corpus=yes ;;
	bench|all) want="$want $BUILD $CHECK $BOOT $BENCH" corpus=yes ;;
	*) echo "deps.sh: $group: unknown group (build, check, boot, bench, all)" >&2; exit 2 ;;
	esac
done

# A deb-src line for the distribution's main archive, when none is configured.
add_deb_src() {
	grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
	. /etc/os-release
	cat >"$SRC_LIST" <<-EOF
	# added by rawkit's scripts/deps.sh: e2fsprogs' test images come from its source package
	Types: deb-src
	URIs: http://deb.debian.org/debian
	Suites: $VERSION_CODENAME
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	apt-get update -qq >/dev/null
}

# Download e2fsprogs' source package and keep only the test images.
get_corpus() {
	local tmp
	[ -f "$CORPUS/.complete" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: e2fsprogs test images missing from $CORPUS (run as root)" >&2
		return 1
	fi
	echo "deps.sh: fetching e2fsprogs' test images into $CORPUS" >&2
	add_deb_src
	tmp=$(mktemp -d /var/tmp/rawkit-e2fsprogs.XXXXXX)
	(
		cd "$tmp" &&
		{ apt-get source --download-only -qq e2fsprogs >/dev/null 2>&1 ||
		  { apt-get update -qq >/dev/null && apt-get source --download-only -qq e2fsprogs >/dev/null 2>&1; }; } &&
		mkdir out && tar -xf "$(ls e2fsprogs_*.orig.tar.* | grep -v '\.asc$')" -C out --strip-components=1 --wildcards \
			'*/tests/f_*/image.gz' '*/tests/j_*/image.gz' &&
		ls e2fsprogs_*.dsc >out/tests/SOURCE
	) || { rm -rf "$tmp"; echo "deps.sh: cannot get e2fsprogs' source package" >&2; return 1; }
	rm -rf "$CORPUS" && mkdir -p "$(dirname "$CORPUS")" && mv "$tmp/out/tests" "$CORPUS" &&
		touch "$CORPUS/.complete"
	rm -rf "$tmp"
}

missing=""
for pkg in $want; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
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
fi
[ "$corpus" = no ] || get_corpus
