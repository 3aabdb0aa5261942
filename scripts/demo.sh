#!/bin/bash
# demo.sh --- make a sample guest disk and show what rawkit does with it
# (run by `make demo`; RAWKIT_BIN points at the built tools)
set -euo pipefail
: "${RAWKIT_BIN:?run through make demo}"
export PATH="$RAWKIT_BIN:$PATH"
dir=${DEMO_DIR:-$(dirname "$RAWKIT_BIN")/demo}
rm -rf "$dir" && mkdir -p "$dir/tree/etc/ssh" "$dir/tree/var/log" "$dir/tree/home/admin"
cd "$dir"

echo "== making a sample guest disk: $dir/guest.img (GPT: ext4 root, NTFS data, swap)"
echo web01 >tree/etc/hostname
printf 'UUID=0000 / ext4 defaults 0 1\n' >tree/etc/fstab
printf '0123456789abcdef0123456789abcdef\n' >tree/etc/machine-id
head -c 20000000 /dev/urandom >tree/var/log/big.log
for i in $(seq 1 200); do echo "note $i" >"tree/home/admin/note-$i.txt"; done
truncate -s 512M guest.img
sfdisk -q guest.img >/dev/null <<'S'
label: gpt
start=2048, size=300M, type=linux, name="root"
size=150M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="data"
size=32M, type=swap
S
mkfs.ext4 -q -F -L root -E offset=1048576 -d tree guest.img 300M
# Written then deleted: still allocated in the image, free in ext4.
head -c 60000000 /dev/urandom >deleted.bin
debugfs -w -R "write deleted.bin /deleted.bin" "guest.img?offset=1048576" >/dev/null 2>&1
debugfs -w -R "rm /deleted.bin" "guest.img?offset=1048576" >/dev/null 2>&1
rm deleted.bin
truncate -s 150M part.img
mkntfs -q -F -Q -L data -p $((302 * 2048)) -H 255 -S 63 part.img >/dev/null 2>&1
echo "hello from NTFS" >hello.txt && ntfscp -q part.img hello.txt hello.txt 2>/dev/null || true
dd if=part.img of=guest.img bs=1M seek=301 conv=notrunc,sparse status=none
truncate -s 32M part.img && mkswap -q part.img >/dev/null
dd if=part.img of=guest.img bs=1M seek=451 conv=notrunc,sparse status=none
rm -f part.img hello.txt

echo
echo "== rawkit-info guest.img"
rawkit-info guest.img
echo
echo "== the image file holds $(du -B1 guest.img | cut -f1) bytes; rawkit copies only what the filesystems use:"
rawkit-info --json guest.img | python3 -c '
import json, sys
d = json.load(sys.stdin)
for v in d["volumes"]:
    print("  %-4s %-6s copy %10d bytes  %s" % (v["name"], v["fstype"] or "-", v["used_bytes"], v["note"]))
print("  total copy %d of %d bytes" % (d["used_bytes"], d["disk_bytes"]))'

repo=$dir/repo
echo
echo "== rawkit-lanfree: a full backup, a change in the guest, an incremental, a restore"
rawkit-lanfree init "$repo" >/dev/null
rawkit-lanfree backup "$repo" guest.img --name web01 --level full
# the guest changes a file and adds one (a raw edit of its disk, as the guest would do)
echo web01.example.com >tree/etc/hostname
echo "new note" >tree/home/admin/note-new.txt
mkfs.ext4 -q -F -L root -U "$(blkid -p -o value -s UUID -O 1048576 guest.img)" -E offset=1048576 -d tree guest.img 300M
rawkit-lanfree backup "$repo" guest.img --name web01
echo
rawkit-lanfree list "$repo"
echo
echo "== what changed between the two generations (rawkit-lanfree diff)"
rawkit-lanfree diff "$repo" web01
echo
echo "== restore /etc/hostname from each generation"
for gen in 1 2; do
	rawkit-lanfree restore "$repo" "web01@$gen" p1/etc/hostname --to "restore-$gen" -q
	printf '  web01@%s: p1/etc/hostname = %s\n' "$gen" "$(cat "restore-$gen/p1/etc/hostname")"
done
echo
echo "== the archives are plain tar:"
for a in "$repo"/data/web01/*; do
	printf '  %s: %s entries (tar --zstd -tf)\n' "${a#$dir/}" "$(tar --zstd -tf "$a" | wc -l)"
done
rawkit-lanfree verify "$repo" --read-data

echo
echo "== rawkit-clone: three personalized guests from guest.img, from one read of it"
rawkit-clone -q --hostname 'web%02d' guest.img clone1.img clone2.img clone3.img
for n in 1 2 3; do
	printf '  clone%s.img: hostname %s, root UUID %s, machine-id %s bytes\n' "$n" \
		"$(debugfs -R 'cat /etc/hostname' "clone$n.img?offset=1048576" 2>/dev/null)" \
		"$(blkid -p -o value -s UUID -O 1048576 "clone$n.img")" \
		"$(debugfs -R 'cat /etc/machine-id' "clone$n.img?offset=1048576" 2>/dev/null | wc -c)"
done
printf '  guest.img (golden, unchanged): root UUID %s\n' "$(blkid -p -o value -s UUID -O 1048576 guest.img)"
