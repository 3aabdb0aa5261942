#!/bin/bash
# rawkit-lanfree with its catalog on PostgreSQL (init --catalog DSN), against
# a throw-away server of the test's own: the schema is made there, backup,
# list, ls, restore and verify work as on SQLite (restores checked with cmp,
# rows read back with psql), two guests back up at once from two processes
# (the same new content in both: stored once in the catalog), and a server
# stopped mid-backup (in its catalog transaction, or while it walks) is a
# one-line error with nothing half-recorded.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root || skip_all "needs root (the server runs as the user postgres)"
pg_require
L=rawkit-lanfree

# Two guests on small ext4 disks (mke2fs -d: no mount).
mkdir -p a/etc a/data/deep b/etc b/srv
echo guest-a >a/etc/hostname
echo guest-b >b/etc/hostname
head -c 3000000 /dev/urandom >a/data/blob
head -c 5000 /dev/urandom >a/data/deep/small
ln -s ../etc/hostname a/data/link
head -c 2000000 /dev/urandom >b/srv/big
cp a/data/deep/small b/srv/small-too # a content guest a stored already
make_disk() { # IMAGE TREE
	mkdisk "$1" 64M <<-'S' && put_ext4 "$1" 1 -L root -d "$2"
	label: gpt
	start=2048, size=56M, type=linux, name="root"
	S
}
make_disk a.img a && make_disk b.img b || { echo "Bail out! cannot build the guest disks"; exit 1; }

pg_start || { echo "Bail out! cannot start PostgreSQL (see $SCRATCH/pg/*.log)"; tail -5 "$SCRATCH"/pg/*.log >&2; exit 1; }
diag "PostgreSQL up in $PG_START_SECONDS s"
q() { psql -X -q -t -A -d lanfree -c "$1" 2>&1; }
psql -X -q -c 'CREATE DATABASE lanfree' -c 'CREATE DATABASE other' ||
	{ echo "Bail out! cannot create the databases"; exit 1; }
DSN="host=$PGHOST user=postgres dbname=lanfree"

# ---- init
ok "init with --catalog DSN (libpq's keyword form)" $L init repo --catalog "$DSN"
is "$(cat repo/catalog)" "$DSN" "REPO/catalog holds the connection string"
is "$(stat -c %a repo/catalog)" 600 "REPO/catalog is private (a DSN may hold a password)"
ok "no SQLite catalog in the repository" test ! -e repo/catalog.db
is "$(q "SELECT value FROM meta WHERE key = 'schema'")" 1 "the schema is in the database (version 1)"
is "$(q "SELECT data_type || ' ' || is_identity FROM information_schema.columns WHERE table_name = 'versions'
	AND column_name IN ('id', 'dir') ORDER BY column_name")" "bytea NO
bigint YES" "PostgreSQL types: BYTEA for BLOB, an identity BIGINT for INTEGER PRIMARY KEY"
mkdir repo2
$L init repo2 --catalog "$DSN" 2>err.txt
is "$?" 1 "init into a database that holds a catalog: refused"
ok "... with one line" one_line_error $L err.txt
is "$(ls -A repo2)" "" "... and nothing made in the directory"
ok "init with a postgresql:// URI" $L init repo-uri --catalog "postgresql:///other?host=$PGHOST&user=postgres"
ok "... which opens" $L list repo-uri
$L init repo3 --catalog "$SCRATCH/catalog.db" 2>err.txt
is "$?" 2 "--catalog that is no connection string: a usage error"
$L init repo4 --catalog "host=$PGHOST user=postgres dbname=missing" 2>err.txt
is "$?" 1 "--catalog naming a database that does not exist: refused"
ok "... with one line" one_line_error $L err.txt

# ---- backup, list, ls, restore, verify
ok "backup of guest a" $L backup repo a.img --name ga -q
like "$($L list repo)" "ga +1 [^ ]+ full +[0-9]+ .* complete" "list shows ga@1"
is "$($L ls repo ga p1/data | tr '\n' ' ')" "blob deep link " "ls p1/data"
ok "restore ga" $L restore repo ga --to r1 -q
ok "restored blob = the source (cmp)" cmp r1/p1/data/blob a/data/blob
ok "restored deep/small = the source (cmp)" cmp r1/p1/data/deep/small a/data/deep/small
is "$(readlink r1/p1/data/link)" "../etc/hostname" "restored symlink"
ok "verify --read-data" $L verify repo --read-data
is "$(q "SELECT g.name, n.seq, n.level, n.status FROM generations n JOIN guests g ON g.id = n.guest_id")" \
	"ga|1|full|complete" "psql: the generation's row"
is "$(q "SELECT encode(dir, 'escape') || '/' || encode(name, 'escape') || ' ' || size FROM versions
	WHERE volume = 'p1' AND name = 'blob'::bytea")" "data/blob 3000000" "psql: the file's version (dir, name as bytea)"
is "$(q "SELECT count(*) FROM contents c JOIN archives a ON a.id = c.archive_id WHERE a.path LIKE 'data/ga/1-%'")" \
	"$(q "SELECT count(DISTINCT content_id) FROM versions WHERE content_id IS NOT NULL")" \
	"psql: every content in ga's archive"

# ---- two guests at once, from two processes
# The same new content goes into both; a lock on generations (held from
# psql) stops both before their catalog transaction, so that they run it
# together once it is let go.
head -c 200000 /dev/urandom >a/data/shared.bin
cp a/data/shared.bin b/srv/shared.bin
make_disk a.img a && make_disk b.img b
wait_for() { # SQL VALUE: until SQL (psql) says VALUE, for up to 30 s
	for i in $(seq 1 300); do
		[ "$(q "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
lock_table() { # TABLE MODE PG_LOCKS-MODE: a session holds a lock on TABLE until release_lock
	psql -X -q -d lanfree -c "BEGIN; LOCK TABLE $1 IN $2 MODE; SELECT pg_sleep(60); COMMIT" >/dev/null 2>&1 &
	wait_for "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE c.relname = '$1' AND l.granted AND l.mode = '$3'" 1
}
waiting_for_lock() { # N: until N sessions wait on a lock
	wait_for "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'" "$1"
}
release_lock() {
	q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
}
ok "a session locks generations" lock_table generations EXCLUSIVE ExclusiveLock
$L backup repo a.img --name ga -q 2>ba.err &
pid_a=$!
$L backup repo b.img --name gb -q 2>bb.err &
pid_b=$!
ok "both backups reach their catalog transaction and wait there together" waiting_for_lock 2
release_lock
wait $pid_a
is "$?" 0 "backup of ga (concurrent): exit 0"
wait $pid_b
is "$?" 0 "backup of gb (concurrent): exit 0"
is "$(cat ba.err bb.err)" "" "... nothing on stderr"
like "$($L list repo | tr -s ' ' | cut -d' ' -f1,2,4 | tr '\n' ' ')" "ga 1 full ga 2 incr gb 1 full" "list: ga@1, ga@2, gb@1"
is "$(q "SELECT count(*) FROM contents WHERE size = 200000")" 1 "the content both stored is in the catalog once"
ok "restore gb" $L restore repo gb --to r2 -q
ok "gb's big file = the source (cmp)" cmp r2/p1/srv/big b/srv/big
ok "gb's shared file = the source (cmp)" cmp r2/p1/srv/shared.bin b/srv/shared.bin
ok "gb's file whose content ga stored = the source (cmp)" cmp r2/p1/srv/small-too b/srv/small-too
ok "restore ga@2" $L restore repo ga@2 --to r3 -q
ok "ga's shared file = the source (cmp)" cmp r3/p1/data/shared.bin a/data/shared.bin
ok "verify --read-data after the concurrent backups" $L verify repo --read-data
like "$($L diff repo ga@1 ga@2)" "^\+ +p1/data/shared.bin" "diff ga@1 ga@2: the new file"
like "$($L find repo gb '*/small-too')" "p1/srv/small-too" "find"
ok "export gb as tar" $L export repo gb --to gb.tar -q
is "$(tar -xOf gb.tar p1/srv/big | sha256sum | cut -d' ' -f1)" "$(sum b/srv/big)" "the exported file = the source"
if command -v fusermount3 >/dev/null && [ -e /dev/fuse ]; then
	mkdir mnt
	ok "mount (the FUSE server opens the catalog itself)" $L mount repo "$SCRATCH/mnt"
	ok "a file read through the mount = the source (cmp)" cmp mnt/gb/1/p1/srv/big b/srv/big
	ok "unmount" fusermount3 -u "$SCRATCH/mnt"
else
	skip 3 "no FUSE (fusermount3, /dev/fuse)"
fi
if losetup -f >/dev/null 2>&1; then
	ok "restore-disk gb onto a new image" $L restore-disk repo gb rd.img -q
	is "$(imgfmt-tool cat rd.img p1 /srv/big | sha256sum | cut -d' ' -f1)" "$(sum b/srv/big)" \
		"a file of the remade disk = the source"
else
	skip 2 "no loop devices (restore-disk mounts what it makes)"
fi

# ---- the server stopped mid-backup
head -c 300000 /dev/urandom >a/data/late.bin
make_disk a.img a
gens_before=$(q "SELECT count(*) FROM generations")
versions_before=$(q "SELECT count(*) FROM versions")
ok "a session locks generations" lock_table generations EXCLUSIVE ExclusiveLock
$L backup repo a.img --name ga -q 2>stop.err &
pid_a=$!
ok "the backup waits in its catalog transaction" waiting_for_lock 1
pg_stop
wait $pid_a
is "$?" 1 "server stopped mid-backup: exit 1"
ok "... one line on stderr" one_line_error $L stop.err
diag "$(cat stop.err)"
like "$(cat stop.err)" "^$L: catalog: .*(terminat|connection|server)" "... saying what the catalog's server did"
pg_start || { echo "Bail out! cannot restart PostgreSQL"; exit 1; }
is "$(q "SELECT count(*) FROM generations")" "$gens_before" "nothing half-recorded: the same generations"
is "$(q "SELECT count(*) FROM versions")" "$versions_before" "... the same versions"
is "$(q "SELECT count(*) FROM versions WHERE last_seq = 3 OR first_seq = 3")" 0 "... no row of generation 3"
ok "verify --read-data" $L verify repo --read-data

# ---- the server stopped while the backup walks (its reads of the
# catalog's contents wait on a lock: the walk stops at its first file)
head -c 300000 /dev/urandom >a/data/later.bin
make_disk a.img a
gens_before=$(q "SELECT count(*) FROM generations")
ok "a session locks contents" lock_table contents "ACCESS EXCLUSIVE" AccessExclusiveLock
$L backup repo a.img --name ga -q 2>stop2.err &
pid_a=$!
ok "the backup's walk waits" waiting_for_lock 1
pg_stop
wait $pid_a
is "$?" 1 "server stopped during the walk: exit 1"
ok "... one line on stderr" one_line_error $L stop2.err
diag "$(cat stop2.err)"
pg_start || { echo "Bail out! cannot restart PostgreSQL"; exit 1; }
is "$(q "SELECT count(*) FROM generations")" "$gens_before" "nothing recorded"
is "$(ls repo/tmp)" "" "no temporary archive left behind"
ok "verify --read-data" $L verify repo --read-data
ok "the next backup of ga" $L backup repo a.img --name ga -q
ok "restore it" $L restore repo ga --to r4 -q
ok "late.bin = the source (cmp)" cmp r4/p1/data/late.bin a/data/late.bin
ok "prune ga --keep-last 1" $L prune repo ga --keep-last 1 -q
ok "verify --read-data after prune" $L verify repo --read-data
is "$(q "SELECT string_agg(seq::text, ' ' ORDER BY seq) FROM generations n JOIN guests g ON g.id = n.guest_id
	WHERE g.name = 'ga'")" 3 "psql: ga keeps generation 3 only"

# Labels are TEXT: in a UTF-8 database one that is not UTF-8 is refused
# (one line, nothing recorded); a SQL_ASCII database keeps it byte for byte.
mkdir -p c/etc && echo guest-c >c/etc/hostname
mkdisk c.img 64M <<'S'
label: gpt
start=2048, size=56M, type=linux, name="root"
S
put_ext4 c.img 1 -L $'ro\xffot' -d c
$L backup repo c.img --name gc -q 2>err.txt
is "$?" 1 "a label that is not UTF-8, into a UTF-8 database: refused"
ok "... with one line" one_line_error $L err.txt
is "$(q "SELECT count(*) FROM guests WHERE name = 'gc'")" 0 "... and nothing recorded"
psql -X -q -c "CREATE DATABASE bytes ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
ok "init with a SQL_ASCII database" $L init repo-bytes --catalog "host=$PGHOST user=postgres dbname=bytes"
ok "the same backup into it" $L backup repo-bytes c.img --name gc -q
is "$(psql -X -d bytes -tAc "SELECT encode(label::bytea, 'hex') FROM volumes")" "726fff6f74" "the label, byte for byte"

done_testing
