#!/bin/bash
# rhel.sh --- a RHEL-style guest (issue #13): the same files in an XFS root
# LV in two segments (VG rhel, /boot XFS, swap LV) and in a plain ext4
# partition.  In one run, cold cache:
#   full backup and 1% incremental: rawkit-lanfree on the XFS root vs the
#                   ext4 one (target: within 1.3x)
#   one personalized clone: rawkit-clone vs cp --sparse + virt-sysprep
#   (virt-sysprep's inspection wants a real RHEL userland, which a guest made
#   from this machine's /usr is not: it then says why, and only rawkit's
#   figure is printed)
# Prints wall-time ratios and peak RSS.
TESTS_DIR=$(cd "$(dirname "$0")/../tests" && pwd)
. "$(dirname "$0")/lib.sh"
cd "$BENCH_DIR"
is_root || { echo "bench/rhel.sh: needs root (loop mounts, lvm2 on loop devices, drop_caches)"; exit 1; }
FILES_MIN=${FILES_MIN:-60000} BYTES_MIN=${BYTES_MIN:-1600000000}
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
SCRATCH=$BENCH_DIR/rhel-scratch
mkdir -p "$SCRATCH" && : >"$SCRATCH/.loops"
. "$TESTS_DIR/lib/fixtures/ptable.sh"
. "$TESTS_DIR/lib/fixtures/lvm.sh"
# the test fixtures expect a shell without -e/pipefail (a grep that filters
# everything out is not a failure there): failures are checked one by one
set +e +o pipefail
EXT_SIZE=$((3 * 1024 * 1048576))
# p1 /boot 300 MiB; p2 a 3.5 GiB PV, 4 MiB extents: root 2.5 GiB as PEs
# 0-399 and 500-739 around home (PEs 400-449), swap PEs 450-465
P2=$((301 * 1048576)):$((3584 * 1048576))

trap 'umount "$BENCH_DIR/mnt" "$BENCH_DIR/mnt-ext" 2>/dev/null; while read -r l; do losetup -d "$l"; done <"$SCRATCH/.loops" 2>/dev/null' EXIT
usr_guest_disk ext-guest.img $EXT_SIZE "$FILES_MIN" "$BYTES_MIN"

rhel_guest() {
	[ -f rhel-guest.img ] && [ "$(cat rhel-guest.stamp 2>/dev/null)" = "4/$FILES_MIN/$BYTES_MIN" ] && return
	echo "bench: generating rhel-guest.img (the same files in an XFS root LV)"
	rm -f rhel-guest.img
	mkdisk rhel-guest.img 3900M <<-EOF
	label: gpt
	start=2048, size=614400, type=linux
	start=616448, size=$((3584 * 2048)), type=E6D6D379-F507-44C2-A23C-238F2A3DF928
	EOF
	lvm_make_vg rhel-guest.img "$P2" rhel 4 || exit 1
	lvm_backup rhel-guest.img "$P2" rhel vg.txt || exit 1
	{ lvm_lv root pv0:0:400 pv0:500:240; lvm_lv home pv0:400:50; lvm_lv swap pv0:450:16; } >lvs.txt
	lvm_vg_text vg.txt lvs.txt meta.txt && lvm_restore rhel-guest.img "$P2" rhel meta.txt || exit 1
	truncate -s 300M boot.fs && mkfs.xfs -q -f boot.fs &&
		dd if=boot.fs of=rhel-guest.img bs=1M seek=1 conv=sparse,notrunc status=none && rm boot.fs
	rm -f root.fs && truncate -s $((640 * 4 * 1048576)) root.fs && mkfs.xfs -q -f root.fs
	mkdir -p mnt mnt-ext
	mount -o loop root.fs mnt && mount -o loop,ro,offset=1048576,sizelimit=$EXT_SIZE ext-guest.img mnt-ext
	cp -a mnt-ext/. mnt/
	# enough of a RHEL system for both clone tools (and virt-sysprep's inspection)
	# (libguestfs takes a root for Linux when it has /etc, /bin or a
	# /bin -> usr/bin link, and /etc/fstab)
	mkdir -p mnt/etc/ssh mnt/etc/sysconfig mnt/var/log mnt/boot mnt/usr/bin
	ln -sfn usr/bin mnt/bin
	printf 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n' >mnt/etc/os-release
	echo "Red Hat Enterprise Linux release 9.4 (Plow)" >mnt/etc/redhat-release
	echo golden >mnt/etc/hostname
	printf '/dev/mapper/rhel-root / xfs defaults 0 0\n/dev/mapper/rhel-home /home ext4 defaults 0 0\n/dev/mapper/rhel-swap none swap defaults 0 0\n' >mnt/etc/fstab
	printf '0123456789abcdef0123456789abcdef\n' >mnt/etc/machine-id
	for t in rsa ecdsa ed25519; do ssh-keygen -q -t $t -N '' -f mnt/etc/ssh/ssh_host_${t}_key; done
	seq 1 100000 >mnt/var/log/messages
	umount mnt mnt-ext
	lvm_disassemble_lv rhel-guest.img "$P2" rhel root root.fs && rm root.fs || exit 1
	local off len
	read -r off len < <(lvm_lv_ranges rhel-guest.img "$P2" rhel home)
	mkfs.ext4 -q -F -E offset="$off" rhel-guest.img $((len / 1024))k || exit 1
	read -r off len < <(lvm_lv_ranges rhel-guest.img "$P2" rhel swap)
	truncate -s "$len" swap.fs && mkswap -q swap.fs >/dev/null &&
		dd if=swap.fs of=rhel-guest.img bs=1M oflag=seek_bytes seek="$off" conv=sparse,notrunc status=none && rm swap.fs
	echo "4/$FILES_MIN/$BYTES_MIN" >rhel-guest.stamp
}
rhel_guest

# change 1% of the regular files (append a line) on both: the root LV through its assembly
change_one_percent() {
	local list=$1
	while read -r f; do echo "changed" >>"mnt/$f"; done <"$list"
}
mkdir -p mnt
echo "ext4 guest: $(human "$(imgfmt-tool used ext-guest.img | awk '/^total/ {print $2}')") used;" \
	"RHEL guest: $(human "$(imgfmt-tool used rhel-guest.img | awk '/^total/ {print $2}')") used, root LV in 2 segments"
cp --sparse=always ext-guest.img ext-work.img && cp --sparse=always rhel-guest.img rhel-work.img

echo "full backup:"
timed ext4-full "rm -rf repo-e && rawkit-lanfree init repo-e >/dev/null" \
	rawkit-lanfree backup repo-e ext-work.img --name g --level full -q
timed xfs-lvm-full "rm -rf repo-x && rawkit-lanfree init repo-x >/dev/null" \
	rawkit-lanfree backup repo-x rhel-work.img --name g --level full -q
mount -o loop,ro,offset=1048576,sizelimit=$EXT_SIZE ext-work.img mnt
(cd mnt && find . -type f -printf '%P\n' | awk 'NR % 100 == 7') >changed.list
umount mnt
mount -o loop,offset=1048576,sizelimit=$EXT_SIZE ext-work.img mnt && change_one_percent changed.list && umount mnt
lvm_assemble_lv rhel-work.img "$P2" rhel root root.fs && mount -o loop,nouuid root.fs mnt &&
	change_one_percent changed.list && umount mnt && lvm_disassemble_lv rhel-work.img "$P2" rhel root root.fs && rm root.fs
echo "incremental after changing 1% of the files ($(wc -l <changed.list)):"
timed ext4-incr "true" rawkit-lanfree backup repo-e ext-work.img --name g -q
timed xfs-lvm-incr "true" rawkit-lanfree backup repo-x rhel-work.img --name g -q

echo "one personalized clone:"
timed rawkit-clone "rm -f out-rawkit.img" rawkit-clone -q --hostname web01 rhel-guest.img out-rawkit.img || true
sysprep_ok=0
if command -v virt-sysprep >/dev/null; then
	REPEAT=1 timed cp-sysprep "rm -f out-sysprep.img" sh -c 'cp --sparse=always rhel-guest.img out-sysprep.img &&
		virt-sysprep -q -a out-sysprep.img --hostname web01 >/dev/null' && sysprep_ok=1
fi
rm -f out-rawkit.img out-sysprep.img

echo "ratios (XFS in LVM / ext4; target <= 1.3):"
echo "  full:        $(ratio xfs-lvm-full ext4-full)"
echo "  incremental: $(ratio xfs-lvm-incr ext4-incr)"
if [ -n "${SECONDS_OF[rawkit-clone]:-}" ] && [ "$sysprep_ok" = 1 ]; then
	echo "clone: cp --sparse + virt-sysprep / rawkit-clone: $(ratio cp-sysprep rawkit-clone)"
fi
echo "peak RSS: full ext4 ${RSS_OF[ext4-full]} KiB, XFS ${RSS_OF[xfs-lvm-full]} KiB"
