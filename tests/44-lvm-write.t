#!/bin/bash
# LVM2 metadata written on a target disk: new PV/VG uuids and VG name for a
# clone (imgfmt_disk_lvm_set_ids, as vgimportclone) and a grown PV
# (imgfmt_disk_lvm_resize_pv, as pvresize).  Checked with lvm2's own tools
# (pvs, vgs, lvs, vgck, pvck) through loop devices, and with our reader.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"
is_root || skip_all "needs root (loop devices for the LVM fixtures)"
command -v lvm-dump >/dev/null || skip_all "no lvm-dump helper in $RAWKIT_BIN"
MiB=1048576
P2=$RHEL_P2
P2OFF=${P2%%:*}
P2SIZE=${P2##*:}

# The metadata areas of the PV at OFFSET of IMG: "area SIZE text OFFSET SIZE CRC slot1 OFFSET" each;
# "move N": put the committed text of every area N bytes before the end of its ring
# (where LVM2 could have left it), "shrink N": make the ring N bytes long.
cat >mda.py <<'EOF'
import struct, sys
img, base, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
f = open(img, "r+b")
def crc(b, c=0xf597a6cf):
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0xedb88320 & -(c & 1))
    return c
for i in range(4):
    f.seek(base + 512 * i); s = f.read(512)
    if s[:8] == b"LABELONE": break
p = struct.unpack_from("<I", s, 20)[0] + 40
lists, l = [[], []], 0
while l < 2:
    o, z = struct.unpack_from("<QQ", s, p); p += 16
    if o == 0: l += 1; continue
    lists[l].append((o, z))
for off, _ in lists[1]:
    f.seek(base + off); h = bytearray(f.read(512))
    size = struct.unpack_from("<Q", h, 32)[0]
    toff, tsize, tcrc, fl = struct.unpack_from("<QQII", h, 40)
    if not cmd:
        print("area %d text %d %d %08x slot1 %d" % (size, toff, tsize, tcrc, struct.unpack_from("<Q", h, 64)[0]))
        continue
    if cmd[0] == "move":
        f.seek(base + off + toff); text = f.read(tsize)
        toff = size - int(cmd[1]) - tsize
        f.seek(base + off + toff); f.write(text)
        struct.pack_into("<Q", h, 40, toff)
    elif cmd[0] == "shrink":
        struct.pack_into("<Q", h, 32, int(cmd[1]))
    struct.pack_into("<I", h, 0, crc(bytes(h[4:])))
    f.seek(base + off); f.write(h)
EOF
mda() { python3 mda.py "$@"; }
field() { lvm_with "$1" "$2" "${@:3}" | tr -d ' '; }
_pvck() { pvck "${LVM_DEVS[@]}"; }

rhel_disk r.img >places || { echo "Bail out! cannot build the LVM fixture"; exit 1; }
old_pv=$(field r.img "$P2" pvs --noheadings -o pv_uuid)
old_vg=$(field r.img "$P2" vgs --noheadings -o vg_uuid rhel)
old_lvs=$(lvm_with r.img "$P2" lvs --noheadings -o lv_name,lv_uuid,seg_start_pe,seg_size_pe,seg_pe_ranges --segments rhel |
	sed 's|/dev/loop[0-9]*||g' | sort)
old_seqno=$(lvm-dump r.img "$P2OFF" "$P2SIZE" | awk '$1 == "seqno" { print $2 }')

# --- set_ids: new PV and VG uuids, the name kept
cp --sparse=always r.img c1.img
cp --sparse=always r.img c2.img
ok "lvm-set-ids on a clone" imgfmt-tool lvm-set-ids c1.img rhel
new_pv=$(field c1.img "$P2" pvs --noheadings -o pv_uuid)
new_vg=$(field c1.img "$P2" vgs --noheadings -o vg_uuid rhel)
ok "pvs: a new PV uuid" test -n "$new_pv" -a "$new_pv" != "$old_pv"
ok "vgs: a new VG uuid, the name kept" test -n "$new_vg" -a "$new_vg" != "$old_vg"
like "$new_pv" '^[0-9a-zA-Z]{6}(-[0-9a-zA-Z]{4}){5}-[0-9a-zA-Z]{6}$' "the PV uuid has LVM2's form"
ok "vgck is clean" lvm_with c1.img "$P2" vgck rhel
ok "pvck is clean" lvm_with c1.img "$P2" _pvck
is "$(lvm_with c1.img "$P2" lvs --noheadings -o lv_name,lv_uuid,seg_start_pe,seg_size_pe,seg_pe_ranges --segments rhel |
	sed 's|/dev/loop[0-9]*||g' | sort)" "$old_lvs" "lvs: the same LVs, uuids and segments"
lvm-dump c1.img "$P2OFF" "$P2SIZE" >c1.dump
is "$(awk '$1 == "seqno" { print $2 }' c1.dump)" $((old_seqno + 1)) "our reader: seqno + 1"
like "$(grep '^label' c1.dump)" "uuid $new_pv " "our reader: the label's uuid is the new one"
like "$(grep '^vg' c1.dump)" "^vg rhel uuid $new_vg " "our reader: the VG's"
like "$(grep '^pv 0' c1.dump)" "uuid $new_pv " "our reader: the metadata's PV uuid"
is "$(mda c1.img "$P2OFF" | awk '{ print $8 }')" 0 "the precommit slot is empty"
rawkit-info --json c1.img >c1.json
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(v["name"] for v in d["volumes"]))' c1.json)" \
	"p1 p2 rhel-root rhel-home rhel-swap" "rawkit-info lists the LVs of the clone"
ok "a second clone" imgfmt-tool lvm-set-ids c2.img rhel
ok "two clones of one disk: different PV uuids" test "$(field c2.img "$P2" pvs --noheadings -o pv_uuid)" != "$new_pv"
ok "two clones of one disk: different VG uuids" test "$(field c2.img "$P2" vgs --noheadings -o vg_uuid rhel)" != "$new_vg"

# --- a new VG name
ok "lvm-set-ids with a new name" imgfmt-tool lvm-set-ids c2.img rhel newvg
is "$(field c2.img "$P2" vgs --noheadings -o vg_name)" newvg "vgs: the new name"
ok "vgck newvg is clean" lvm_with c2.img "$P2" vgck newvg
rawkit-info --json c2.img >c2.json
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(v["name"] for v in d["volumes"]))' c2.json)" \
	"p1 p2 newvg-root newvg-home newvg-swap" "the LVs are named newvg-*"
is "$(mda c2.img "$P2OFF" | wc -l)" 1 "one metadata area"

# --- the ring buffer: the new text wraps past the end of the area, then follows the wrapped one
cp --sparse=always r.img w.img
read -r _ area _ < <(mda w.img "$P2OFF")
mda w.img "$P2OFF" move 512
ok "LVM2 reads the text moved near the end of its ring" lvm_with w.img "$P2" vgck rhel
ok "lvm-set-ids with the text near the end" imgfmt-tool lvm-set-ids w.img rhel
read -r _ _ _ toff tsize _ < <(mda w.img "$P2OFF")
is "$toff" $((area - 512)) "the new text starts in the last sector of the ring"
ok "and wraps to its start" test $((toff + tsize)) -gt "$area"
ok "vgck reads the wrapped text" lvm_with w.img "$P2" vgck rhel
ok "lvm-set-ids after a wrapped text" imgfmt-tool lvm-set-ids w.img rhel wrapped
read -r _ _ _ toff _ < <(mda w.img "$P2OFF")
is "$toff" 2048 "the next text follows the wrapped part, on a sector boundary"
ok "vgck clean" lvm_with w.img "$P2" vgck wrapped
is "$(lvm-dump w.img "$P2OFF" "$P2SIZE" | awk '$1 == "seqno" { print $2 }')" $((old_seqno + 2)) "seqno + 2 after two calls"

# --- two metadata areas on the PV (--pvmetadatacopies 2): both rewritten
mkdisk two.img 200M <<EOF
label: gpt
start=2048, size=196608, type=E6D6D379-F507-44C2-A23C-238F2A3DF928
start=198656, size=200704, type=E6D6D379-F507-44C2-A23C-238F2A3DF928
EOF
R1=$MiB:$((96 * MiB))
R2=$((97 * MiB)):$((98 * MiB))
LVM_PVCREATE_OPTS="--pvmetadatacopies 2" lvm_make_vg two.img "$R1,$R2" tvg 4
lvm_backup two.img "$R1,$R2" tvg two.vg
lvm_lv data pv0:0:10 pv1:0:10 >two.lvs
lvm_vg_text two.vg two.lvs two.meta && lvm_restore two.img "$R1,$R2" tvg two.meta
ok "fixture: a VG over two PVs of two metadata areas each" test "$(mda two.img $MiB | wc -l)" = 2
old_pvs=$(field two.img "$R1,$R2" pvs --noheadings -o pv_uuid | sort)
cp --sparse=always two.img two-missing.img
ok "lvm-set-ids on a VG of two PVs" imgfmt-tool lvm-set-ids two.img tvg
new_pvs=$(field two.img "$R1,$R2" pvs --noheadings -o pv_uuid | sort)
is "$(comm -12 <(echo "$old_pvs") <(echo "$new_pvs") | wc -l)" 0 "both PVs have new uuids"
is "$(echo "$new_pvs" | sort -u | wc -l)" 2 "two different ones"
ok "vgck clean" lvm_with two.img "$R1,$R2" vgck tvg
ok "pvck clean" lvm_with two.img "$R1,$R2" _pvck
is "$(field two.img "$R1,$R2" pvs --noheadings -o pv_mda_count,pv_mda_used_count | sort -u)" "22" "pvs: 2 metadata areas in use on each PV"
is "$({ mda two.img $MiB; mda two.img $((97 * MiB)); } | awk '{ print $5, $6 }' | sort -u | wc -l)" 1 \
	"the four areas hold the same text (size and checksum)"
is "$(lvm-dump two.img $((97 * MiB)) $((98 * MiB)) | awk '$1 == "seqno" { print $2 }')" \
	"$(lvm-dump two.img $MiB $((96 * MiB)) | awk '$1 == "seqno" { print $2 }')" "the same seqno on both PVs"

# --- resize_pv: the PV's partition grown with sfdisk, then the PV, as pvresize does it
grow() { # IMG SECTORS: partition 2 of IMG made SECTORS long (same start)
	truncate -s 2010M "$1" && sfdisk -q --relocate gpt-bak-std "$1" 2>/dev/null &&
		echo ",$2" | sfdisk -q --no-reread -N 2 "$1" >/dev/null 2>&1
}
cp --sparse=always r.img g.img
cp --sparse=always r.img real.img
grow g.img $((1700 * 2048)) && grow real.img $((1700 * 2048))
G2=$P2OFF:$((1700 * MiB))
ok "lvm-resize-pv after the partition grew" imgfmt-tool lvm-resize-pv g.img p2
_pvresize() { pvresize -q "${LVM_DEVS[@]}"; }
ok "pvresize on a copy (the reference)" lvm_with real.img "$G2" _pvresize
pvfields="pv_size,pv_pe_count,pv_pe_alloc_count,pv_free,dev_size"
is "$(field g.img "$G2" pvs --noheadings --units b -o $pvfields)" "$(field real.img "$G2" pvs --noheadings --units b -o $pvfields)" \
	"pvs: size, extents, free as after pvresize"
is "$(field g.img "$G2" pvs --noheadings -o pv_pe_count)" $(((1700 - 1) / 4)) "pvs: every whole extent of the grown partition"
is "$(lvm-dump g.img "$P2OFF" $((1700 * MiB)) | grep '^pv 0' | sed 's/uuid [^ ]*//')" \
	"$(lvm-dump real.img "$P2OFF" $((1700 * MiB)) | grep '^pv 0' | sed 's/uuid [^ ]*//')" "metadata dev_size and pe_count as pvresize writes them"
like "$(lvm-dump g.img "$P2OFF" $((1700 * MiB)) | grep '^label')" "dev_size $((1700 * MiB)) " "the label's device size"
ok "vgck clean" lvm_with g.img "$G2" vgck rhel
ok "pvck clean" lvm_with g.img "$G2" _pvck
is "$(lvm_with g.img "$G2" lvs --noheadings -o lv_name,lv_uuid,seg_start_pe,seg_size_pe,seg_pe_ranges --segments rhel |
	sed 's|/dev/loop[0-9]*||g' | sort)" "$old_lvs" "lvs: the LVs untouched"
ok "lvm-set-ids after the resize" imgfmt-tool lvm-set-ids g.img rhel
ok "vgck clean" lvm_with g.img "$G2" vgck rhel

# shrinking: free extents may go, extents in use may not
cp --sparse=always r.img s.img
echo ",$((1000 * 2048))" | sfdisk -q --no-reread -N 2 s.img >/dev/null 2>&1
ok "lvm-resize-pv after the partition shrank over free extents" imgfmt-tool lvm-resize-pv s.img p2
is "$(field s.img "$P2OFF:$((1000 * MiB))" pvs --noheadings -o pv_pe_count,pv_pe_alloc_count)" "$(((1000 - 1) / 4))216" \
	"pvs: fewer extents, the same in use"
ok "vgck clean" lvm_with s.img "$P2OFF:$((1000 * MiB))" vgck rhel
echo ",$((800 * 2048))" | sfdisk -q --no-reread -N 2 s.img >/dev/null 2>&1
before=$(sum s.img)
imgfmt-tool lvm-resize-pv s.img p2 2>err
is "$?" 1 "shrinking over extents in use: refused"
like "$(cat err)" "would cut off extents in use" "with the reason"
is "$(sum s.img)" "$before" "nothing written"
fails "a partition that is no PV" imgfmt-tool lvm-resize-pv s.img p1

# --- refusals: nothing written
sfdisk -q --delete two-missing.img 2 >/dev/null 2>&1
before=$(sum two-missing.img)
imgfmt-tool lvm-set-ids two-missing.img tvg 2>err
is "$?" 1 "a PV of the VG missing from the disk: refused"
like "$(cat err)" "volume group tvg is incomplete on this disk: physical volume .* is missing" "with the reason"
is "$(sum two-missing.img)" "$before" "nothing written"

before=$(sum two.img)
imgfmt-tool lvm-resize-pv two.img p1 2>err
is "$?" 1 "resize of a PV with a metadata area at its end: refused"
like "$(cat err)" "has a metadata area at its end: run pvresize in the guest" "with the reason"
is "$(sum two.img)" "$before" "nothing written"

cp --sparse=always r.img ro.img
before=$(sum ro.img)
imgfmt-tool lvm-set-ids ro.img rhel --read-only 2>err
is "$?" 1 "a read-only disk: refused"
like "$(cat err)" "read-only" "with the reason"
for name in -bad "a/b" "." "$(printf 'x%.0s' $(seq 128))"; do
	fails "an invalid new VG name ($name)" imgfmt-tool lvm-set-ids ro.img rhel "$name"
done
fails "no such VG" imgfmt-tool lvm-set-ids ro.img novg
mda ro.img "$P2OFF" shrink 4096
before=$(sum ro.img)
imgfmt-tool lvm-set-ids ro.img rhel 2>err
is "$?" 1 "a text too big for its area: refused"
like "$(cat err)" "more than the 1280 this area holds" "with the reason"
is "$(sum ro.img)" "$before" "nothing written by any refusal"

done_testing
