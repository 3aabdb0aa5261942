#!/bin/bash
# rawkit-clone and a hostile golden disk: directory hard links (loops, and a
# second name of /etc under /tmp) end in a warning or a refusal, never in a
# hang or in emptying a directory nobody named; a clone killed by SIGTERM or
# SIGHUP leaves neither its temp target nor new SSH keys behind, and the keys
# are private from the start.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

C=rawkit-clone
# A small golden disk (make_golden's NTFS and swap add nothing here): one
# ext4 Linux root with logs, tmp files and SSH host keys.
mini_golden() {
	local r="$SCRATCH/.root"
	mkdisk "$1" 64M <<-'S' || return 1
	label: gpt
	start=2048, size=60M, type=L
	S
	O1=$(part_start "$1" 1)
	mkdir -p "$r/etc/ssh" "$r/var/log/apt" "$r/tmp/sub" "$r/var/tmp"
	echo golden >"$r/etc/hostname"
	printf 'ID=debian\n' >"$r/etc/os-release"
	echo '/dev/sda1 / ext4 defaults 0 1' >"$r/etc/fstab"
	echo 'PermitRootLogin no' >"$r/etc/ssh/sshd_config"
	echo private >"$r/etc/ssh/ssh_host_ed25519_key" && chmod 600 "$r/etc/ssh/ssh_host_ed25519_key"
	echo 'ssh-ed25519 AAAA root@golden' >"$r/etc/ssh/ssh_host_ed25519_key.pub"
	echo 'log line' >"$r/var/log/syslog" && echo x >"$r/var/log/apt/history.log"
	echo junk >"$r/tmp/junk" && echo junk >"$r/tmp/sub/junk2"
	put_ext4 "$1" 1 -d "$r" && rm -rf "$r"
}
mini_golden g.img || { echo "Bail out! cannot build the golden disk"; exit 1; }
mkdir -p keytmp
export TMPDIR=$SCRATCH/keytmp # where the clone makes its key directory

# no temp target beside TARGET, no key directory left
no_leftovers() { # DESC TARGET-BASENAME
	ok "$1: no temp target left" test -z "$(ls -A | grep -F ".$2.rawkit-")"
	ok "$1: no key directory left" test -z "$(ls -A keytmp)"
}

# dlink IMAGE DIR NAME: a second name NAME of directory DIR (as debugfs
# makes it: no link count change), then the link count raised to match
dlink() {
	debugfs -w -R "ln $2 $3" "$1?offset=$O1" 2>/dev/null
}

# ---- two entries in /var/log naming /var/log itself
cp --sparse=always g.img loop.img
dlink loop.img var/log var/log/loop
dlink loop.img var/log var/log/loop2
debugfs -w -R "sif var/log links_count 4" "loop.img?offset=$O1" 2>/dev/null
timeout 30 $C --hostname web1 loop.img t1.img >out 2>err
is "$?" 3 "/var/log loop: done with a warning (exit 3), no hang"
like "$(cat err)" 'var/log/loop.*directory hard link' "/var/log loop: the warning names the entry and the cause"
ok "/var/log loop: the clone is in place" test -f t1.img
ok "/var/log loop: the log files were removed all the same" \
	sh -c "! debugfs -R 'stat /var/log/syslog' 't1.img?offset=$O1' 2>&1 | grep -q 'Inode:'"
is "$(debugfs -R 'cat /etc/hostname' "t1.img?offset=$O1" 2>/dev/null)" web1 "/var/log loop: personalized"
no_leftovers "/var/log loop" t1.img

# ---- a loop inside a directory removed whole (/tmp/sub/up -> /tmp)
cp --sparse=always g.img tmploop.img
dlink tmploop.img tmp tmp/sub/up
dlink tmploop.img tmp tmp/sub/up2
timeout 30 $C -q tmploop.img t2.img >out 2>err
is "$?" 1 "/tmp loop: the target is refused (exit 1), no hang"
ok "/tmp loop: one line on stderr" one_line_error "$C" err
like "$(cat err)" '/tmp/sub.*directory hard link' "/tmp loop: the message says why"
ok "/tmp loop: no target" test ! -e t2.img
no_leftovers "/tmp loop" t2.img

# ---- a second name of /etc under /tmp: emptying /tmp must not empty /etc
cp --sparse=always g.img etclink.img
dlink etclink.img etc tmp/sub/etc
timeout 30 $C -q etclink.img t3.img >out 2>err
is "$?" 1 "/tmp/sub/etc = /etc: the target is refused (exit 1)"
like "$(cat err)" 'directory hard link' "/tmp/sub/etc = /etc: the message says why"
ok "/tmp/sub/etc = /etc: no target" test ! -e t3.img
no_leftovers "/tmp/sub/etc = /etc" t3.img

# ---- killed half-way: an ssh-keygen that writes its key, then hangs
mkdir -p fakebin
cat >fakebin/ssh-keygen <<EOF
#!/bin/sh
# records the umask it runs under, writes a key where -f says, then hangs
umask >"$SCRATCH/keygen.umask"
echo \$\$ >>"$SCRATCH/keygen.pids"
while [ \$# -gt 0 ]; do [ "\$1" = -f ] && f=\$2; shift; done
echo PRIVATE >"\$f" && echo "ssh-ed25519 AAAA root@x" >"\$f.pub"
exec sleep 60
EOF
chmod +x fakebin/ssh-keygen

# killed SIGNAL: start a clone, wait for its temp target and its key file,
# kill it with SIGNAL
killed() {
	local sig=$1 target=$2 pid i
	rm -f keygen.umask
	# (default dispositions: a runner under nohup passes SIGHUP on ignored,
	# and rawkit keeps an ignored signal ignored, as nohup asks)
	PATH="$SCRATCH/fakebin:$PATH" env --default-signal=HUP,TERM $C -q g.img "$target" >out 2>err &
	pid=$!
	for i in $(seq 1 100); do
		[ -n "$(ls -A | grep -F ".$target.rawkit-")" ] && [ -n "$(find keytmp -type f -name '*.pub')" ] && break
		sleep 0.1
	done
	keydir_mode=$(stat -c %a "$(find keytmp -mindepth 1 -maxdepth 1 -type d | head -1)")
	kill "-$sig" "$pid"
	for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null # still there after 20 s: a hang
	{ wait "$pid"; } 2>/dev/null
	status=$?
}

# none of the ssh-keygen processes is left
keygens_gone() {
	local p
	for p in $(cat keygen.pids 2>/dev/null); do
		kill -0 "$p" 2>/dev/null && { kill -KILL "$p"; return 1; }
	done
	return 0
}

killed TERM k1.img
ok "SIGTERM: the key directory was 0700" test "$keydir_mode" = 700
ok "SIGTERM: ssh-keygen ran under umask 077" test "$(cat keygen.umask 2>/dev/null)" = 0077
ok "SIGTERM: the clone dies of the signal" test "$status" -eq 143
ok "SIGTERM: no target" test ! -e k1.img
no_leftovers "SIGTERM" k1.img
ok "SIGTERM: the key generators were stopped" keygens_gone

killed HUP k2.img
ok "SIGHUP: the clone dies of the signal" test "$status" -eq 129
no_leftovers "SIGHUP" k2.img
ok "SIGHUP: the key generators were stopped" keygens_gone

# ---- the ordinary end: keys made by the real ssh-keygen are gone too
ok "a normal clone" $C -q --hostname web2 g.img k3.img
no_leftovers "a normal clone" k3.img
done_testing
