#!/bin/bash
# rawkit-lanfree run: a fleet from one rawkit-lanfree.conf(5).  Three guests
# (one whose disk its before hook makes and its after hook removes, one
# broken): guests run at once, a failure stays with its guest, the exit
# status says what happened, retention is applied, each result reaches
# syslog, --json and --dry-run; and every mistake in the file is refused
# with its line before anything runs.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
VOCAB="python3 $TESTS_DIR/lib/json_vocab.py $TESTS_DIR/../doc/json.md"
S=$SCRATCH

# two small guests, made without root: ext4 from a directory
mkdir -p t1/etc t1/tmp t2/srv
echo web01 >t1/etc/hostname && echo scratch >t1/tmp/junk && echo data >t2/srv/db
mkdisk golden.img 48M <<'D'
label: dos
start=2048, type=83
D
cp golden.img db01.img
put_ext4 golden.img 1 -d t1
put_ext4 db01.img 1 -d t2
$L init repo >/dev/null || { echo "Bail out! init"; exit 1; }

gens() { sqlite3 repo/catalog.db "SELECT count(*) FROM generations n JOIN guests g ON g.id = n.guest_id WHERE g.name = '$1'"; }
jq_() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# web01 and db01 meet in their before hooks: each waits (5 s at most) for
# the other's mark, so both pass only when they run at the same time.
# (NOHS=1: no handshake, for runs of one guest)
handshake() { # MINE THEIRS
	[ "${NOHS:-}" = 1 ] && { echo true; return; }
	echo "touch $S/$1.started; for i in \$(seq 50); do [ -e $S/$2.started ] && exit 0; sleep 0.1; done; exit 1"
}

write_conf() { # JOBS [EXTRA-DB01-LINES]
	cat >fleet.conf <<EOF
; the test fleet
[repository]
path = $S/repo
jobs = $1

[defaults]
level = incr
keep-last = 2
after = echo "\$RAWKIT_GUEST \$RAWKIT_STATUS gen=\$RAWKIT_GENERATION level=\$RAWKIT_LEVEL" >> $S/after.log

[guest web01]
disk = $S/web01-snap.img
before = $(handshake web db)
before = cp $S/golden.img $S/web01-snap.img
after = rm -f $S/web01-snap.img
after = echo "web01 \$RAWKIT_STATUS gen=\$RAWKIT_GENERATION" >> $S/after.log
exclude = p1/tmp/*

[guest db01]
disk = $S/db01.img
before = $(handshake db web)
${2:-}

[guest broken]
disk = $S/missing.img
EOF
}

# ---- --dry-run: the plan, and nothing done
write_conf 3
$L run --config fleet.conf --dry-run >plan.txt 2>err.txt
is "$?" 0 "--dry-run: exit 0"
like "$(cat plan.txt)" "web01: back up $S/web01-snap.img \\(incr\\)" "--dry-run: each guest's disk and level"
like "$(cat plan.txt)" "before: cp $S/golden.img" "--dry-run: its hooks"
like "$(cat plan.txt)" "exclude: p1/tmp/\\*" "--dry-run: its excludes"
like "$(cat plan.txt)" "3 guests into $S/repo, 3 at a time; nothing done" "--dry-run: the total"
ok "--dry-run runs no hook" test ! -e web.started -a ! -e after.log -a ! -e web01-snap.img
is "$(sqlite3 repo/catalog.db 'SELECT count(*) FROM generations')" 0 "--dry-run records nothing"
$L run --config fleet.conf --dry-run --json >plan.json
is "$($VOCAB run plan.json done)" "" "--dry-run --json: the vocabulary of doc/json.md"
is "$(jq_ plan.json '[g["guest"] for g in d["guests"]], d["guests"][0]["keep"]["last"], d["dry_run"]')" \
	"['web01', 'db01', 'broken'] 2 True" "--dry-run --json: the guests in file order, their policy"

# ---- the run: guests at once, one broken
$L run --config fleet.conf >out.txt 2>err.txt
is "$?" 1 "a guest failed: exit 1"
like "$(grep '^web01: ' out.txt)" "^web01: done: generation 1 \\(full\\), [0-9]+ files" "web01 done (its disk made by its before hook)"
like "$(grep '^db01: ' out.txt)" "^db01: done: generation 1 \\(full\\)" "db01 done beside it (the hooks' handshake needs both at once)"
like "$(grep '^broken: ' out.txt)" "^broken: failed: backup exited with status 1: .*missing.img: cannot open" "broken: failed, and why"
like "$(tail -n1 out.txt)" "^3 guests: 2 done, 0 with warnings, 1 failed; " "a total line"
like "$(cat err.txt)" "rawkit-lanfree: broken: backup exited with status 1" "the failure on stderr too, in the one-line form"
is "$(gens web01) $(gens db01) $(gens broken)" "1 1 0" "the others completed and are recorded"
ok "web01's after hook removed its snapshot" test ! -e web01-snap.img
is "$(sort after.log)" "$(printf '%s\n' "broken failed gen= level=incr" "db01 done gen=1 level=incr" "web01 done gen=1" | sort)" \
	"after hooks ran for every guest, the failed one too, with the outcome in their environment"
is "$($L ls repo web01 p1/tmp 2>&1)" "" "web01's exclude applied (p1/tmp is empty in the generation)"
rm -f ./*.started after.log

# ---- jobs = 1: one guest at a time (the handshake cannot succeed)
write_conf 1
$L run --config fleet.conf web01 db01 >out1.txt 2>err1.txt
is "$?" 1 "jobs = 1: the guests ran one after the other (the handshake failed): exit 1"
like "$(grep '^web01: ' out1.txt)" "^web01: failed: before hook .* exited with status 1" "a failed before hook fails its guest"
is "$(gens web01)" 1 "and its backup did not run"
like "$(cat after.log)" "web01 failed gen=" "its after hooks ran, with RAWKIT_STATUS=failed"
rm -f ./*.started after.log

# ---- retention per guest, then the sweep
write_conf 3
for i in 2 3 4; do
	$L run --config fleet.conf web01 db01 -q >/dev/null 2>&1
	rc=$?
	rm -f ./*.started
done
is "$rc" 0 "runs of the good guests only (named on the command line): exit 0"
is "$(gens web01) $(gens db01)" "2 2" "keep-last = 2 applied to each guest after its backup"
is "$(sqlite3 repo/catalog.db "SELECT group_concat(seq) FROM (SELECT seq FROM generations n JOIN guests g ON g.id = n.guest_id WHERE g.name = 'web01' ORDER BY seq)")" \
	"3,4" "the two newest stay"
is "$(ls repo/data/web01 repo/data/db01 | grep -c tar)" "$(sqlite3 repo/catalog.db 'SELECT count(*) FROM archives')" \
	"the sweep left no archive the catalog does not name"
ok "the repository verifies with its data after the sweeps" $L verify repo --read-data -q
rm -f after.log

# ---- --json (from here on, no handshake: guests may run alone)
NOHS=1
write_conf 3
$L run --config fleet.conf --json >run.json 2>/dev/null
is "$?" 1 "--json: exit 1 (broken)"
is "$($VOCAB run run.json failed)" "" "--json: the vocabulary of doc/json.md"
is "$(jq_ run.json '[(g["guest"], g["status"]) for g in sorted(d["guests"], key=lambda g: g["guest"])], d["guests_done"], d["guests_failed"]')" \
	"[('broken', 'failed'), ('db01', 'done'), ('web01', 'done')] 2 1" "--json: every guest's result and the counts"
is "$(jq_ run.json '[g.get("generations_removed") for g in sorted(d["guests"], key=lambda g: g["guest"])]')" \
	"[None, 1, 1]" "--json: what retention removed per guest (none for the failed one)"
rm -f ./*.started

# ---- warnings: an after hook that fails turns done into warnings (exit 3)
write_conf 3 "after = exit 7"
$L run --config fleet.conf web01 db01 >out3.txt 2>/dev/null
is "$?" 3 "a failing after hook on a done guest: exit 3"
like "$(grep '^db01: ' out3.txt)" "^db01: warnings: .*after hook \"exit 7\" exited with status 7" "and the guest says why"
rm -f ./*.started
write_conf 3

# ---- syslog: one line per guest and the total, facility daemon
if is_root && command -v python3 >/dev/null; then
	cat >listen.py <<'P'
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
open(sys.argv[2] + ".ready", "w").close()
s.settimeout(60)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        try: f.write(s.recv(8192) + b"\n")
        except socket.timeout: break
P
	sock=$S/log.sock
	python3 listen.py "$sock" syslog.txt &
	listener=$!
	for i in $(seq 50); do [ -e syslog.txt.ready ] && break; sleep 0.1; done
	# /dev/log is the listener's: in a mount namespace of the run's own when
	# the machine has one, else the listener's socket is /dev/log for a while
	if [ -e /dev/log ] || [ -L /dev/log ]; then
		unshare -m sh -c "mount --bind '$sock' /dev/log && exec $L run --config fleet.conf web01 broken" >/dev/null 2>&1
	else
		ln -s "$sock" /dev/log
		$L run --config fleet.conf web01 broken >/dev/null 2>&1
		rm -f /dev/log
	fi
	sleep 0.5
	kill $listener 2>/dev/null
	wait $listener 2>/dev/null
	like "$(grep 'web01: done' syslog.txt)" "^<30>.*rawkit-lanfree\\[[0-9]+\\]: web01: done: generation" "syslog: web01 done at daemon.info, tag rawkit-lanfree"
	like "$(grep 'broken: failed' syslog.txt)" "^<27>.*rawkit-lanfree\\[[0-9]+\\]: broken: failed: " "syslog: broken at daemon.err"
	like "$(grep '2 guests:' syslog.txt)" "^<27>.*: 2 guests: 1 done, 0 with warnings, 1 failed" "syslog: the total"
else
	skip 3 "needs root (a /dev/log of the test's own in a mount namespace)"
fi
rm -f ./*.started

# ---- RAWKIT_REPOSITORY when [repository] names no path
sed '/^path = /d' fleet.conf >nopath.conf
RAWKIT_REPOSITORY=$S/repo $L run --config nopath.conf db01 -q >/dev/null 2>err.txt
is "$?" 0 "no path in the file: RAWKIT_REPOSITORY names the repository"
env -u RAWKIT_REPOSITORY $L run --config nopath.conf db01 >/dev/null 2>err.txt
is "$?" 2 "no path and no RAWKIT_REPOSITORY: exit 2"
like "$(cat err.txt)" "nopath.conf: no repository: give \\[repository\\] path, or RAWKIT_REPOSITORY" "and says so"

# ---- a busy repository: exit 4 before any hook
exec 9<repo/lock
flock -x 9
before_hooks=$(ls ./*.started 2>/dev/null | wc -l)
$L run --config fleet.conf >/dev/null 2>err.txt
is "$?" 4 "a prune holds the repository: exit 4"
is "$(ls ./*.started 2>/dev/null | wc -l)" "$before_hooks" "and no hook ran"
exec 9<&-

# ---- SIGTERM to the run reaches its guests (their hooks, their backups)
cat >slow.conf <<EOF
[repository]
path = $S/repo
[guest s]
disk = $S/db01.img
before = echo \$\$ >$S/hook.pid; exec sleep 60
after = false
after = echo "\$RAWKIT_STATUS: \$RAWKIT_MESSAGE" >$S/after-sig.log
EOF
$L run --config slow.conf >/dev/null 2>&1 &
runner=$!
for i in $(seq 100); do [ -s hook.pid ] && break; sleep 0.1; done
kill -TERM $runner
wait $runner
is "$?" 143 "SIGTERM: the run dies of it"
sleep 0.5
ok "and the guest's hook died with it" sh -c "! kill -0 $(cat hook.pid) 2>/dev/null"
is "$(cat after-sig.log 2>&1)" "failed: interrupted by signal 15 (Terminated)" \
	"the after hooks still ran, all of them (one failing does not stop the next), told why"
is "$(gens s)" 0 "no generation recorded"

# ---- mistakes in the file: exit 2, FILE:LINE, nothing runs
refuse() { # DESC REGEX CONTENT
	printf '%s\n' "$3" >bad.conf
	$L run --config bad.conf >/dev/null 2>err.txt
	is "$?" 2 "$1: exit 2"
	like "$(cat err.txt)" "$2" "$1: the file and line named"
	ok "$1: one line" one_line_error rawkit-lanfree err.txt
}
G="[guest g]
disk = $S/db01.img
before = touch $S/ran"
refuse "an unknown key" "^rawkit-lanfree: bad.conf:4: unknown key \"colour\"" "$G
colour = blue"
refuse "an unknown section" "bad.conf:1: unknown section \\[repositry\\]" "[repositry]
path = /x
$G"
refuse "a guest name that is not one" "bad.conf:1: \\[guest \\.\\./x\\]: not a guest name" "[guest ../x]
disk = y"
refuse "a guest twice" "bad.conf:4: \\[guest g\\] given twice" "$G
[guest g]
disk = y"
refuse "a guest without a disk" "bad.conf:1: \\[guest g\\] has no disk" "[guest g]
level = full"
refuse "a level that is not one" "bad.conf:4: level: full, incr or diff, not \"weekly\"" "$G
level = weekly"
refuse "jobs out of range" "bad.conf:2: jobs: a number 1..64" "[repository]
jobs = 0
$G"
refuse "a bad keep-within" "bad.conf:4: keep-within: a span" "$G
keep-within = 3 days"
refuse "a key before any section" "bad.conf:1: \"disk\" before any section" "disk = x
$G"
refuse "a line that is not INI" "bad.conf:4: not a section, a key = value or a comment" "$G
just words"
refuse "a line too long for libinih (never cut short)" "bad.conf:4: line longer than 198 bytes" "$G
after = echo $(printf 'x%.0s' $(seq 300))"
refuse "an indented line (libinih: a continuation)" "bad.conf:5: an indented line" "$G
before = true
  after = touch $S/ran"
refuse "disk in [defaults]" "bad.conf:2: disk: belongs in a \\[guest NAME\\] section" "[defaults]
disk = x
$G"
refuse "no guest at all" "bad.conf: no \\[guest NAME\\] section" "[repository]
path = /x"
ok "nothing ran for any of them" test ! -e ran
$L run --config "$S/none.conf" >/dev/null 2>err.txt
is "$?" 1 "a missing file: exit 1"
like "$(cat err.txt)" "none.conf: cannot read: No such file or directory" "and says so"
$L run --config fleet.conf nosuch >/dev/null 2>err.txt
is "$?" 2 "a guest named that the file does not have: exit 2"
like "$(cat err.txt)" "nosuch: no \\[guest nosuch\\] in fleet.conf" "and says so"

# the example shipped in doc/ is a valid file
$L run --config "$TESTS_DIR/../doc/lanfree.conf.example" --dry-run >/dev/null 2>err.txt
is "$?" 0 "doc/lanfree.conf.example parses (--dry-run)"
done_testing
