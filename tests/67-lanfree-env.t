#!/bin/bash
# RAWKIT_REPOSITORY stands for REPO in every rawkit-lanfree command, as
# RESTIC_REPOSITORY does; a REPO on the command line wins.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
mkdir -p t/etc && echo one >t/etc/motd
mkdisk g.img 32M <<'D'
label: dos
start=2048, type=83
D
put_ext4 g.img 1 -d t

export RAWKIT_REPOSITORY=$SCRATCH/envrepo
ok "init" $L init
ok "init made the repository the variable names" test -f envrepo/catalog.db
ok "backup DISK" $L backup g.img -q
echo two >t/etc/motd
put_ext4 g.img 1 -d t
ok "backup DISK --name GUEST" $L backup g.img --name g.img -q
like "$($L list)" "g.img +2 " "list"
is "$($L list g.img | tail -n +2 | wc -l)" 2 "list GUEST: its two generations"
is "$($L ls g.img@1 p1/etc)" "motd" "ls GUEST@GEN PATH"
like "$($L find g.img 'p1/etc/*')" "p1/etc/motd" "find GUEST PATTERN"
like "$($L diff g.img)" "M +p1/etc/motd" "diff GUEST"
ok "restore GUEST@GEN PATH --to DIR" $L restore g.img@1 p1/etc/motd --to r1 -q
is "$(cat r1/p1/etc/motd)" "one" "and it is generation 1's"
ok "export GUEST@GEN --to FILE" $L export g.img@1 --to g1.tar -q
is "$(tar -xOf g1.tar p1/etc/motd)" "one" "and it is generation 1's"
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	mkdir mnt
	ok "mount DIR" $L mount mnt
	is "$(cat mnt/g.img/1/p1/etc/motd)" "one" "and it shows the variable's repository"
	fusermount3 -u mnt
else
	skip 2 "no /dev/fuse or fusermount3"
fi
ok "verify" $L verify -q
ok "verify GUEST@GEN" $L verify g.img@2 --read-data -q
like "$($L prune g.img --keep-last 1 --dry-run)" "would remove 1 of 2" "prune GUEST"
like "$($L prune --all --keep-last 1 --dry-run)" "would remove 1 of 2" "prune --all"
cat >fleet.conf <<EOF
[guest g]
disk = $SCRATCH/g.img
EOF
ok "run (a file without [repository] path)" $L run --config fleet.conf -q
is "$(sqlite3 envrepo/catalog.db "SELECT count(*) FROM guests WHERE name = 'g'")" 1 "run backed up into the variable's repository"

# the command line wins
$L init other >/dev/null
ok "a REPO given (a directory holding a catalog): used" $L backup other g.img -q
is "$(sqlite3 other/catalog.db 'SELECT count(*) FROM generations')" 1 "backup REPO DISK went to REPO"
like "$($L list other)" "g.img +1 " "list REPO: REPO's, not the variable's"
like "$($L list "$SCRATCH/other" g.img)" "g.img +1 " "list /path/REPO GUEST"
RAWKIT_REPOSITORY=$SCRATCH/nonexistent $L list other >/dev/null 2>err.txt
is "$?" 0 "a variable naming nothing does not matter when REPO is given"
RAWKIT_REPOSITORY=$SCRATCH/nonexistent $L list >/dev/null 2>err.txt
is "$?" 1 "without REPO, the variable is used: a missing repository fails"
like "$(cat err.txt)" "nonexistent: cannot open repository" "and names it"
RAWKIT_REPOSITORY= $L list >/dev/null 2>err.txt
is "$?" 2 "an empty variable is no repository: usage error"
unset RAWKIT_REPOSITORY
$L list >/dev/null 2>err.txt
is "$?" 2 "neither: usage error"
like "$(cat err.txt)" "no arguments \\(REPO \\[GUEST\\]\\)" "and says what is missing"
done_testing
