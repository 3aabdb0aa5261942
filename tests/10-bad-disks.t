#!/bin/bash
# Bad input to disk opening: a clear one-line error, exit 1, nothing written.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

# The disks live in disks/, the tool's output goes beside it.
mkdir disks && cd disks || exit 1
OUT=$SCRATCH/out.txt ERR=$SCRATCH/err.txt

# refuse NAME DISK PATTERN: rawkit-info must fail with one line matching PATTERN
# and leave the directory exactly as it was.
refuse() {
	local name=$1 disk=$2 pattern=$3 before after rc
	before=$(find . -printf '%p %s %T@\n' | sort | sha256sum; [ -f "$disk" ] && sum "$disk")
	rawkit-info "$disk" >"$OUT" 2>"$ERR"
	rc=$?
	after=$(find . -printf '%p %s %T@\n' | sort | sha256sum; [ -f "$disk" ] && sum "$disk")
	is "$rc" 1 "$name: exit status 1"
	ok "$name: one line on stderr naming the disk" one_line_error rawkit-info "$ERR"
	like "$(cat "$ERR")" "^rawkit-info: $disk: .*$pattern" "$name: says why"
	is "$(wc -c <"$OUT")" 0 "$name: nothing on stdout"
	is "$after" "$before" "$name: nothing written"
}

refuse "missing file" nonexistent.img "No such file"
mkdir adir
refuse "a directory" adir "is a directory"
: >empty.img
refuse "zero-length file" empty.img "empty"
refuse "a character device" /dev/null "neither a regular file nor a block device"

mkdisk good.img 32M <<'S'
label: dos
start=2048, size=40000, type=83
S
put_ext4 good.img 1
head -c 1000000 good.img >odd.img
refuse "size not a whole number of sectors" odd.img "not a whole number of 512-byte sectors"

cp good.img short.img
truncate -s 16M short.img
refuse "image smaller than its partitions" short.img "partition 1 ends at byte [0-9]+ but the disk has only 16777216 bytes"

mkdisk gpt.img 32M <<'S'
label: gpt
start=2048, size=20000, type=linux
S
truncate -s 8M gpt.img
refuse "truncated GPT disk" gpt.img "no valid GPT header"

# Two primary partitions that overlap (sfdisk will not make them: write the entries).
cp good.img overlap.img
python3 - overlap.img <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(446 + 16)  # entry 2 starts inside entry 1
    f.write(struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 4096, 20000))
PY
refuse "overlapping partitions" overlap.img "partitions 1 and 2 overlap"

if is_root && command -v setpriv >/dev/null; then
	cp good.img secret.img
	chmod 600 secret.img
	chmod 755 "$SCRATCH" .
	before=$(sum secret.img)
	setpriv --reuid=65534 --regid=65534 --clear-groups "$RAWKIT_BIN/rawkit-info" secret.img >"$OUT" 2>"$ERR"
	is "$?" 1 "permission denied: exit status 1"
	like "$(cat "$ERR")" "^rawkit-info: secret.img: cannot open: Permission denied$" "permission denied: says so"
	is "$(sum secret.img)" "$before" "permission denied: nothing written"
else
	ok "permission denied: skipped (needs root and setpriv)" true
fi

# A qcow2 file is not a raw disk: it is refused, naming its format; its
# virtual size and backing file are never used.
qemu-img create -q -f qcow2 -b /etc/passwd -F raw backed.qcow2 64M
rawkit-info --json backed.qcow2 >info.json 2>err.txt
rc=$?
if [ "$rc" -eq 0 ]; then
	is "$(python3 -c 'import json; print(json.load(open("info.json"))["disk_bytes"])')" "$(stat -c %s backed.qcow2)" \
		"qcow2 file: size is the file's own, not the virtual 64M"
else
	like "$(cat err.txt)" "^rawkit-info: backed.qcow2: is a qcow2 image; rawkit reads raw disks" "qcow2 file: refused, named as a qcow2 image"
fi
ok "qcow2 file: no backing file mentioned" sh -c '! grep -q passwd info.json err.txt'

# A raw disk whose sector 0 starts with a qcow2 header is still raw.
cp good.img looks-qcow2.img
python3 - looks-qcow2.img <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    name = b"/etc/passwd"
    # magic, version 3, backing_file_offset=200, backing_file_size, cluster_bits=16, size=1 TiB
    f.write(struct.pack(">4sIQIIQ", b"QFI\xfb", 3, 200, len(name), 16, 1 << 40))
    f.seek(200)
    f.write(name)
PY
ok "raw disk with a qcow2 header in sector 0: readable" sh -c 'rawkit-info --json looks-qcow2.img > info.json'
is "$(python3 -c 'import json; d=json.load(open("info.json")); print(d["disk_bytes"], d["label"], d["volumes"][0]["fstype"])')" \
	"33554432 dos ext4" "qcow2 header in sector 0: read as the raw MBR disk it is"
if command -v strace >/dev/null; then
	strace -f -e trace=open,openat -o trace.txt rawkit-info looks-qcow2.img >/dev/null 2>&1
	ok "qcow2 header in sector 0: the backing file is never opened" sh -c '! grep -q /etc/passwd trace.txt'
fi

# A filesystem libblkid recognizes but libext2fs cannot open: the disk still
# opens; opening that filesystem fails with one line.
cp good.img badgd.img
off=$(part_start good.img 1)
bs=$(dumpe2fs -h "good.img?offset=$off" 2>/dev/null | awk '/^Block size:/ { print $3 }')
gd=$(( bs == 1024 ? 2048 : bs ))
dd if=/dev/urandom of=badgd.img bs=1 seek=$((off + gd)) count=64 conv=notrunc status=none
ok "corrupt group descriptors: the disk still opens" rawkit-info badgd.img
imgfmt-tool ls badgd.img p1 / >"$OUT" 2>"$ERR"
is "$?" 1 "corrupt group descriptors: reading the filesystem fails"
ok "corrupt group descriptors: one-line error" one_line_error imgfmt-tool "$ERR"
like "$(cat "$ERR")" "^imgfmt-tool: badgd.img: (p1: cannot open ext filesystem|p1: damaged ext filesystem|/: cannot read directory): [A-Za-z]" \
	"corrupt group descriptors: says what failed and why"
ok "corrupt group descriptors: libext2fs codes are named, not numbered" sh -c "! grep -q 'Unknown code' '$ERR'"

done_testing
