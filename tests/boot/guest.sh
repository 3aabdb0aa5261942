# guest.sh --- a small bootable Debian guest made from this machine's own
# packages (sourced by the boot tests, after tap.sh and fixtures.sh)
#
# make_guest_tree DIR: the files of initramfs-tools and everything it
# depends on (dpkg -L of the installed dependency closure: ~80 MB), this
# machine's kernel and modules, an initramfs-tools configuration that lists
# its modules (MODULES=list: quick to build), and /sbin/rawkit-marker, an
# init that prints RAWKIT-BOOT-OK and powers the machine off.
make_guest_tree() {
	local dir=$1 pkgs
	pkgs=$(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances initramfs-tools zstd gzip grep sed findutils mawk libc-bin bash coreutils dash \
		e2fsprogs util-linux 2>/dev/null |
		grep -v '^ ' | grep -v '<' | sort -u)
	mkdir -p "$dir/usr/bin" "$dir/usr/sbin" "$dir/usr/lib" "$dir/usr/lib64"
	# merged /usr, as on the host: /bin and friends are links
	for l in bin sbin lib lib64; do
		[ -L "/$l" ] && ln -sfn "$(readlink "/$l")" "$dir/$l"
	done
	for p in $pkgs; do dpkg -L "$p" 2>/dev/null; done | sort -u | while read -r f; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		[ -d "$f" ] && [ ! -L "$f" ] && { mkdir -p "$dir$f"; continue; }
		mkdir -p "$dir$(dirname "$f")" && cp -a "$f" "$dir$f"
	done
	cp -a /etc/passwd /etc/group "$dir/etc/" 2>/dev/null
	mkdir -p "$dir/usr/lib/modules" "$dir/boot" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/run" "$dir/tmp" \
		"$dir/var/tmp" "$dir/var/lib/initramfs-tools" "$dir/etc/initramfs-tools/conf.d"
	cp -a "/usr/lib/modules/$KVER" "$dir/usr/lib/modules/"
	cp "/boot/vmlinuz-$KVER" "/boot/config-$KVER" "/boot/System.map-$KVER" "$dir/boot/"
	cp -a /etc/initramfs-tools/. "$dir/etc/initramfs-tools/"
	sed -i 's/^MODULES=.*/MODULES=list/' "$dir/etc/initramfs-tools/initramfs.conf"
	printf 'ext4\n' >"$dir/etc/initramfs-tools/modules"
	cat >"$dir/sbin/rawkit-marker" <<-'M'
	#!/bin/sh
	echo "RAWKIT-BOOT-OK $(tr ' ' '\n' </proc/cmdline | grep '^root=')"
	echo o >/proc/sysrq-trigger
	sleep 30
	M
	chmod 755 "$dir/sbin/rawkit-marker"
}

# boot_disk IMG BUS: boot the guest's own kernel and initramfs (taken from
# the image) with qemu (TCG), the disk on BUS (virtio or ahci), the kernel
# command line from its grub.cfg plus init=/sbin/rawkit-marker.  Prints
# the console.
boot_disk() {
	local img=$1 bus=$2 off=$3 args drive
	debugfs -R "dump /boot/vmlinuz-$KVER $SCRATCH/.vmlinuz" "$img?offset=$off" 2>/dev/null
	debugfs -R "dump /boot/initrd.img-$KVER $SCRATCH/.initrd" "$img?offset=$off" 2>/dev/null
	args=$(debugfs -R "cat /boot/grub/grub.cfg" "$img?offset=$off" 2>/dev/null | awk '$1 == "linux" { $1 = ""; $2 = ""; print; exit }')
	if [ "$bus" = ahci ]; then
		drive="-device ahci,id=ahci0 -drive file=$img,format=raw,if=none,id=d0 -device ide-hd,drive=d0,bus=ahci0.0"
	else
		drive="-drive file=$img,format=raw,if=virtio"
	fi
	# shellcheck disable=SC2086
	timeout 600 qemu-system-x86_64 -machine accel=tcg -m 1024 -nographic -no-reboot -serial mon:stdio \
		-kernel "$SCRATCH/.vmlinuz" -initrd "$SCRATCH/.initrd" \
		-append "$args init=/sbin/rawkit-marker console=ttyS0 panic=-1 rootdelay=20" $drive </dev/null 2>&1
}

# boot_requirements: skip the file unless this machine can run a boot test;
# libguestfs under TCG unless told otherwise (KVM hangs on stock kernels here).
boot_requirements() {
	is_root || skip_all "needs root (loop devices, libguestfs)"
	command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86 is not installed"
	[ -n "$KVER" ] && [ -f "/boot/vmlinuz-$KVER" ] || skip_all "no kernel in /boot (linux-image-amd64)"
	export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
	export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
}

# make_guest_initrd DIR [dracut]: the guest's initramfs in DIR/boot, made
# by this machine's mkinitramfs from the guest's own initramfs-tools
# configuration (MODULES=list: ext4 alone, so neither the virtio nor the
# AHCI drivers): what update-initramfs makes on a physical server whose
# configuration lists its modules.  With "dracut": by this machine's
# dracut (dracut-core), every storage driver but virtio's.
make_guest_initrd() {
	local dir=$1 out="$1/boot/initrd.img-$KVER"
	if [ "${2:-}" = dracut ]; then
		dracut -N -f --kver "$KVER" -m "base rootfs-block kernel-modules" \
			--omit-drivers "virtio_blk virtio_scsi virtio_pci virtio_net" "$out" >/dev/null 2>&1
	else
		PATH=$PATH:/usr/sbin:/sbin mkinitramfs -d "$dir/etc/initramfs-tools" -o "$out" "$KVER" >/dev/null 2>&1
	fi
}
