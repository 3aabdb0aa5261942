#!/bin/bash
# rawkit-p2v: capture a "physical" disk (through a loop device), send |
# receive, damaged streams, and the conversion: device names to UUID=, MAC
# pinning, the initramfs check.  The appliance rebuild and the boot test are
# in tests/boot (make check-boot).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

P=rawkit-p2v
[ -n "$KVER" ] || skip_all "no kernel modules on this machine (linux-image-amd64)"

make_physical phys.img dos || { echo "Bail out! cannot build the physical disk"; exit 1; }
phys_sum=$(sum phys.img)

# ---- capture through a read-only loop device, as from rescue media
if is_root; then
	src=$(losetup -r -f --show phys.img) && echo "$src" >>"$SCRATCH/.loops"
else
	src=phys.img
fi
$P --no-rebuild --json "$src" v.img >cap.json 2>cap.err
is "$?" 3 "capture: exit 3 (the initramfs lacks virtio and --no-rebuild)"
like "$(cat cap.err)" 'lack drivers: not rebuilt' "capture: says the initramfs was not rebuilt"
is "$(sum phys.img)" "$phys_sum" "capture: the source is untouched"
ptable() { sfdisk -J "$1" | python3 -c 'import json,sys; t=json.load(sys.stdin)["partitiontable"]; print(t["label"], t["id"], [(p["start"], p["size"], p["type"]) for p in t["partitions"]])'; }
is "$(ptable v.img)" "$(ptable phys.img)" "capture: the same partition table"
ok "capture: sparse: the target holds less than the source's size" \
	test "$(du -B1 v.img | cut -f1)" -lt $((100 * 1048576))
ok "capture: the MBR and its gap are copied whole" cmp -n 1048576 phys.img v.img
ok "capture: swap header copied" cmp -i "$(part_start phys.img 2):$(part_start phys.img 2)" -n 4096 phys.img v.img
ru=$(blkid -p -o value -s UUID -O "$RO" v.img)
su=$(blkid -p -o value -s UUID -O "$(part_start v.img 2)" v.img)
fstab=$(ext_cat v.img "$RO" /etc/fstab)
like "$fstab" "^UUID=$ru / ext4" "fstab: / by the root's UUID (blkid: $ru)"
like "$fstab" "^UUID=$su none swap" "fstab: swap by its UUID"
like "$fstab" "^/dev/sdb1 /srv/data" "fstab: another disk's device is left alone"
like "$fstab" "^LABEL=backup" "fstab: a label stays"
grubcfg=$(ext_cat v.img "$RO" /boot/grub/grub.cfg)
like "$grubcfg" "root=UUID=$ru ro resume=UUID=$su" "grub.cfg: root= and resume= by UUID"
like "$(ext_cat v.img "$RO" /etc/default/grub)" "resume=UUID=$su" "/etc/default/grub: resume= by UUID"
is "$(ext_cat v.img "$RO" /etc/initramfs-tools/conf.d/resume)" "RESUME=UUID=$su" "initramfs-tools resume by UUID"
like "$(ext_cat v.img "$RO" /boot/grub/grubenv | head -n2)" "kernelopts=root=UUID=$ru ro" "grubenv: kernelopts=root= by UUID"
is "$(ext_cat v.img "$RO" /boot/grub/grubenv | wc -c)" 1024 "grubenv stays a 1024-byte block"
is "$(ext_cat v.img "$RO" /etc/udev/rules.d/70-persistent-net.rules)" "" "persistent-net rules removed"
is "$(ext_cat v.img "$RO" /etc/netplan/01-eth0.yaml | grep -c macaddress)" 0 "netplan: MAC pinning removed"
ok "e2fsck -fn is clean" e2fsck -fn "v.img?offset=$RO"
is "$(python3 -c 'import json; d=json.load(open("cap.json")); print(d["linux"], any("eth0" in c for c in d["checks"]), any("/dev/sdb" in c for c in d["checks"]))')" \
	"True True True" "--json: the report names the renamed interface and the other disk"
mkdir gdump cdump
debugfs -R "rdump / gdump" "phys.img?offset=$RO" 2>/dev/null
debugfs -R "rdump / cdump" "v.img?offset=$RO" 2>/dev/null
printf '%s\n' etc/fstab boot/grub/grub.cfg boot/grub/grubenv etc/default/grub etc/initramfs-tools/conf.d/resume \
	etc/netplan/01-eth0.yaml >changed.list
echo etc/udev/rules.d/70-persistent-net.rules >removed.list
ok "every other file is identical" python3 "$TESTS_DIR/lib/clonecmp.py" gdump cdump changed.list removed.list

# ---- an initramfs with the drivers: exit 0, and quick
DOS_RO=$RO
make_physical physv.img gpt virtio
$P --json physv.img vv.img >vv.json
is "$?" 0 "initramfs with virtio: exit 0"
is "$(python3 -c 'import json; d=json.load(open("vv.json")); print(d["converted"], d["not_done"], d["convert_ns"] < 1000000000)')" \
	"True [] True" "initramfs with virtio: converted in < 1 s, nothing left undone"
ok "GPT: BIOS boot partition copied whole" cmp -i 1048576:1048576 -n 1048576 physv.img vv.img
ok "GPT: the gap after the partition entries copied whole" cmp -i 20480:20480 -n 1024000 physv.img vv.img
ok "GPT: the ESP copied whole" cmp -i 2097152:2097152 -n $((32 * 1048576)) physv.img vv.img
ok "GPT: sfdisk --verify" sfdisk --verify vv.img
like "$(ext_cat vv.img "$RO" /etc/fstab)" "^UUID=$(blkid -p -o value -s UUID -O "$RO" vv.img) / " "GPT: fstab by UUID"

RO=$DOS_RO

# ---- send | receive
$P send phys.img 2>send.err | $P receive --no-convert -q r.img
is "$?" 0 "send | receive --no-convert"
$P -q --no-convert phys.img c.img
ok "the received disk equals a capture" cmp r.img c.img
$P send --compress zlib phys.img 2>/dev/null | $P receive --no-rebuild -q rz.img 2>/dev/null
is "$?" 3 "zlib stream, converted on receipt (exit 3: --no-rebuild)"
like "$(ext_cat rz.img "$RO" /etc/fstab)" '^UUID=' "received and converted: fstab by UUID"
$P send phys.img >s.stream 2>/dev/null
size=$(stat -c %s s.stream)
for cut in 10 64 100 5000 $((size / 2)) $((size - 40))  $((size - 1)); do
	head -c "$cut" s.stream | $P receive --no-convert t.img 2>err
	is "$?" 1 "stream cut at $cut bytes: refused"
	ok "stream cut at $cut bytes: no target, no temp file" sh -c "! ls -a | grep -q -e '^t.img' -e 't.img.rawkit'"
done
like "$(cat err)" 'truncated' "a cut stream is called truncated"
for at in 20 70 90 4000 $((size / 2)) $((size - 20)); do
	python3 -c "import sys; d=bytearray(open('s.stream','rb').read()); d[$at]^=0x40; sys.stdout.buffer.write(d)" |
		$P receive --no-convert t.img 2>err
	is "$?" 1 "stream damaged at byte $at: refused"
	ok "stream damaged at byte $at: no target" test ! -e t.img
done
like "$(cat err)" 'damaged' "a damaged stream is called damaged"
{ cat s.stream; echo extra; } | $P receive --no-convert t.img 2>err
is "$?" 1 "data after the end marker: refused"
head -c 100000 /dev/urandom | $P receive t.img 2>err
is "$?" 1 "not a stream: refused"
ok "not a stream: one line on stderr" one_line_error $P err
echo old >exists.img
$P send phys.img 2>/dev/null | $P receive --no-convert exists.img 2>err
is "$?" 1 "receive: an existing target is refused"
is "$(cat exists.img)" old "receive: the existing target is left alone"

if is_root; then
	truncate -s 100M small.bin && small=$(losetup -f --show small.bin) && echo "$small" >>"$SCRATCH/.loops"
	small_sum=$(sum small.bin)
	$P send phys.img 2>/dev/null | $P receive --no-convert "$small" 2>err
	is "$?" 1 "receive: a device smaller than the disk is refused"
	like "$(cat err)" 'too small' "receive: too small: the message says so"
	is "$(sum small.bin)" "$small_sum" "receive: too small: not a byte written"
	# a device written in part must not look like a disk
	truncate -s 400M part.bin && pdev=$(losetup -f --show part.bin) && echo "$pdev" >>"$SCRATCH/.loops"
	head -c $((size / 2)) s.stream | $P receive --no-convert "$pdev" 2>err
	is "$?" 1 "receive onto a device, stream cut: refused"
	like "$(cat err)" 'incomplete copy' "stream cut: the message says the device holds an incomplete copy"
	ok "stream cut: no partition table is left to make it look complete" sh -c "! sfdisk -d $pdev >/dev/null 2>&1"
else
	skip 6 "not root: no loop device"
fi

# ---- dry run, in place, bad input
$P --dry-run --json phys.img never.img >dry.json
is "$?" 0 "--dry-run exits 0"
ok "--dry-run creates nothing" test ! -e never.img
is "$(sum phys.img)" "$phys_sum" "--dry-run leaves the source alone"
like "$(cat dry.json)" '"would be rebuilt|lacks virtio' "--dry-run says what would happen to the initramfs"
cp --sparse=always phys.img lun.img
$P --in-place --no-rebuild -q lun.img 2>/dev/null
is "$?" 3 "--in-place converts (exit 3: --no-rebuild)"
like "$(ext_cat lun.img "$RO" /etc/fstab)" '^UUID=' "--in-place: fstab by UUID"
$P -q missing.img t.img 2>err
is "$?" 1 "a missing source: exit 1"
ok "a missing source: one line on stderr" one_line_error $P err
$P -q phys.img phys.img 2>err
is "$?" 1 "the source as its own target: refused"
is "$(sum phys.img)" "$phys_sum" "the source is still untouched"
$P 2>/dev/null
is "$?" 2 "no arguments: usage error"
$P receive 2>/dev/null
is "$?" 2 "receive without a target: usage error"

# ---- not Linux: a Windows disk is captured, not converted
mkdir -p win/Windows/System32 && echo kernel >win/Windows/System32/ntoskrnl.exe
mkdisk w.img 80M <<'S'
label: dos
start=2048, size=60M, type=7
S
put_ntfs_tree w.img 1 win
$P w.img wv.img 2>err
is "$?" 3 "Windows: exit 3"
like "$(cat err)" 'Windows guest: not converted' "Windows: says it was not converted"
ok "Windows: the capture is complete" cmp w.img wv.img

done_testing
