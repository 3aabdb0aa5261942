#!/bin/bash
# rados.sh --- rawkit-lanfree backups of many RBD-hosted guests by several
# processes at once, into a repository in RADOS vs a local directory
#
# A throw-away single-node Ceph cluster (tests/lib/fixtures/ceph.sh: one
# mon, one memstore OSD, here with MEMSTORE_GIB of memory), a golden guest
# disk (GPT + ext4, real files copied from /usr) imported into RBD and N
# copy-on-write clones of it (rbd clone), each snapshotted.  For N = 1, 4,
# 16 guests and P = 1, 2, 4 concurrent backup processes: the wall time of
# backing up all N guests (full) into a new repository: in RADOS with its
# catalog in PostgreSQL (a throw-away server, tests/lib/fixtures/postgres.sh:
# what several backup servers would share), in RADOS with an SQLite
# catalog, and in a local directory, all reading the same rbd: snapshots;
# throughput (guests' used bytes / s) and how it scales.  Then the
# catalog's size per million file versions (SQLite file, PostgreSQL
# database) and the dedup ratio across the clones.
# The OSD keeps objects in memory: nothing here is a cold read.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$BENCH_DIR"
is_root || { echo "bench/rados.sh: needs root (loop mounts)"; exit 1; }
FILES_MIN=${FILES_MIN:-15000} BYTES_MIN=${BYTES_MIN:-300000000}
MEMSTORE_GIB=${MEMSTORE_GIB:-8}
GUESTS=${GUESTS:-"1 4 16"} PROCS=${PROCS:-"1 2 4"}
SIZE=$((1024 * 1048576))

usr_guest_disk rados-golden.img $SIZE "$FILES_MIN" "$BYTES_MIN"
used=$(imgfmt-tool used rados-golden.img | awk '/^total/ {print $2}')
echo "golden disk: $(human "$(stat -c %s rados-golden.img)"), $(human "$used") used"

# the cluster, as the tests start it, with room for the clones' reads and the repositories
SCRATCH=$BENCH_DIR/rados-scratch
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
_fixture_cleanup() { :; }
skip_all() { echo "bench/rados.sh: $*"; exit 1; }
. "$HERE/../tests/lib/fixtures/ceph.sh"
. "$HERE/../tests/lib/fixtures/postgres.sh"
ceph_require
[ -z "$(pg_missing)" ] || { echo "bench/rados.sh: needs PostgreSQL: $(pg_missing)"; exit 1; }
export CEPH_ARGS="--memstore_device_bytes=$((MEMSTORE_GIB << 30))"
ceph_start rbd || { echo "bench/rados.sh: cannot start the cluster (see $SCRATCH/ceph)"; exit 1; }
ceph_pool backup || { echo "bench/rados.sh: cannot create the pool"; exit 1; }
unset CEPH_ARGS
echo "Ceph cluster up in $CEPH_START_SECONDS s (memstore, $MEMSTORE_GIB GiB)"
pg_start || { echo "bench/rados.sh: cannot start PostgreSQL (see $SCRATCH/pg)"; exit 1; }
trap 'set +e; pg_stop; _ceph_stop' EXIT # (errexit: a pg_stop that fails would skip _ceph_stop)
echo "PostgreSQL up in $PG_START_SECONDS s (fsync=off, as the tests run it)"
rbd import --no-progress rados-golden.img rbd/golden >/dev/null
rbd snap create --no-progress rbd/golden@base >/dev/null
rbd snap protect rbd/golden@base
maxg=0
for n in $GUESTS; do [ "$n" -gt "$maxg" ] && maxg=$n; done
for i in $(seq 1 "$maxg"); do
	g=$(printf 'g%02d' "$i")
	rbd clone rbd/golden@base rbd/$g >/dev/null && rbd snap create --no-progress rbd/$g@s >/dev/null
done
echo "$maxg clones of it on RBD, each with a snapshot"

REPEAT=1
export TMPDIR=$BENCH_DIR/rados-stage
mkdir -p "$TMPDIR"
# backup_all REPO N P: N guests backed up (full), P processes at a time
backup_all() {
	for i in $(seq 1 "$2"); do printf 'g%02d\n' "$i"; done |
		xargs -P "$3" -I{} rawkit-lanfree backup "$1" rbd:rbd/{}@s --name {} --level full --jobs 1 -q
}
export -f backup_all
declare -A TPUT
for n in $GUESTS; do
	for p in $PROCS; do
		[ "$p" -le "$n" ] || continue
		ns=n${n}p$p
		timed "pg-N$n-P$p" "PGOPTIONS='-c client_min_messages=warning' psql -X -q -c 'DROP DATABASE IF EXISTS b_$ns' -c 'CREATE DATABASE b_$ns' &&
			rawkit-lanfree init rados:backup/pg$ns --catalog 'host=$PGHOST user=postgres dbname=b_$ns' >/dev/null" \
			bash -c "backup_all rados:backup/pg$ns $n $p"
		timed "rados-N$n-P$p" "rm -f cat-$ns.db* && rawkit-lanfree init rados:backup/$ns --catalog $PWD/cat-$ns.db >/dev/null" \
			bash -c "backup_all rados:backup/$ns $n $p"
		timed "local-N$n-P$p" "rm -rf repo-$ns && rawkit-lanfree init repo-$ns >/dev/null" \
			bash -c "backup_all repo-$ns $n $p"
		for w in pg rados local; do
			TPUT[$w-N$n-P$p]=$(echo "$n * $used / ${SECONDS_OF[$w-N$n-P$p]} / 1000000" | bc -l)
		done
	done
done

echo
echo "throughput (MB of guests' used bytes per second), RADOS+PostgreSQL / RADOS+SQLite / local:"
printf '  %-6s' "N \\ P"; for p in $PROCS; do printf '%26s' "P=$p"; done; echo
for n in $GUESTS; do
	printf '  %-6s' "N=$n"
	for p in $PROCS; do
		if [ -n "${TPUT[rados-N$n-P$p]:-}" ]; then
			printf '%8.1f /%6.1f /%6.1f  ' "${TPUT[pg-N$n-P$p]}" "${TPUT[rados-N$n-P$p]}" "${TPUT[local-N$n-P$p]}"
		else
			printf '%26s' "-"
		fi
	done
	echo
done
echo "scaling with processes (time at P=1 / time at P), RADOS+PostgreSQL / RADOS+SQLite / local:"
for n in $GUESTS; do
	for p in $PROCS; do
		[ "$p" -gt 1 ] && [ -n "${SECONDS_OF[rados-N$n-P$p]:-}" ] || continue
		echo "  N=$n P=$p: $(ratio "pg-N$n-P1" "pg-N$n-P$p")x / $(ratio "rados-N$n-P1" "rados-N$n-P$p")x / $(ratio "local-N$n-P1" "local-N$n-P$p")x"
	done
done
echo "against the local repository (time ratio, >1: slower), RADOS+PostgreSQL / RADOS+SQLite:"
for n in $GUESTS; do
	for p in $PROCS; do
		[ -n "${SECONDS_OF[rados-N$n-P$p]:-}" ] || continue
		echo "  N=$n P=$p: $(ratio "pg-N$n-P$p" "local-N$n-P$p") / $(ratio "rados-N$n-P$p" "local-N$n-P$p")"
	done
done

# the catalog and the dedup of the largest run
ns=n${maxg}p$(echo $PROCS | awk '{print $1}')
versions=$(sqlite3 "cat-$ns.db" "SELECT count(*) FROM versions")
total=$(sqlite3 "cat-$ns.db" "SELECT sum(bytes_total) FROM generations")
stored=$(sqlite3 "cat-$ns.db" "SELECT sum(size) FROM archives")
unique=$(sqlite3 "cat-$ns.db" "SELECT sum(size) FROM contents")
catalog=$(stat -c %s "cat-$ns.db")
pgsize=$(psql -X -q -t -A -c "SELECT pg_database_size('b_$ns') - pg_database_size('template1')")
echo "catalog of $maxg guests: $versions file versions; SQLite $(human "$catalog"): $(human $((catalog * 1000000 / versions))) per million versions; PostgreSQL $(human "$pgsize") (above an empty database): $(human $((pgsize * 1000000 / versions))) per million"
echo "dedup across the $maxg clones: $(human "$total") backed up, $(human "$unique") of distinct contents ($(echo "scale=1; $total / $unique" | bc -l)x), $(human "$stored") stored after compression in $(rados -p backup -N "$ns" ls | grep -c '^data/') objects ($(echo "scale=1; $total / $stored" | bc -l)x in all)"
