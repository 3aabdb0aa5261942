#!/bin/bash
# What rawkit writes on Ceph RBD, against a throw-away single-node cluster:
# backup --snapshot's snapshot (made for the backup, gone after it however
# it ends: done, failed, SIGTERM, SIGINT), and rawkit-clone's new images
# (sparse, personalized, clean; existing images and missing pools refused,
# no temp image left), checked with rbd's own tools, debugfs and e2fsck.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

ceph_require
L=rawkit-lanfree
I=imgfmt-tool

# The guest: rawkit-clone's golden disk (GPT: ext4 root with a 3 MB file,
# swap, NTFS), backed up too (read slowly below, to be interrupted).
make_golden golden.img gpt || { echo "Bail out! cannot build the golden disk"; exit 1; }

# ---- usage errors need no cluster: exit 2, one line and --help's pointer
usage() { usage_error "$1" "$2" $L "${@:3}"; } # DESC REGEX ARGS...
ok "lanfree init" $L init repo
usage "--snapshot on a file" "^rawkit-lanfree: backup: --snapshot: DISK must be an RBD image \(rbd:POOL/IMAGE\), not golden.img$" \
	backup repo golden.img --snapshot
usage "--snapshot on rbd:POOL/IMAGE@SNAP" "--snapshot: DISK already names a snapshot .*, not rbd:rbd/g01@s1$" \
	backup repo rbd:rbd/g01@s1 --snapshot

ceph_start rbd || { echo "Bail out! cannot start the Ceph cluster (see $SCRATCH/ceph/*.log)"; tail -5 "$SCRATCH"/ceph/*.log >&2; exit 1; }
diag "Ceph cluster up in $CEPH_START_SECONDS s"
ok "rbd import the golden disk" rbd import --no-progress golden.img rbd/g01
snaps() { rbd snap ls --format json "$1" 2>/dev/null; }

# ---- backup --snapshot: from rawkit-<UTC time>, removed afterwards; the
# spec's options stay after the snapshot's name
before=$(date -u +%s)
ok "backup --snapshot rbd:POOL/IMAGE:conf=FILE" $L backup repo "rbd:rbd/g01:conf=$CEPH_CONF" --snapshot -q
after=$(date -u +%s)
is "$(snaps rbd/g01)" "[]" "rbd snap ls: the snapshot is gone"
disk=$($L list repo g01 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generations"][-1]["disk"])')
like "$disk" "^rbd:rbd/g01@rawkit-[0-9]{8}T[0-9]{6}Z:conf=$CEPH_CONF\$" "the generation records the disk with its snapshot ($disk)"
snap_time=$(date -u -d "$(echo "${disk#*@rawkit-}" | sed -E 's/^(....)(..)(..)T(..)(..)(..)Z.*/\1-\2-\3 \4:\5:\6/')" +%s)
ok "the snapshot's name is the UTC time of the backup" test "$snap_time" -ge "$before" -a "$snap_time" -le "$after"
is "$(sqlite3 repo/catalog.db 'SELECT disk FROM generations')" "$disk" "... as the catalog holds it (sqlite3)"
ok "restore" $L restore repo g01 --to r -q
debugfs -R "dump /usr/share/doc/blob.bin blob.bin" "golden.img?offset=$O1" 2>/dev/null
ok "the restored 3 MB file is the golden disk's (debugfs dump, cmp)" cmp blob.bin r/p1/usr/share/doc/blob.bin
is "$(cat r/p3/data/hello.txt)" "ntfs-data" "the restored NTFS file"

# ---- a failed backup removes it too
ok "rbd create an empty image" rbd create --size 8M rbd/empty
$L backup repo rbd:rbd/empty --snapshot -q 2>err.txt
is "$?" 1 "backup --snapshot of a disk with nothing to back up: exit 1"
like "$(cat err.txt)" "nothing to back up" "... saying why"
is "$(snaps rbd/empty)" "[]" "... and its snapshot is gone"
$L backup norepo rbd:rbd/g01 --snapshot -q 2>err.txt
is "$?" 1 "backup --snapshot into a missing repository: exit 1"
is "$(snaps rbd/g01)" "[]" "... and the snapshot is gone"

# ---- errors before a snapshot exists: one line, exit 1
bad() { # DESC SPEC REGEX
	$L backup repo "$2" --name x --snapshot -q 2>err.txt
	is "$?" 1 "$1: exit 1"
	ok "$1: one-line error" one_line_error rawkit-lanfree err.txt
	like "$(cat err.txt)" "$3" "$1: says why"
}
bad "--snapshot of a missing image" rbd:rbd/nosuch "cannot snapshot: no image 'nosuch' in pool 'rbd'"
bad "--snapshot in a missing pool" rbd:nopool/g01 "cannot snapshot: no pool 'nopool'"

# ---- interrupted mid-backup: the snapshot goes, the process dies of the
# signal, no generation is recorded.  The read is slowed down by librbd's
# QoS (1 MB/s: the 3 MB file takes seconds) to be caught in the middle.
interrupt() { # SIGNAL
	local pid i gens
	gens=$($L list repo g01 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["generations"]))')
	env --default-signal="$1" $L backup repo "rbd:rbd/g01:rbd_qos_bps_limit=1000000" --snapshot --level full -q 2>err.txt &
	pid=$!
	for i in $(seq 1 100); do
		[ "$(snaps rbd/g01)" != "[]" ] && break
		sleep 0.05
	done
	like "$(snaps rbd/g01)" '"name": *"rawkit-' "SIG$1: the snapshot exists during the backup"
	sleep 0.5
	kill -"$1" "$pid"
	wait "$pid"
	is "$?" $((128 + $(kill -l "$1"))) "SIG$1 mid-backup: the process dies of it"
	is "$(snaps rbd/g01)" "[]" "SIG$1 mid-backup: rbd snap ls: the snapshot is gone"
	is "$($L list repo g01 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["generations"]))')" "$gens" \
		"SIG$1 mid-backup: no generation recorded"
}
interrupt TERM
interrupt INT
ok "verify after the interrupted backups" $L verify repo -q


# ---- rawkit-clone to a new image: sparse, personalized, clean
images() { rbd ls rbd 2>/dev/null | sort | tr '\n' ' '; }
ok "rawkit-clone rbd: golden to two new rbd: images" rawkit-clone -q --hostname 'web%02d' rbd:rbd/g01 rbd:rbd/web01 rbd:rbd/web02
is "$(images)" "empty g01 web01 web02 " "rbd ls: the two clones, no temp image"
is "$(rbd info --format json rbd/web01 | python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["size"], i["features"])')" \
	"$(stat -c %s golden.img) ['layering']" "rbd info: the golden disk's size, layering only"
# rbd du counts whole 4 MiB objects: the clone holds no more of them than
# rbd import (which leaves zeros out) made of the golden disk, give or take
# one for the personalization, and far fewer than the image has
du_used() { rbd du --format json "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["used_size"])'; }
used=$(du_used rbd/web01) golden_used=$(du_used rbd/g01)
ok "rbd du: sparse ($used bytes used of $(stat -c %s golden.img); rbd import of the golden disk: $golden_used)" \
	test "$used" -gt 0 -a "$used" -le $((golden_used + 4194304)) -a "$used" -lt $(($(stat -c %s golden.img) / 3))
ok "rbd export the clone" rbd export --no-progress rbd/web01 web01.img
ok "rbd export the second clone" rbd export --no-progress rbd/web02 web02.img
is "$(debugfs -R 'cat /etc/hostname' "web01.img?offset=$O1" 2>/dev/null)" "web01" "debugfs: the first clone's host name"
is "$(debugfs -R 'cat /etc/hostname' "web02.img?offset=$O1" 2>/dev/null)" "web02" "debugfs: the second clone's host name"
ok "e2fsck -fn: the clone's root is clean" e2fsck -fn "web01.img?offset=$O1"
isnt_uuid() { [ "$(blkid -p -o value -s UUID -O "$O1" web01.img)" != "$ROOT_UUID" ]; }
ok "the clone's root has a new filesystem UUID" isnt_uuid
is "$($I cat rbd:rbd/web01 p3 /data/hello.txt)" "ntfs-data" "the clone's NTFS file, read through librbd"
ok "sfdisk reads the exported clone's partition table" sfdisk -d web01.img
is "$(sfdisk -d web01.img | grep -c '^web01.img')" 3 "... with the golden disk's three partitions"

# ---- refused targets: one line, exit 1, nothing left behind
clone_bad() { # DESC REGEX ARGS...
	local desc=$1 re=$2
	shift 2
	rawkit-clone -q --hostname x "$@" 2>err.txt
	is "$?" 1 "$desc: exit 1"
	ok "$desc: one-line error" one_line_error rawkit-clone err.txt
	like "$(cat err.txt)" "$re" "$desc: says why"
	is "$(images)" "empty g01 web01 web02 " "$desc: rbd ls: nothing new, no temp image"
}
web01_sum=$(sum web01.img)
clone_bad "an existing image" "target exists \(use --overwrite to replace it\)" rbd:rbd/g01 rbd:rbd/web01
is "$(rbd export --no-progress rbd/web01 - 2>/dev/null | sha256sum | cut -d' ' -f1)" "$web01_sum" "the existing image is untouched"
clone_bad "a missing pool" "no pool 'nopool'" rbd:rbd/g01 rbd:nopool/web03
clone_bad "a snapshot as the target" "a snapshot cannot be written" rbd:rbd/g01 rbd:rbd/web03@s1
clone_bad "the golden image itself" "target is the source disk itself" rbd:rbd/g01 rbd:rbd/g01 --overwrite
# a target written without IMGFMT_TARGET_RBD (edited after the commit by
# opening it, as p2v and v2p do) stays refused
$I copy rbd:rbd/g01 rbd:rbd/web05 2>err.txt
is "$?" 1 "imgfmt-tool copy to an rbd: target (no IMGFMT_TARGET_RBD): exit 1"
like "$(cat err.txt)" "rbd: disks are read-only here" "... refused: rbd: disks are read-only here"
is "$(images)" "empty g01 web01 web02 " "... rbd ls: nothing new"
# SIGTERM while the image is written (slowed down by librbd's QoS, 2 MB/s):
# the temp image and the staged file go, the process dies of the signal
mkdir stage
TMPDIR=$PWD/stage rawkit-clone -q --hostname web07 rbd:rbd/g01 "rbd:rbd/web07:rbd_qos_write_bps_limit=2000000" 2>err.txt &
pid=$!
for i in $(seq 1 100); do
	rbd ls rbd 2>/dev/null | grep -q '^web07\.rawkit-tmp-' && break
	sleep 0.05
done
like "$(images)" "web07\.rawkit-tmp-$pid " "the temp image IMAGE.rawkit-tmp-PID is being written"
ok "the clone is staged in TMPDIR" test -n "$(ls -A stage)"
sleep 0.3
kill -TERM "$pid"
wait "$pid"
is "$?" 143 "SIGTERM while writing the image: the process dies of it"
is "$(images)" "empty g01 web01 web02 " "... rbd ls: no temp image, no web07"
is "$(ls -A stage)" "" "... and no staged file left"
ok "--overwrite replaces an existing image" rawkit-clone -q --hostname web09 --overwrite rbd:rbd/g01 rbd:rbd/web02
rm -f web02.img && ok "rbd export the replaced image" rbd export --no-progress rbd/web02 web02.img
is "$(debugfs -R 'cat /etc/hostname' "web02.img?offset=$O1" 2>/dev/null)" "web09" "debugfs: it is the new clone"
is "$(images)" "empty g01 web01 web02 " "rbd ls: no temp image"
# --overwrite of an image with a snapshot: it cannot be removed, but it is
# never lost; the old one moves aside before the new one takes its name
# (before, the old image was removed first: a failed rename lost both)
rbd snap create rbd/web02@keep >/dev/null 2>&1
old_sum=$(rbd export --no-progress rbd/web02 - 2>/dev/null | sha256sum | cut -d' ' -f1)
rawkit-clone -q --hostname web10 --overwrite rbd:rbd/g01 rbd:rbd/web02 2>err.txt
is "$?" 1 "--overwrite of an image with a snapshot: exit 1"
like "$(cat err.txt)" "the new image is in place; the one it replaced is kept as 'web02\.rawkit-old-[0-9]+'.*snapshots" \
	"... says the new image is in place and where the old one is kept"
kept=$(rbd ls rbd | grep '^web02\.rawkit-old-' || true)
is "$(rbd export --no-progress "rbd/$kept" - 2>/dev/null | sha256sum | cut -d' ' -f1)" "$old_sum" "... the old image, whole"
rm -f web02.img && rbd export --no-progress rbd/web02 web02.img >/dev/null 2>&1
is "$(debugfs -R 'cat /etc/hostname' "web02.img?offset=$O1" 2>/dev/null)" "web10" "... the new clone under the name"
rbd snap purge "rbd/$kept" >/dev/null 2>&1; rbd rm --no-progress "rbd/$kept" >/dev/null 2>&1

is "$(rbd export --no-progress rbd/g01 - 2>/dev/null | sha256sum | cut -d' ' -f1)" "$(sum golden.img)" "the golden image is unchanged (backups and clones only read it)"

done_testing
