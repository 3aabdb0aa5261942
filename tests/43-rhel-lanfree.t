#!/bin/bash
# rawkit-lanfree on a RHEL-style guest disk: XFS /boot, LVM2 with an XFS
# root in two segments, ext4 home, swap.  Backed up and restored with every
# volume identical to a mount of it (the root assembled from its segments),
# incrementals see inode-level changes, and a root whose XFS log holds
# changes (a running guest's snapshot) is read as it is, recorded
# xfs-log-not-replayed and warned about (exit 3).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"
is_root || skip_all "needs root (loop devices, mounts)"
# (as root, the kernel lists XFS's own ACL attributes trusted.SGI_ACL_*;
# rawkit gives them as system.posix_acl_*, as ext4 and getfacl do)
CMP="python3 $TESTS_DIR/lib/treecmp.py --no-xattr trusted.SGI_ACL_"

rhel_disk r.img --fs >places || { echo "Bail out! cannot build the RHEL fixture"; exit 1; }
P2=$RHEL_P2
read -r _ hoff hlen < <(grep '^home ' places)
mkdir -p m

# a guest's files: SELinux labels, ACLs, hard links, holes, ns times, a
# file in the far future (bigtime), devices, a big directory
populate() {
	local d=$1
	mkdir -p "$d/etc/sysconfig" "$d/var/log" "$d/usr/bin" "$d/big"
	echo "rhel-golden" >"$d/etc/hostname"
	printf '/dev/mapper/rhel-root / xfs defaults 0 0\nUUID=x /boot xfs defaults 0 0\n' >"$d/etc/fstab"
	head -c 2000000 /dev/urandom >"$d/usr/bin/tool"
	setfattr -n security.selinux -v "system_u:object_r:bin_t:s0" "$d/usr/bin/tool"
	setfacl -m u:1001:rwx "$d/etc/sysconfig"
	setfacl -d -m g:10:rx "$d/etc/sysconfig"
	ln "$d/etc/hostname" "$d/etc/hostname.link"
	ln -s ../etc/hostname "$d/var/host"
	truncate -s 50M "$d/var/log/sparse" && echo tail >>"$d/var/log/sparse"
	touch -d '2200-01-01 00:00:00.123456789' "$d/etc/future"
	touch -d '1960-05-05 12:00:00.5' "$d/etc/past"
	mknod "$d/etc/null" c 1 3 && mkfifo "$d/etc/fifo"
	for i in $(seq 1 600); do echo "$i" >"$d/big/file-with-a-long-name-$i"; done
	chown -R 1001:1001 "$d/big" && chmod 4755 "$d/usr/bin/tool"
}
mount_root() { lvm_assemble_lv r.img "$P2" rhel root root.fs && mount -o loop,nouuid root.fs m; }
umount_root() { umount m && lvm_disassemble_lv r.img "$P2" rhel root root.fs; }

mount_root && populate m && umount_root || { echo "Bail out! cannot populate the root LV"; exit 1; }
mount -o loop,offset=1048576,sizelimit=$((300 << 20)) r.img m && mkdir m/grub2 && echo menu >m/grub2/grub.cfg &&
	head -c 300000 /dev/urandom >m/vmlinuz && umount m
mount -o loop,offset="$hoff",sizelimit="$hlen" r.img m && mkdir -p m/alice && echo hi >m/alice/notes && umount m
cp --sparse=always r.img golden.img

ok "init" rawkit-lanfree init repo
rawkit-lanfree backup repo r.img --name rhel >bk.out 2>bk.err
is "$?" 0 "full backup of the RHEL-style disk: exit 0"
is "$(cat bk.err)" "" "no warning (PV and swap are skipped quietly)"
is "$(rawkit-lanfree ls repo rhel | sed 's/ *(skipped)//' | tr '\n' ' ')" "p1 p2 rhel-home rhel-root rhel-swap " "volumes of the generation"
like "$(rawkit-lanfree ls repo rhel rhel-root/etc)" "fstab" "paths read rhel-root/etc/fstab"

ok "restore everything" rawkit-lanfree restore repo rhel --to res
mount_root
ok "rhel-root (XFS, two segments) restored = its mount" $CMP m res/rhel-root
umount m
mount -o loop,ro,offset=1048576,sizelimit=$((300 << 20)) r.img m
ok "p1 (XFS /boot) restored = its mount" $CMP m res/p1
umount m
mount -o loop,ro,offset="$hoff",sizelimit="$hlen" r.img m
ok "rhel-home (ext4 in LVM) restored = its mount" $CMP m res/rhel-home
umount m
is "$(getfattr --only-values -n security.selinux res/rhel-root/usr/bin/tool 2>/dev/null | tr -d '\0')" \
	"system_u:object_r:bin_t:s0" "SELinux label restored"
like "$(getfacl -pn res/rhel-root/etc/sysconfig 2>/dev/null)" "default:group:10:r-x" "default ACL restored"
is "$(stat -c %y res/rhel-root/etc/past)" "1960-05-05 12:00:00.500000000 +0000" "a 1960 timestamp with a fraction of a second"
is "$(stat -c %s res/rhel-root/var/log/sparse) $(du -k res/rhel-root/var/log/sparse | cut -f1)" "52428805 4" \
	"a sparse file comes back sparse"
is "$(stat -c %y res/rhel-root/etc/future)" "2200-01-01 00:00:00.123456789 +0000" "a 2200 timestamp (bigtime) to the ns"

# --- incremental: only what changed is read and stored
mount_root
echo "changed" >>m/etc/fstab
echo "new" >m/etc/newfile
rm m/big/file-with-a-long-name-7
mv m/big/file-with-a-long-name-8 m/etc/moved
umount_root
rawkit-lanfree backup repo r.img --name rhel --json >inc.json 2>inc.err
is "$?" 0 "incremental backup: exit 0"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["level"])' inc.json)" "incr" "it is an incremental"
new=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["new_bytes"])' inc.json)
ok "only the changed bytes are new ($new bytes)" test "$new" -lt 100000
ok "restore the incremental" rawkit-lanfree restore repo rhel --to res2
mount_root
ok "restored incremental = the changed root's mount" $CMP m res2/rhel-root
umount m

# --- a running guest's root: XFS log not replayed
lvm_assemble_lv golden.img "$P2" rhel root crash.fs
dev=$(losetup -f --show crash.fs); echo "$dev" >>"$SCRATCH/.loops"
mount -o nouuid "$dev" m
echo "only in the log" >m/etc/late
sync -f m/etc/hostname 2>/dev/null; xfs_io -x -c "shutdown -f" m
cp --sparse=always crash.fs crash.copy
umount m; losetup -d "$dev"; sed -i "\\|^$dev\$|d" "$SCRATCH/.loops"
cp --sparse=always golden.img crash.img
lvm_disassemble_lv crash.img "$P2" rhel root crash.copy
sum_before=$(sum crash.img)
rawkit-lanfree backup repo crash.img --name crashed >cr.out 2>cr.err
is "$?" 3 "backup of a root whose XFS log holds changes: exit 3"
like "$(cat cr.err)" "rhel-root: xfs log not replayed" "one warning names the volume"
is "$(grep -c warning cr.err)" 1 "only one warning"
like "$(rawkit-lanfree list repo crashed)" "xfs-log-not-replayed" "list says how the generation was read"
is "$(sqlite3 repo/catalog.db "SELECT consistency FROM volumes v JOIN generations g ON g.id = v.gen_id JOIN guests n ON n.id = g.guest_id WHERE n.name = 'crashed' AND v.name = 'rhel-root'")" \
	"xfs-log-not-replayed" "the catalog records it for the volume"
is "$(sum crash.img)" "$sum_before" "the source disk is not written"
like "$(rawkit-info crash.img | grep '^rhel-root')" "XFS log not replayed" "rawkit-info says so too"

done_testing
