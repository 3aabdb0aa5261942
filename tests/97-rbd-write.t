#!/bin/bash
# What rawkit writes on Ceph RBD, against a throw-away single-node cluster:
# backup --snapshot's snapshot (made for the backup, gone after it however
# it ends: done, failed, SIGTERM, SIGINT), checked with rbd's own tools.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

missing=$(ceph_missing)
[ -z "$missing" ] || skip_all "needs Ceph's packages (ceph-mon, ceph-osd, ceph-common, uuid-runtime): $missing not found"
L=rawkit-lanfree
I=imgfmt-tool

# The guest: GPT, one ext4 with a tree and 6 MB of data (read slowly
# below, to be interrupted mid-backup).
mkdir -p src/etc src/data
echo guest01 >src/etc/hostname
head -c 6000000 /dev/urandom >src/data/blob
mkdisk g.img 64M <<'S'
label: gpt
start=2048, size=48M, type=linux, name="root"
S
put_ext4 g.img 1 -L root -d src || { echo "Bail out! cannot build the guest disk"; exit 1; }

# ---- usage errors need no cluster: exit 2, one line and --help's pointer
usage() { # DESC REGEX ARGS...
	local desc=$1 re=$2
	shift 2
	$L "$@" >/dev/null 2>err.txt
	is "$?" 2 "$desc: exit 2"
	like "$(head -1 err.txt)" "$re" "$desc: says why"
	is "$(sed -n '2{/^Try /d;p}' err.txt; sed -n '3,$p' err.txt)" "" "$desc: one line (and the pointer to --help)"
}
ok "lanfree init" $L init repo
usage "--snapshot on a file" "^rawkit-lanfree: backup: --snapshot: DISK must be an RBD image \(rbd:POOL/IMAGE\), not g.img$" \
	backup repo g.img --snapshot
usage "--snapshot on rbd:POOL/IMAGE@SNAP" "--snapshot: DISK already names a snapshot .*, not rbd:rbd/g01@s1$" \
	backup repo rbd:rbd/g01@s1 --snapshot

ceph_start rbd || { echo "Bail out! cannot start the Ceph cluster (see $SCRATCH/ceph/*.log)"; tail -5 "$SCRATCH"/ceph/*.log >&2; exit 1; }
diag "Ceph cluster up in $CEPH_START_SECONDS s"
ok "rbd import the guest disk" rbd import --no-progress g.img rbd/g01
snaps() { rbd snap ls --format json "$1" 2>/dev/null; }

# ---- backup --snapshot: from rawkit-<UTC time>, removed afterwards
before=$(date -u +%s)
ok "backup --snapshot rbd:POOL/IMAGE" $L backup repo rbd:rbd/g01 --snapshot -q
after=$(date -u +%s)
is "$(snaps rbd/g01)" "[]" "rbd snap ls: the snapshot is gone"
disk=$($L list repo g01 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generations"][-1]["disk"])')
like "$disk" '^rbd:rbd/g01@rawkit-[0-9]{8}T[0-9]{6}Z$' "the generation records the disk with its snapshot ($disk)"
snap_time=$(date -u -d "$(echo "${disk#*@rawkit-}" | sed -E 's/(....)(..)(..)T(..)(..)(..)Z/\1-\2-\3 \4:\5:\6/')" +%s)
ok "the snapshot's name is the UTC time of the backup" test "$snap_time" -ge "$before" -a "$snap_time" -le "$after"
is "$(sqlite3 repo/catalog.db 'SELECT disk FROM generations')" "$disk" "... as the catalog holds it (sqlite3)"
ok "restore" $L restore repo g01 --to r -q
ok "the restored tree is the guest's" diff -r -x lost+found src r/p1

# the spec's options stay after the snapshot's name
ok "backup --snapshot rbd:POOL/IMAGE:conf=FILE" $L backup repo "rbd:rbd/g01:conf=$CEPH_CONF" --snapshot -q
like "$($L list repo g01 --json)" "\"disk\": *\"rbd:rbd/g01@rawkit-[0-9T]*Z:conf=$CEPH_CONF\"" "... recorded as rbd:POOL/IMAGE@SNAP:conf=FILE"
is "$(snaps rbd/g01)" "[]" "... and its snapshot is gone"

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
# QoS (1 MB/s: the 6 MB file takes seconds) to be caught in the middle.
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
	sleep 1
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

is "$(rbd export --no-progress rbd/g01 - 2>/dev/null | sha256sum | cut -d' ' -f1)" "$(sum g.img)" "the image is unchanged"

done_testing
