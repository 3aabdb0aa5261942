#!/bin/bash
# p2v.sh --- rawkit-p2v capture against partclone + dd, dd conv=sparse and
# qemu-img convert, all reading a "physical" disk through a read-only loop
# device (a block device: no holes to skip), cold cache, synced.
#
# The disk is clone.sh's golden disk (5 GiB GPT, 2.2 GB used in ext4 with
# 1.2 GB freed-but-allocated, 256 MiB swap), made "physical": fstab and
# grub.cfg name /dev/sda1, /boot holds this machine's kernel and initramfs.
BENCH_SCRIPTS=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_SCRIPTS/lib.sh"
cd "$BENCH_DIR"

is_root || { echo "bench/p2v.sh: needs root (loop devices, drop_caches)"; exit 1; }
[ -f golden.img ] || RAWKIT_BIN=$RAWKIT_BIN "$BENCH_SCRIPTS/clone.sh" >/dev/null
KVER=$(ls /lib/modules | sort -V | tail -n1)
if [ "$(cat phys.stamp 2>/dev/null)" != "1/$(cat golden.stamp)" ]; then
	echo "bench: making phys.img from golden.img"
	cp --sparse=always golden.img phys.img
	printf '/dev/sda1 / ext4 errors=remount-ro 0 1\n/dev/sda2 none swap sw 0 0\n' >fstab.phys
	printf 'linux /boot/vmlinuz-%s root=/dev/sda1 ro resume=/dev/sda2\n' "$KVER" >grub.phys
	cat >phys.cmds <<-C
	rm /etc/fstab
	cd /etc
	write $BENCH_DIR/fstab.phys fstab
	rm /boot/grub/grub.cfg
	cd /boot/grub
	write $BENCH_DIR/grub.phys grub.cfg
	cd /boot
	write /boot/vmlinuz-$KVER vmlinuz-$KVER
	write /boot/initrd.img-$KVER initrd.img-$KVER
	mkdir /usr/lib/modules
	mkdir /usr/lib/modules/$KVER
	cd /usr/lib/modules/$KVER
	write /lib/modules/$KVER/modules.builtin modules.builtin
	C
	debugfs -w -f phys.cmds "phys.img?offset=1048576" >/dev/null 2>&1
	rm -f phys.cmds
	rm -f fstab.phys grub.phys
	echo "1/$(cat golden.stamp)" >phys.stamp
fi
used=$(imgfmt-tool used phys.img | awk '/^total/ { print $2 }')
size=$(stat -c %s phys.img)
src=$(losetup -r -f --show phys.img)
part=$(losetup -r -f --show -o 1048576 --sizelimit $((4600 * 1048576)) phys.img)
truncate -s $((4600 * 1048576)) out-part.img
part_out=$(losetup -f --show out-part.img)
trap 'losetup -d "$src" "$part" "$part_out"; rm -f "$BENCH_DIR"/out-*.img' EXIT
echo "source: $src, $(human "$size") disk, $(human "$used") used"
if [ -z "${P2V_INJECTION_ONLY:-}" ]; then

cold
bytes_per_s=$(dd if="$src" of=/dev/null bs=8M skip=1 count=256 2>&1 | tail -n1 | awk '{ print int($1 / $(NF - 3)) }')
echo "sequential read (cold dd, 2 GiB): $(human "$bytes_per_s")/s"

echo "capture (${REPEAT} runs each):"
timed rawkit "rm -f out-rawkit.img" rawkit-p2v -q --no-convert "$src" out-rawkit.img
timed partclone+dd "true" sh -c "dd if=$src of=out-pc-rest.img bs=1M count=1 status=none &&
	partclone.ext4 -q -b -s $part -o $part_out &&
	dd if=$src of=out-pc-rest.img bs=1M skip=4601 seek=4601 conv=notrunc status=none"
timed dd-sparse "rm -f out-dd.img" dd if="$src" of=out-dd.img bs=8M conv=sparse status=none
timed qemu-img "rm -f out-qemu.img" qemu-img convert -f raw -O raw "$src" out-qemu.img

echo "conversion (the initramfs already has virtio):"
rm -f out-conv.img
rawkit-p2v --json "$src" out-conv.img >p2v.json 2>p2v.err || true
conv=$(python3 -c 'import json; d=json.load(open("p2v.json")); print("%.3f %s" % (d["convert_ns"] / 1e9, d["not_done"]))')
ideal=$(echo "scale=3; $used / $bytes_per_s" | bc -l)
echo
echo "ratios (other tool's time / rawkit's time; > 1 means rawkit is faster):"
echo "  partclone.ext4 -b + dd of the rest  $(ratio partclone+dd rawkit)"
echo "  dd conv=sparse                      $(ratio dd-sparse rawkit)"
echo "  qemu-img convert                    $(ratio qemu-img rawkit)"
echo "rawkit vs reading the used bytes once at $(human "$bytes_per_s")/s (${ideal} s): $(echo "scale=2; ${SECONDS_OF[rawkit]} / $ideal" | bc -l)x (target <= 1.2)"
echo "conversion: ${conv% *} s (target < 1 s when the initramfs has the drivers); not done: ${conv#* }"
fi # P2V_INJECTION_ONLY

# ---- driver injection (issue #15): a Debian guest that boots (the boot
# tests' tree: initramfs-tools and what it needs, this machine's kernel and
# its whole module tree), its initramfs made by mkinitramfs with
# MODULES=list (ext4 alone: no virtio, ahci or nvme); fstab and GRUB by
# /dev/sda1.  p2v and then v2p convert it: injection (the default) vs the
# libguestfs appliance running the guest's update-initramfs, vs qemu-img.
TESTS_DIR=$(cd "$BENCH_SCRIPTS/../tests" && pwd)
SCRATCH=$BENCH_DIR/deb-scratch
mkdir -p "$SCRATCH"
. "$TESTS_DIR/lib/fixtures/ptable.sh"
. "$TESTS_DIR/lib/fixtures/fs.sh"
. "$TESTS_DIR/boot/guest.sh"
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
if [ "$(cat deb-guest.stamp 2>/dev/null)" != "1/$KVER" ]; then
	echo "bench: making deb-guest.img (a bootable Debian tree, mkinitramfs MODULES=list: ext4 only)"
	( # the test fixtures' functions, with the shell options the tests run them under
	set +euo pipefail
	rm -rf deb-root deb-guest.img && make_guest_tree deb-root
	printf '/dev/sda1 / ext4 errors=remount-ro 0 1\n/dev/sda2 none swap sw 0 0\n' >deb-root/etc/fstab
	mkdir -p deb-root/boot/grub
	printf "menuentry 'Debian' {\n  linux /boot/vmlinuz-%s root=/dev/sda1 ro quiet\n  initrd /boot/initrd.img-%s\n}\n" \
		"$KVER" "$KVER" >deb-root/boot/grub/grub.cfg
	make_guest_initrd deb-root
	printf 'label: dos\nstart=2048, size=3500M, type=83, bootable\nsize=256M, type=82\n' | mkdisk deb-guest.img 4G
	put_ext4 deb-guest.img 1 -d deb-root && put_fs swap deb-guest.img 2
	)
	rm -rf deb-root
	debugfs -R "stat /boot/initrd.img-$KVER" "deb-guest.img?offset=1048576" 2>/dev/null | grep -q Size ||
		{ echo "bench/p2v.sh: cannot build deb-guest.img" >&2; exit 1; }
	echo "1/$KVER" >deb-guest.stamp
fi
nv=$(losetup -r -f --show deb-guest.img)
trap 'losetup -d "$src" "$part" "$part_out" "$nv"; rm -f "$BENCH_DIR"/out-*.img' EXIT
echo
echo "driver injection: $nv, deb-guest.img ($(human "$(imgfmt-tool used deb-guest.img | awk '/^total/ { print $2 }')") used; initramfs without virtio, ahci, nvme)"
echo "p2v, capture + conversion (${REPEAT} runs each; the appliance once):"
timed p2v-inject "rm -f out-inj.img" rawkit-p2v -q "$nv" out-inj.img
timed qemu-img-nv "rm -f out-qemu.img" qemu-img convert -f raw -O raw "$nv" out-qemu.img
rm -f out-inj.img
rawkit-p2v --json "$nv" out-inj.img >inj.json 2>inj.err || true
inj=$(python3 -c 'import json; d=json.load(open("inj.json")); print("%.3f" % (d["convert_ns"] / 1e9)); print([c for c in d["changes"] if "injected" in c])')
saved=$REPEAT
REPEAT=1 timed p2v-appliance "rm -f out-app.img" rawkit-p2v -q --rebuild=appliance "$nv" out-app.img
REPEAT=$saved
rm -f out-app.img out-qemu.img
echo "v2p of the injected guest onto an 8 GiB disk (a file), ahci, sd_mod, nvme added (${REPEAT} runs each; the appliance once):"
timed v2p-inject "rm -f out-metal.img && truncate -s 8G out-metal.img" \
	rawkit-v2p -q --drivers ahci,sd_mod,nvme out-inj.img out-metal.img
timed qemu-img-v2p "rm -f out-metal.img && truncate -s 8G out-metal.img" \
	qemu-img convert -n -f raw -O raw out-inj.img out-metal.img
rm -f out-metal.img && truncate -s 8G out-metal.img
rawkit-v2p --json --drivers ahci,sd_mod,nvme out-inj.img out-metal.img >v2p-inj.json 2>/dev/null || true
v2pconv=$(python3 -c 'import json; d=json.load(open("v2p-inj.json")); print("%.3f" % (d.get("convert_ns", 0) / 1e9))')
REPEAT=1 timed v2p-appliance "rm -f out-metal.img && truncate -s 8G out-metal.img" \
	rawkit-v2p -q --rebuild=appliance --drivers ahci,sd_mod,nvme out-inj.img out-metal.img
REPEAT=$saved
rm -f out-metal.img
echo
echo "p2v: rawkit-p2v (capture + injection) / qemu-img convert: $(ratio p2v-inject qemu-img-nv)x (target <= 1.0)"
echo "p2v: conversion phase with injection: ${inj%%$'\n'*} s (target < 1 s); ${inj#*$'\n'}"
echo "p2v: --rebuild=appliance / inject: $(ratio p2v-appliance p2v-inject)x"
echo "v2p: rawkit-v2p (deploy + grow + injection) / qemu-img convert -n (no resize): $(ratio v2p-inject qemu-img-v2p)x"
echo "v2p: conversion phase with injection: $v2pconv s (target < 1 s)"
echo "v2p: --rebuild=appliance / inject: $(ratio v2p-appliance v2p-inject)x"
