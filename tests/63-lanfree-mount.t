#!/bin/bash
# rawkit-lanfree mount: two generations of the torture tree through FUSE,
# compared attribute by attribute with restores of the same generations;
# big, sparse and damaged files; read-only; other users; unmounting.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && losetup -f >/dev/null 2>&1 || skip_all "needs root and loop devices (the fixture is built on a mounted ext4)"
[ -c /dev/fuse ] || skip_all "no /dev/fuse (the fuse module is not loaded)"
command -v fusermount3 >/dev/null || skip_all "no fusermount3 (package fuse3)"
CMP="python3 $TESTS_DIR/lib/treecmp.py"
L=rawkit-lanfree
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"

# Every FUSE mount of the test goes on the way out, whatever happened.
unmount_all() {
	local m
	for m in $(awk -v s="$SCRATCH" '$3 == "fuse.rawkit-lanfree" && index($2, s) == 1 { print $2 }' /proc/mounts); do
		fusermount3 -u -z "$m" 2>/dev/null
	done
}
trap 'unmount_all; _fixture_cleanup' EXIT

mounted() { grep -q " $1 fuse.rawkit-lanfree " /proc/mounts; }
# wait_mounted DIR: up to 10 s for a --foreground mount to appear
wait_mounted() {
	local i
	for i in $(seq 1 100); do
		mounted "$1" && return 0
		sleep 0.1
	done
	return 1
}
# gone PID: up to 10 s for a process to end
gone() {
	local i
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
# errno of an operation, as python sees it: "ok" when it succeeds
errno_of() { # PYTHON-STATEMENT PATH
	python3 -c "
import os, sys
p = sys.argv[1]
try:
    $1
    print('ok')
except OSError as e:
    print(e.errno)" "$2"
}
# atimes DIR OUT: every entry's atime (ns) below DIR into OUT, each stat
# taken before the entry is read (listing a restored directory changes it)
atimes() {
	python3 - "$1" >"$2" <<'PY'
import os, stat, sys
out = []
def walk(dfd, rel):
    for name in sorted(os.listdir(dfd)):
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        path = rel + os.fsencode(name)
        out.append("%r %d" % (path, st.st_atime_ns))
        if stat.S_ISDIR(st.st_mode):
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
            walk(fd, path + b"/")
            os.close(fd)
walk(os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY), b"")
print("\n".join(out))
PY
}

# ---- two generations of a guest, restored
mkdisk web01.img 200M <<'S'
label: gpt
start=2048, size=170M, type=linux, name="root"
size=16M, type=swap
S
put_ext4 web01.img 1 -I 256 -b 4096
put_fs swap web01.img 2
mount_part web01.img 1 src
make_torture src
head -c 25165824 /dev/urandom >src/srv/www/huge.bin # 24 MiB: streamed, not decoded whole
echo secret >src/srv/secret && chmod 0600 src/srv/secret
echo granted >src/srv/acl-read && chmod 0640 src/srv/acl-read && setfacl -m u:65534:r-- src/srv/acl-read
echo denied >src/srv/acl-deny && chmod 0644 src/srv/acl-deny && setfacl -m u:65534:--- src/srv/acl-deny
umount src
ok "init" $L init repo
ok "generation 1 (full)" $L backup repo web01.img --level full -q
mount_part web01.img 1 src
echo "web02" >src/etc/hostname
chmod 0600 src/srv/owned
mv src/srv/www/big.bin src/srv/www/renamed.bin
rm src/srv/hard2
rm -r src/acl
mkdir -p src/new/dir && echo fresh >src/new/dir/file
setfattr -n user.added -v yes src/srv/owned
dd if=/dev/urandom of=src/srv/www/huge.bin bs=1M seek=10 count=1 conv=notrunc status=none
umount src
ok "generation 2 (incremental)" $L backup repo web01.img -q
for g in 1 2; do
	$L restore repo "web01.img@$g" --to "r$g" -q
	atimes "r$g/p1" "r$g.atimes" # before anything reads the restored files
done

# ---- the mount (in the foreground: its exit status is checked at the end)
mkdir mnt
M=$SCRATCH/mnt
G=$M/web01.img
$L mount repo "$M" --foreground --allow-other 2>fg.err &
fg_pid=$!
ok "mount --foreground: mounted" wait_mounted "$M"
is "$(ls "$M")" "web01.img" "the root lists the guest"
is "$(ls "$G" | tr '\n' ' ')" "1 2 latest " "the guest lists its generations and latest"
is "$(readlink "$G/latest")" 2 "latest points at the newest complete generation"
is "$(ls "$G/1")" "p1" "a generation lists its volumes (the swap partition was skipped)"
like "$(grep " $M " /proc/mounts)" "^$SCRATCH/repo $M fuse.rawkit-lanfree ro,nosuid,nodev,.*default_permissions.*allow_other" \
	"mounted read-only, nosuid, nodev, default_permissions (the kernel checks modes)"

# Reads first, before anything is in the kernel's page cache; O_DIRECT
# reads bypass it and always reach the daemon.
ok "a 24 MiB file (streamed over many frames) reads equal to its restore" cmp "$G/2/p1/srv/www/huge.bin" r2/p1/srv/www/huge.bin
ok "generation 1's copy of it, which differs, reads equal to its own restore" cmp "$G/1/p1/srv/www/huge.bin" r1/p1/srv/www/huge.bin
is "$(python3 - "$G/2/p1/srv/www/huge.bin" r2/p1/srv/www/huge.bin <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
ref = open(sys.argv[2], "rb").read()
buf = mmap.mmap(-1, 1 << 20)
bad = [o for o in (20 << 20, 1 << 20, 23 << 20, 0, 12 << 20, (24 << 20) - 4096, 5 << 20)
       if buf[:os.preadv(fd, [buf], o)] != ref[o:o + (1 << 20)]]
print("bad at %r" % bad if bad else "equal")
PY
)" equal "O_DIRECT reads of the streamed file, backwards and forwards, equal the restore"
ok "a 3 MB file (decoded whole) reads equal to its restore" cmp "$G/1/p1/srv/www/big.bin" r1/p1/srv/www/big.bin
ok "the sparse file reads equal to its restore" cmp "$G/1/p1/srv/www/sparse" r1/p1/srv/www/sparse
is "$(python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
runs, pos, size = [], 0, os.fstat(fd).st_size
while pos < size:
    try:
        d = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    pos = os.lseek(fd, d, os.SEEK_HOLE)
    runs.append("%d-%d" % (d, pos))
print(size, " ".join(runs))' "$G/1/p1/srv/www/sparse")" "16777216 1048576-1052672 8388608-8392704" \
	"the sparse file's holes: SEEK_DATA and SEEK_HOLE give its data runs"
is "$(cat "$G/1/p1/etc/hostname") $(cat "$G/2/p1/etc/hostname") $(cat "$G/latest/p1/etc/hostname")" "web01 web02 web02" \
	"each generation has its own content, latest the newest"
is "$(stat -c '%a %u %g' "$G/1/p1/srv/owned" "$G/2/p1/srv/owned" | tr '\n' ' ')" "644 1234 5678 600 1234 5678 " \
	"recorded modes and owners, per generation"
is "$(stat -c %.9Y "$G/1/p1/etc/hostname")" "1557126489.123456789" "mtime to the nanosecond"
is "$(getfattr --only-values -n user.comment "$G/1/p1/etc/hostname" 2>/dev/null)" "a comment" "getxattr: a recorded attribute"
is "$(getfacl -cp "$G/1/p1/acl" 2>/dev/null | grep '^user:1234')" "user:1234:rwx" "ACLs come back through the mount"
like "$(lsattr -d "$G/1/p1/etc/immutable" "$G/1/p1/etc/append" | tr '\n' ' ')" "^-*i-* [^ ]*/immutable -*a-* " \
	"lsattr: the recorded immutable and append-only flags"
ok "hard links share an inode number" test "$(stat -c %i "$G/1/p1/srv/hard1")" = "$(stat -c %i "$G/1/p1/etc/hard3")"
ok "the same file in two generations does not" test "$(stat -c %i "$G/1/p1/srv/hard1")" != "$(stat -c %i "$G/2/p1/srv/hard1")"
is "$(readlink "$G/1/p1/srv/escape-link")" "../../../../../../../etc/shadow" "readlink: the recorded target, not followed"
ok "device nodes keep their numbers" test "$(stat -c '%F %t %T' "$G/1/p1/dev/sda")" = "block special file 8 0"

# Attribute by attribute against the restores: type, mode, owner, ns
# mtime, link targets, devices, hard links, holes, every xattr (trusted,
# security, ACLs), inode flags, content.
ok "generation 1 through the mount equals its restore" $CMP "$G/1/p1" r1/p1
ok "generation 2 through the mount equals its restore" $CMP "$G/2/p1" r2/p1
# treecmp leaves atime out: the mount shows the recorded atime, which
# reading never changes (the mount is read-only)
atimes "$G/1/p1" m1.atimes && atimes "$G/2/p1" m2.atimes
ok "atimes: over 100 entries in each generation ($(wc -l <m1.atimes), $(wc -l <m2.atimes))" \
	test "$(wc -l <m1.atimes)" -gt 100 -a "$(wc -l <m2.atimes)" -gt 100
ok "atimes are the recorded ones (the restore's), after every file was read" cmp m1.atimes r1.atimes
ok "generation 2's too" cmp m2.atimes r2.atimes

# ---- read-only
is "$(errno_of "os.open(p, os.O_WRONLY)" "$G/1/p1/etc/hostname")" 30 "open for writing: EROFS"
is "$(errno_of "os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)" "$G/1/p1/etc/new")" 30 "create: EROFS"
is "$(errno_of "os.mkdir(p)" "$G/1/p1/newdir")" 30 "mkdir: EROFS"
is "$(errno_of "os.unlink(p)" "$G/1/p1/etc/hostname")" 30 "unlink: EROFS"
is "$(errno_of "os.setxattr(p, 'user.x', b'1')" "$G/1/p1/etc/hostname")" 30 "setxattr: EROFS"
is "$(errno_of "os.chmod(p, 0o777)" "$G/1/p1/etc/hostname")" 30 "chmod: EROFS"
is "$(errno_of "os.mkdir(p)" "$G/3")" 30 "no generation can be made either"
is "$(cat "$G/1/p1/etc/hostname")" web01 "the file is unchanged"

# ---- other users: the kernel applies the recorded modes and ACLs
chmod 755 "$SCRATCH" # (mktemp's 0700 would keep them out of everything)
is "$($NOBODY cat "$G/2/p1/etc/hostname" 2>&1)" web02 "another user reads a world-readable file"
is "$($NOBODY cat "$G/2/p1/srv/secret" 2>&1)" "cat: $G/2/p1/srv/secret: Permission denied" "and cannot read root's 0600 file"
is "$(cat "$G/2/p1/srv/secret")" secret "which root can"
is "$($NOBODY cat "$G/2/p1/srv/acl-read" 2>&1)" granted "a file only an ACL lets the user read: readable"
like "$($NOBODY cat "$G/2/p1/srv/acl-deny" 2>&1)" "Permission denied" "a world-readable file an ACL denies the user: refused"
like "$(getfattr -m - -d "$G/1/p1/srv/owned" 2>&1)" "trusted.secret=\"t\"" "root sees trusted.* attributes"
is "$($NOBODY getfattr -m - -d "$G/1/p1/srv/owned" 2>&1 | grep -c trusted)" 0 "another user does not even see their names (as on ext4)"

# ---- the repository stays locked (shared) while mounted
$L prune repo web01.img --keep-last 1 >/dev/null 2>err.txt
is "$?" 4 "prune is refused while the repository is mounted: exit 4 (busy)"
is "$(ls "$G" | tr '\n' ' ')" "1 2 latest " "and removed nothing"

# ---- damaged archives: EIO, never wrong bytes
damage() { # REPO FILE-NAME OFFSET-IN-THE-ENTRY: flip one byte of the entry of FILE-NAME's content
	python3 - "$@" <<'PY'
import sqlite3, sys
repo, name, delta = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(repo + "/catalog.db")
path, at = db.execute("""SELECT a.path, f.offset + c.entry_offset FROM versions v JOIN contents c ON c.id = v.content_id
    JOIN archives a ON a.id = c.archive_id JOIN frames f ON f.archive_id = c.archive_id AND f.idx = c.frame_idx
    WHERE v.name = CAST(? AS BLOB) LIMIT 1""", (name,)).fetchone()
with open(repo + "/" + path, "r+b") as f:
    f.seek(at + delta)
    b = f.read(1)
    f.seek(at + delta)
    f.write(bytes([b[0] ^ 0xff]))
PY
}
# (of the disk as it is now: generation 2's tree)
ok "a repository of uncompressed archives" sh -c "$L init plain >/dev/null && $L backup plain web01.img --level full --compress none -q"
cp -a repo zrepo
damage plain renamed.bin 200000 # inside its data: decompresses, but its checksum differs
damage plain huge.bin 20000000
damage zrepo big.bin 200000    # inside a zstd frame
# a hostile catalog: names no directory can hold, a negative size, bad xattrs
sqlite3 plain/catalog.db "
INSERT INTO versions(guest_id, volume, dir, name, first_seq, last_seq, mode, uid, gid, size, atime, mtime, ctime,
	btime, ino, igen, nlink, rdev_major, rdev_minor, flags, symlink, xattrs, content_id, error, dirsum)
SELECT guest_id, volume, dir, n.name, first_seq, last_seq, mode, uid, gid, size, atime, mtime, ctime, btime, ino + 1000,
	igen, nlink, rdev_major, rdev_minor, flags, symlink, xattrs, content_id, error, dirsum
FROM versions, (SELECT CAST('..' AS BLOB) AS name UNION SELECT CAST('.' AS BLOB) UNION SELECT CAST('a/b' AS BLOB)
	UNION SELECT x'610062' UNION SELECT CAST(printf('%.300c', 'x') AS BLOB)) n
WHERE versions.name = CAST('hostname' AS BLOB);
UPDATE versions SET size = -5 WHERE name = CAST('fstab' AS BLOB) OR name = CAST('hard1' AS BLOB);
UPDATE versions SET xattrs = x'ffff01' WHERE name = CAST('append' AS BLOB);
UPDATE versions SET error = 'read error' WHERE name = CAST('immutable' AS BLOB);"
mkdir mnt3
$L mount plain "$SCRATCH/mnt3" --foreground 2>bad.err &
bad_pid=$!
ok "mount of the damaged repository" wait_mounted "$SCRATCH/mnt3"
P=$SCRATCH/mnt3/web01.img/1/p1
is "$(python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
got = b""
try:
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        got += b
    print("read %d bytes" % len(got))
except OSError as e:
    print("errno %d after %d bytes" % (e.errno, len(got)))' "$P/srv/www/renamed.bin")" "errno 5 after 0 bytes" \
	"a damaged file decoded whole: EIO, and not one byte of it"
like "$(cat "$P/srv/www/huge.bin" 2>&1 >/dev/null)" "Input/output error" "a damaged streamed file: reading it to its end fails (EIO)"
is "$(cat "$P/etc/hostname")" web02 "the undamaged files of that archive read"
is "$(ls -a "$P/etc" | tr '\n' ' ')" ". .. append hard3 hostname immutable " \
	"names that are no path component (.., ., a/b, with NUL, 300 bytes) are not listed"
like "$(cat "$P/srv/hard1" 2>&1)" "Input/output error" "a negative size in the catalog: EIO"
like "$(cat "$P/etc/immutable" 2>&1)" "Input/output error" "a file the backup could not read: EIO"
like "$(getfattr -d "$P/etc/append" 2>&1)" "Input/output error" "a malformed xattr blob: EIO"
ok "the daemon is still serving" test -f "$P/etc/hostname"
mkdir mnt4
$L mount zrepo "$SCRATCH/mnt4" 2>/dev/null
is "$(errno_of "open(p, 'rb').read()" "$SCRATCH/mnt4/web01.img/1/p1/srv/www/big.bin")" 5 "a damaged zstd frame: EIO"
fusermount3 -u "$SCRATCH/mnt4"
fusermount3 -u "$SCRATCH/mnt3"
wait "$bad_pid"
is "$?" 0 "the damaged repository's mount ends with exit 0 when unmounted"
like "$(cat bad.err)" "renamed.bin: (warning: )?content does not match its checksum" "--foreground: the damage is reported on stderr"

# ---- the daemon: mount, use, unmount
mkdir mnt2
ok "mount && ls && fusermount3 -u (the daemon serves once mount returns)" \
	sh -c "$L mount repo '$SCRATCH/mnt2' && ls '$SCRATCH/mnt2/web01.img/1/p1/etc' | grep -qx hostname && fusermount3 -u '$SCRATCH/mnt2'"
no_daemon() { # PATTERN: up to 10 s for every process matching it to end
	local i
	for i in $(seq 1 100); do
		pgrep -f -- "$1" >/dev/null || return 0
		sleep 0.1
	done
	return 1
}
ok "and the daemon is gone" no_daemon "mount repo $SCRATCH/mnt2\$"
$L mount repo "$SCRATCH/mnt2"
pid=$(pgrep -f -- "mount repo $SCRATCH/mnt2\$")
ok "mounted again: the daemon runs ($pid)" test -n "$pid"
is "$($NOBODY ls "$SCRATCH/mnt2" 2>&1 | grep -c 'Permission denied')" 1 "without --allow-other another user cannot enter"
ok "fusermount3 -u unmounts" fusermount3 -u "$SCRATCH/mnt2"
ok "the daemon exits" gone "$pid"
fails "nothing mounted any more" mounted "$SCRATCH/mnt2"

# ---- a user who is not root mounts a repository they may read (fusermount3)
chmod -R a+rX repo && mkdir umnt && chown 65534:65534 umnt
ok "a user mounts a repository they may read" $NOBODY "$RAWKIT_BIN/rawkit-lanfree" mount repo "$SCRATCH/umnt"
is "$($NOBODY cat "$SCRATCH/umnt/web01.img/latest/p1/etc/hostname" 2>&1)" web02 "and reads a world-readable file"
like "$($NOBODY cat "$SCRATCH/umnt/web01.img/latest/p1/srv/secret" 2>&1)" "Permission denied" "but not root's 0600 file"
ok "and unmounts it (fusermount3 -u)" $NOBODY fusermount3 -u "$SCRATCH/umnt"
fails "nothing mounted any more" mounted "$SCRATCH/umnt"

# ---- startup errors: one line, exit 1; usage: exit 2
startup_error() { # DESC REGEX ARGS...
	local desc=$1 want=$2
	shift 2
	$L mount "$@" >out.txt 2>err.txt
	is "$?" 1 "$desc: exit 1"
	ok "$desc: one line" one_line_error rawkit-lanfree err.txt
	like "$(cat err.txt)" "$want" "$desc: says what failed"
}
startup_error "a missing directory" "^rawkit-lanfree: nope: cannot mount here: No such file or directory$" repo nope
startup_error "a file as the directory" "^rawkit-lanfree: web01.img: cannot mount here: Not a directory$" repo web01.img
startup_error "a missing repository" "^rawkit-lanfree: norepo: cannot open repository: No such file or directory$" norepo mnt2
if unshare -m true 2>/dev/null; then
	unshare -m sh -c "mount -t tmpfs none /dev && exec $RAWKIT_BIN/rawkit-lanfree mount repo mnt2" >out.txt 2>err.txt
	is "$?" 1 "no /dev/fuse: exit 1"
	like "$(cat err.txt)" "^rawkit-lanfree: /dev/fuse: cannot open: No such file or directory" "no /dev/fuse: says so"
else
	skip 2 "unshare -m does not work here"
fi
fails "nothing was mounted by the failures" mounted "$SCRATCH/mnt2"
$L mount repo >/dev/null 2>&1
is "$?" 2 "mount without DIR: usage error"
$L mount repo mnt2 --json >/dev/null 2>err.txt
is "$?:$(head -n1 err.txt)" "2:rawkit-lanfree: mount: --json: not an option of this command" "mount --json: refused"

# ---- the foreground mount ends with the unmount
ok "fusermount3 -u of the foreground mount" fusermount3 -u "$M"
wait "$fg_pid"
is "$?" 0 "--foreground: exit 0 once unmounted (a sanitizer build: no report)"
is "$(cat fg.err)" "" "--foreground: nothing on stderr"
ok "the repository's lock is free again" flock -n -x repo/lock true

done_testing
