#!/bin/sh
# seed.sh --- make a small seed corpus for a fuzz target (idempotent)
# usage: seed.sh TARGET DIR
set -eu
dir=$2
[ -n "$(ls -A "$dir" 2>/dev/null)" ] && exit 0
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# fat_files IMG[@@OFFSET]: what mtools writes on an ESP: long names, a
# subdirectory, a fragmented file (a hole refilled), hidden and read-only
fat_files() {
	command -v mcopy >/dev/null || return 0
	export MTOOLS_SKIP_CHECK=1
	head -c 5000 /dev/zero | tr '\0' a >"$tmp/fat-a"
	head -c 700 /dev/zero | tr '\0' b >"$tmp/fat-b"
	head -c 9000 /dev/zero | tr '\0' c >"$tmp/fat-c"
	echo grub >"$tmp/fat-grub"
	mmd -i "$1" ::/EFI "::/EFI/A Long Directory Name" &&
	mcopy -i "$1" "$tmp/fat-grub" "::/EFI/A Long Directory Name/grubx64.efi" &&
	mcopy -i "$1" "$tmp/fat-a" ::/a && mcopy -i "$1" "$tmp/fat-b" ::/b && mdel -i "$1" ::/a &&
	mcopy -i "$1" "$tmp/fat-c" "::/Fragmented File.bin" && mattrib -i "$1" +h +r ::/b
}
if [ "$1" = fuzz_vfat ]; then
	# FAT volumes without a partition table: FAT12, FAT16 with fat_files,
	# an empty FAT32 with few clusters
	truncate -s 300K "$dir/fat12"
	truncate -s 2500K "$dir/fat16"
	mkfs.fat -F 12 -s 1 -n FAT12 "$dir/fat12" >/dev/null && fat_files "$dir/fat12"
	mkfs.fat -F 16 -s 1 -n FAT16 "$dir/fat16" >/dev/null 2>&1 && fat_files "$dir/fat16"
	truncate -s 2M "$dir/fat32"
	mkfs.fat -F 32 -s 1 -n FAT32 "$dir/fat32" >/dev/null 2>&1 || rm -f "$dir/fat32"
	exit 0
fi
if [ "$1" = fuzz_archive ]; then
	# real framed archives, as rawkit-lanfree writes them, behind the 3-byte header
	mkdir -p "$tmp/tree/d" && echo hello >"$tmp/tree/d/file" && truncate -s 100K "$tmp/tree/sparse"
	setfattr -n user.x -v y "$tmp/tree/d/file" 2>/dev/null || true
	tar --format=pax --xattrs -cf "$tmp/a.tar" -C "$tmp/tree" .
	{ printf '\000\000\000'; zstd -q -c "$tmp/a.tar"; } >"$dir/zstd"
	{ printf '\001\000\000'; gzip -c "$tmp/a.tar"; } >"$dir/gzip"
	{ printf '\002\000\000'; cat "$tmp/a.tar"; } >"$dir/none"
	exit 0
fi
if [ "$1" = fuzz_catalog ]; then
	# edits to the catalog the fuzzer builds (see fuzz_catalog.c): the
	# damage of issue #10 and a few neighbours; [column][row][kind][value]
	printf '\000' >"$dir/none"
	printf '\000\000\000\003\000' >"$dir/path-dotdot"              # archives.path = ../outside/x
	printf '\001\000\001\003\001' >"$dir/path-abs"                 # /etc/passwd
	printf '\002\026\004\002\000' >"$dir/version-size-neg"         # versions.size = -1
	printf '\000\026\004\002\023\013\001\002\023' >"$dir/size-1t"  # version and content: 1 TiB
	printf '\000\007\000\002\000' >"$dir/frame-csize-neg"          # frames.csize = -1
	printf '\000\006\001\002\010' >"$dir/frame-offset-neg"         # frames.offset = -4096
	printf '\000\016\000\002\020' >"$dir/entry-offset"             # contents.entry_offset past the frame
	printf '\002\034\002\006' >"$dir/content-null"                 # versions.content_id = NULL
	printf '\000\025\005\002\031' >"$dir/mode-dir"                 # a file becomes a directory
	printf '\001\022\003\003\022' >"$dir/name-dotdot"              # versions.name = ..
	printf '\000\026\001\010\000\003\023' >"$dir/copy-version"  # a version twice
	exit 0
fi
if [ "$1" = fuzz_conf ]; then
	# the shipped example, a minimal file, and the mistakes of rawkit-lanfree.conf(5)
	cp "$(dirname "$0")/../../doc/lanfree.conf.example" "$dir/example"
	printf '[guest a]\ndisk = /a.img\n' >"$dir/minimal"
	printf '[repository]\npath = /r\njobs = 99\n[guest a]\ndisk = x\n' >"$dir/jobs"
	printf '[defaults]\nkeep-within = 1y2m3w4d5h\nexclude = a\n  b\n[guest a]\ndisk = x\nkeep-last = 0\n' >"$dir/keep"
	printf '[guest a]\ndisk = x\nkeep-within = 2w\n  ; indented comment\n' >"$dir/indented-comment"
	printf '[guest ../x]\ndisk = y\n[bogus]\nk = v\n' >"$dir/bad-sections"
	exit 0
fi
if [ "$1" = fuzz_initrd ]; then
	# an initramfs as distributions make them (early microcode cpio, then a
	# compressed one), and modules.dep lines
	mkdir -p "$tmp/e/kernel/x86/microcode" "$tmp/m/usr/lib/modules/6.1.0/kernel/drivers/block" "$tmp/m/conf"
	echo microcode >"$tmp/e/kernel/x86/microcode/GenuineIntel.bin"
	echo ELF >"$tmp/m/usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko"
	echo ext4 >"$tmp/m/conf/modules"
	(cd "$tmp/e" && find . | cpio -o -H newc --quiet) >"$tmp/early"
	(cd "$tmp/m" && find . | cpio -o -H newc --quiet) >"$tmp/main"
	{ printf '\000'; cat "$tmp/early"; zstd -q -c "$tmp/main"; zstd -q -c "$tmp/main"; } >"$dir/zstd-twice"
	{ printf '\000'; cat "$tmp/early"; gzip -n -c "$tmp/main"; } >"$dir/gzip"
	{ printf '\000'; cat "$tmp/early" "$tmp/main"; } >"$dir/plain"
	printf '\001kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/virtio/virtio_ring.ko:\nkernel/drivers/scsi/virtio_scsi.ko.zst: kernel/drivers/virtio/virtio.ko\n' >"$dir/moddep"
	exit 0
fi
if [ "$1" = fuzz_clone_text ]; then
	# the editor's number (first byte), then a file it edits
	printf '\000127.0.0.1 localhost\n127.0.1.1 golden.example.com golden\n' >"$dir/hosts"
	printf '\001network:\n  ethernets:\n    lan0:\n      match:\n        macaddress: 52:54:00:12:34:56\n      set-name: lan0\n      dhcp4: true\n' >"$dir/netplan"
	printf '\002DEVICE=eth0\nHWADDR=52:54:00:12:34:56\nBOOTPROTO=dhcp\n' >"$dir/ifcfg"
	printf '\003[ethernet]\nmac-address=52:54:00:12:34:56\n' >"$dir/nm"
	printf '\004NETWORKING=yes\nHOSTNAME=golden\n' >"$dir/network"
	printf '\006/dev/sda1 / ext4 defaults 0 1\n/dev/sda2 none swap sw 0 0\n/dev/sdb1 /x ext4 0 0\n' >"$dir/devfstab"
	printf '\007linux /vmlinuz root=/dev/sda1 ro resume=/dev/sda2 quiet\n' >"$dir/cmdline"
	printf '\005UUID=a98db674-41ca-49d5-8889-8c4cbe91170e / ext4 0 1\nUUID=06527B9C208924DA /d ntfs 0 0\nPARTUUID=1234abcd-01 /x ext4 0 0\n' >"$dir/fstab"
	printf '\010/dev/mapper/rhel-root / xfs 0 0\n/dev/rhel/home /home ext4 0 0\nrd.lvm.lv=rhel/root rd.lvm.vg=rhel lvm/rhel-root\n' >"$dir/vgrename"
	printf '\011root=/dev/mapper/my--vg-root rd.lvm.lv=my-vg/swap /dev/my-vg/x\n' >"$dir/vgshrink"
	{ printf '\012# GRUB Environment Block\nkernelopts=root=/dev/mapper/rhel-root rd.lvm.lv=rhel/root\n'; head -c 941 /dev/zero | tr '\0' '#'; } >"$dir/grubenv"
	exit 0
fi
if [ "$1" = fuzz_jbd2 ]; then
	# journals the kernel wrote: a 1 KiB-block ext4 (csum v3) and an ext3,
	# copied while mounted after work since the last sync (block size byte 0)
	if [ "$(id -u)" -eq 0 ]; then
		for kind in "ext4 -O metadata_csum" "ext3 -O ^metadata_csum"; do
			set -- $kind
			truncate -s 8M "$tmp/fs"
			mkfs.ext4 -q -F -t "$1" $2 $3 -b 1024 -J size=1 "$tmp/fs" >/dev/null
			mkdir -p "$tmp/m" && dev=$(losetup -f --show "$tmp/fs")
			mount -o commit=1 "$dev" "$tmp/m"
			mkdir "$tmp/m/d" && for i in 1 2 3 4 5 6 7 8; do echo "$i" >"$tmp/m/d/f$i"; done
			sleep 2; rm -rf "$tmp/m/d"; echo late >"$tmp/m/late"; sleep 2
			cp "$tmp/fs" "$tmp/snap"
			umount "$tmp/m"; losetup -d "$dev"
			debugfs -R "dump <8> $tmp/journal" "$tmp/snap" >/dev/null 2>&1
			{ printf '\000'; cat "$tmp/journal"; } >"$dir/$1"
		done
	fi
	printf '\000' >"$dir/empty"
	exit 0
fi
if [ "$1" = fuzz_lvm ]; then
	# a PV as pvcreate/vgcreate/vgcfgrestore write it (byte 0: even) and
	# VG metadata texts (byte 0: odd): linear in two pieces, striped, raid1
	# through hidden images, thin; the lvm2 tools see only our loop device
	printf '\001contents = "Text Format Volume Group"\nversion = 1\nvg {\nid = "x"\nseqno = 1\nextent_size = 8\n}\n' >"$dir/empty-vg"
	if [ "$(id -u)" -eq 0 ] && command -v vgcfgrestore >/dev/null; then
		truncate -s 1M "$tmp/pv"
		l=$(losetup -f --show "$tmp/pv")
		mkdir -p "$tmp/etc/lock"
		printf 'devices { filter = [ "a|^%s$|", "r|.*|" ] global_filter = [ "a|^%s$|", "r|.*|" ] use_devicesfile = 0 obtain_device_list_from_udev = 0 pv_min_size = 512 }\nglobal { locking_dir = "%s" use_lvmlockd = 0 }\nactivation { udev_sync = 0 udev_rules = 0 monitoring = 0 }\nbackup { backup = 0 archive = 0 }\n' \
			"$l" "$l" "$tmp/etc/lock" >"$tmp/etc/lvm.conf"
		export LVM_SYSTEM_DIR=$tmp/etc LVM_SUPPRESS_FD_WARNINGS=1
		if pvcreate -q -y --pvmetadatacopies 2 --metadatasize 32k --dataalignment 64k "$l" >/dev/null 2>&1 &&
			vgcreate -q -s 32k fz "$l" >/dev/null 2>&1 && vgcfgbackup -q -f "$tmp/vg" fz >/dev/null 2>&1; then
			cat >"$tmp/lvs" <<-'EOF'
			root {
			id = "aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa"
			status = ["READ", "WRITE", "VISIBLE"]
			segment_count = 2
			segment1 {
			start_extent = 0
			extent_count = 4
			type = "striped"
			stripe_count = 1
			stripes = ["pv0", 0]
			}
			segment2 {
			start_extent = 4
			extent_count = 2
			type = "striped"
			stripe_count = 1
			stripes = ["pv0", 8]
			}
			}
			home {
			id = "bbbbbb-bbbb-bbbb-bbbb-bbbb-bbbb-bbbbbb"
			status = ["READ", "WRITE", "VISIBLE"]
			segment_count = 1
			segment1 {
			start_extent = 0
			extent_count = 4
			type = "striped"
			stripe_count = 1
			stripes = ["pv0", 4]
			}
			}
			str {
			id = "cccccc-cccc-cccc-cccc-cccc-cccc-cccccc"
			status = ["READ", "WRITE", "VISIBLE"]
			segment_count = 1
			segment1 {
			start_extent = 0
			extent_count = 4
			type = "striped"
			stripe_count = 2
			stripe_size = 16
			stripes = ["pv0", 10, "pv0", 12]
			}
			}
			r1 {
			id = "dddddd-dddd-dddd-dddd-dddd-dddd-dddddd"
			status = ["READ", "WRITE", "VISIBLE"]
			segment_count = 1
			segment1 {
			start_extent = 0
			extent_count = 2
			type = "raid1"
			device_count = 2
			region_size = 128
			raids = ["r1_rmeta_0", "r1_rimage_0", "r1_rmeta_1", "r1_rimage_1"]
			}
			}
			r1_rmeta_0 {
			id = "eeeeee-eeee-eeee-eeee-eeee-eeee-eeeeee"
			status = ["READ", "WRITE"]
			segment_count = 1
			segment1 {
			start_extent = 0
			extent_count = 1
			type = "striped"
			stripe_count = 1
			stripes = ["pv0", 14]
			}
			}
			r1_rimage_0 {
			id = "ffffff-ffff-ffff-ffff-ffff-ffff-ffffff"
			status = ["READ", "WRITE"]
			segment_count = 1
			segment1 {
			start_extent = 0
			extent_count = 2
			type = "striped"
			stripe_count = 1
			stripes = ["pv0", 15]
			}
			}
			r1_rmeta_1 {
			id = "gggggg-gggg-gggg-gggg-gggg-gggg-gggggg"
			status = ["READ", "WRITE"]
			segment_count = 1
			segment1 {
			start_extent = 0
			extent_count = 1
			type = "striped"
			stripe_count = 1
			stripes = ["pv0", 17]
			}
			}
			r1_rimage_1 {
			id = "hhhhhh-hhhh-hhhh-hhhh-hhhh-hhhh-hhhhhh"
			status = ["READ", "WRITE"]
			segment_count = 1
			segment1 {
			start_extent = 0
			extent_count = 2
			type = "striped"
			stripe_count = 1
			stripes = ["pv0", 18]
			}
			}
			thin {
			id = "iiiiii-iiii-iiii-iiii-iiii-iiii-iiiiii"
			status = ["READ", "WRITE", "VISIBLE"]
			segment_count = 1
			segment1 {
			start_extent = 0
			extent_count = 8
			type = "thin"
			thin_pool = "pool"
			device_id = 1
			}
			}
			EOF
			sed '/^thin {/,$d' "$tmp/lvs" >"$tmp/lvs-pv" # no pool for it on the PV
			for v in lvs lvs-pv; do
				python3 - "$tmp/vg" "$tmp/$v" "$tmp/meta-$v" <<-'EOF'
				import sys
				t = open(sys.argv[1]).read(); e = t.rindex("}")
				open(sys.argv[3], "w").write(t[:e] + "logical_volumes {\n" + open(sys.argv[2]).read() + "}\n" + t[e:])
				EOF
			done
			{ printf '\001'; cat "$tmp/meta-lvs"; } >"$dir/text-vgcfgbackup"
			if vgcfgrestore -q --force -f "$tmp/meta-lvs-pv" fz >"$tmp/restore.log" 2>&1 || { cat "$tmp/restore.log" >&2; false; }; then
				{ printf '\000'; cat "$tmp/pv"; } >"$dir/pv-2mda"
			fi
		fi
		losetup -d "$l"
	fi
	exit 0
fi
if [ "$1" = fuzz_lvm_write ]; then
	# byte 0 even: VG texts as vgcfgbackup writes them (bit 1: rename, bit 2:
	# resize); odd: metadata area headers, an area size and a new text size
	cat >"$tmp/vg" <<-'EOF'
	vg {
	id = "MioHri-paAy-8YQD-ZGKe-T6dQ-NQfD-4Xp5oT"
	seqno = 3
	format = "lvm2"
	status = ["RESIZEABLE", "READ", "WRITE"]
	extent_size = 8192
	physical_volumes {
	pv0 {
	id = "vH5Cmc-cIGF-r1Z9-rDnf-3cZu-HhJv-aRktTU"
	device = "/dev/loop0"
	dev_size = 131072
	pe_start = 2048
	pe_count = 15
	}
	pv1 {
	id = 'SYG3jF-hrjo-Odue-1WUH-xVRl-Trrw-OempZJ'
	pe_start = 2048
	pe_count = 15
	}
	}
	logical_volumes {
	vg {
	id = "aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa"
	status = ["READ", "WRITE", "VISIBLE"]
	segment_count = 1
	segment1 {
	start_extent = 0
	extent_count = 4
	type = "striped"
	stripe_count = 1
	stripes = ["pv0", 0]
	}
	}
	}
	}
	# vg { id = "MioHri-paAy-8YQD-ZGKe-T6dQ-NQfD-4Xp5oT" }
	contents = "Text Format Volume Group"
	version = 1
	description = "vg seqno = 3"
	EOF
	for b in 0 2 4 6; do { printf "\\$(printf %03o $b)"; cat "$tmp/vg"; } >"$dir/vg-$b"; done
	python3 - "$dir" <<-'EOF'
	import struct, sys
	def seed(name, size, off, tsize, asize, new):
	    h = bytearray(512)
	    struct.pack_into("<QQQQII", h, 24, 4096, size, off, tsize, 0, 0)
	    open(sys.argv[1] + "/" + name, "wb").write(b"\x01" + bytes(h) + struct.pack("<Q", asize) + struct.pack("<I", new))
	seed("mda-first", 1044480, 0, 0, 1044480, 700)
	seed("mda-next", 1044480, 512, 706, 1044480, 694)
	seed("mda-wrap", 16384, 16384 - 512 - 900, 900, 16384, 1500)
	seed("mda-wrapped", 16384, 16384 - 512, 1400, 16384, 1500)
	seed("mda-full", 8192, 512, 3000, 8192, 3000)
	EOF
	exit 0
fi
if [ "$1" = fuzz_stream ]; then
	# real streams from rawkit-p2v send of a tiny disk, both compressions
	p2v=${RAWKIT_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}/rawkit-p2v
	mkdir -p "$tmp/tree/d" && echo hello >"$tmp/tree/d/file"
	truncate -s 1M "$tmp/disk"
	printf 'label: dos\nstart=64, size=1800, type=83\n' | sfdisk -q "$tmp/disk" >/dev/null
	mkfs.ext2 -q -F -b 1024 -N 16 -E offset=32768 -d "$tmp/tree" "$tmp/disk" 900k >/dev/null
	"$p2v" send -q "$tmp/disk" >"$dir/zstd"
	"$p2v" send -q --compress zlib "$tmp/disk" >"$dir/zlib"
	exit 0
fi
if [ "$1" = fuzz_xfs ]; then
	# 16 MiB XFS volumes (mkfs.xfs's 300 MB floor is for real use; its test
	# switch lifts it), populated by a prototype file and, as root, through
	# a mount for attributes and a btree-format file; packed as fuzz_xfs.c
	# reads them: the non-zero 4 KiB blocks, each behind its LE16 number
	mkdir -p "$tmp/src" && echo hello >"$tmp/src/f" && head -c 5000 /dev/zero | tr '\0' x >"$tmp/src/big"
	{
		echo dummy; echo 0 0; echo d--755 0 0
		echo "f ---644 1 2 $tmp/src/f"; echo "big ---600 0 0 $tmp/src/big"
		echo "sl l--777 0 0 $(printf 'y%.0s' $(seq 1 300))"; echo "nul c--666 0 0 1 3"
		echo "dir d--755 0 0"
		for i in $(seq 1 150); do echo " entry-with-a-long-name-$i ---644 0 0 $tmp/src/f"; done
		echo " \$"; echo "\$"
	} >"$tmp/proto"
	pack() { python3 - "$1" "$2" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'wb') as out:
    for b in range(len(d) // 4096):
        blk = d[b * 4096:(b + 1) * 4096]
        if blk.strip(b'\0'):
            out.write(bytes([b & 255, b >> 8]) + blk)
PY
	}
	for opts in "v5-4k:-b size=4096" "v5-1k:-b size=1024" "v4:-m crc=0 -n ftype=0 -b size=1024"; do
		rm -f "$tmp/x.img" && truncate -s 16M "$tmp/x.img"
		# shellcheck disable=SC2086
		TEST_DEV=1 TEST_DIR=1 QA_CHECK_FS=1 mkfs.xfs -q -f -d agcount=1 ${opts#*:} -p "$tmp/proto" \
			"$tmp/x.img" >/dev/null 2>&1 || continue
		if [ "$(id -u)" -eq 0 ] && [ "${opts%%:*}" != v4 ] && mkdir -p "$tmp/m" && mount -o loop "$tmp/x.img" "$tmp/m" 2>/dev/null; then
			for i in $(seq 1 40); do setfattr -n "user.a$i" -v "$(printf 'v%.0s' $(seq 1 60))" "$tmp/m/f"; done
			setfattr -n user.s -v small "$tmp/m/big"
			python3 -c "import os; os.setxattr('$tmp/m/dir', 'user.remote', b'r' * 5000)
f = open('$tmp/m/frag', 'wb')
for i in range(60): f.seek(i * 8192); f.write(b'z')"
			setfacl -m u:7:r "$tmp/m/f" 2>/dev/null || true
			umount "$tmp/m"
		fi
		pack "$tmp/x.img" "$dir/${opts%%:*}"
	done
	printf '\000\000XFSB' >"$dir/magic-only"
	exit 0
fi
if [ "$1" = fuzz_ext_edit ]; then
	# tiny filesystems holding what clone's personalization edits
	r=$tmp/root
	mkdir -p "$r/etc/ssh" "$r/var/log/journal/0123" "$r/var/log/apt" "$r/var/lib/dbus" "$r/tmp/sub/deeper" "$r/root"
	echo golden >"$r/etc/hostname"
	echo 0123456789abcdef0123456789abcdef >"$r/etc/machine-id"
	cp "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"
	echo 'log line' >"$r/var/log/syslog" && echo x >"$r/var/log/apt/history.log"
	echo j >"$r/var/log/journal/0123/system.journal"
	echo private >"$r/etc/ssh/ssh_host_ed25519_key"
	echo junk >"$r/tmp/sub/deeper/junk"
	setfattr -n security.selinux -v system_u:object_r:etc_t:s0 "$r/etc/hostname" 2>/dev/null || true
	mk() { # NAME SIZE mkfs-options...
		local name=$1 size=$2
		shift 2
		truncate -s "$size" "$dir/$name"
		mkfs.ext4 -q -F -b 1024 -N 64 -d "$r" "$@" "$dir/$name" >/dev/null
	}
	mk ext4-csum 256k -O ^has_journal
	mk ext4-nocsum 256k -O ^has_journal,^metadata_csum
	mk ext2 256k -t ext2
	mk ext4-inline 256k -O ^has_journal,inline_data
	truncate -s 512k "$dir/mbr-ext4"
	printf 'label: dos\nstart=64, size=800, type=83\n' | sfdisk -q "$dir/mbr-ext4" >/dev/null
	mkfs.ext4 -q -F -b 1024 -N 64 -O ^has_journal -E offset=32768 -d "$r" "$dir/mbr-ext4" 400k >/dev/null
	# without the trailing zeros (the fuzzer pads to 512 KiB): mutations land on metadata
	for f in "$dir"/*; do
		python3 -c 'import sys; p = sys.argv[1]; d = open(p, "rb").read(); open(p, "wb").write(d.rstrip(b"\0"))' "$f"
	done
	exit 0
fi
mkdir -p "$tmp/tree/d/e"
echo hello >"$tmp/tree/d/file"
ln -s d/file "$tmp/tree/link"
setfattr -n user.x -v y "$tmp/tree/d/file" 2>/dev/null || true

truncate -s 3M "$dir/mbr-ext4"
printf 'label: dos\nstart=64, size=4000, type=83\nsize=1000, type=82\n' | sfdisk -q "$dir/mbr-ext4" >/dev/null
mkfs.ext4 -q -F -b 1024 -N 64 -E offset=32768 -d "$tmp/tree" "$dir/mbr-ext4" 2000k >/dev/null

truncate -s 2M "$dir/gpt-ext2"
printf 'label: gpt\nfirst-lba: 34\nstart=40, size=3000, type=linux\n' | sfdisk -q "$dir/gpt-ext2" >/dev/null
mkfs.ext2 -q -F -b 1024 -N 16 -E offset=20480 -d "$tmp/tree" "$dir/gpt-ext2" 1500k >/dev/null

truncate -s 2M "$dir/ntfs"
mkntfs -q -F -Q -c 512 "$dir/ntfs" >/dev/null 2>&1 || rm -f "$dir/ntfs"

truncate -s 64K "$dir/swap"
mkswap -q "$dir/swap" >/dev/null

# FAT (fs_vfat.c): a FAT12 and a FAT16 in an MBR partition with fat_files,
# an empty FAT32
if command -v mkfs.fat >/dev/null; then
	truncate -s 300K "$dir/fat12"
	mkfs.fat -F 12 -s 1 -n FAT12 "$dir/fat12" >/dev/null && fat_files "$dir/fat12"
	truncate -s 3M "$dir/mbr-fat16"
	printf 'label: dos\nstart=64, size=5000, type=ef\n' | sfdisk -q "$dir/mbr-fat16" >/dev/null
	mkfs.fat -F 16 -s 1 --offset=64 -n FAT16 "$dir/mbr-fat16" 2500 >/dev/null 2>&1 && fat_files "$dir/mbr-fat16@@32768"
	truncate -s 2M "$dir/fat32"
	mkfs.fat -F 32 -s 1 -n FAT32 "$dir/fat32" >/dev/null 2>&1 || rm -f "$dir/fat32"
fi
