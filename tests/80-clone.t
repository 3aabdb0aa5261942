#!/bin/bash
# rawkit-clone: a golden disk to three personalized clones, checked with
# debugfs, blkid, sfdisk, e2fsck, ssh-keygen and ntfs-3g's own tools.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

C=rawkit-clone
make_golden g.img gpt || { echo "Bail out! cannot build the golden disk"; exit 1; }
golden_sum=$(sum g.img)
golden_ptable=$(sfdisk -d g.img)

ok "three clones" $C -q --hostname 'web%02d' g.img t1.img t2.img t3.img
$C --hostname solo g.img esc.img >esc.out 2>&1
ok "no control byte of a guest's file name reaches the terminal" sh -c "! grep -q \"\$(printf '\\033')\" esc.out"
like "$(cat esc.out)" 'esc\?\[31mred' "the name is shown with the control byte made printable"
is "$(sum g.img)" "$golden_sum" "the golden disk is untouched"

# What changes, what goes; everything else must be byte-identical.
cat >changed.list <<'L'
etc/hostname
etc/hosts
etc/machine-id
etc/fstab
etc/default/grub
boot/grub/grub.cfg
etc/netplan/01-netcfg.yaml
etc/ssh/ssh_host_ed25519_key
etc/ssh/ssh_host_ed25519_key.pub
etc/ssh/ssh_host_ecdsa_key
etc/ssh/ssh_host_ecdsa_key.pub
L
cat >removed.list <<'L'
var/lib/dbus/machine-id
etc/udev/rules.d/70-persistent-net.rules
var/log/syslog
var/log/apt/history.log
var/log/journal/0123
root/.bash_history
home/alice/.bash_history
tmp/junk
tmp/sub
var/tmp/junk3
tmp/esc[31mred
var/lib/dhcp/dhclient.eth0.leases
var/lib/systemd/random-seed
L
mkdir gdump && debugfs -R "rdump / gdump" "g.img?offset=$O1" 2>/dev/null
all_uuids="$ROOT_UUID $SWAP_UUID $NTFS_SERIAL"
all_parts=$(sfdisk -J g.img | python3 -c 'import json,sys; print(" ".join(p["uuid"] for p in json.load(sys.stdin)["partitiontable"]["partitions"]))')
all_disk_ids=$(sfdisk -J g.img | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["id"])')
all_keys=$(ext_cat g.img "$O1" /etc/ssh/ssh_host_ed25519_key.pub)
for n in 1 2 3; do
	t=t$n.img
	name=$(printf 'web%02d' "$n")
	is "$(ext_cat $t "$O1" /etc/hostname)" "$name" "$t: /etc/hostname"
	like "$(ext_cat $t "$O1" /etc/hosts)" "127\.0\.1\.1	$name\.example\.com $name" "$t: the 127.0.1.1 line of /etc/hosts"
	is "$(ext_cat $t "$O1" /etc/machine-id | wc -c)" 0 "$t: /etc/machine-id is empty"
	like "$(debugfs -R 'ea_list /etc/hostname' "$t?offset=$O1" 2>/dev/null)" 'etc_t' \
		"$t: /etc/hostname keeps its SELinux label"
	# SSH host keys: valid, new, different from every other clone's
	debugfs -R "dump /etc/ssh/ssh_host_ed25519_key.pub $n.pub" "$t?offset=$O1" 2>/dev/null
	debugfs -R "dump /etc/ssh/ssh_host_ecdsa_key.pub $n-ecdsa.pub" "$t?offset=$O1" 2>/dev/null
	ok "$t: the new ed25519 key is valid" ssh-keygen -l -f "$n.pub"
	ok "$t: the new ecdsa key is valid" ssh-keygen -l -f "$n-ecdsa.pub"
	key=$(cat "$n.pub")
	case " $all_keys " in *"$key"*) dup=yes ;; *) dup=no ;; esac
	is "$dup" no "$t: its host key differs from the golden disk's and the other clones'"
	all_keys="$all_keys
$key"
	like "$(debugfs -R 'stat /etc/ssh/ssh_host_ed25519_key' "$t?offset=$O1" 2>/dev/null)" 'Mode: +0600' \
		"$t: the private key keeps mode 0600"
	# identities: new, and every reference follows
	ru=$(blkid -p -o value -s UUID -O "$O1" $t)
	su=$(blkid -p -o value -s UUID -O "$O2" $t)
	nu=$(blkid -p -o value -s UUID -O "$O3" $t)
	for u in $ru $su $nu; do
		case " $all_uuids " in *" $u "*) dup=yes ;; *) dup=no ;; esac
		is "$dup" no "$t: filesystem id $u is new"
		all_uuids="$all_uuids $u"
	done
	fstab=$(ext_cat $t "$O1" /etc/fstab)
	like "$fstab" "^UUID=$ru / ext4" "$t: fstab names the new root UUID (blkid: $ru)"
	like "$fstab" "UUID=$su none swap" "$t: fstab names the new swap UUID"
	like "$fstab" "UUID=$nu /data ntfs-3g" "$t: fstab names the new NTFS serial"
	p1=$(sfdisk -J $t | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["uuid"])')
	like "$fstab" "PARTUUID=$p1 /alt" "$t: fstab names the new partition GUID"
	like "$fstab" "^/dev/sda1 /by-device" "$t: a reference by device name is left alone"
	like "$fstab" "^LABEL=backup /backup" "$t: a reference by label is left alone"
	old=no
	for u in $ROOT_UUID $SWAP_UUID $NTFS_SERIAL $PARTUUID1; do
		ext_cat $t "$O1" /etc/fstab /boot/grub/grub.cfg | grep -qi "$u" && old=yes
		ext_cat $t "$O1" /boot/grub/grub.cfg | grep -qi "$u" && old=yes
		ext_cat $t "$O1" /etc/default/grub | grep -qi "$u" && old=yes
	done
	is "$old" no "$t: no old id is left in fstab, grub.cfg or /etc/default/grub"
	grubcfg=$(ext_cat $t "$O1" /boot/grub/grub.cfg)
	like "$grubcfg" "root=UUID=$ru ro resume=UUID=$su" "$t: grub.cfg boots the new root and resumes from the new swap"
	like "$grubcfg" "set=root ${ru^^}" "$t: an upper-case reference stays upper case"
	like "$(ext_cat $t "$O1" /etc/default/grub)" "resume=UUID=$su" "$t: /etc/default/grub resume= follows"
	for p in $(sfdisk -J $t | python3 -c 'import json,sys; print(" ".join(p["uuid"] for p in json.load(sys.stdin)["partitiontable"]["partitions"]))'); do
		case " $all_parts " in *" $p "*) dup=yes ;; *) dup=no ;; esac
		is "$dup" no "$t: partition GUID $p is unique"
		all_parts="$all_parts $p"
	done
	did=$(sfdisk -J $t | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["id"])')
	case " $all_disk_ids " in *" $did "*) dup=yes ;; *) dup=no ;; esac
	is "$dup" no "$t: the GPT disk GUID is new"
	all_disk_ids="$all_disk_ids $did"
	ok "$t: sfdisk --verify" sfdisk --verify $t
	ok "$t: e2fsck -fn is clean (metadata checksums rewritten for the new UUID)" e2fsck -fn "$t?offset=$O1"
	dd if=$t of=ntfs.img bs=1M skip=$((O3 / 1048576)) count=$((S3 / 1048576)) status=none
	ok "$t: ntfsfix -n accepts the NTFS volume" ntfsfix -n ntfs.img
	is "$(ntfscat ntfs.img data/hello.txt)" ntfs-data "$t: NTFS files are intact"
	# network, logs and state
	yaml=$(ext_cat $t "$O1" /etc/netplan/01-netcfg.yaml)
	unlike_mac=$(printf '%s' "$yaml" | grep -c -e macaddress -e 'match:' -e set-name)
	is "$unlike_mac" 0 "$t: netplan no longer pins the MAC address"
	like "$yaml" 'dhcp4: true' "$t: the rest of the netplan file stays"
	# every other file is byte-identical, nothing else appeared or went
	rm -rf cdump && mkdir cdump && debugfs -R "rdump / cdump" "$t?offset=$O1" 2>/dev/null
	ok "$t: every other file is identical to the golden disk's" python3 "$TESTS_DIR/lib/clonecmp.py" gdump cdump \
		changed.list removed.list
done

# ---- operations can be turned off; dry run, JSON, --list-operations, --ssh-key
ok "--list-operations names every operation" sh -c "$C --list-operations | grep -q '^fs-uuids '"
ok "keep the logs and identities" $C -q --operations=-logfiles,-fs-uuids,-disk-ids g.img k.img
is "$(ext_cat k.img "$O1" /var/log/syslog)" "log line" "--operations -logfiles: /var/log/syslog stays"
is "$(blkid -p -o value -s UUID -O "$O1" k.img)" "$ROOT_UUID" "--operations -fs-uuids: the root UUID stays"
is "$(sfdisk -d k.img)" "$(sfdisk -d g.img | sed 's/g\.img/k.img/')" "--operations -disk-ids: the partition table stays"
ok "only the machine-id" $C -q --operations machine-id g.img only.img
is "$(ext_cat only.img "$O1" /etc/hostname)" golden "--operations machine-id: the host name stays"
fails "an unknown operation is a usage error" $C --operations frobnicate g.img x.img
$C --operations frobnicate g.img x.img 2>err; is "$?" 2 "exit 2 for an unknown operation"

$C --dry-run --json --hostname 'db%d' g.img d1.img d2.img >dry.json
is "$?" 0 "--dry-run exits 0"
ok "--dry-run creates nothing" test ! -e d1.img -a ! -e d2.img
is "$(sum g.img)" "$golden_sum" "--dry-run leaves the golden disk alone"
is "$(python3 -c 'import json; d=json.load(open("dry.json")); print(d["dry_run"], len(d["targets"]), d["targets"][1]["hostname"], any(c["what"]=="/etc/hostname" for c in d["targets"][0]["changes"]))' 2>&1)" \
	"True 2 db2 True" "--dry-run --json plans both targets"

ssh-keygen -q -t ed25519 -N '' -C admin@example -f admin
ok "--ssh-key" $C -q --ssh-key admin.pub --operations none g.img s.img
is "$(ext_cat s.img "$O1" /root/.ssh/authorized_keys)" "$(cat admin.pub)" "--ssh-key: root's authorized_keys holds the key"
like "$(debugfs -R 'stat /root/.ssh/authorized_keys' "s.img?offset=$O1" 2>/dev/null)" 'Mode: +0600' \
	"--ssh-key: authorized_keys has mode 0600"
like "$(debugfs -R 'ea_list /root/.ssh/authorized_keys' "s.img?offset=$O1" 2>/dev/null)" 'ssh_home_t' \
	"--ssh-key: the new file gets its sibling's SELinux label"
ok "--ssh-key: e2fsck -fn is clean after creating a file" e2fsck -fn "s.img?offset=$O1"

$C -q --json --hostname web9 g.img j.img >j.json
is "$(python3 -c 'import json; t=json.load(open("j.json"))["targets"][0]; print(t["status"], t["method"], t["hostname"], sorted({i["kind"] for i in t["ids"]}))')" \
	"done copy web9 ['disk', 'fs', 'part']" "--json reports the method, host name and new ids"

# ---- --in-place personalizes a disk that is already a copy
cp --sparse=always g.img inplace.img
ok "--in-place" $C -q --in-place --hostname solo inplace.img
is "$(ext_cat inplace.img "$O1" /etc/hostname)" solo "--in-place: host name set"
ok "--in-place: e2fsck -fn is clean" e2fsck -fn "inplace.img?offset=$O1"
is "$(sum g.img)" "$golden_sum" "the golden disk is still untouched"

# ---- UEFI: the ESP's grub.cfg names /boot's UUID; it follows (through mtools)
mkdisk u.img 160M <<'S'
label: gpt
start=2048, size=32M, type=U
size=100M, type=L
S
U=$(cat /proc/sys/kernel/random/uuid)
mkdir -p uroot/etc uroot/boot/grub && printf 'UUID=%s / ext4 defaults 0 1\n' "$U" >uroot/etc/fstab
put_ext4 u.img 2 -d uroot -U "$U"
put_fs vfat u.img 1
UO1=$(part_start u.img 1) UO2=$(part_start u.img 2)
printf 'search.fs_uuid %s root hd0,gpt2\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n' "$U" >esp-grub.cfg
MTOOLS_SKIP_CHECK=1 mmd -i "u.img@@$UO1" ::/EFI ::/EFI/debian
MTOOLS_SKIP_CHECK=1 mcopy -i "u.img@@$UO1" esp-grub.cfg ::/EFI/debian/grub.cfg
esp_uuid=$(blkid -p -o value -s UUID -O "$UO1" u.img)
ok "UEFI: clone" $C -q --hostname efi1 u.img u1.img
nu=$(blkid -p -o value -s UUID -O "$UO2" u1.img)
like "$(MTOOLS_SKIP_CHECK=1 mtype -i "u1.img@@$UO1" ::/EFI/debian/grub.cfg)" "^search.fs_uuid $nu root" \
	"UEFI: the ESP's grub.cfg finds the new root UUID"
is "$(blkid -p -o value -s UUID -O "$UO1" u1.img)" "$esp_uuid" "UEFI: the ESP keeps its own id"
dd if=u1.img of=esp.img bs=1M skip=$((UO1 / 1048576)) count=32 status=none
ok "UEFI: fsck.vfat -n is clean" fsck.vfat -n esp.img

# ---- a filesystem of many small groups: the inode tables are rewritten by
# several threads; htree directories, extent trees of depth > 0, xattr blocks
mkdir -p many/etc many/big-dir many/x
printf 'UUID=0 / ext4 defaults 0 1\n' >many/etc/fstab
for i in $(seq 1 600); do echo "$i" >"many/big-dir/file-with-a-long-name-$i"; done
for i in $(seq 1 300); do head -c 1024 /dev/urandom >"many/x/f$i"; done
truncate -s 8M many/frag && for i in $(seq 0 2 400); do printf x | dd of=many/frag bs=1024 seek=$((i * 10)) conv=notrunc status=none; done
for i in $(seq 1 20); do setfattr -n user.big -v "$(head -c 600 /dev/zero | tr '\0' a)$i" "many/x/f$i" 2>/dev/null; done
mkdisk many.img 140M <<'S'
label: gpt
start=2048, size=130M, type=L
S
put_ext4 many.img 1 -b 1024 -g 1024 -N 8192 -d many || echo "# mkfs.ext4 -d many failed" >&2
ok "many groups: e2fsck -fn on the golden disk" e2fsck -fn "many.img?offset=1048576"
ok "many groups: clone" $C -q --hostname many1 many.img many1.img
ok "many groups: e2fsck -fn is clean after the UUID change" e2fsck -fn "many1.img?offset=1048576"
is "$(debugfs -R 'ls -l /big-dir' "many1.img?offset=1048576" 2>/dev/null | grep -c file-with)" 600 \
	"many groups: the htree directory lists all its entries"
ok "many groups: a new UUID" test "$(blkid -p -o value -s UUID -O 1048576 many1.img)" != \
	"$(blkid -p -o value -s UUID -O 1048576 many.img)"

# ---- a Windows system disk: new NTFS serial; the disk's ids stay (the boot
# configuration names the disk by them); this one has no SYSTEM hive, so no
# computer name change (91-clone-windows.t has one)
mkdir -p win/Windows/System32 && echo kernel >win/Windows/System32/ntoskrnl.exe
mkdisk w.img 80M <<'S'
label: gpt
start=2048, size=60M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
S
put_ntfs_tree w.img 1 win
WO1=$(part_start w.img 1)
$C --json w.img w1.img >w.json
is "$?" 0 "Windows: clone without --hostname exits 0"
ok "Windows: a new NTFS serial" test "$(blkid -p -o value -s UUID -O "$WO1" w1.img)" != \
	"$(blkid -p -o value -s UUID -O "$WO1" w.img)"
is "$(sfdisk -d w1.img | grep -v '^device')" "$(sfdisk -d w.img | grep -v '^device' | sed 's/w\.img/w1.img/g')" \
	"Windows: partition table ids kept"
like "$(python3 -c 'import json; print(json.load(open("w.json"))["targets"][0]["notes"])')" 'boot configuration' \
	"Windows: the report says why the disk ids were kept"
dd if=w1.img of=wntfs.img bs=1M skip=1 count=60 status=none
ok "Windows: ntfsfix -n accepts the volume" ntfsfix -n wntfs.img
$C -q --hostname win1 w.img w2.img 2>err
is "$?" 3 "Windows: --hostname cannot be done: exit 3"
like "$(cat err)" 'computer name is not changed: no SYSTEM hive' "Windows: the message says what was not done and why"

# ---- --jobs 1: one target per read of the golden disk; --progress
ok "--jobs 1 --progress" sh -c "$C -q --jobs 1 --progress --hostname 'j%d' g.img j1.img j2.img 2>progress.txt"
is "$(ext_cat j1.img "$O1" /etc/hostname) $(ext_cat j2.img "$O1" /etc/hostname)" "j1 j2" "--jobs 1: both targets personalized"
ok "--progress draws progress on stderr" grep -q 'copying' progress.txt

# ---- an MBR disk: the signature changes and PARTUUID=sig-NN follows
make_golden m.img dos
ok "MBR: clone" $C -q --hostname mbr1 m.img m1.img
old_sig=$(sfdisk -J m.img | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["id"])')
new_sig=$(sfdisk -J m1.img | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["id"])')
ok "MBR: a new disk signature ($old_sig -> $new_sig)" test "$old_sig" != "$new_sig"
like "$(ext_cat m1.img "$O1" /etc/fstab)" "PARTUUID=${new_sig#0x}-01 /alt" "MBR: fstab's PARTUUID= follows the signature"
ok "MBR: e2fsck -fn is clean" e2fsck -fn "m1.img?offset=$O1"
is "$(ext_cat m1.img "$O1" /etc/hostname)" mbr1 "MBR: host name without a number, one target"

done_testing
