#!/bin/bash
# A rawkit-lanfree repository in RADOS (rados:POOL/NAMESPACE), against a
# throw-away single-node cluster, with guest disks on RBD: init, backups
# from rbd: snapshots, three at once from separate processes, restore and
# verify --read-data from another process, an archive of many chunks,
# damaged and missing objects, a backup killed -9 at each point of its
# commit (the catalog as before, no reachable partial data, the orphans
# removed by prune), a lock held elsewhere, a damaged configuration.
# Checked with rados' own listing, sqlite3, cmp and diff.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

ceph_require
L=rawkit-lanfree

# The guest: GPT, ext4 with a tree whose archive spans several 4 MiB chunks.
mkdir -p src/etc src/data/deep
echo guest01 >src/etc/hostname
head -c 9000000 /dev/urandom >src/data/blob
head -c 5000 /dev/urandom >src/data/deep/small
for i in $(seq 1 200); do echo "file $i" >src/data/deep/f$i; done
ln -s ../etc/hostname src/data/link
mkdisk g.img 64M <<'S'
label: gpt
start=2048, size=48M, type=linux, name="root"
S
put_ext4 g.img 1 -L root -d src || { echo "Bail out! cannot build the guest disk"; exit 1; }

ceph_start rbd || { echo "Bail out! cannot start the Ceph cluster (see $SCRATCH/ceph/*.log)"; exit 1; }
ceph_pool backup || { echo "Bail out! cannot create the backup pool"; exit 1; }
diag "Ceph cluster up in $CEPH_START_SECONDS s"
for g in g01 g02 g03; do
	rbd import --no-progress g.img rbd/$g >/dev/null 2>&1 && rbd snap create --no-progress rbd/$g@s1 >/dev/null 2>&1 ||
		{ echo "Bail out! cannot import the guest disks"; exit 1; }
done
R=rados:backup/site1
objects() { rados -p backup -N site1 ls 2>/dev/null | sort; }
chunks() { objects | grep '^data/' ; }
export TMPDIR=$PWD/stage
mkdir -p stage

# ---- init
usage() { # DESC REGEX ARGS...
	local desc=$1 re=$2
	shift 2
	$L "$@" >/dev/null 2>err.txt
	isnt_zero=$?
	ok "$desc: fails" test "$isnt_zero" -ne 0 -a "$isnt_zero" -lt 128
	like "$(cat err.txt)" "$re" "$desc: says why"
	ok "$desc: in one line" one_line_error $L err.txt
}
usage "init rados: without --catalog" "^rawkit-lanfree: $R: cannot create repository: a repository in RADOS needs --catalog: a PostgreSQL connection string or the absolute path of a new SQLite file$" init $R
usage_error "init rados: with a relative catalog" "^rawkit-lanfree: init: --catalog: .* or the absolute path of an SQLite file, not \"cat.db\"$" $L init $R --catalog cat.db
usage_error "init a local repository with an SQLite path as --catalog" "^rawkit-lanfree: init: --catalog: a PostgreSQL connection string .*, not \"$PWD/x.db\"$" $L init local --catalog "$PWD/x.db"
ok "no directory made by it" test ! -e local
usage "init in a pool that does not exist" "^rawkit-lanfree: rados:nopool/x: cannot open the repository: no pool 'nopool'" init rados:nopool/x --catalog "$PWD/x.db"
usage "a malformed spec" "not a RADOS spec" init rados:backup/a/b --catalog "$PWD/x.db"
is "$(objects)" "" "nothing written by the failed inits"
ok "no catalog left by them" test ! -e x.db
ok "init $R --catalog PATH" $L init $R --catalog "$PWD/cat.db"
is "$(objects)" "rawkit-repository" "the namespace holds the configuration object"
like "$(rados -p backup -N site1 get rawkit-repository - 2>/dev/null)" "catalog=$PWD/cat.db" "which names the catalog"
is "$(sqlite3 cat.db "SELECT value FROM meta WHERE key = 'schema'")" 1 "the catalog is an SQLite catalog"
usage "init again" "cannot create the catalog: it exists" init $R --catalog "$PWD/cat.db"
usage "init again, another catalog" "cannot create repository: the namespace is not empty" init $R --catalog "$PWD/cat2.db"
ok "the other catalog was not created" test ! -e cat2.db

# ---- a backup from an RBD snapshot, read back
ok "backup rbd:rbd/g01@s1 into $R" $L backup $R rbd:rbd/g01@s1 --name g01 --quiet
n=$(chunks | grep -c '^data/g01/1-[0-9a-f]\{8\}\.tar\.zst\.0000000[0-9a-f]$')
ok "the archive is chunk objects ($n)" test "$n" -ge 2
is "$(ls stage)" "" "nothing left in the staging directory"
is "$(sqlite3 cat.db "SELECT count(*) FROM generations")" 1 "one generation in the catalog"
arch=$(sqlite3 cat.db "SELECT path FROM archives")
size=$(sqlite3 cat.db "SELECT size FROM archives")
got=0
for o in $(chunks); do got=$((got + $(rados -p backup -N site1 stat "$o" | sed 's/.*size //'))); done
is "$got" "$size" "the chunks hold the archive's bytes"
like "$($L list $R)" "g01" "list"
like "$($L ls $R g01 p1/data)" "blob" "ls"
ok "restore from another process" $L restore $R g01 --to out1 --quiet
ok "the tree comes back" diff -r --no-dereference -x lost+found src out1/p1
ok "cmp the large file (across chunk boundaries)" cmp src/data/blob out1/p1/data/blob
ok "verify --read-data" $L verify $R --read-data --quiet
ok "restore of one file" $L restore $R g01 p1/data/blob --to out1b --quiet
ok "cmp" cmp src/data/blob out1b/p1/data/blob

# ---- three backups of different guests at once, separate processes
backup_three() { # REPO WHAT: g01, g02 and g03 backed up into REPO at once
	local g
	for g in g01 g02 g03; do
		$L backup "$1" rbd:rbd/$g@s1 --name $g --quiet >bk-$g.out 2>&1 &
		eval pid_$g=$!
	done
	for g in g01 g02 g03; do
		eval wait \$pid_$g
		is "$?" 0 "concurrent backup of $g$2"
	done
}
backup_three $R ""
is "$(sqlite3 cat.db "SELECT g.name || ':' || count(*) FROM generations n JOIN guests g ON g.id = n.guest_id GROUP BY g.name ORDER BY g.name" | tr '\n' ' ')" \
	"g01:2 g02:1 g03:1 " "every generation is in the catalog"
ok "verify --read-data after them" $L verify $R --read-data --quiet
ok "restore g03" $L restore $R g03 --to out3 --quiet
ok "g03's tree" diff -r --no-dereference -x lost+found src out3/p1

# ---- the other commands on it
like "$($L find $R g01 '*/small')" "p1/data/deep/small" "find"
ok "diff of two generations" $L diff $R g01@1 g01@2
ok "export a generation as one tar stream" $L export $R g02 --to g02.tar -q
mkdir -p fromtar && tar -xf g02.tar -C fromtar 2>/dev/null
ok "which tar extracts to the tree" diff -r --no-dereference -x lost+found src fromtar/p1
if command -v fusermount3 >/dev/null && [ -e /dev/fuse ]; then
	mkdir -p mnt
	ok "mount" $L mount $R "$PWD/mnt"
	ok "a file read through the mount" cmp src/data/blob mnt/g01/1/p1/data/blob
	fusermount3 -u "$PWD/mnt"
else
	skip 2 "no FUSE here"
fi
cat >fleet.conf <<CONF
[repository]
path = $R
jobs = 2
[guest g02]
disk = rbd:rbd/g02@s1
[guest g03]
disk = rbd:rbd/g03@s1
CONF
ok "the fleet's run with [repository] path = $R" $L run --config fleet.conf -q
is "$(sqlite3 cat.db "SELECT count(*) FROM generations g JOIN guests n ON n.id = g.guest_id WHERE n.name IN ('g02', 'g03')")" 4 "two more generations"

# ---- damage: a chunk changed, a chunk missing
first=$(chunks | grep '^data/g01/1-' | head -1)
rados -p backup -N site1 get "$first" keep.obj
head -c "$(stat -c %s keep.obj)" /dev/zero | rados -p backup -N site1 put "$first" -
$L verify $R --read-data --quiet >err.txt 2>&1
is "$?" 1 "verify finds a damaged chunk"
like "$(cat err.txt)" "checksum mismatch" "and says where"
missing() { # OBJECT WHICH REGEX: OBJECT taken away, verify and a restore fail, OBJECT put back
	rados -p backup -N site1 get "$1" kept.obj
	rados -p backup -N site1 rm "$1"
	$L verify $R --read-data --quiet >err.txt 2>&1
	is "$?" 1 "verify finds a missing $2 chunk"
	like "$(cat err.txt)" "$3" "and says so"
	rm -rf out-missing
	fails "a restore reading the missing $2 chunk fails" $L restore $R g01@1 p1/data/blob --to out-missing --quiet
	rados -p backup -N site1 put "$1" kept.obj
}
rados -p backup -N site1 put "$first" keep.obj
missing "$first" first "cannot open: no object $first"
ok "verify --read-data once it is back" $L verify $R --read-data --quiet
missing "$(chunks | grep '^data/g01/1-' | sed -n 2p)" middle "has 4194304 bytes, the catalog says"

# ---- a lock held by another client
rados -p backup -N site1 lock get locks/g02 rawkit --lock-cookie other --lock-type exclusive >/dev/null 2>&1
$L backup $R rbd:rbd/g02@s1 --name g02 --quiet 2>err.txt
is "$?" 4 "a backup of a guest locked elsewhere: busy (exit 4)"
like "$(cat err.txt)" "^rawkit-lanfree: g02: busy: another backup or prune of this guest is running$" "says so"
locker=$(rados -p backup -N site1 lock info locks/g02 rawkit 2>/dev/null | grep -o 'client\.[0-9]*' | head -1)
ok "break that lock" rados -p backup -N site1 lock break locks/g02 rawkit "$locker" --lock-cookie other
ok "once it is let go, the backup runs" $L backup $R rbd:rbd/g02@s1 --name g02 --quiet

# ---- killed -9 at each point of a backup's commit (each on a disk of its
# own content: the same content again would be stored once, by reference)
gens=$(sqlite3 cat.db "SELECT count(*) FROM generations")
before=$(chunks)
k=0
for point in chunk-stored archive-published before-commit; do
	k=$((k + 1))
	mkdir -p kill$k && head -c 6000000 /dev/urandom >kill$k/new
	mkdisk k$k.img 24M <<'S'
label: gpt
start=2048, size=20M, type=linux
S
	put_ext4 k$k.img 1 -d kill$k || { echo "Bail out! cannot build a disk"; exit 1; }
	RAWKIT_FAULT=$point $L backup $R k$k.img --name kill$k --quiet >/dev/null 2>&1
	is "$?" 137 "backup killed at $point"
done
is "$(sqlite3 cat.db "SELECT count(*) FROM generations")" "$gens" "no generation recorded by the killed backups"
orphans=$(comm -13 <(echo "$before") <(chunks))
ok "they left orphan chunks" test -n "$orphans"
is "$(ls stage)" "" "and nothing in the staging directory"
ok "verify --read-data: the repository is consistent" $L verify $R --read-data --quiet
t0=$(date +%s)
ok "prune (waits for the killed runs' locks to end)" $L prune $R --all --keep-last 5 --wait-lock 60 --quiet
diag "the locks of the killed runs ended after $(( $(date +%s) - t0 )) s"
is "$(chunks)" "$before" "prune removed the orphan chunks, and only them"
ok "verify --read-data after the prune" $L verify $R --read-data --quiet

# ---- a backup stopped for longer than its lock's lease (a paused VM): a
# prune may run meanwhile and take its upload for orphans; the backup,
# once it goes on, must not record a generation whose archive is gone
RAWKIT_STOP=archive-published $L backup $R k2.img --name paused --quiet 2>paused.err &
paused=$!
for i in $(seq 1 100); do [ "$(awk '{print $3}' /proc/$paused/stat 2>/dev/null)" = T ] && break; sleep 0.2; done
is "$(awk '{print $3}' /proc/$paused/stat 2>/dev/null)" T "a backup stopped after its upload"
ok "its upload is in the pool" test "$(chunks | grep -c '^data/paused/')" -ge 1
ok "prune runs once the stopped backup's lease has run out" $L prune $R --all --keep-last 5 --wait-lock 60 --quiet
is "$(chunks | grep -c '^data/paused/')" 0 "and removes the upload, which no catalog row names"
kill -CONT $paused
wait $paused
is "$?" 1 "the backup, going on, fails"
like "$(cat paused.err)" "^rawkit-lanfree: $R: the repository's lock is lost" "it says its lock is lost"
ok "in one line" one_line_error $L paused.err
is "$(sqlite3 cat.db "SELECT count(*) FROM guests g JOIN generations n ON n.guest_id = g.id WHERE g.name = 'paused'")" 0 \
	"no generation recorded"
ok "verify --read-data: nothing names a missing object" $L verify $R --read-data --quiet

# ---- a guest name of 100 characters (longer than a message shows)
long=$(printf 'g%.0s' $(seq 1 100))
ok "backup of a guest with a 100-character name" $L backup $R k1.img --name "$long" --quiet
ok "verify --read-data reads its archive by its whole name" $L verify $R --read-data --quiet

# ---- prune removes the objects of the archives no generation needs
ok "backup of one disk as guest solo" $L backup $R k1.img --name solo --quiet
ok "then of another as its second generation" $L backup $R k2.img --name solo --quiet
ok "prune solo to its last generation" $L prune $R solo --keep-last 1 --quiet
is "$(chunks | grep -c '^data/solo/1-')" 0 "the first generation's chunks are gone"
ok "the second's are there" test "$(chunks | grep -c '^data/solo/2-')" -ge 1
ok "restore solo after the prune" $L restore $R solo --to out4 --quiet
ok "the second disk's tree" diff -r --no-dereference -x lost+found kill2 out4/p1
ok "verify --read-data" $L verify $R --read-data --quiet

# ---- damaged and missing configuration
ok "another namespace" rados -p backup -N bad put rawkit-repository /dev/null
usage "an empty configuration" "^rawkit-lanfree: rados:backup/bad: damaged repository configuration" list rados:backup/bad
printf 'rawkit-lanfree repository\ncatalog=%s\nchunk_bytes=1048576\n' "$PWD/cat.db" | rados -p backup -N bad put rawkit-repository -
usage "a chunk size other than the archives'" "damaged repository configuration .*chunk_bytes=4194304" list rados:backup/bad
usage "no configuration" "^rawkit-lanfree: rados:backup/none: not a rawkit-lanfree repository" list rados:backup/none

# ---- the catalog on PostgreSQL: backup servers that share nothing but
# the cluster and the database (three processes here, each its own client)
if is_root && [ -z "$(pg_missing)" ] && pg_start && psql -X -q -c 'CREATE DATABASE lanfree' >/dev/null 2>&1; then
	trap 'pg_stop; _ceph_stop; _fixture_cleanup' EXIT
	diag "PostgreSQL up in $PG_START_SECONDS s"
	P=rados:backup/site2
	DSN="host=$PGHOST user=postgres dbname=lanfree"
	q() { psql -X -q -t -A -d lanfree -c "$1" 2>&1; }
	ok "init $P --catalog DSN" $L init $P --catalog "$DSN"
	$L init rados:backup/site3 --catalog "$DSN" 2>err.txt
	is "$?" 1 "init of another namespace into a database that holds a catalog: refused"
	ok "in one line" one_line_error $L err.txt
	is "$(rados -p backup -N site3 ls 2>/dev/null)" "" "and the namespace is left empty"
	like "$(rados -p backup -N site2 get rawkit-repository - 2>/dev/null)" "catalog=$DSN" "the configuration names the database"
	backup_three $P " into RADOS + PostgreSQL"
	is "$(q "SELECT string_agg(name, ' ' ORDER BY name) FROM guests")" "g01 g02 g03" "psql: the three guests"
	is "$(q "SELECT count(*) FROM generations WHERE status = 'complete'")" 3 "psql: three complete generations"
	is "$(q "SELECT count(*) FROM archives")" "$(rados -p backup -N site2 ls | sed -n 's/\.[0-9a-f]\{8\}$//p' | sort -u | wc -l)" \
		"every archive in the catalog is in the pool, and no other"
	ok "restore from another process" $L restore $P g02 --to pgout --quiet
	ok "the tree" diff -r --no-dereference -x lost+found src pgout/p1
	ok "verify --read-data" $L verify $P --read-data --quiet
	RAWKIT_FAULT=archive-published $L backup $P k3.img --name pgkill --quiet >/dev/null 2>&1
	is "$?" 137 "a backup killed after its upload"
	is "$(q "SELECT count(*) FROM guests g JOIN generations n ON n.guest_id = g.id WHERE g.name = 'pgkill'")" 0 \
		"nothing of it in the catalog"
	ok "prune removes its chunks (once its lock has ended)" $L prune $P --all --keep-last 5 --wait-lock 60 --quiet
	is "$(rados -p backup -N site2 ls | grep -c '^data/pgkill/')" 0 "no chunk of it left"
	pg_stop
	$L backup $P k2.img --name pgdown --quiet 2>err.txt
	rc=$?
	ok "with the database down, a backup fails cleanly" test "$rc" -ne 0 -a "$rc" -lt 128
	ok "in one line" one_line_error $L err.txt
	is "$(rados -p backup -N site2 ls | grep -c '^data/pgdown/')" 0 "and stores nothing"
else
	skip 20 "needs root and PostgreSQL (Debian's postgresql)"
fi

# ---- the cluster gone: a clean error, not a hang
_ceph_stop
SECONDS=0
$L list $R >/dev/null 2>err.txt
rc=$?
ok "with the cluster down, list fails cleanly" test "$rc" -ne 0 -a "$rc" -lt 128
ok "in one line" one_line_error $L err.txt
like "$(cat err.txt)" "cannot open the repository: cannot connect to the Ceph cluster" "naming the cluster"
diag "gave up after $SECONDS s"

done_testing
