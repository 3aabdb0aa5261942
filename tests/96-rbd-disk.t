#!/bin/bash
# Guest disks on Ceph RBD (rbd:POOL/IMAGE@SNAP, read through librbd) against
# a throw-away single-node cluster: what rawkit sees and backs up there is
# what it sees on the same disk as a file; bad specs and a dead cluster are
# one-line errors; the image is never written (what rawkit writes on RBD:
# test 97).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

ceph_require
L=rawkit-lanfree
I=imgfmt-tool

# The guest: GPT, ext4 with a tree, NTFS with a file (ntfscp: no mount).
mkdir -p src/etc src/data/deep
echo guest01 >src/etc/hostname
echo "ID=debian" >src/etc/os-release
head -c 3000000 /dev/urandom >src/data/blob
head -c 5000 /dev/urandom >src/data/deep/small
ln -s ../etc/hostname src/data/link
mkdisk g.img 96M <<'S'
label: gpt
start=2048, size=48M, type=linux, name="root"
size=32M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="data"
S
put_ext4 g.img 1 -L root -d src
head -c 70000 /dev/urandom >win.bin
put_fs ntfs g.img 2 -L winvol && part2=$(part_start g.img 2) && part2_size=$(part_size g.img 2) &&
	dd if=g.img of=p2.img bs=1M skip=$((part2 / 1048576)) count=$((part2_size / 1048576)) status=none &&
	ntfscp -q p2.img win.bin /win.bin >/dev/null 2>&1 &&
	dd if=p2.img of=g.img bs=1M seek=$((part2 / 1048576)) conv=notrunc,sparse status=none ||
	{ echo "Bail out! cannot build the guest disk"; exit 1; }

# An MBR with logical partitions: libfdisk follows the EBR chain through
# the window of the RBD disk.
mkdisk m.img 80M <<'S'
label: dos
start=2048, size=16M, type=83
start=34816, size=60M, type=5
start=36864, size=20M, type=83
start=79872, size=20M, type=82
start=122880, size=16M, type=83
S
put_ext4 m.img 5 -L logical5 -d src/data && put_ext4 m.img 7 -L logical7 -d src/etc ||
	{ echo "Bail out! cannot build the MBR disk"; exit 1; }

ceph_start rbd || { echo "Bail out! cannot start the Ceph cluster (see $SCRATCH/ceph/*.log)"; tail -5 "$SCRATCH"/ceph/*.log >&2; exit 1; }
diag "Ceph cluster up in $CEPH_START_SECONDS s"
ok "rbd import the guest disk" rbd import --no-progress g.img rbd/g01
ok "rbd snap create" rbd snap create --no-progress rbd/g01@snap1
D=rbd:rbd/g01@snap1
image_sum=$(rbd export --no-progress rbd/g01 - 2>/dev/null | sha256sum | cut -d' ' -f1)
is "$image_sum" "$(sum g.img)" "the image holds the disk"

# ---- what rawkit sees: the same as on the file
# TO-COPY and "used" differ: they follow what is allocated, and rbd import
# allocates differently than mkfs did in the file (checked below by a copy)
view() { "$@" | sed -E '1s/^disk .*: (RBD image|image file),/disk:/; /^used:/d' | cut -c1-74; }
is "$(view rawkit-info "$D")" "$(view rawkit-info g.img)" "rawkit-info: the same table, filesystems and space used on rbd: as on the file"
like "$(rawkit-info "$D" | head -1)" "^disk $D: RBD image, 96.0 MiB, 512-byte sectors" "rawkit-info names an RBD image"
is "$(rawkit-info --json "$D" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s:%s:%s" % (v["name"], v.get("fstype") or v.get("fs"), v.get("fs_label") or v.get("label")) for v in d["volumes"]))' 2>&1)" \
	"$(rawkit-info --json g.img | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s:%s:%s" % (v["name"], v.get("fstype") or v.get("fs"), v.get("fs_label") or v.get("label")) for v in d["volumes"]))' 2>&1)" \
	"rawkit-info --json: the same volumes, filesystems and labels"
like "$(rawkit-info "$D")" "p2 .* ntfs .*winvol" "the NTFS volume's label is read (libblkid through the window)"
is "$($I scan "$D" p1 | sort)" "$($I scan g.img p1 | sort)" "imgfmt-tool scan p1 (ext4): the same files"
is "$($I scan "$D" p2 | sort)" "$($I scan g.img p2 | sort)" "imgfmt-tool scan p2 (NTFS): the same files"
is "$($I fsinfo "$D" p1)" "$($I fsinfo g.img p1)" "imgfmt-tool fsinfo p1: the same"
is "$($I cat "$D" p2 /win.bin | sha256sum)" "$(sha256sum <win.bin)" "an NTFS file read from rbd: is the file put there"
ok "imgfmt-tool copy from rbd: to a file, checksummed and verified" $I copy "$D" c.img --checksum --verify
ok "the copy holds every byte the file's own used map names" $I verify g.img c.img
is "$($I scan c.img p1 | sort)" "$($I scan g.img p1 | sort)" "the copy's ext4 has the same files"

ok "rbd import an MBR disk with logical partitions" rbd import --no-progress m.img rbd/m01
is "$(view rawkit-info rbd:rbd/m01)" "$(view rawkit-info m.img)" "MBR: the same logical partitions and filesystems on rbd: (the EBR chain)"
like "$(rawkit-info rbd:rbd/m01)" "p7 .* ext4 .*logical7" "MBR: the last logical partition is found"
is "$($I cat rbd:rbd/m01 p7 /hostname)" "guest01" "MBR: a file in the last logical partition"

# A RHEL-like disk: XFS /boot, LVM2 with an XFS root in two pieces (probed
# from a copy of its edges), an ext4 home and swap (probed in the window).
if is_root && losetup -f >/dev/null 2>&1 && rhel_disk r.img --fs >/dev/null 2>&1; then
	ok "rbd import a disk with LVM2 volumes" rbd import --no-progress r.img rbd/r01
	is "$(view rawkit-info rbd:rbd/r01)" "$(view rawkit-info r.img)" "LVM2: the same volumes, filesystems and labels on rbd:"
	is "$($I scan rbd:rbd/r01 rhel-root | sort)" "$($I scan r.img rhel-root | sort)" "LVM2: XFS in an LV of two pieces: the same files"
	is "$($I scan rbd:rbd/r01 rhel-home | sort)" "$($I scan r.img rhel-home | sort)" "LVM2: ext4 in an LV: the same files"
else
	skip 4 "needs root and loop devices (the LVM2 fixture is made by lvm2's tools)"
fi

# ---- a backup from the snapshot, restored byte for byte
ok "lanfree init" $L init repo
ok "lanfree backup rbd:POOL/IMAGE@SNAP" $L backup repo "$D" --name g01 -q
ok "lanfree verify --read-data" $L verify repo --read-data -q
ok "lanfree restore" $L restore repo g01 --to r -q
ok "the restored ext4 tree equals the source" diff -r --no-dereference -x lost+found src r/p1
ok "the restored files are byte-identical (cmp)" sh -c 'cmp src/data/blob r/p1/data/blob && cmp src/data/deep/small r/p1/data/deep/small && cmp src/etc/hostname r/p1/etc/hostname'
ok "the restored NTFS file is byte-identical" cmp win.bin r/p2/win.bin
ok "without --name the guest is the image's name" $L backup repo "rbd:rbd/g01@snap1:conf=$CEPH_CONF" -q
like "$($L list repo)" "g01" "... g01 is listed"

# ---- bad specs: one line, exit 1
bad() { # DESC SPEC REGEX
	rawkit-info "$2" >/dev/null 2>err.txt
	is "$?" 1 "$1: exit 1"
	ok "$1: one-line error" one_line_error rawkit-info err.txt
	like "$(cat err.txt)" "$3" "$1: says why"
}
bad "missing image" rbd:rbd/nosuch "no image 'nosuch' in pool 'rbd'"
bad "missing snapshot" rbd:rbd/g01@nosuch "image 'g01' has no snapshot 'nosuch'"
bad "missing pool" rbd:nopool/g01 "no pool 'nopool'"
bad "empty spec" rbd: "not an RBD spec"
bad "pool without an image" rbd:rbd "not an RBD spec"
bad "empty snapshot name" rbd:rbd/g01@ "not an RBD spec"
bad "an option without a value" rbd:rbd/g01:id "Ceph option 'id': want KEY=VALUE"
bad "conf= naming no file" rbd:rbd/g01:conf=/nonexistent/ceph.conf "cannot read the Ceph configuration"
$L backup repo rbd:rbd/nosuch --name x -q 2>err.txt
is "$?" 1 "lanfree backup of a missing image: exit 1"
ok "lanfree backup of a missing image: one-line error" one_line_error rawkit-lanfree err.txt

# the spec's own options: conf= and a Ceph option
ok "conf= and a Ceph option in the spec" rawkit-info "rbd:rbd/g01@snap1:conf=$CEPH_CONF:client_mount_timeout=5"
ok "CEPH_ARGS is read" env CEPH_ARGS="--client_mount_timeout 5" rawkit-info "$D"
ok "id= names the client" rawkit-info "$D:id=admin"
if rbd namespace create --pool rbd --namespace ns1 2>/dev/null && rbd import --no-progress g.img rbd/ns1/g02 2>/dev/null; then
	is "$(view rawkit-info rbd:rbd/ns1/g02)" "$(view rawkit-info g.img)" "an image in a RADOS namespace: rbd:POOL/NAMESPACE/IMAGE"
else
	ok "rbd namespace create and import into it" false
fi

# a cluster nobody answers for: a quick clean failure, not a hang
CEPH_FSID=$(uuidgen) ceph_conf dead.conf "127.0.0.1:$(_ceph_port)"
sed -i 's/^\(\s*client_mount_timeout =\).*/\1 3/' dead.conf
start=$(date +%s)
CEPH_CONF=$PWD/dead.conf rawkit-info "$D" >/dev/null 2>err.txt
is "$?" 1 "unreachable cluster: exit 1"
ok "unreachable cluster: one-line error" one_line_error rawkit-info err.txt
like "$(cat err.txt)" "cannot connect to the Ceph cluster" "unreachable cluster: says so"
ok "unreachable cluster: fails within client_mount_timeout (3 s, 20 s allowed)" test $(($(date +%s) - start)) -le 20

# ---- a clone from an RBD golden disk (clones to rbd: targets: test 97)
ok "rawkit-clone from rbd: to a file" rawkit-clone -q --hostname web01 "$D" c1.img
is "$($I cat c1.img p1 /etc/hostname)" "web01" "the clone has its new host name"
is "$($I cat c1.img p1 /data/blob | sha256sum)" "$(sha256sum <src/data/blob)" "and the golden's files"

# ---- read-only: writers refuse, and the image is unchanged
$I write "$D" p1 /etc/new win.bin >/dev/null 2>err.txt
is "$?" 1 "opening an rbd: disk for writing fails"
like "$(cat err.txt)" "rbd: disks are read-only here" "... saying rbd: disks are read-only here"
is "$(rbd export --no-progress rbd/g01 - 2>/dev/null | sha256sum | cut -d' ' -f1)" "$image_sum" "the image is unchanged"
is "$(rbd export --no-progress rbd/g01@snap1 - 2>/dev/null | sha256sum | cut -d' ' -f1)" "$image_sum" "the snapshot is unchanged"
is "$(rbd diff --from-snap snap1 rbd/g01 --format json)" "[]" "rbd diff since the snapshot: nothing"

done_testing
