#!/bin/bash
# clone.sh --- rawkit-clone against cp, cp + virt-sysprep and qemu-img
#
# A generated 5 GiB golden disk (GPT, ext4 root with metadata_csum, a Linux
# /etc with fstab by UUID, grub.cfg, machine-id and SSH host keys, ~2 GB of
# real files from /usr plus data) with >= 1 GB written and then deleted
# (allocated in the image, free in ext4).  Cold cache, synced, median of
# REPEAT; virt-sysprep (TCG here: no usable KVM) runs once.  Then the same
# on an XFS filesystem with reflink=1 made on a loop device.
. "$(dirname "$0")/lib.sh"
cd "$BENCH_DIR"
FREED_MB=${FREED_MB:-1200} DATA_MB=${DATA_MB:-500}
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

make_golden() {
	[ -f golden.img ] && [ "$(cat golden.stamp 2>/dev/null)" = "2/$FREED_MB/$DATA_MB" ] && return
	echo "bench: generating golden.img"
	rm -f golden.img
	truncate -s 5G golden.img
	printf 'label: gpt\nstart=2048, size=4600M, type=linux\nsize=256M, type=swap\n' | sfdisk -q golden.img >/dev/null
	local uuid swap
	uuid=$(cat /proc/sys/kernel/random/uuid) swap=$(cat /proc/sys/kernel/random/uuid)
	mkfs.ext4 -q -F -b 4096 -U "$uuid" -E offset=1048576 golden.img 4600M
	dd if=/dev/zero of=swap.img bs=1M count=256 status=none && mkswap -q -U "$swap" swap.img >/dev/null
	dd if=swap.img of=golden.img bs=1M seek=4601 conv=notrunc,sparse status=none && rm swap.img
	mkdir -p mnt
	mount -o loop,offset=1048576 golden.img mnt
	mkdir -p mnt/etc/ssh mnt/boot/grub mnt/var/log mnt/var/lib/data mnt/usr mnt/root mnt/tmp
	cp -a /usr/share /usr/bin /usr/include /usr/libexec mnt/usr/
	openssl rand -out mnt/var/lib/data/blob $((DATA_MB * 1048576))
	echo golden >mnt/etc/hostname
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tgolden\n' >mnt/etc/hosts
	printf 'UUID=%s / ext4 errors=remount-ro 0 1\nUUID=%s none swap sw 0 0\n' "$uuid" "$swap" >mnt/etc/fstab
	# enough of a Debian system for libguestfs' inspection (virt-sysprep)
	cp /etc/os-release /etc/debian_version mnt/etc/
	ln -s usr/bin mnt/bin && ln -s usr/sbin mnt/sbin && ln -s usr/lib mnt/lib && mkdir -p mnt/usr/sbin mnt/usr/lib
	printf '0123456789abcdef0123456789abcdef\n' >mnt/etc/machine-id
	printf 'linux /vmlinuz root=UUID=%s ro resume=UUID=%s\n' "$uuid" "$swap" >mnt/boot/grub/grub.cfg
	for t in rsa ecdsa ed25519; do ssh-keygen -q -t $t -N '' -f mnt/etc/ssh/ssh_host_${t}_key; done
	echo 'PermitRootLogin no' >mnt/etc/ssh/sshd_config
	seq 1 100000 >mnt/var/log/syslog
	openssl rand -out mnt/freed $((FREED_MB * 1048576))
	sync
	rm mnt/freed
	sync
	umount mnt
	echo "2/$FREED_MB/$DATA_MB" >golden.stamp
}

is_root || { echo "bench/clone.sh: needs root (loop mounts, drop_caches)"; exit 1; }
make_golden
used=$(imgfmt-tool used golden.img | awk '/^total/ { print $2 }')
alloc=$(du -B1 golden.img | cut -f1)
files=$(debugfs -R stats "golden.img?offset=1048576" 2>/dev/null | awk -F: '/^Inode count/ { n = $2 } /^Free inodes/ { f = $2 } END { print n - f }')
echo "golden: $(human "$(stat -c %s golden.img)") image, $(human "$alloc") allocated, $(human "$used") used, $files inodes in use"

trap 'umount "$BENCH_DIR/xfs" 2>/dev/null || true; rm -f "$BENCH_DIR"/out-*.img' EXIT
echo "one personalized clone (${REPEAT} runs each):"
timed rawkit "rm -f out-rawkit.img" rawkit-clone -q --hostname web01 golden.img out-rawkit.img
timed cp-sparse "rm -f out-cp.img" cp --sparse=always golden.img out-cp.img
timed qemu-img "rm -f out-qemu.img" qemu-img convert -f raw -O raw golden.img out-qemu.img
# personalization alone: rawkit's own measure, and in place on a copy
rm -f out-rawkit.img
rawkit-clone --json --hostname web01 golden.img out-rawkit.img >clone.json
pers=$(python3 -c 'import json; t=json.load(open("clone.json"))["targets"][0]; print("%.3f %.3f" % (t["personalize_ns"] / 1e9, t["keys_wait_ns"] / 1e9))')
echo "  personalization inside that clone: ${pers% *} s (of which waiting for ssh-keygen: ${pers#* } s)"
cp --sparse=always golden.img out-inplace.img
timed in-place "true" rawkit-clone -q --in-place --hostname web02 --operations=-ssh-hostkeys out-inplace.img
echo "three clones from one read:"
timed rawkit-3 "rm -f out-r1.img out-r2.img out-r3.img" \
	rawkit-clone -q --hostname 'web%02d' golden.img out-r1.img out-r2.img out-r3.img
rm -f out-r*.img out-qemu.img out-inplace.img
echo "cp --sparse=always + virt-sysprep --hostname (1 run; libguestfs appliance under TCG):"
REPEAT=1 timed cp+virt-sysprep "rm -f out-cp.img" \
	sh -c 'cp --sparse=always golden.img out-cp.img && virt-sysprep -q --format raw -a out-cp.img --hostname web01'
rm -f out-cp.img

# reflink: XFS with reflink=1 on a loop device, golden disk copied in once
echo "on XFS with reflink=1 (loop device):"
mkdir -p xfs
rm -f xfs.bin && truncate -s 12G xfs.bin && mkfs.xfs -q -m reflink=1 xfs.bin && mount -o loop xfs.bin xfs
cp --sparse=always golden.img xfs/golden.img
timed rawkit-reflink "rm -f xfs/out.img" rawkit-clone -q --hostname web01 xfs/golden.img xfs/out.img
timed rawkit-reflink-nokeys "rm -f xfs/out.img" rawkit-clone -q --hostname web01 --operations=-ssh-hostkeys \
	xfs/golden.img xfs/out.img
rm -f xfs/out.img
rawkit-clone --json --hostname web01 xfs/golden.img xfs/out.img >reflink.json
read -r method rpers rkeys < <(python3 -c 'import json; t=json.load(open("reflink.json"))["targets"][0]; print(t["method"], t["personalize_ns"] / 1e9, t["keys_wait_ns"] / 1e9)')
timed cp-reflink "rm -f xfs/cp.img" cp --reflink=always xfs/golden.img xfs/cp.img
umount xfs && rm -f xfs.bin

echo
echo "ratios (other tool's time / rawkit's time; > 1 means rawkit is faster):"
echo "  cp --sparse=always               $(ratio cp-sparse rawkit)   (target: rawkit <= 1.2x cp, i.e. ratio >= 0.83)"
echo "  qemu-img convert                 $(ratio qemu-img rawkit)"
echo "  cp + virt-sysprep --hostname     $(ratio cp+virt-sysprep rawkit)   (target >= 10)"
echo "  3 clones vs 3 x one clone        $(echo "scale=2; 3 * ${SECONDS_OF[rawkit]} / ${SECONDS_OF[rawkit-3]}" | bc -l)"
echo "reflink clone on XFS: ${SECONDS_OF[rawkit-reflink]} s, method $method (target < 0.5 s whatever the size);"
echo "  one warm run: personalization $rpers s, of which waiting for ssh-keygen (RSA-3072 cannot hide behind a copy) $rkeys s;"
echo "  without ssh-hostkeys: ${SECONDS_OF[rawkit-reflink-nokeys]} s; cp --reflink=always ${SECONDS_OF[cp-reflink]} s (no personalization)"
echo "personalization: ${pers% *} s inside a clone (target < 0.05 s), in place ${SECONDS_OF[in-place]} s with process start and cold cache"
