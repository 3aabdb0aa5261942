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
	chattr -R -i -a "$SCRATCH" 2>/dev/null
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

# mount_part DISK N DIR [OPTIONS]: loop-mount partition N (root only)
mount_part() {
	local disk=$1 n=$2 dir=$3 opts=${4:-rw}
	mkdir -p "$dir"
	mount -o "loop,$opts,offset=$(part_start "$disk" "$n"),sizelimit=$(part_size "$disk" "$n")" "$disk" "$dir"
}

# make_torture DIR: every kind of metadata a restore must bring back (root
# only: owners, devices, trusted.*/security.* attributes, inode flags).
make_torture() {
	local d=$1 deep i
	mkdir -p "$d/etc" "$d/bin" "$d/dev" "$d/srv/www" "$d/tmp" "$d/acl" "$d/names"
	echo "web01" >"$d/etc/hostname"
	head -c 3000000 /dev/urandom >"$d/srv/www/big.bin"
	: >"$d/srv/www/empty"
	printf 'A' | dd of="$d/srv/www/sparse" bs=1 seek=1048576 status=none
	printf 'B' | dd of="$d/srv/www/sparse" bs=1 seek=8388608 conv=notrunc status=none
	truncate -s 16M "$d/srv/www/sparse"
	cp /bin/true "$d/bin/suid" && chmod 4755 "$d/bin/suid"
	cp /bin/true "$d/bin/sgid" && chmod 2711 "$d/bin/sgid"
	chmod 1777 "$d/tmp"
	echo owned >"$d/srv/owned" && chown 1234:5678 "$d/srv/owned"
	touch -h -d '2019-05-06 07:08:09.123456789' "$d/etc/hostname"
	ln -s ../etc/hostname "$d/srv/link"
	ln -s /etc/passwd "$d/srv/abs-link"
	ln -s ../../../../../../../etc/shadow "$d/srv/escape-link"
	ln -s "nowhere/$(printf 'x%.0s' $(seq 1 200))" "$d/srv/dangling-long"
	mknod "$d/dev/null" c 1 3
	mknod "$d/dev/sda" b 8 0
	mkfifo "$d/dev/fifo"
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$d/dev/sock"
	echo linked >"$d/srv/hard1" && ln "$d/srv/hard1" "$d/srv/hard2" && ln "$d/srv/hard1" "$d/etc/hard3"
	setfattr -n user.comment -v "a comment" "$d/etc/hostname"
	setfattr -n user.bin -v 0x0001fffe "$d/etc/hostname"
	setfattr -n trusted.secret -v t "$d/srv/owned"
	setfattr -n security.selinux -v "system_u:object_r:httpd_sys_content_t:s0" "$d/srv/www/big.bin"
	setfacl -m u:1234:rwx,g:5678:r-x "$d/acl"
	setfacl -d -m u:1234:rwx "$d/acl"
	echo acl >"$d/acl/file" && setfacl -m u:4321:r-- "$d/acl/file"
	echo imm >"$d/etc/immutable" && chattr +i "$d/etc/immutable"
	echo app >"$d/etc/append" && chattr +a "$d/etc/append"
	echo nl >"$d/names/new
line"
	echo bad >"$d/names/$(printf 'bad\377\376utf8')"
	echo long >"$d/names/$(printf 'L%.0s' $(seq 1 255))"
	echo uni >"$d/names/$(printf 'caf\303\251 \346\227\245\346\234\254 \360\237\230\200')"
	echo dash >"$d/names/-rf"
	echo sp >"$d/names/ with  spaces "
	# deeper than PATH_MAX
	deep="$d/deep"
	mkdir -p "$deep"
	(cd "$deep" && for i in $(seq 1 90); do mkdir "$(printf 'd%02d_%.0s' "$i" $(seq 1 1))$(printf 'x%.0s' $(seq 1 45))" && cd d*; done && echo bottom >bottom.txt)
}

# make_golden DISK [gpt|dos]: a small Linux-like golden guest disk.
#   p1 ext4 root (metadata_csum) with /etc/fstab naming every volume by UUID,
#      by PARTUUID, by device and by label, grub.cfg, /etc/default/grub with
#      resume=, machine-id, SSH host keys, netplan + udev MAC pinning, logs,
#      histories, tmp files, DHCP leases, a random seed, SELinux labels;
#   p2 swap; p3 NTFS data.
# Sets ROOT_UUID SWAP_UUID NTFS_SERIAL PARTUUID1 O1 O2 O3 S1 S3.
make_golden() {
	local disk=$1 label=${2:-gpt} r="$SCRATCH/.golden-root" mnt="$SCRATCH/.golden-ntfs"
	if [ "$label" = gpt ]; then
		mkdisk "$disk" 200M <<-'S' || return 1
		label: gpt
		start=2048, size=96M, type=L
		size=16M, type=S
		size=40M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
		S
	else
		mkdisk "$disk" 200M <<-'S' || return 1
		label: dos
		start=2048, size=96M, type=83
		size=16M, type=82
		size=40M, type=7
		S
	fi
	O1=$(part_start "$disk" 1) S1=$(part_size "$disk" 1)
	O2=$(part_start "$disk" 2) O3=$(part_start "$disk" 3) S3=$(part_size "$disk" 3)
	SWAP_UUID=$(cat /proc/sys/kernel/random/uuid) ROOT_UUID=$(cat /proc/sys/kernel/random/uuid)
	put_fs swap "$disk" 2 -U "$SWAP_UUID" || return 1
	mkdir -p "$SCRATCH/.ntfs-src/data" && echo ntfs-data >"$SCRATCH/.ntfs-src/data/hello.txt"
	put_ntfs_tree "$disk" 3 "$SCRATCH/.ntfs-src" || return 1
	NTFS_SERIAL=$(blkid -p -o value -s UUID -O "$O3" "$disk")
	PARTUUID1=$(sfdisk -J "$disk" | python3 -c '
import json, sys
t = json.load(sys.stdin)["partitiontable"]
print(t["partitions"][0].get("uuid") or "%s-01" % t["id"][2:])')
	rm -rf "$r"
	mkdir -p "$r/etc/ssh" "$r/etc/netplan" "$r/etc/udev/rules.d" "$r/etc/default" "$r/boot/grub" \
		"$r/var/log/journal/0123" "$r/var/log/apt" "$r/root/.ssh" "$r/tmp/sub" "$r/var/tmp" "$r/var/lib/dhcp" \
		"$r/var/lib/systemd" "$r/var/lib/dbus" "$r/usr/share/doc" "$r/home/alice"
	echo golden >"$r/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tgolden.example.com golden\n::1\tlocalhost ip6-localhost\n' >"$r/etc/hosts"
	cat >"$r/etc/fstab" <<-F
	# <fs> <mount> <type> <options> <dump> <pass>
	UUID=$ROOT_UUID / ext4 errors=remount-ro 0 1
	UUID=$SWAP_UUID none swap sw 0 0
	UUID=$NTFS_SERIAL /data ntfs-3g defaults 0 0
	PARTUUID=$PARTUUID1 /alt ext4 noauto 0 0
	/dev/sda1 /by-device ext4 noauto 0 0
	LABEL=backup /backup ext4 noauto 0 0
	F
	printf 'ID=debian\nNAME="Debian GNU/Linux"\n' >"$r/etc/os-release"
	printf '0123456789abcdef0123456789abcdef\n' >"$r/etc/machine-id"
	cp "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"
	printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet resume=UUID=%s"\n' "$SWAP_UUID" >"$r/etc/default/grub"
	cat >"$r/boot/grub/grub.cfg" <<-G
	search --no-floppy --fs-uuid --set=root $ROOT_UUID
	menuentry 'Debian' {
	  search --no-floppy --fs-uuid --set=root ${ROOT_UUID^^}
	  linux /boot/vmlinuz root=UUID=$ROOT_UUID ro resume=UUID=$SWAP_UUID
	}
	menuentry 'Debian (by PARTUUID)' {
	  linux /boot/vmlinuz root=PARTUUID=$PARTUUID1 ro
	}
	G
	ssh-keygen -q -t ed25519 -N '' -C root@golden -f "$r/etc/ssh/ssh_host_ed25519_key"
	ssh-keygen -q -t ecdsa -N '' -C root@golden -f "$r/etc/ssh/ssh_host_ecdsa_key"
	chmod 600 "$r"/etc/ssh/*_key
	echo 'PermitRootLogin no' >"$r/etc/ssh/sshd_config"
	cat >"$r/etc/netplan/01-netcfg.yaml" <<-N
	network:
	  version: 2
	  ethernets:
	    lan0:
	      match:
	        macaddress: 52:54:00:12:34:56
	      set-name: lan0
	      dhcp4: true
	N
	echo 'SUBSYSTEM=="net", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"' \
		>"$r/etc/udev/rules.d/70-persistent-net.rules"
	echo 'keep me' >"$r/etc/udev/rules.d/99-local.rules"
	echo 'log line' >"$r/var/log/syslog"
	echo x >"$r/var/log/apt/history.log"
	echo j >"$r/var/log/journal/0123/system.journal"
	echo 'ls -la' >"$r/root/.bash_history"
	echo ls >"$r/home/alice/.bash_history"
	echo 'alias ll=ls' >"$r/home/alice/.bashrc"
	echo junk >"$r/tmp/junk" && echo junk >"$r/tmp/sub/junk2" && echo junk >"$r/var/tmp/junk3"
	echo junk >"$r/tmp/$(printf 'esc\033[31mred')" # a name that would colour a terminal
	echo 'lease {}' >"$r/var/lib/dhcp/dhclient.eth0.leases"
	head -c 512 /dev/urandom >"$r/var/lib/systemd/random-seed"
	echo known >"$r/root/.ssh/known_hosts"
	head -c 3000000 /dev/urandom >"$r/usr/share/doc/blob.bin"
	seq 1 20000 >"$r/usr/share/doc/numbers.txt"
	mkfs.ext4 -q -F -U "$ROOT_UUID" -E "offset=$O1" -d "$r" "$disk" "$((S1 / 1024))k" >/dev/null || return 1
	debugfs -w -R "ea_set /etc/hostname security.selinux system_u:object_r:etc_t:s0" "$disk?offset=$O1" 2>/dev/null
	debugfs -w -R "ea_set /root/.ssh/known_hosts security.selinux system_u:object_r:ssh_home_t:s0" \
		"$disk?offset=$O1" 2>/dev/null
	rm -rf "$r" "$SCRATCH/.ntfs-src"
}

# ext_cat DISK OFFSET PATH: a file's contents through debugfs
ext_cat() { debugfs -R "cat $3" "$1?offset=$2" 2>/dev/null; }

# KVER: the kernel whose modules the test guests carry (this machine's).
KVER=$(ls /lib/modules 2>/dev/null | sort -V | tail -n1)

# make_initrd OUT [virtio|physical]: an initramfs as distributions make
# them: an uncompressed early cpio (microcode) and a zstd cpio with modules
# (ahci always; the virtio disk drivers with "virtio", nvme and sd_mod with
# "physical").
make_initrd() {
	local out=$1 with=${2:-} d="$SCRATCH/.initrd" m
	rm -rf "$d" && mkdir -p "$d/early/kernel/x86/microcode" "$d/main/bin"
	m="$d/main/usr/lib/modules/$KVER/kernel/drivers"
	mkdir -p "$m/ata" "$m/block" "$m/scsi" "$m/virtio"
	echo microcode >"$d/early/kernel/x86/microcode/GenuineIntel.bin"
	cp "/lib/modules/$KVER/kernel/drivers/ata/ahci.ko"* "$m/ata/"
	if [ "$with" = physical ]; then
		mkdir -p "$m/nvme/host"
		cp "/lib/modules/$KVER/kernel/drivers/nvme/host/nvme.ko"* "$m/nvme/host/"
		cp "/lib/modules/$KVER/kernel/drivers/scsi/sd_mod.ko"* "$m/scsi/"
	fi
	if [ "$with" = virtio ]; then
		cp "/lib/modules/$KVER/kernel/drivers/block/virtio_blk.ko"* "$m/block/"
		cp "/lib/modules/$KVER/kernel/drivers/scsi/virtio_scsi.ko"* "$m/scsi/"
		cp "/lib/modules/$KVER/kernel/drivers/virtio/virtio_pci.ko"* "$m/virtio/"
	fi
	(cd "$d/early" && find . | cpio -o -H newc --quiet) >"$out"
	(cd "$d/main" && find . | cpio -o -H newc --quiet | zstd -q) >>"$out"
	rm -rf "$d"
}

# make_physical DISK [dos|gpt] [virtio]: a "physical" Linux server disk.
#   dos: p1 ext4 root, p2 swap
#   gpt: p1 BIOS boot (random bytes), p2 ESP (vfat), p3 root, p4 swap
# The root's fstab, grub.cfg, /etc/default/grub and resume settings name
# /dev/sdaN; a persistent-net rule and netplan pin eth0 to a MAC; /boot
# holds this machine's kernel and an initramfs (with the virtio drivers
# only with "virtio").  Sets ROOTN SWAPN (partition numbers), RO (root
# offset), KVER.
make_physical() {
	local disk=$1 label=${2:-dos} with=${3:-} r="$SCRATCH/.phys-root" dev=sda
	rm -rf "$r"
	mkdir -p "$r/etc/default" "$r/etc/udev/rules.d" "$r/etc/netplan" "$r/etc/initramfs-tools/conf.d" \
		"$r/boot/grub" "$r/lib/modules/$KVER" "$r/srv/data" "$r/sbin"
	if [ "$label" = gpt ]; then
		mkdisk "$disk" 300M <<-'S' || return 1
		label: gpt
		start=2048, size=1M, type=21686148-6449-6E6F-744E-656564454649
		size=32M, type=U
		size=200M, type=L
		size=40M, type=S
		S
		ROOTN=3 SWAPN=4
	else
		mkdisk "$disk" 300M <<-'S' || return 1
		label: dos
		start=2048, size=200M, type=83, bootable
		size=40M, type=82
		S
		ROOTN=1 SWAPN=2
	fi
	cat >"$r/etc/fstab" <<-F
	# /etc/fstab of a physical server
	/dev/$dev$ROOTN / ext4 errors=remount-ro 0 1
	/dev/$dev$SWAPN none swap sw 0 0
	/dev/sdb1 /srv/data ext4 defaults,nofail 0 2
	LABEL=backup /backup ext4 noauto 0 0
	F
	printf 'ID=debian\nVERSION_ID=12\n' >"$r/etc/os-release"
	printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="resume=/dev/%s%s"\n' "$dev" "$SWAPN" >"$r/etc/default/grub"
	printf 'RESUME=/dev/%s%s\n' "$dev" "$SWAPN" >"$r/etc/initramfs-tools/conf.d/resume"
	cat >"$r/boot/grub/grub.cfg" <<-G
	set root='hd0,msdos1'
	menuentry 'Debian' {
	  linux /boot/vmlinuz-$KVER root=/dev/$dev$ROOTN ro resume=/dev/$dev$SWAPN quiet
	  initrd /boot/initrd.img-$KVER
	}
	G
	echo 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="00:11:22:33:44:55", NAME="eth0"' \
		>"$r/etc/udev/rules.d/70-persistent-net.rules"
	printf 'network:\n  version: 2\n  ethernets:\n    eth0:\n      match:\n        macaddress: 00:11:22:33:44:55\n      set-name: eth0\n      dhcp4: true\n' \
		>"$r/etc/netplan/01-eth0.yaml"
	cp "/lib/modules/$KVER/modules.builtin" "$r/lib/modules/$KVER/"
	cp "/boot/vmlinuz-$KVER" "$r/boot/" 2>/dev/null || head -c 4M /dev/urandom >"$r/boot/vmlinuz-$KVER"
	make_initrd "$r/boot/initrd.img-$KVER" "$with"
	# grubenv: a block of exactly 1024 bytes (Fedora/RHEL 8 keep kernelopts= here)
	{ printf '# GRUB Environment Block\nkernelopts=root=/dev/%s%s ro\n' "$dev" "$ROOTN"; head -c 1024 /dev/zero | tr '\0' '#'; } |
		head -c 1024 >"$r/boot/grub/grubenv"
	head -c 2000000 /dev/urandom >"$r/srv/data/blob"
	seq 1 50000 >"$r/srv/data/numbers"
	RO=$(part_start "$disk" "$ROOTN")
	mkfs.ext4 -q -F -E "offset=$RO" -d "$r" "$disk" "$(($(part_size "$disk" "$ROOTN") / 1024))k" >/dev/null || return 1
	put_fs swap "$disk" "$SWAPN" || return 1
	if [ "$label" = gpt ]; then
		# boot areas: grub's core image in the BIOS boot partition and the MBR gap, an ESP
		dd if=/dev/urandom of="$disk" bs=512 seek=40 count=2000 conv=notrunc status=none
		dd if=/dev/urandom of="$disk" bs=1M seek=1 count=1 conv=notrunc status=none
		put_fs vfat "$disk" 2 || return 1
	else
		dd if=/dev/urandom of="$disk" bs=512 seek=1 count=2000 conv=notrunc status=none
	fi
	rm -rf "$r"
}

# make_virtual DISK [gpt|dos]: a guest disk whose fstab and GRUB name
# /dev/vdaN; its initramfs has the physical storage drivers.
#   gpt: p1 swap, p2 ext4 root (last)
#   dos: p1 ext4 root, p2 swap, p3 NTFS data (last)
# Sets ROOTN, RO (root offset), LASTN.
make_virtual() {
	local disk=$1 label=${2:-gpt} r="$SCRATCH/.virt-root" swapn
	rm -rf "$r"
	mkdir -p "$r/etc/default" "$r/boot/grub" "$r/lib/modules/$KVER" "$r/srv/data" "$r/srv/data/sub"
	if [ "$label" = gpt ]; then
		mkdisk "$disk" 300M <<-'S' || return 1
		label: gpt
		start=2048, size=32M, type=S
		size=200M, type=L
		S
		ROOTN=2 swapn=1 LASTN=2
	else
		mkdisk "$disk" 300M <<-'S' || return 1
		label: dos
		start=2048, size=160M, type=83
		size=32M, type=82
		size=80M, type=7
		S
		ROOTN=1 swapn=2 LASTN=3
	fi
	printf '/dev/vda%s / ext4 errors=remount-ro 0 1\n/dev/vda%s none swap sw 0 0\n/dev/xvdb1 /srv/other ext4 nofail 0 2\n' \
		"$ROOTN" "$swapn" >"$r/etc/fstab"
	printf 'ID=debian\n' >"$r/etc/os-release"
	printf 'linux /boot/vmlinuz-%s root=/dev/vda%s ro resume=/dev/vda%s\n' "$KVER" "$ROOTN" "$swapn" >"$r/boot/grub/grub.cfg"
	cp "/lib/modules/$KVER/modules.builtin" "$r/lib/modules/$KVER/"
	head -c 4M /dev/urandom >"$r/boot/vmlinuz-$KVER"
	make_initrd "$r/boot/initrd.img-$KVER" physical
	head -c 12000000 /dev/urandom >"$r/srv/data/blob"
	for i in $(seq 1 200); do echo "file $i" >"$r/srv/data/sub/f$i"; done
	ln -s ../data/blob "$r/srv/data/link"
	RO=$(part_start "$disk" "$ROOTN")
	mkfs.ext4 -q -F -E "offset=$RO" -d "$r" "$disk" "$(($(part_size "$disk" "$ROOTN") / 1024))k" >/dev/null || return 1
	put_fs swap "$disk" "$swapn" || return 1
	if [ "$label" = dos ]; then
		mkdir -p "$SCRATCH/.ntfs-data/docs" && head -c 20000000 /dev/urandom >"$SCRATCH/.ntfs-data/docs/big.bin"
		echo hello >"$SCRATCH/.ntfs-data/docs/hello.txt"
		put_ntfs_tree "$disk" 3 "$SCRATCH/.ntfs-data" || return 1
		rm -rf "$SCRATCH/.ntfs-data"
	fi
	rm -rf "$r"
}
