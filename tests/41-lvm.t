#!/bin/bash
# lib/imgfmt/lvm_*.c (through tests/helpers/lvm-dump) against PVs and VGs
# that lvm2's own tools wrote (pvcreate, vgcreate, vgcfgrestore, lvchange on
# loop devices over byte ranges, never activated), compared with what
# `lvs --segments` says of them; and against damaged and crafted metadata.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root || skip_all "needs root (loop devices for the lvm2 tools)"
command -v vgcfgrestore >/dev/null || skip_all "no lvm2 tools"
command -v lvm-dump >/dev/null || skip_all "no lvm-dump helper in $RAWKIT_BIN"
MiB=1048576

# The visible LVs of an lvm-dump output as "lv start count stripes pvN:pe...",
# in extents, the way lvm_segments prints lvs --segments.
dump_extents() { # DUMP-FILE
	python3 - "$1" <<-'EOF'
	import sys
	ext, pe_start, out = 0, {}, []
	for line in open(sys.argv[1]):
	    f = line.split()
	    if f[0] == "vg":
	        ext = int(f[f.index("extent_size") + 1])
	    elif f[0] == "pv":
	        pe_start[f[1]] = int(f[f.index("pe_start") + 1])
	    elif f[0] == "lv":
	        lv = f[1]
	    elif f[0] == "seg":
	        areas = []
	        for a in f[5:]:
	            pv, off = a.split(":")
	            areas.append("pv%s:%d" % (pv, (int(off) - pe_start[pv]) // ext))
	        out.append("%s %d %d %s %s" % (lv, int(f[1]) // ext, int(f[2]) // ext, f[3], " ".join(areas)))
	print("\n".join(sorted(out)))
	EOF
}

# The lines of lvm_segments for the named LVs only.
segments_of() { # SEGMENTS-FILE LV...
	local f=$1
	shift
	grep -E "^($(IFS='|'; echo "$*")) " "$f" | sort
}

# --------------------------------------------------------------- a RHEL-style disk
out=$(rhel_disk rhel.img --fs 2>&1)
ok "rhel_disk builds a GPT disk with VG rhel" test -f rhel.img.places
P2=$RHEL_P2
p2off=${P2%%:*} p2size=${P2##*:}
ok "lvm-dump reads the PV on p2" sh -c "lvm-dump rhel.img $p2off $p2size >rhel.dump"
lvm_segments rhel.img "$P2" rhel >rhel.segs
is "$(dump_extents rhel.dump)" "$(segments_of rhel.segs root home swap)" \
	"rhel: every LV's segments are those lvs --segments shows (root in two pieces)"
like "$(grep '^lv root' rhel.dump)" 'dm rhel-root layout linear size 629145600 segs 2$' "rhel: root is 600 MiB in 2 segments, dm name rhel-root"
is "$(lvs_seqno() { vgs --noheadings -o seqno rhel | tr -d ' '; }; lvm_with rhel.img "$P2" lvs_seqno)" \
	"$(sed -n 's/^seqno //p' rhel.dump)" "rhel: seqno is the one vgs reports"
pv_uuid() { pvs --noheadings -o pv_uuid "${LVM_DEVS[0]}"; }
is "$(sed -n 's/^label sector \([0-9]*\) uuid \([^ ]*\).*/\1 \2/p' rhel.dump)" \
	"1 $(lvm_with rhel.img "$P2" pv_uuid | tr -d ' ')" "rhel: label in sector 1, PV uuid as pvs shows it"
lvm_assemble_lv rhel.img "$P2" rhel root root.img
is "$(blkid -p -o value -s LABEL root.img)" root "rhel: root assembled from its two segments is the XFS made before"
ok "rhel: assembled root passes xfs_repair -n" xfs_repair -f -n root.img
read -r _ off len < <(grep '^home ' rhel.img.places)
ok "rhel: home (ext4 at the LV's offset) is fsck-clean" e2fsck -fn "rhel.img?offset=$off"

# --------------------------------------------------------------- two PVs: striped, raid1, mirror
mkdisk two.img 200M <<-EOF
	label: gpt
	start=2048, size=196608, type=linux
	start=198656, size=190000, type=linux
EOF
R2=$MiB:$((96 * MiB)),$((198656 * 512)):$((190000 * 512))
lvm_make_vg two.img "$R2" vg 4
lvm_backup two.img "$R2" vg two.vg
hidden_lv_text() { # NAME TYPE-LINES...: a hand-written LV section
	local name=$1
	shift
	printf '%s {\nid = "%s"\nstatus = ["READ", "WRITE", "VISIBLE"]\nflags = []\nsegment_count = 1\nsegment1 {\n' "$name" "$(_lvm_uuid)"
	printf '%s\n' "$@"
	printf '}\n}\n'
}
{
	lvm_lv lin pv0:0:5
	hidden_lv_text r1 'start_extent = 0' 'extent_count = 4' 'type = "raid1"' 'device_count = 2' 'region_size = 1024' \
		'raids = ["r1_rmeta_0", "r1_rimage_0", "r1_rmeta_1", "r1_rimage_1"]'
	lvm_lv r1_rmeta_0 --hidden pv0:5:1
	lvm_lv r1_rimage_0 --hidden pv0:6:2 pv0:10:2
	lvm_lv r1_rmeta_1 --hidden pv1:0:1
	lvm_lv r1_rimage_1 --hidden pv1:1:4
	lvm_lv str striped:64:4:pv0:12:pv1:5
	hidden_lv_text mir 'start_extent = 0' 'extent_count = 2' 'type = "mirror"' 'mirror_count = 2' \
		'mirrors = ["mir_mimage_0", 0, "mir_mimage_1", 0]' 'region_size = 1024'
	lvm_lv mir_mimage_0 --hidden pv1:8:2
	lvm_lv mir_mimage_1 --hidden pv0:14:2
} >two.lvs
lvm_vg_text two.vg two.lvs two.meta
ok "two PVs: vgcfgrestore takes linear, raid1, striped and mirror LVs" lvm_restore two.img "$R2" vg two.meta
lvm_segments two.img "$R2" vg >two.segs
ok "two PVs: lvm-dump reads the first PV" sh -c "lvm-dump two.img $MiB $((96 * MiB)) >two.dump"
is "$(dump_extents two.dump | grep -E '^(lin|str) ')" "$(segments_of two.segs lin str)" \
	"two PVs: linear and striped LVs as lvs --segments shows them"
like "$(grep -A1 '^lv str ' two.dump | tail -n 1)" '^  seg 0 16777216 2 65536 0:[0-9]+ 1:[0-9]+$' "striped: 2 stripes of 64 KiB"
is "$(dump_extents two.dump | grep '^r1 ' | cut -d' ' -f2-)" "$(segments_of two.segs r1_rimage_0 | cut -d' ' -f2-)" \
	"raid1: read from its first image, both of that image's segments"
is "$(dump_extents two.dump | grep '^mir ' | cut -d' ' -f2-)" "$(segments_of two.segs mir_mimage_0 | cut -d' ' -f2-)" \
	"mirror: read from its first leg"
is "$(grep -c '^lv ' two.dump)" 4 "hidden images and metadata LVs are not listed"

# --------------------------------------------------------------- thin and snapshots: kept, refused
{
	lvm_lv origin pv0:0:4
	lvm_lv cow pv0:4:2
	printf 'snapshot0 {\nid = "%s"\nstatus = ["READ", "WRITE", "VISIBLE"]\nflags = []\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 4\ntype = "snapshot"\nchunk_size = 8\norigin = "origin"\ncow_store = "cow"\n}\n}\n' "$(_lvm_uuid)"
	hidden_lv_text pool00 'start_extent = 0' 'extent_count = 4' 'type = "thin-pool"' 'metadata = "pool00_tmeta"' \
		'pool = "pool00_tdata"' 'transaction_id = 1' 'chunk_size = 128' 'discards = "passdown"' 'zero_new_blocks = 1'
	lvm_lv pool00_tmeta --hidden pv0:6:1
	lvm_lv pool00_tdata --hidden pv0:7:4
	lvm_lv lvol0_pmspare --hidden pv0:11:1
	printf 'thin1 {\nid = "%s"\nstatus = ["READ", "WRITE", "VISIBLE"]\nflags = []\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 8\ntype = "thin"\nthin_pool = "pool00"\ntransaction_id = 0\ndevice_id = 1\n}\n}\n' "$(_lvm_uuid)"
} >snap.lvs
lvm_vg_text two.vg snap.lvs snap.meta
ok "thin pool, thin LV and snapshot: vgcfgrestore --force takes them" lvm_restore two.img "$R2" vg snap.meta
lvm-dump two.img $MiB $((96 * MiB)) >snap.dump 2>&1
like "$(grep '^lv thin1 ' snap.dump)" 'layout thin .*segs 0 refused: thin volume \(pool vg/pool00\): not supported$' "thin LV: kept, refused with its pool named"
like "$(grep '^lv pool00 ' snap.dump)" 'refused: thin-pool volume: not supported$' "thin pool: refused"
like "$(grep '^lv cow ' snap.dump)" 'layout snapshot .*refused: snapshot of origin: not supported$' "snapshot: refused (its COW store is not the snapshot's contents)"
like "$(grep '^lv origin ' snap.dump)" 'layout linear size 16777216 segs 1$' "snapshot origin: plain linear, readable"
is "$(grep '^lv ' snap.dump | cut -d' ' -f2 | sort)" "$(lvm_with two.img "$R2" lvs --noheadings -o lv_name vg | tr -d ' ' | sort)" \
	"the LVs listed are those lvs lists (the snapshot by its COW's name, no snapshot0)"

# --------------------------------------------------------------- many updates: the newest copy, the ring buffer wraps
mkdisk ring.img 64M <<-EOF
	label: gpt
	start=2048, size=120000, type=linux
EOF
RR=$MiB:$((120000 * 512))
LVM_PVCREATE_OPTS="--metadatasize 64k --dataalignment 128k" lvm_make_vg ring.img "$RR" ringvg 4
lvm_backup ring.img "$RR" ringvg ring.vg
{ lvm_lv data pv0:0:3; lvm_lv more pv0:5:2; } >ring.lvs
lvm_vg_text ring.vg ring.lvs ring.meta
lvm_restore ring.img "$RR" ringvg ring.meta
addtags() { # many updates with long tags: the text grows and walks round the area
	local i
	for i in $(seq 1 14); do
		lvchange -q --addtag "tag_${i}_$(printf 'x%.0s' $(seq 1 600))" ringvg/data >/dev/null 2>&1 || return 1
	done
}
ok "ring: 14 metadata updates by lvchange --addtag" lvm_with ring.img "$RR" addtags
wrapped() { # the committed raw_locn passes the end of the area
	python3 - "$1" "$2" <<-'EOF'
	import struct, sys
	f = open(sys.argv[1], "rb")
	base = int(sys.argv[2])
	f.seek(base + 512)
	lab = f.read(512)
	off = struct.unpack_from("<I", lab, 20)[0]
	p = off + 40
	while struct.unpack_from("<Q", lab, p)[0]: p += 16
	p += 16
	mda_off, mda_size = struct.unpack_from("<QQ", lab, p)
	f.seek(base + mda_off)
	h = f.read(512)
	size = struct.unpack_from("<Q", h, 32)[0]
	roff, rsize = struct.unpack_from("<QQ", h, 40)
	print("wrapped" if roff + rsize > size else "not wrapped: %d + %d <= %d" % (roff, rsize, size))
	EOF
}
n=0
while [ "$(wrapped ring.img $MiB)" != wrapped ] && [ $n -lt 40 ]; do
	lvm_with ring.img "$RR" lvchange -q --addtag "more_$n" ringvg/more >/dev/null 2>&1
	n=$((n + 1))
done
is "$(wrapped ring.img $MiB)" wrapped "ring: the newest text wraps from the end of the area to its start"
ok "ring: lvm-dump reads the wrapped text" sh -c "lvm-dump ring.img $MiB $((120000 * 512)) >ring.dump"
is "$(sed -n 's/^seqno //p' ring.dump)" "$(lvm_with ring.img "$RR" vgs --noheadings -o seqno ringvg | tr -d ' ')" \
	"ring: the seqno read is the newest one (vgs)"
lvm_segments ring.img "$RR" ringvg >ring.segs
is "$(dump_extents ring.dump)" "$(sort ring.segs)" "ring: LVs agree with lvs --segments"
lvm-dump --metadata ring.img $MiB $((120000 * 512)) >ring.text
like "$(grep -c 'tag_14_' ring.text)" '^[1-9]' "ring: the text read has the last tag added"

# --------------------------------------------------------------- two metadata areas, the first damaged
mkdisk mda2.img 64M <<-EOF
	label: gpt
	start=2048, size=120000, type=linux
EOF
RM=$MiB:$((120000 * 512))
LVM_PVCREATE_OPTS="--pvmetadatacopies 2" lvm_make_vg mda2.img "$RM" vg2 4
lvm_backup mda2.img "$RM" vg2 mda2.vg
lvm_lv only pv0:1:2 >mda2.lvs
lvm_vg_text mda2.vg mda2.lvs mda2.meta
lvm_restore mda2.img "$RM" vg2 mda2.meta
lvm-dump mda2.img "$MiB" $((120000 * 512)) >mda2.dump
is "$(sed -n 's/^label .* mdas //p' mda2.dump)" 2 "pvmetadatacopies 2: two metadata areas in the label"
mda1=$(sed -n 's/^mda 1 offset \([0-9]*\).*/\1/p' mda2.dump)
cp mda2.img mda2-bad1.img
printf 'XXXX' | dd of=mda2-bad1.img bs=1 seek=$((MiB + mda1 + 100)) conv=notrunc status=none
ok "first area's header damaged: lvm-dump reads the second" sh -c "lvm-dump mda2-bad1.img $MiB $((120000 * 512)) >mda2-bad1.dump"
is "$(grep -v '^mda\|^label' mda2-bad1.dump)" "$(grep -v '^mda\|^label' mda2.dump)" "second area: the same VG"
mda2=$(sed -n 's/^mda 2 offset \([0-9]*\).*/\1/p' mda2.dump)
cp mda2-bad1.img mda2-bad2.img
printf 'XXXX' | dd of=mda2-bad2.img bs=1 seek=$((MiB + mda2 + 100)) conv=notrunc status=none
fails "both areas damaged: a clean error" lvm-dump mda2-bad2.img $MiB $((120000 * 512))
lvm-dump mda2-bad2.img $MiB $((120000 * 512)) 2>err.txt
ok "both damaged: one line" one_line_error lvm-dump err.txt
like "$(cat err.txt)" 'no valid LVM2 metadata \(area 1: bad header checksum; area 2: bad header checksum\)' "both damaged: each area's reason"

# --------------------------------------------------------------- damaged single-copy PVs
cp ring.img badlabel.img
# (a byte no PV UUID holds: an 'X' could be what is there already)
printf '\377' | dd of=badlabel.img bs=1 seek=$((MiB + 512 + 40)) conv=notrunc status=none
lvm-dump badlabel.img $MiB $((120000 * 512)) 2>err.txt
like "$(cat err.txt)" 'LVM2 label in sector 1: bad checksum' "bad label CRC: refused"
lvm-dump --metadata rhel.img "$p2off" "$p2size" >rhel.text
cp rhel.img badhdr.img
printf 'X' | dd of=badhdr.img bs=1 seek=$((p2off + 4096 + 200)) conv=notrunc status=none
lvm-dump badhdr.img "$p2off" "$p2size" 2>err.txt
like "$(cat err.txt)" 'area 1: bad header checksum' "bad mda header checksum, no other copy: clean error"
textoff=$(python3 -c '
import struct, sys
f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2]) + 4096); h = f.read(512)
print(struct.unpack_from("<Q", h, 40)[0])' rhel.img "$p2off")
cp rhel.img badtext.img
printf '\377' | dd of=badtext.img bs=1 seek=$((p2off + 4096 + textoff + 30)) conv=notrunc status=none
lvm-dump badtext.img "$p2off" "$p2size" 2>err.txt
like "$(cat err.txt)" 'area 1: bad text checksum' "bad text checksum, no other copy: clean error"
fails "not a PV: refused" lvm-dump rhel.img 0 $((300 * MiB))
lvm-dump rhel.img $MiB $((300 * MiB)) 2>err.txt
like "$(cat err.txt)" 'no LVM2 label' "an XFS partition has no LVM2 label"

# --------------------------------------------------------------- crafted texts
crafted() { # NAME: NAME.txt from rhel.text through the sed script on stdin
	sed -f /dev/stdin rhel.img.meta >"$1.txt"
}
lvm-dump --text rhel.text >text.dump
is "$(grep -v '^label\|^mda\|^seqno' rhel.dump)" "$(cat text.dump)" "--text: the same VG from the text alone"
crafted past <<<'s/pe_count = 299\b/pe_count = 210/'
like "$(lvm-dump --text past.txt 2>&1)" 'LV swap segment 1: extents 200-215 past the end of PV pv0' "segment past pe_count: refused"
crafted overlap <<<'0,/stripes = \["pv0", 100\]/s//stripes = ["pv0", 90]/'
like "$(lvm-dump --text overlap.txt 2>&1)" 'LVs home and root overlap on PV pv0' "overlapping LVs: refused, both named"
crafted missing <<<'0,/stripes = \["pv0", 200\]/s//stripes = ["pv7", 200]/'
like "$(lvm-dump --text missing.txt 2>&1)" 'LV swap segment 1: no PV or LV named pv7' "a missing PV: refused"
crafted huge <<<'s/extent_size = 8192/extent_size = 99999999999999999999999/'
like "$(lvm-dump --text huge.txt 2>&1)" 'number too large' "an integer overflowing 64 bits: refused"
crafted huge32 <<<'s/pe_count = 299\b/pe_count = 4294967296/'
like "$(lvm-dump --text huge32.txt 2>&1)" 'PV pv0: missing or invalid pe_start/pe_count' "a pe_count over 32 bits: refused"
crafted gap <<<'0,/start_extent = 100$/s//start_extent = 101/'
like "$(lvm-dump --text gap.txt 2>&1)" 'LV root segment 2: starts at extent 101, not 100' "segments not contiguous: refused"
crafted badname <<<'s/^root {/ro\/ot {/'
like "$(lvm-dump --text badname.txt 2>&1)" 'an LV with an invalid name' "an LV name with '/': refused"
python3 -c 'print("contents = \"Text Format Volume Group\"\nversion = 1\n" + "a {" * 100000 + "}" * 100000)' >deep.txt
like "$(lvm-dump --text deep.txt 2>&1)" 'sections nested too deep' "nesting 10^5 deep: refused"
many_segments() { # N: an LV of N one-extent segments
	python3 - "$1" <<-'EOF'
	import sys
	n = int(sys.argv[1])
	w = sys.stdout.write
	w('contents = "Text Format Volume Group"\nversion = 1\nvg {\nid = "a"\nseqno = 1\nextent_size = 8\n')
	w('physical_volumes {\npv0 {\nid = "b"\npe_start = 2048\npe_count = %d\n}\n}\n' % n)
	w('logical_volumes {\nlv {\nid = "c"\nstatus = ["VISIBLE"]\nsegment_count = %d\n' % n)
	for i in range(n):
	    w('segment%d {\nstart_extent = %d\nextent_count = 1\ntype = "striped"\nstripe_count = 1\nstripes = ["pv0", %d]\n}\n' % (i + 1, i, i))
	w('}\n}\n}\n')
	EOF
}
many_segments 70000 >seg70k.txt
like "$(lvm-dump --text seg70k.txt 2>&1)" 'LV lv: missing or invalid segment_count|more than 65536 segments' "70000 segments: refused"
many_segments 1000000 >seg1m.txt
start=$(date +%s)
like "$(lvm-dump --text seg1m.txt 2>&1)" 'more than|too many' "10^6 segments: refused"
ok "10^6 segments: refused within 10 s" test $(($(date +%s) - start)) -le 10
many_segments 65536 >seg64k.txt
like "$(lvm-dump --text seg64k.txt 2>&1 | grep '^lv ')" 'segs 65536$' "65536 segments: read"

# --------------------------------------------------------------- names with '-'
mkdisk dash.img 64M <<-EOF
	label: gpt
	start=2048, size=120000, type=linux
EOF
RD=$MiB:$((120000 * 512))
lvm_make_vg dash.img "$RD" my-vg 4
lvm_backup dash.img "$RD" my-vg dash.vg
lvm_lv lv-1 pv0:0:2 >dash.lvs
lvm_vg_text dash.vg dash.lvs dash.meta
lvm_restore dash.img "$RD" my-vg dash.meta
want=$(lvm_with dash.img "$RD" lvs --noheadings -o lv_dm_path my-vg/lv-1 | tr -d ' ')
like "$(lvm-dump dash.img $MiB $((120000 * 512)) | grep '^lv ')" " dm ${want#/dev/mapper/} " "dm name doubles '-' (my--vg-lv--1, as lvs' lv_dm_path)"
done_testing
