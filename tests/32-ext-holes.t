#!/bin/bash
# Sparse ext files read back right: a read spanning a hole returns the data
# after it (issue #10, defect 8), through imgfmt_fs_pread, a backup's
# restore and verify --against, each compared with debugfs.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

# data, hole, data, hole, data, hole: several runs inside one 1 MiB read,
# and runs on both sides of a 1 MiB boundary.
mkdir -p src
printf 'AAAA' >src/small
printf 'BBBB' | dd of=src/small bs=1 seek=65536 conv=notrunc status=none
printf 'CCCC' | dd of=src/small bs=1 seek=204800 conv=notrunc status=none
truncate -s 300000 src/small
head -c 100000 /dev/urandom >src/big
head -c 5000 /dev/urandom | dd of=src/big bs=1 seek=1040000 conv=notrunc status=none
head -c 70000 /dev/urandom | dd of=src/big bs=1 seek=1100000 conv=notrunc status=none
head -c 9 /dev/urandom | dd of=src/big bs=1 seek=3000000 conv=notrunc status=none
truncate -s 4000000 src/big

mkdisk disk.img 40M <<'S'
label: gpt
start=2048, size=32M, type=linux
S
put_ext4 disk.img 1 -b 4096 -d src
off=$(part_start disk.img 1)

for f in small big; do
	ext_cat disk.img "$off" "/$f" >"deb-$f"
	ok "$f: debugfs reads the source's bytes (independent)" cmp "deb-$f" "src/$f"
	like "$(imgfmt-tool runs disk.img p1 "/$f" | wc -l)" '^[3-9]$' "$f: several data runs with holes between"
	imgfmt-tool cat disk.img p1 "/$f" >"cat-$f"
	ok "$f: read through imgfmt_fs_pread equals debugfs cat" cmp "cat-$f" "deb-$f"
done

L=rawkit-lanfree
ok "init a repository" $L init repo
ok "back up the disk" timeout 20 $L backup repo disk.img --name holes -q
ok "restore it" timeout 20 $L restore repo holes --to r -q
for f in small big; do
	ok "$f: restored file equals debugfs cat" cmp "r/p1/$f" "deb-$f"
done
ok "verify --against the disk finds no difference" timeout 20 $L verify repo holes --against disk.img

done_testing
