#!/bin/bash
# Nothing backed up is never success: a disk where no volume could be backed
# up is an error with nothing recorded; a volume skipped for a reason other
# than swap or blank is a warning (exit 3); other image formats are named.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree
ok "init a repository" $L init repo

# generations ever recorded, for every guest
gens() { sqlite3 repo/catalog.db 'SELECT count(*) FROM generations' 2>/dev/null || echo "no catalog"; }

# refused NAME DISK REGEX DESC: exit 1, one line matching REGEX, no generation
refused() {
	local name=$1 disk=$2 want=$3 desc=$4 before rc
	before=$(gens)
	timeout 20 $L backup repo "$disk" --name "$name" --level full -q >out.txt 2>err.txt
	rc=$?
	is "$rc" 1 "$desc: exit 1"
	ok "$desc: one error line" one_line_error rawkit-lanfree err.txt
	like "$(cat err.txt)" "$want" "$desc: the message says why"
	is "$(gens)" "$before" "$desc: no generation recorded"
	is "$($L list repo "$name" 2>/dev/null | tail -n +2 | grep -c .)" 0 "$desc: list shows no generation of $name"
}

# a blank disk: no table, nothing on it
truncate -s 64M blank.img
refused blank blank.img "^rawkit-lanfree: blank.img: nothing to back up: .*disk: no filesystem signature" "blank disk"

# a partitioned disk whose only filesystem lost its magic
mkdisk lost.img 64M <<'S'
label: dos
start=2048, type=83
S
put_ext4 lost.img 1 -b 4096
off=$(part_start lost.img 1)
printf '\000\000' | dd of=lost.img bs=1 seek=$((off + 1024 + 56)) conv=notrunc status=none
refused lost lost.img "nothing to back up: .*p1: no filesystem signature, but not blank" "filesystem without its magic"

# an ext4 whose root inode is not a directory
mkdisk rootfile.img 64M <<'S'
label: dos
start=2048, type=83
S
put_ext4 rootfile.img 1 -b 4096
off=$(part_start rootfile.img 1)
debugfs -w -R "sif <2> mode 0100644" "rootfile.img?offset=$off" >/dev/null 2>&1
refused rootfile rootfile.img "nothing to back up: .*p1: ext4: the root directory \(inode 2\) is not a directory" \
	"ext4 whose root is not a directory"

# other image formats: named, refused, never followed
for fmt in qcow2 vmdk vpc vhdx vdi; do
	name=$fmt
	[ "$fmt" = vpc ] && name=vhd
	qemu-img create -q -f "$fmt" "g.$fmt" 64M
	refused "img-$fmt" "g.$fmt" "^rawkit-lanfree: g\.$fmt: is a $name image; rawkit reads raw disks: convert it with qemu-img convert -O raw first$" \
		"$fmt image"
done
rawkit-info g.qcow2 >out.txt 2>err.txt
is "$?" 1 "rawkit-info on a qcow2 image: exit 1"
is "$(cat err.txt)" "rawkit-info: g.qcow2: is a qcow2 image; rawkit reads raw disks: convert it with qemu-img convert -O raw first" \
	"rawkit-info names the qcow2 format"
ok "rawkit-info: nothing on stdout" test ! -s out.txt

# one good volume, one damaged (lost magic), one whose root is a file, a swap
# and a blank partition: exit 3, a warning for each damaged one only
mkdisk mixed.img 96M <<'S'
label: gpt
start=2048, size=32M, type=linux
size=16M, type=linux
size=16M, type=linux
size=8M, type=swap
size=8M, type=linux
S
mkdir -p tree && echo hello >tree/hello
put_ext4 mixed.img 1 -b 4096 -d tree
put_ext4 mixed.img 2 -b 4096
put_ext4 mixed.img 3 -b 4096
put_fs swap mixed.img 4
off=$(part_start mixed.img 2)
printf '\000\000' | dd of=mixed.img bs=1 seek=$((off + 1024 + 56)) conv=notrunc status=none
off=$(part_start mixed.img 3)
debugfs -w -R "sif <2> mode 0100644" "mixed.img?offset=$off" >/dev/null 2>&1
timeout 20 $L backup repo mixed.img --level full -q --json >out.json 2>err.txt
is "$?" 3 "one good volume, two damaged: exit 3"
like "$(grep p2 err.txt)" "^rawkit-lanfree: mixed.img: warning: p2: not backed up: no filesystem signature, but not blank" \
	"the damaged volume is warned about"
like "$(grep p3 err.txt)" "^rawkit-lanfree: mixed.img: warning: p3: not backed up: ext4: the root directory" \
	"the volume with a file for a root is warned about"
is "$(grep -c warning err.txt)" 2 "no warning for the swap or the blank partition"
is "$(python3 -c 'import json; d=json.load(open("out.json")); print(d["generation_status"], d["files"] >= 2, [v["skipped"] is None for v in d["volumes"]])')" \
	"partial True [True, False, False, False, False]" "the generation is partial, the good volume backed up"
ok "the good volume's file restores" sh -c "$L restore repo mixed.img p1/hello --to r -q 2>/dev/null && test \"\$(cat r/p1/hello)\" = hello"

# swap and blank only: nothing to back up, but no warnings before the error
mkdisk swaponly.img 32M <<'S'
label: gpt
start=2048, size=8M, type=swap
size=8M, type=linux
S
put_fs swap swaponly.img 1
refused swaponly swaponly.img "nothing to back up: .*p1: swap; p2: no filesystem signature\)$" "swap and a blank partition"

done_testing
