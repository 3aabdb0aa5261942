#!/bin/bash
# rawkit-p2v receive killed half-way (SIGTERM, SIGHUP) leaves nothing behind:
# no target, no temp file next to it (issue #10: temp targets are removed on
# every exit path).  The stream is fed through a FIFO that stays open, so
# the receive is caught in the middle of the disk.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

P=rawkit-p2v
mkdir -p tree/etc && head -c 3000000 /dev/urandom >tree/etc/blob && echo srv1 >tree/etc/hostname
truncate -s 64M d.img
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q d.img >/dev/null
mkfs.ext4 -q -F -E offset=1048576 -d tree d.img 60M >/dev/null
$P send -q d.img >s.stream
ok "a stream to cut" test -s s.stream
half=$(($(stat -c %s s.stream) / 2))

for sig in TERM HUP; do
	mkdir "out-$sig" && rm -f fifo && mkfifo fifo
	# (default dispositions: a runner under nohup passes SIGHUP on ignored,
	# and rawkit keeps an ignored signal ignored, as nohup asks)
	env --default-signal=HUP,TERM $P receive --no-convert -q "out-$sig/v.img" <fifo 2>"err-$sig" &
	pid=$!
	exec 3>fifo
	head -c "$half" s.stream >&3
	for _ in $(seq 1 100); do # the temp target appears once the header is read
		[ -n "$(ls -A "out-$sig")" ] && break
		sleep 0.1
	done
	like "$(ls -A "out-$sig")" 'rawkit' "SIG$sig: the receive has a temp target half-way"
	kill -"$sig" "$pid"
	wait "$pid"
	rc=$?
	exec 3>&-
	is "$rc" $((128 + $(kill -l "$sig"))) "SIG$sig: the receive dies of the signal"
	is "$(ls -A "out-$sig")" "" "SIG$sig: no target and no temp file are left"
done

done_testing
