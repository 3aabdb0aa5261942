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

# ---- driver injection (issue #15): the same disk, its initramfs without
# virtio (and without ahci/nvme), this machine's full module tree in the
# guest: p2v and then v2p converting it, injection vs the appliance, vs
# qemu-img convert of the same disk.
if [ "$(cat phys-nv.stamp 2>/dev/null)" != "1/$(cat phys.stamp)" ]; then
	echo "bench: making phys-nv.img (mkinitramfs MODULES=list: ext4 only; /usr/lib/modules/$KVER whole)"
	cp --sparse=always phys.img phys-nv.img
	mkdir -p mnt-nv && mount -o loop,offset=1048576 phys-nv.img mnt-nv
	mkdir -p mnt-nv/usr/lib/modules && cp -a "/usr/lib/modules/$KVER" mnt-nv/usr/lib/modules/
	rm -rf conf-nv && cp -a /etc/initramfs-tools conf-nv && sed -i 's/^MODULES=.*/MODULES=list/' conf-nv/initramfs.conf
	printf 'ext4\n' >conf-nv/modules
	PATH=$PATH:/usr/sbin mkinitramfs -d conf-nv -o "mnt-nv/boot/initrd.img-$KVER" "$KVER" >/dev/null 2>&1
	umount mnt-nv && rm -rf conf-nv
	echo "1/$(cat phys.stamp)" >phys-nv.stamp
fi
nv=$(losetup -r -f --show phys-nv.img)
trap 'losetup -d "$src" "$part" "$part_out" "$nv"; rm -f "$BENCH_DIR"/out-*.img' EXIT
echo
echo "driver injection: $nv (initramfs without virtio, ahci, nvme), capture + conversion (${REPEAT} runs each):"
timed p2v-inject "rm -f out-inj.img" rawkit-p2v -q "$nv" out-inj.img
timed qemu-img-nv "rm -f out-qemu.img" qemu-img convert -f raw -O raw "$nv" out-qemu.img
rm -f out-inj.img
rawkit-p2v --json "$nv" out-inj.img >inj.json 2>inj.err || true
inj=$(python3 -c 'import json; d=json.load(open("inj.json")); print("%.3f" % (d["convert_ns"] / 1e9)); print([c for c in d["changes"] if "injected" in c])')
saved=$REPEAT
REPEAT=1 timed p2v-appliance "rm -f out-app.img" rawkit-p2v -q --rebuild=appliance "$nv" out-app.img
REPEAT=$saved
rm -f out-app.img out-qemu.img
echo "v2p of that guest onto an 8 GiB disk (a file), ahci, sd_mod, nvme injected (${REPEAT} runs each):"
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
echo "p2v: qemu-img convert / rawkit-p2v (capture + injection): $(ratio qemu-img-nv p2v-inject) (target >= 1.0, i.e. rawkit <= 1.0x qemu-img)"
echo "p2v: conversion phase with injection: ${inj%%$'\n'*} s (target < 1 s); injected: ${inj#*$'\n'}"
echo "p2v: --rebuild=appliance / inject: $(ratio p2v-appliance p2v-inject)"
echo "v2p: qemu-img convert -n / rawkit-v2p (deploy + grow + injection): $(ratio qemu-img-v2p v2p-inject)"
echo "v2p: conversion phase with injection: $v2pconv s (target < 1 s)"
echo "v2p: --rebuild=appliance / inject: $(ratio v2p-appliance v2p-inject)"
