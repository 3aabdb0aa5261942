#!/bin/bash
# Driver injection without a VM (rawkit-p2v / rawkit-v2p --rebuild=inject,
# the default): the guest's own modules and fresh indexes appended to its
# initramfs as one archive; checked with the tools that read initramfs
# images (lsinitramfs, cpio, zstd/gzip) and kmod's modprobe on the result
# unpacked as the kernel would.  Refusals fall back to the appliance (made
# to fail at once here: LIBGUESTFS_BACKEND names no backend); the boot
# tests (make check-boot) boot injected disks.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

[ -n "$KVER" ] || skip_all "no kernel modules on this machine (linux-image-amd64)"
command -v depmod >/dev/null || [ -x /usr/sbin/depmod ] || [ -x /sbin/depmod ] || skip_all "no depmod (kmod)"
export PATH=$PATH:/usr/sbin:/sbin
export LIBGUESTFS_PATH=/nonexistent-rawkit-test
I=/boot/initrd.img-$KVER

initrd_of() { debugfs -R "dump $I $2" "$1?offset=$RO" 2>/dev/null; }
# with_initrd SRC DST FILE: a copy of disk SRC whose initramfs is FILE
with_initrd() {
	cp "$1" "$2" && debugfs -w -R "rm $I" "$2?offset=$RO" >/dev/null 2>&1 &&
		debugfs -w -R "write $3 $I" "$2?offset=$RO" >/dev/null 2>&1
}
# unpack DIR FILE OLDSIZE: FILE as the kernel unpacks it (its first OLDSIZE
# bytes as unmkinitramfs does, then the archive appended after them).
unpack() {
	local dir=$1 f=$2 old=$3 cat=${4:-zstd -dc}
	if [ "$cat" = cat ]; then # all uncompressed: each archive in turn, over the same tree
		rm -rf "$dir" "$dir.split" && mkdir -p "$dir/main" &&
			python3 "$TESTS_DIR/lib/cpiosplit.py" "$f" "$dir.split" >/dev/null || return 1
		for a in $(ls "$dir.split" | sort -n); do (cd "$dir/main" && cpio -idmu --quiet <"../../$dir.split/$a") || return 1; done
		return
	fi
	rm -rf "$dir" && mkdir -p "$dir" && head -c "$old" "$f" >"$dir.orig" && unmkinitramfs "$dir.orig" "$dir" &&
		tail -c +$((old + 1)) "$f" | $cat | (cd "$dir/main" && cpio -idmu --quiet)
}

# ---- initramfs-tools, zstd: the shape Debian 12 makes
make_physical phys.img dos tools || { echo "Bail out! cannot build the physical disk"; exit 1; }
initrd_of phys.img old.img
old=$(stat -c %s old.img)
rawkit-p2v --json phys.img v.img >cap.json 2>cap.err
is "$?" 0 "p2v: captured and converted, the drivers injected (no appliance)"
[ -s cap.err ] && diag "$(cat cap.err)"
like "$(cat cap.json)" "$I: injected [0-9]+ modules \\([^)]*virtio_blk[^)]*\\) for kernel $KVER \\(initramfs-tools layout" \
	"the report says what was injected where"
initrd_of v.img new.img
ok "the initramfs's own bytes are kept: one archive appended" cmp -n "$old" old.img new.img
ok "the file grew" test "$(stat -c %s new.img)" -gt "$old"
ok "lsinitramfs still reads it" sh -c "lsinitramfs new.img | grep -q 'usr/lib/modules/$KVER/kernel/drivers/ata/ahci.ko'"
tail -c +$((old + 1)) new.img >seg.zst
ok "the appended archive is zstd, as the initramfs's own" zstd -tq seg.zst
zstd -dc seg.zst | cpio -t --quiet >seg.list 2>/dev/null
for f in "usr/lib/modules/$KVER/kernel/drivers/block/virtio_blk.ko" "usr/lib/modules/$KVER/kernel/drivers/virtio/virtio_pci.ko" \
	"usr/lib/modules/$KVER/kernel/drivers/net/virtio_net.ko" "usr/lib/modules/$KVER/modules.dep.bin" conf/modules; do
	ok "cpio -t: the appended archive holds $f" grep -qx "$f" seg.list
done
ok "it does not carry the modules the initramfs had (ahci)" sh -c "! grep -q 'ahci.ko' seg.list"
unpack u new.img "$old"
ok "unpacked as the kernel does: modprobe resolves virtio_blk from the new indexes" \
	sh -c "modprobe -d u/main -S $KVER --show-depends virtio_blk | grep -q 'insmod .*/virtio_blk.ko'"
ok "and the modules the initramfs had before (ahci) are still indexed" \
	sh -c "modprobe -d u/main -S $KVER --show-depends ahci | grep -q 'insmod .*/ahci.ko'"
ok "the module is the guest's own file" cmp "u/main/usr/lib/modules/$KVER/kernel/drivers/block/virtio_blk.ko" \
	"/lib/modules/$KVER/kernel/drivers/block/virtio_blk.ko"
is "$(cat u/main/conf/modules)" "$(printf 'ext4\nvirtio_blk\nvirtio_scsi\nvirtio_pci\nvirtio_net')" \
	"conf/modules: its own lines, then the drivers initramfs-tools' init modprobes at boot"
like "$(rawkit-p2v --in-place --dry-run v.img)" "$I has the drivers the virtual hardware needs" \
	"the check reads the appended archive too"
rawkit-p2v -q --in-place v.img 2>/dev/null
is "$?" 0 "converting again: nothing to inject"
initrd_of v.img again.img
ok "and the initramfs is unchanged" cmp new.img again.img
ok "e2fsck -fn is clean" e2fsck -fn "v.img?offset=$RO"

# ---- dry run: what would be injected, nothing written
cp phys.img dry.img
like "$(rawkit-p2v --in-place --dry-run dry.img)" "$I: would inject [0-9]+ modules \\([^)]*virtio_scsi" \
	"--dry-run says what would be injected"
ok "--dry-run writes nothing" cmp phys.img dry.img

# ---- modules compressed with zstd (Ubuntu, Debian 13), gzip initramfs
make_physical pz.img dos tools-gzip-zst || { echo "Bail out! cannot build the physical disk"; exit 1; }
initrd_of pz.img old.img
old=$(stat -c %s old.img)
rawkit-p2v -q pz.img vz.img 2>err
is "$?" 0 "zstd-compressed modules in a gzip initramfs: injected"
[ -s err ] && diag "$(cat err)"
initrd_of vz.img new.img
ok "the appended archive is gzip, as the initramfs's own" sh -c "tail -c +$((old + 1)) new.img | gzip -t"
unpack uz new.img "$old" "gzip -dc"
ok "virtio_blk.ko.zst added as the guest has it" cmp "uz/main/usr/lib/modules/$KVER/kernel/drivers/block/virtio_blk.ko.zst" \
	"$(zstd -q -c "/lib/modules/$KVER/kernel/drivers/block/virtio_blk.ko" >ref.zst; echo ref.zst)"
ok "modprobe resolves it" sh -c "modprobe -d uz/main -S $KVER --show-depends virtio_scsi | grep -q 'virtio_scsi.ko.zst'"
ok "lsinitramfs reads the gzip initramfs" sh -c "lsinitramfs new.img | grep -q ahci.ko"

# ---- dracut: rd.driver.pre in etc/cmdline.d and modules-load.d
make_layout_initrd dracut.initrd dracut zstd 2>/dev/null
with_initrd phys.img pd.img dracut.initrd
initrd_of pd.img old.img
old=$(stat -c %s old.img)
rawkit-p2v --json pd.img vd.img >d.json 2>err
is "$?" 0 "dracut layout: injected"
like "$(cat d.json)" "injected [0-9]+ modules .*\\(dracut layout" "the report names the layout"
initrd_of vd.img new.img
unpack ud new.img "$old"
is "$(cat ud/main/etc/cmdline.d/50-rawkit-drivers.conf)" "rd.driver.pre=virtio_blk,virtio_scsi,virtio_pci,virtio_net" \
	"dracut: rd.driver.pre, read from etc/cmdline.d as from the kernel command line"
is "$(cat ud/main/etc/modules-load.d/rawkit-drivers.conf | tr '\n' ' ')" "virtio_blk virtio_scsi virtio_pci virtio_net " \
	"dracut: modules-load.d, for systemd in the initrd"
ok "no conf/modules in a dracut initramfs" test ! -e ud/main/conf/modules

# ---- v2p: the physical storage drivers into a guest's initramfs
make_layout_initrd none.initrd tools none 2>/dev/null
with_initrd phys.img pv.img none.initrd
rawkit-p2v -q pv.img g.img 2>/dev/null
initrd_of g.img old.img
old=$(stat -c %s old.img)
truncate -s 400M metal.img
rawkit-v2p --json --drivers ahci,sd_mod,nvme g.img metal.img >v2p.json 2>err
is "$?" 0 "v2p: nvme and sd_mod injected into an uncompressed initramfs"
[ -s err ] && diag "$(cat err)"
like "$(cat v2p.json)" "injected [0-9]+ modules \\([^)]*nvme" "v2p: the report says so"
initrd_of metal.img new.img
unpack um new.img "$old" cat
ok "v2p: modprobe resolves nvme and sd_mod" \
	sh -c "modprobe -d um/main -S $KVER --show-depends -a nvme sd_mod | grep -c insmod | grep -qv '^0$'"
like "$(cat um/main/conf/modules)" "nvme" "v2p: conf/modules lists nvme"

# ---- refusals: nothing written, the appliance asked instead
refused() { # DESC DISK WHY: p2v --in-place refuses injection, falls back
	local desc=$1 disk=$2 why=$3 before
	before=$(sum "$disk")
	rawkit-p2v --json --in-place "$disk" >r.json 2>r.err
	is "$?" 3 "$desc: exit 3"
	like "$(cat r.json)" "drivers not injected \\($why\\): rebuilding it in a libguestfs appliance instead" \
		"$desc: says why injection was refused"
	like "$(cat r.json)" "initramfs not rebuilt" "$desc: and that the appliance (made to fail here) did not rebuild it"
	ok "$desc: libguestfs prints nothing of its own" sh -c "! grep -q '^libguestfs' r.err"
	initrd_of "$disk" after.img
	initrd_of phys.img orig.img
}
make_layout_initrd xz.initrd tools xz 2>/dev/null
with_initrd phys.img xz.img xz.initrd
refused "an xz initramfs" xz.img "[^)]*xz-compressed: rawkit appends to zstd, gzip or uncompressed ones"
ok "the xz initramfs is as it was" cmp after.img xz.initrd

make_initrd fake.initrd
with_initrd phys.img fake.img fake.initrd
refused "an initramfs of no known layout" fake.img "[^)]*neither an initramfs-tools nor a dracut initramfs"

cp phys.img nomod.img
debugfs -w -R "rm /lib/modules/$KVER/kernel/drivers/scsi/virtio_scsi.ko" "nomod.img?offset=$RO" >/dev/null 2>&1
refused "a module modules.dep names but the guest lacks" nomod.img "[^)]*virtio_scsi.ko: missing from the guest"
initrd_of phys.img orig.img
ok "its initramfs is as it was" cmp after.img orig.img

cp phys.img nodep.img
ext_cat phys.img "$RO" "/lib/modules/$KVER/modules.dep" | grep -v virtio_scsi >nodep.txt
debugfs -w -R "rm /lib/modules/$KVER/modules.dep" "nodep.img?offset=$RO" >/dev/null 2>&1
debugfs -w -R "write nodep.txt /lib/modules/$KVER/modules.dep" "nodep.img?offset=$RO" >/dev/null 2>&1
refused "a kernel without the driver" nodep.img "kernel has no virtio_scsi module[^)]*"

cp phys.img sig.img
printf '# config\nCONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n' >config.txt
debugfs -w -R "write config.txt /boot/config-$KVER" "sig.img?offset=$RO" >/dev/null 2>&1
if tail -c 28 "/lib/modules/$KVER/kernel/drivers/block/virtio_blk.ko" | grep -q 'Module signature appended'; then
	rawkit-p2v -q --in-place sig.img 2>err
	is "$?" 0 "signatures enforced, the guest's modules signed: injected"
else
	skip 1 "this machine's modules are not signed"
fi
cp pz.img sigz.img
debugfs -w -R "write config.txt /boot/config-$KVER" "sigz.img?offset=$RO" >/dev/null 2>&1
refused "signatures enforced, compressed modules (not checked)" sigz.img "the kernel enforces module signatures[^)]*"

# ---- hostile initramfs and modules.dep
head -c 70000 /dev/urandom >junk.bin
with_initrd phys.img bad.img junk.bin
rawkit-p2v --json --in-place bad.img >r.json 2>r.err
is "$?" 3 "random bytes for an initramfs: exit 3"
like "$(cat r.json)" "kernel $KVER: $I: not an initramfs" "and says it is not an initramfs"

# a header claiming a 3.5 GiB name, and a symbolic link claiming a 3.5 GiB
# target: libarchive would allocate what they claim; the framing check
# refuses them first (fuzz_initrd found these)
for what in name link; do
	python3 - "$what" >huge.cpio <<'PY'
import sys
out = sys.stdout.buffer
name = b"usr/x\0"
if sys.argv[1] == "name":
    h = b"070701" + b"".join(b"%08X" % v for v in (1, 0o100644, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xE0000000, 0))
else:
    h = b"070701" + b"".join(b"%08X" % v for v in (1, 0o120777, 0, 0, 1, 0, 0xE0000000, 0, 0, 0, 0, len(name), 0))
out.write(h + name + b"\0" * 4096)
PY
	with_initrd phys.img "huge-$what.img" huge.cpio
	rawkit-p2v --json --in-place "huge-$what.img" >r.json 2>r.err
	is "$?" 3 "an initramfs whose header claims a 3.5 GiB $what: exit 3, no crash"
	like "$(cat r.json)" "damaged cpio archive at byte 0: a (name|symbolic link's target) longer than the kernel takes" \
		"and the framing check says why"
done

cp phys.img climb.img
{ ext_cat phys.img "$RO" "/lib/modules/$KVER/modules.dep" | grep -v '^kernel/drivers/block/virtio_blk.ko:'
  echo "kernel/../../../../etc/virtio_blk.ko: kernel/drivers/virtio/virtio.ko"; } >climb.txt
debugfs -w -R "rm /lib/modules/$KVER/modules.dep" "climb.img?offset=$RO" >/dev/null 2>&1
debugfs -w -R "write climb.txt /lib/modules/$KVER/modules.dep" "climb.img?offset=$RO" >/dev/null 2>&1
refused "a modules.dep path climbing out of the module directory" climb.img "kernel has no virtio_blk module[^)]*"

d=$SCRATCH/.evil && rm -rf "$d" && mkdir -p "$d/conf" "$d/scripts" "$d/usr/lib/modules/$KVER"
printf 'x\n' >"$d/conf/initramfs.conf" && printf 'x\n' >"$d/scripts/functions" && : >"$d/usr/lib/modules/$KVER/modules.dep"
python3 - "$d" "$KVER" >evil.cpio <<'PY'
import sys, os
d, k = sys.argv[1], sys.argv[2]
out = sys.stdout.buffer
def entry(name, data=b"", mode=0o100644):
    name = name.encode() + b"\0"
    h = b"070701" + b"".join(b"%08X" % v for v in (1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0))
    out.write(h + name + b"\0" * ((4 - (110 + len(name)) % 4) % 4) + data + b"\0" * ((4 - len(data) % 4) % 4))
entry("conf/initramfs.conf", b"x\n"); entry("scripts/functions", b"x\n")
entry("usr/lib/modules/%s/modules.dep" % k, b"")
entry("usr/lib/modules/%s/../../../../tmp/evil.ko" % k, b"ELF")
entry("TRAILER!!!")
PY
with_initrd phys.img evil.img evil.cpio
refused "an initramfs entry climbing out of the module directory" evil.img "[^)]*a module path rawkit does not stage"
ok "nothing was written outside the private directory" test ! -e /tmp/evil.ko

done_testing
