#!/bin/bash
# rawkit-clone on RHEL-style guests: XFS /boot, LVM2 with an XFS root (in
# one segment: loop-mounted over the copy's byte range; in two: served as
# one file by clone's FUSE thread and loop-mounted), ext4 home, swap.  Each
# clone: xfs_repair -n clean, new XFS/ext4/swap UUIDs followed by fstab,
# grub.cfg and the BLS entry, host name, machine-id, ssh keys, logs as on
# ext4, SELinux labels kept and given; the golden disk never written.  A
# guest's symlinks never lead a write onto the host; without root, nothing
# is written.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"
is_root || skip_all "needs root (loop devices, XFS mounts)"
[ -c /dev/fuse ] || skip_all "needs /dev/fuse (an LV in two segments is served through FUSE)"

C=rawkit-clone
mkdir -p m "$SCRATCH/tmp"
export TMPDIR=$SCRATCH/tmp # the tools' mount points, ours alone (other tests run beside this one)
ssh-keygen -q -t ed25519 -N '' -C admin@example -f admin
label() { getfattr --only-values -n security.selinux "$1" 2>/dev/null | tr -d '\0'; }
uuid_at() { blkid -p -o value -s UUID ${2:+-O "$2"} "$1"; }
seconds() { # JSON: the personalize time of each target, in seconds
	python3 -c 'import json, sys
print(" ".join("%.2f" % (t["personalize_ns"] / 1e9) for t in json.load(open(sys.argv[1]))["targets"]))' "$1"
}

# The golden's files the clones are compared with (and its ids).
golden_facts() { # IMG PREFIX
	rhel_assemble "$1" "$2.root" && mount -o ro,loop,nouuid "$2.root" m || return 1
	cp m/etc/fstab "$2.fstab" && cp m/etc/ssh/ssh_host_ed25519_key.pub "$2.key.pub"
	umount m
	rhel_boot "$1" "$2.boot" && mount -o ro,loop,nouuid "$2.boot" m || return 1
	cp m/grub2/grub.cfg "$2.grub" && cp m/loader/entries/0123-5.14.0.conf "$2.bls"
	umount m
	rm -f "$2.root" "$2.boot"
	echo "$BOOT_UUID $ROOT_UUID $HOME_UUID $SWAP_UUID" >"$2.ids"
}

# Everything a clone T of golden G (facts under prefix G) must show.
check_clone() { # T G HOSTNAME
	local t=$1 g=$2 h=$3 ob or oh os nb nr nh ns f
	read -r ob or oh os <"$g.ids"
	rhel_assemble "$t" "$t.root" && rhel_boot "$t" "$t.boot"
	ok "$t: xfs_repair -n finds p1 (/boot) clean" xfs_repair -n "$t.boot"
	ok "$t: xfs_repair -n finds the root LV clean" xfs_repair -n "$t.root"
	nb=$(uuid_at "$t.boot") nr=$(uuid_at "$t.root") nh=$(uuid_at "$t" "$HOME_OFF") ns=$(uuid_at "$t" "$SWAP_OFF")
	ok "$t: new UUIDs for /boot, root, home and swap" \
		test -n "$nb" -a -n "$nr" -a -n "$nh" -a -n "$ns" -a "$nb" != "$ob" -a "$nr" != "$or" -a "$nh" != "$oh" -a "$ns" != "$os"
	is "$(xfs_db -r -c uuid "$t.root")" "UUID = $nr" "$t: xfs_db reads the root's new UUID"
	echo "$nb $nr $nh $ns" >>all-uuids
	dd if="$t" of="$t.home" bs=1M iflag=skip_bytes skip="$HOME_OFF" count=200 conv=sparse status=none
	ok "$t: the ext4 home LV is fsck-clean" e2fsck -fn "$t.home"
	mount -o ro,loop,nouuid "$t.root" m
	is "$(cat m/etc/hostname)" "$h" "$t: host name"
	like "$(cat m/etc/hosts)" "192.168.1.5 $h.example.com $h\$" "$t: /etc/hosts follows"
	like "$(cat m/etc/sysconfig/network)" "HOSTNAME=$h" "$t: /etc/sysconfig/network follows"
	is "$(sed "s/$ob/$nb/; s/$oh/$nh/; s/$os/$ns/" "$g.fstab")" "$(cat m/etc/fstab)" "$t: fstab names the new /boot, home and swap UUIDs, nothing else changed"
	like "$(cat m/etc/default/grub)" "resume=UUID=$ns " "$t: /etc/default/grub follows the swap"
	is "$(stat -c %s m/etc/machine-id)" 0 "$t: machine-id emptied"
	ok "$t: /var/lib/dbus/machine-id removed" test ! -e m/var/lib/dbus/machine-id
	ok "$t: LVM's devices file (old PVIDs) removed" test ! -e m/etc/lvm/devices/system.devices
	ok "$t: the new ed25519 host key is valid" ssh-keygen -l -f m/etc/ssh/ssh_host_ed25519_key.pub
	ok "$t: and new" sh -c "! cmp -s m/etc/ssh/ssh_host_ed25519_key.pub $g.key.pub"
	cat m/etc/ssh/ssh_host_ed25519_key.pub >>all-keys
	is "$(stat -c %a m/etc/ssh/ssh_host_ed25519_key)" 600 "$t: the private key stays 0600"
	is "$(find m/var/log m/tmp m/var/tmp -type f | wc -l)" 0 "$t: logs and tmp files gone"
	ok "$t: log directories stay" test -d m/var/log/audit
	ok "$t: history, random seed, lease gone" test ! -e m/root/.bash_history -a ! -e m/var/lib/systemd/random-seed \
		-a ! -e m/var/lib/NetworkManager/internal-eth0.lease
	is "$(grep -c HWADDR m/etc/sysconfig/network-scripts/ifcfg-eth0)" 0 "$t: MAC pinning removed"
	is "$(label m/etc/hostname)" "system_u:object_r:hostname_etc_t:s0" "$t: an edited file keeps its SELinux label"
	is "$(label m/etc/ssh/ssh_host_ed25519_key)" "system_u:object_r:sshd_key_t:s0" "$t: so does a rewritten key"
	is "$(cat m/root/.ssh/authorized_keys)" "$(cat admin.pub)" "$t: the --ssh-key is authorized"
	is "$(label m/root/.ssh/authorized_keys)" "system_u:object_r:ssh_home_t:s0" "$t: a new file gets its sibling's label"
	is "$(stat -c '%a %u' m/root/.ssh/authorized_keys)" "600 0" "$t: a new file gets clone's mode and owner"
	is "$(stat -c %s m/usr/share/doc/numbers.txt)" 108894 "$t: other files untouched"
	umount m
	mount -o ro,loop,nouuid "$t.boot" m
	for f in grub2/grub.cfg loader/entries/0123-5.14.0.conf; do
		is "$(grep -c -e "$ob" -e "$or" -e "$os" "m/$f")" 0 "$t: /boot/$f names no old UUID"
	done
	is "$(sed "s/$ob/$nb/; s/$or/$nr/; s/$os/$ns/" "$g.grub")" "$(cat m/grub2/grub.cfg)" "$t: grub.cfg names the new /boot, root and swap"
	is "$(sed "s/$or/$nr/; s/$os/$ns/" "$g.bls")" "$(cat m/loader/entries/0123-5.14.0.conf)" "$t: the BLS entry names the new root and swap"
	is "$(label m/grub2/grub.cfg)" "system_u:object_r:boot_t:s0" "$t: grub.cfg keeps its label"
	umount m
	rm -f "$t.root" "$t.boot" "$t.home"
}

# --- the root LV in two segments: the FUSE path
RHEL_ROOT_PIECES=2 make_rhel_golden two.img || { echo "Bail out! cannot build the two-segment RHEL golden"; exit 1; }
golden_facts two.img two || { echo "Bail out! cannot read the golden"; exit 1; }
two_sum=$(sum two.img)
for t in a1 a2; do cp two.img.places $t.img.places; done
start=$(date +%s.%N)
$C --json --hostname 'rhel%02d' --ssh-key admin.pub two.img a1.img a2.img >two.json 2>two.err
is "$?" 0 "two clones of the RHEL golden whose root LV has two segments"
diag "FUSE path (root LV in 2 segments): personalize seconds per clone: $(seconds two.json); whole run $(echo "$(date +%s.%N) - $start" | bc) s"
like "$(cat two.json)" "rhel-root: XFS edited through a kernel mount of the LV's 2 segments" "the FUSE path was taken"
is "$(sum two.img)" "$two_sum" "the golden disk is untouched"
check_clone a1.img two rhel01
check_clone a2.img two rhel02

# --- LVM identities: new PV and VG UUIDs per clone, as vgimportclone gives them
lvm_ids() { lvm_with "$1" "$RHEL_P2" sh -c 'pvs --noheadings -o pv_uuid,vg_uuid,vg_name' | tr -s ' ' | sed 's/^ //'; }
g_ids=$(lvm_ids two.img) a1_ids=$(lvm_ids a1.img) a2_ids=$(lvm_ids a2.img)
ok "lvm2 reads the clones' VG (pvs: $a1_ids)" test -n "$a1_ids"
ok "new PV and VG UUIDs, unlike the golden's and each other's" sh -c \
	'[ "${1% *}" != "${2% *}" ] && [ "${1% *}" != "${3% *}" ] && [ "${2% *}" != "${3% *}" ] &&
	 [ "${1%% *}" != "${2%% *}" ] && [ "$(echo "$2" | cut -d" " -f2)" != "$(echo "$1" | cut -d" " -f2)" ]' _ "$g_ids" "$a1_ids" "$a2_ids"
is "${a1_ids##* }" rhel "the VG keeps its name"
ok "vgck is clean on a clone" lvm_with a1.img "$RHEL_P2" vgck rhel
is "$(lvm_with a1.img "$RHEL_P2" lvs --noheadings -o lv_name,seg_pe_ranges --segments rhel | tr -s ' ')" \
	"$(lvm_with two.img "$RHEL_P2" lvs --noheadings -o lv_name,seg_pe_ranges --segments rhel | tr -s ' ')" \
	"the LVs keep their segments"
like "$(cat two.json)" "volume group rhel: new VG UUID and PV UUIDs" "the report says so"

# --- the root LV in one segment: the loop path
RHEL_ROOT_PIECES=1 make_rhel_golden one.img || { echo "Bail out! cannot build the one-segment RHEL golden"; exit 1; }
golden_facts one.img one || { echo "Bail out! cannot read the golden"; exit 1; }
one_sum=$(sum one.img)
for t in b1 b2; do cp one.img.places $t.img.places; done
start=$(date +%s.%N)
$C --json --hostname 'rhel%02d' --ssh-key admin.pub one.img b1.img b2.img >one.json 2>one.err
is "$?" 0 "two clones of the RHEL golden whose root LV is one segment"
diag "loop path (root LV in 1 segment): personalize seconds per clone: $(seconds one.json); whole run $(echo "$(date +%s.%N) - $start" | bc) s"
ok "the loop path was taken (no FUSE)" sh -c '! grep -q "served by FUSE" one.json'
is "$(sum one.img)" "$one_sum" "the golden disk is untouched"
check_clone b1.img one rhel01
check_clone b2.img one rhel02
is "$(tr ' ' '\n' <all-uuids | sort | uniq -d | wc -l)" 0 "no two clones share a volume UUID"
is "$(sort all-keys | uniq -d | wc -l)" 0 "no two clones share a host key"
ok "no mount or loop device is left behind" sh -c "! grep -q ' $SCRATCH/' /proc/mounts && ! losetup -a | grep -q -e '$SCRATCH/'"

# --- a dry run mounts nothing and writes nothing
$C --dry-run --hostname dry one.img dry.img >dry.out 2>&1
is "$?" 0 "a dry run"
like "$(cat dry.out)" "/etc/hostname" "it lists the XFS root's edits"
like "$(cat dry.out)" "rhel-root: xfs UUID $ROOT_UUID -> " "and the new XFS UUID"
ok "nothing is written" test ! -e dry.img -a "$(sum one.img)" = "$one_sum"

# --- without root: refused before anything is written
mkdir -m 0777 nr && chmod o+rx "$SCRATCH" && chmod o+r one.img one.img.places
setpriv --reuid=65534 --regid=65534 --clear-groups $C --hostname x one.img nr/x.img >nr.out 2>nr.err
is "$?" 1 "not root: clone refuses"
ok "with one line" one_line_error rawkit-clone nr.err
like "$(cat nr.err)" "XFS files are edited through a kernel mount, which needs root" "saying why"
ok "and no target is made" test -z "$(ls nr)"

# --- symlinks in the guest never lead a write onto the host
one_root() { read -r _ ROOT_OFF ROOT_LEN < <(grep '^root ' one.img.places); }
one_root
hostile() { # IMG: a copy of one.img whose root is edited by the commands on stdin (in m)
	cp --sparse=always one.img "$1" && cp one.img.places "$1.places" &&
		mount -o loop,nouuid,offset="$ROOT_OFF",sizelimit="$ROOT_LEN" "$1" m && (cd m && bash -e) && umount m
}
echo "the host's own" >host-file
mkdir -p host-log host-tmp && echo secret >host-log/secret.log && echo keep >host-tmp/keep
host_sums() { sha256sum host-file host-log/secret.log host-tmp/keep /etc/hostname /etc/machine-id 2>/dev/null; }
before=$(host_sums)

hostile h1.img <<-EOF
	rm etc/hostname && ln -s $SCRATCH/host-file etc/hostname
EOF
$C --hostname evil h1.img h1-t.img >h1.out 2>h1.err
is "$?" 1 "/etc/hostname a symlink to a host file: the clone fails"
like "$(cat h1.err)" "/etc/hostname" "naming the file"
ok "and no target is left" test ! -e h1-t.img

hostile h2.img <<-'EOF'
	mv etc/fstab etc/hostname etc/os-release etc/machine-id . && rm -rf etc && ln -s / etc
EOF
$C --hostname evil h2.img h2-t.img >h2.out 2>h2.err
is "$?" 3 "/etc a symlink to /: no Linux root to edit there (warned, exit 3)"
like "$(cat h2.err)" "no Linux root filesystem rawkit can edit" "said so"
is "$(host_sums)" "$before" "the host is untouched"

hostile h3.img <<-EOF
	rm -rf var/log tmp etc/hosts var/lib/dbus/machine-id etc/sysconfig etc/default
	ln -s / etc/sysconfig
	ln -s / etc/default
	ln -s $SCRATCH/host-log var/log
	ln -s $SCRATCH/host-tmp tmp
	ln -s $SCRATCH/host-file etc/hosts
	ln -s $SCRATCH/host-file var/lib/dbus/machine-id
	ln -s $SCRATCH/host-tmp root/.ssh/authorized_keys
EOF
$C --hostname evil h3.img h3-t.img >h3.out 2>h3.err
is "$?" 0 "logs, /tmp, /etc/hosts, dbus machine-id, /etc/sysconfig, /etc/default as symlinks to the host: the clone goes on without them"
is "$(host_sums)" "$before" "no host file was written or removed"
$C --hostname evil --ssh-key admin.pub h3.img h3-k.img >h3k.out 2>h3k.err
is "$?" 1 "authorized_keys a symlink to a host directory: --ssh-key fails"
is "$(host_sums)" "$before" "and the host is untouched"
ok "host-tmp holds no key" test "$(ls host-tmp)" = keep

done_testing
