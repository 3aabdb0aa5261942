#!/bin/bash
# rawkit-clone --vg-name: the golden RHEL guest's volume group renamed on
# each clone (lvm2's own pvs/vgs/vgck read the new name and new UUIDs), and
# every reference to it in fstab, crypttab, /etc/default/grub, grub.cfg, the
# BLS entry and grubenv (still a 1024-byte block, read by grub-editenv)
# follows, '-' doubled in device-mapper names; nothing else in the guest
# changes.  A numbered pattern gives each clone its own name.  A bad name,
# a disk with two VGs or none, or disk-ids left out: refused, exit 2,
# nothing written.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"
is_root || skip_all "needs root (loop devices, XFS mounts)"
command -v grub-editenv >/dev/null || skip_all "needs grub-editenv (grub-common)"

C=rawkit-clone
mkdir -p m

# --- the golden: RHEL's layout (root LV in one segment), its files naming
# the VG in every form, and words that look like it but are not references
RHEL_ROOT_PIECES=1 make_rhel_golden g.img || { echo "Bail out! cannot build the RHEL golden"; exit 1; }
read -r _ ROOT_OFF ROOT_LEN < <(grep '^root ' g.img.places)
mount -o loop,nouuid,offset="$ROOT_OFF",sizelimit="$ROOT_LEN" g.img m || { echo "Bail out! cannot mount the root"; exit 1; }
cat >>m/etc/fstab <<-'F'
/dev/rhel/home  /srv/by-path  ext4  noauto  0 0
# rhel: the installer's group; /dev/mapper/rhelx-data and /dev/mapper/rhel--x-data are others
/dev/mapper/rhelx-data /srv/x ext4 noauto,nofail 0 0
F
printf 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rd.lvm.vg=rhel rd.lvm.vg=rhelx rhgb quiet"\n' \
	>m/etc/default/grub
printf 'data /dev/mapper/rhel-home none luks,noauto\n' >m/etc/crypttab
printf 'Welcome: root on /dev/mapper/rhel-root\n' >m/etc/motd
umount m
mount -o loop,nouuid,offset=1048576,sizelimit=$((300 << 20)) g.img m || { echo "Bail out! cannot mount /boot"; exit 1; }
cat >>m/grub2/grub.cfg <<-'G'
menuentry 'by name' {
  set root='lvm/rhel-root'
  linux /vmlinuz-5.14.0 root=/dev/mapper/rhel-root ro resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap
}
G
sed -i 's|^options .*|options root=/dev/mapper/rhel-root ro resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap|' \
	m/loader/entries/0123-5.14.0.conf
grub-editenv m/grub2/grubenv create &&
	grub-editenv m/grub2/grubenv set saved_entry=0123-5.14.0 \
		"kernelopts=root=/dev/mapper/rhel-root ro resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap" boot_success=1
umount m
# The golden's trees, to compare the clones with.
tree_of() { # IMG DIR: its root LV's tree in DIR/root, /boot's in DIR/boot
	mkdir -p "$2/root" "$2/boot" &&
		mount -o ro,loop,nouuid,offset="$ROOT_OFF",sizelimit="$ROOT_LEN" "$1" m && cp -a m/. "$2/root" && umount m &&
		mount -o ro,loop,nouuid,offset=1048576,sizelimit=$((300 << 20)) "$1" m && cp -a m/. "$2/boot" && umount m
}
tree_of g.img gold || { echo "Bail out! cannot read the golden's files"; exit 1; }
g_sum=$(sum g.img)
vgfield() { lvm_with "$1" "$RHEL_P2" vgs --noheadings -o "$2" | tr -d ' '; }
g_vg_uuid=$(vgfield g.img vg_uuid)
g_pv_uuid=$(lvm_with g.img "$RHEL_P2" pvs --noheadings -o pv_uuid | tr -d ' ')

# --- one clone, only disk-ids: the rename and nothing else
for t in w.img b1.img b2.img same.img; do cp g.img.places "$t.places"; done
$C --json --operations disk-ids --vg-name web-vg g.img w.img >w.json 2>w.err
is "$?" 0 "--vg-name web-vg: done"
is "$(sum g.img)" "$g_sum" "the golden disk is untouched"
is "$(vgfield w.img vg_name)" web-vg "vgs reads the clone's VG under its new name"
ok "vgck finds it clean" lvm_with w.img "$RHEL_P2" vgck web-vg
is "$(lvm_with w.img "$RHEL_P2" lvs --noheadings -o lv_name,seg_pe_ranges --segments web-vg | tr -s ' ' | sed 's/ [^ ]*:/ :/')" \
	"$(lvm_with g.img "$RHEL_P2" lvs --noheadings -o lv_name,seg_pe_ranges --segments rhel | tr -s ' ' | sed 's/ [^ ]*:/ :/')" \
	"its LVs keep their names and extents"
w_vg_uuid=$(vgfield w.img vg_uuid)
w_pv_uuid=$(lvm_with w.img "$RHEL_P2" pvs --noheadings -o pv_uuid | tr -d ' ')
ok "new VG and PV UUIDs" test -n "$w_vg_uuid" -a "$w_vg_uuid" != "$g_vg_uuid" -a -n "$w_pv_uuid" -a "$w_pv_uuid" != "$g_pv_uuid"
rawkit-info w.img >w.info
like "$(cat w.info)" "^web--vg-root " "rawkit-info lists the root LV as web--vg-root (device-mapper's name)"
like "$(cat w.info)" "^web--vg-home .* ext4 " "and web--vg-home, ext4 read through it"
like "$(cat w.json)" '"kind": ?"vg", ?"volume": ?"rhel", ?"old": ?"rhel", ?"new": ?"web-vg"' "--json lists the rename among the ids"
like "$(cat w.json)" "volume group rhel: renamed web-vg" "the report says so"
like "$(cat w.json)" "initramfs images are not rebuilt" "and notes that the initramfs is not rebuilt"

# What the references become, by sed: an independent spelling of the rule.
to_web() {
	sed -e 's#/dev/mapper/rhel-\([^-]\)#/dev/mapper/web--vg-\1#g' -e 's#\(^\|[^a-z/]\)/dev/rhel/#\1/dev/web-vg/#g' \
		-e "s#lvm/rhel-root#lvm/web--vg-root#g" -e 's#rd\.lvm\.lv=rhel/#rd.lvm.lv=web-vg/#g' \
		-e 's#rd\.lvm\.vg=rhel\([^A-Za-z0-9+_.-]\)#rd.lvm.vg=web-vg\1#g' "$1"
}
tree_of w.img wt || { echo "Bail out! cannot read the clone's files"; exit 1; }
is "$(cd gold && diff -rq . ../wt | sed 's/^Files \.\/\([^ ]*\) .*/\1/' | sort | tr '\n' ' ')" \
	"Only in ./root/etc/lvm/devices: system.devices boot/grub2/grub.cfg boot/grub2/grubenv boot/loader/entries/0123-5.14.0.conf root/etc/crypttab root/etc/default/grub root/etc/fstab " \
	"only the files naming the VG differ from the golden's (and LVM's devices file, with the old PVIDs, is gone)"
for f in root/etc/fstab root/etc/crypttab root/etc/default/grub boot/grub2/grub.cfg boot/loader/entries/0123-5.14.0.conf; do
	is "$(cat "wt/$f")" "$(to_web "gold/$f")" "$f: every reference renamed, nothing else changed"
done
like "$(cat wt/root/etc/fstab)" "^/dev/mapper/web--vg-root +/ " "fstab: the root is /dev/mapper/web--vg-root"
like "$(cat wt/root/etc/fstab)" "/dev/mapper/rhelx-data /srv/x" "fstab: another group's LV stays"
like "$(cat wt/root/etc/default/grub)" "rd.lvm.vg=web-vg rd.lvm.vg=rhelx " "/etc/default/grub: rd.lvm.vg renamed, another group's kept"
is "$(stat -c %s wt/boot/grub2/grubenv)" 1024 "grubenv: still 1024 bytes"
is "$(grub-editenv wt/boot/grub2/grubenv list)" "$(grub-editenv gold/boot/grub2/grubenv list | to_web /dev/stdin)" \
	"grubenv: grub-editenv reads kernelopts with the new name, and the other variables"

# --- a numbered pattern: each clone its own name, with every operation
$C --json --hostname 'app%02d' --vg-name 'vg%02d' g.img b1.img b2.img >b.json 2>b.err
is "$?" 0 "--vg-name vg%02d, two clones"
is "$(vgfield b1.img vg_name) $(vgfield b2.img vg_name)" "vg01 vg02" "vg01 and vg02"
ok "vgck finds vg02 clean" lvm_with b2.img "$RHEL_P2" vgck vg02
ok "the VG UUIDs differ" test "$(vgfield b1.img vg_uuid)" != "$(vgfield b2.img vg_uuid)"
rm -rf bt && tree_of b2.img bt || { echo "Bail out! cannot read the clone's files"; exit 1; }
like "$(cat bt/root/etc/fstab)" "^/dev/mapper/vg02-root +/ " "b2: fstab names vg02"
ok "b2: the new UUIDs are followed in fstab too" sh -c "! grep -q -e '$BOOT_UUID' -e '$SWAP_UUID' bt/root/etc/fstab"
is "$(cat bt/root/etc/fstab bt/root/etc/crypttab bt/root/etc/default/grub bt/boot/grub2/grub.cfg bt/boot/loader/entries/*.conf |
	grep -Ec '(mapper/|lvm/)rhel-[^-]|/rhel/|rd\.lvm\.vg=rhel([^x]|$)')" 0 "b2: no file names the old group"
like "$(grub-editenv bt/boot/grub2/grubenv list)" "kernelopts=root=/dev/mapper/vg02-root .*rd.lvm.lv=vg02/root" "b2: grubenv names vg02"
ok "b2: xfs_repair -n finds the root clean" sh -c "dd if=b2.img of=b2.root bs=1M iflag=skip_bytes,count_bytes skip=$ROOT_OFF count=$ROOT_LEN status=none && xfs_repair -n b2.root"
is "$(cat bt/root/etc/hostname)" app02 "b2: the other operations ran (host name)"
is "$(python3 -c 'import json; print(" ".join(i["new"] for t in json.load(open("b.json"))["targets"] for i in t["ids"] if i["kind"] == "vg"))')" \
	"vg01 vg02" "--json: one vg id per target"

# --- the name it had: new UUIDs, the name kept
ok "--vg-name rhel (its own name)" $C -q --vg-name rhel g.img same.img
is "$(vgfield same.img vg_name)" rhel "the name stays"
ok "but the VG UUID is new" test "$(vgfield same.img vg_uuid)" != "$g_vg_uuid"

# --- a dry run writes nothing
$C --dry-run --vg-name dry g.img dry.img >dry.out 2>&1
is "$?" 0 "a dry run"
like "$(cat dry.out)" "volume group rhel: renamed dry" "it lists the rename"
like "$(cat dry.out)" "/etc/fstab" "and the files it would rewrite"
ok "nothing is written" test ! -e dry.img -a "$(sum g.img)" = "$g_sum"

# --- refusals: exit 2, nothing written
refused() { # DESC WHY-REGEX ARGS...: exit 2, nothing made
	local desc=$1 why=$2
	shift 2
	$C "$@" >r.out 2>r.err
	is "$?" 2 "$desc: refused, exit 2"
	like "$(head -n1 r.err)" "$why" "$desc: says why"
	ok "$desc: no target is made" test ! -e r.img
}
refused "a name starting with '-'" "--vg-name: \"-web\" is not a valid volume group name" --vg-name=-web g.img r.img
refused "a name with '/'" "not a valid volume group name" --vg-name 'a/b' g.img r.img
refused "a name of 128 bytes" "not a valid volume group name" --vg-name "$(printf 'v%.0s' {1..128})" g.img r.img
refused "'..'" "not a valid volume group name" --vg-name .. g.img r.img
refused "a pattern whose 10th name is too long" "\"$(printf 'v%.0s' {1..126})10\" is not a valid" \
	--vg-name "$(printf 'v%.0s' {1..126})%d" g.img r.img r2.img r3.img r4.img r5.img r6.img r7.img r8.img r9.img r10.img
ok "... and none of the ten is made" sh -c '! ls r*.img 2>/dev/null | grep -q .'
refused "disk-ids left out" "disk-ids operation" --operations -disk-ids --vg-name x g.img r.img
ok "... with one line" one_line_error rawkit-clone r.err

mkdisk two.img 200M <<-'EOF'
label: gpt
start=2048, size=80M, type=E6D6D379-F507-44C2-A23C-238F2A3DF928
size=80M, type=E6D6D379-F507-44C2-A23C-238F2A3DF928
EOF
lvm_make_vg two.img "$(part_start two.img 1):$(part_size two.img 1)" vga 4 &&
	lvm_make_vg two.img "$(part_start two.img 2):$(part_size two.img 2)" vgb 4 || echo "# cannot make two VGs" >&2
two_sum=$(sum two.img)
refused "a disk with two volume groups" "more than one volume group on the disk \\(vga, vgb\\)" --vg-name x two.img r.img
ok "... with one line" one_line_error rawkit-clone r.err
is "$(sum two.img)" "$two_sum" "... and that disk is untouched"

truncate -s 64M plain.img && mkfs.ext4 -q -F -L plain plain.img
refused "a disk with no volume group" "no LVM2 volume group on the disk" --vg-name x plain.img r.img
ok "... with one line" one_line_error rawkit-clone r.err

done_testing
