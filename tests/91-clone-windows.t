#!/bin/bash
# rawkit-clone --hostname on a Windows system disk: the computer name set
# offline in the copy's SYSTEM hive (hivex; written back through
# libimgfmt's NTFS, libntfs-3g), checked with ntfscat, hivexget, hivexml and
# ntfsfix.  Hives that cannot be edited end in "not done" (exit 3), names
# Windows cannot take in a usage error before anything is written (exit 2).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

is_root && [ -c /dev/fuse ] || skip_all "needs root and /dev/fuse to build the NTFS fixture"
for t in hivexsh hivexget hivexml ntfscp ntfscat; do
	command -v "$t" >/dev/null || skip_all "needs $t (libhivex-bin, ntfs-3g)"
done

C=rawkit-clone
CN='\ControlSet002\Control\ComputerName\ComputerName'
ACN='\ControlSet002\Control\ComputerName\ActiveComputerName'
TCP='\ControlSet002\Services\Tcpip\Parameters'
system_hive SYSTEM && put_windows_disk w.img SYSTEM || { echo "Bail out! cannot build the Windows disk"; exit 1; }
golden_sum=$(sum w.img)
hive_of w.img >golden.hive

# values HIVE KEY: each value under KEY and its subkeys, as hivexml shows it,
# one tab-separated line each: PATH NAME TYPE BYTES VALUE (BYTES: the data's
# length in the hive)
values() {
	hivexml "$1" | python3 -c '
import sys, xml.etree.ElementTree as ET
node = ET.parse(sys.stdin).getroot().find("node")
for part in sys.argv[1].strip("\\").split("\\"):
    node = next((n for n in node.findall("node") if n.get("name").lower() == part.lower()), None)
    if node is None:
        sys.exit("no key " + part)
def walk(n, path):
    for v in n.findall("value"):
        runs = v.find("byte_runs").findall("byte_run")
        size = int(runs[1].get("len")) - 4 if len(runs) > 1 else "inline"
        print("\t".join(map(str, (path, v.get("key"), v.get("type"), size, v.get("value")))))
    for c in n.findall("node"):
        walk(c, path + "\\" + c.get("name"))
walk(node, sys.argv[1])
' "$2"
}

# ---- two clones: each gets its name in the control set Select\Current names
ok "two clones" $C -q --hostname 'web%02d' w.img t1.img t2.img
is "$(sum w.img)" "$golden_sum" "the golden disk is byte-identical afterwards"
for n in 1 2; do
	t=t$n.img name=$(printf 'web%02d' "$n")
	hive_of $t >$t.hive
	ok "$t: ntfscat reads the SYSTEM hive" test -s $t.hive
	is "$(hivexget $t.hive "$CN" ComputerName)" "${name^^}" "$t: ComputerName is ${name^^}"
	is "$(hivexget $t.hive "$ACN" ComputerName)" "${name^^}" "$t: ActiveComputerName is ${name^^}"
	is "$(hivexget $t.hive "$TCP" Hostname)" "$name" "$t: Tcpip Hostname is $name"
	is "$(hivexget $t.hive "$TCP" 'NV Hostname')" "$name" "$t: Tcpip NV Hostname is $name"
	is "$(values $t.hive "$CN" | cut -f2-4 | tr '\t' ' ')" "ComputerName string 12" \
		"$t: ComputerName is a REG_SZ of 12 bytes (UTF-16LE, NUL-terminated)"
	is "$(values $t.hive "$TCP" | cut -f2-4 | tr '\t' ' ' | grep Hostname)" "Hostname string 12
NV Hostname string 12" "$t: the host names are REG_SZ too"
	is "$(hivexget $t.hive "$TCP" Domain)" "" "$t: Domain is left as it was"
	is "$(values $t.hive '\ControlSet001')" "$(values golden.hive '\ControlSet001')" \
		"$t: ControlSet001 (not the current one) is unchanged"
	is "$(values $t.hive '\Select')" "$(values golden.hive '\Select')" "$t: Select is unchanged"
	ok "$t: ntfsfix -n accepts the volume" ntfsfix -n "$SCRATCH/.part.img"
	is "$(ntfscat "$SCRATCH/.part.img" /Windows/System32/ntoskrnl.exe)" kernel "$t: the other files are intact"
done

$C -q --json --hostname web9 w.img j.img >j.json
is "$?" 0 "--json: exit 0"
is "$(python3 -c 'import json; t=json.load(open("j.json"))["targets"][0]; print(t["status"], [c["what"] for c in t["changes"] if c["operation"] == "hostname"], t["not_done"])')" \
	"done ['p1: computer name set to WEB9 in the SYSTEM hive (ControlSet002: ComputerName, ActiveComputerName; Tcpip Hostname and NV Hostname web9)'] []" \
	"--json reports the computer name under the hostname operation"

$C --hostname web01.example.com w.img fq.img >fq.out 2>&1
is "$?" 0 "a dotted name: exit 0"
hive_of fq.img >fq.hive
is "$(hivexget fq.hive "$CN" ComputerName) $(hivexget fq.hive "$TCP" Hostname)" "WEB01 web01" \
	"a dotted name: its first label is the computer name and host name"
like "$(cat fq.out)" 'note: Windows: .*first label of web01\.example\.com; the DNS domain is not changed' \
	"a dotted name: the report says the domain is not changed"

# ---- what is not written
$C --dry-run --hostname dry01 w.img dry.img >dry.out 2>&1
is "$?" 0 "--dry-run: exit 0"
ok "--dry-run: no target is created" test ! -e dry.img
like "$(cat dry.out)" 'computer name set to DRY01 in the SYSTEM hive \(ControlSet002' "--dry-run: says what would change"
is "$(sum w.img)" "$golden_sum" "--dry-run: the golden disk is byte-identical"

ok "--operations -hostname" $C -q --operations -hostname --hostname other w.img keep.img
is "$(hive_of keep.img | sha256sum)" "$(sha256sum <golden.hive)" "--operations -hostname: the hive is not touched"

cp --sparse=always w.img ip.img
ok "--in-place" $C -q --in-place --hostname solo ip.img
is "$(hive_of ip.img >ip.hive && hivexget ip.hive "$CN" ComputerName)" SOLO "--in-place: the computer name is set"

# ---- names Windows cannot take: refused before anything is written
$C --hostname averyveryverylongname w.img long.img 2>err
is "$?" 2 "a name longer than 15 characters: exit 2"
ok "a name longer than 15 characters: one-line error" one_line_error rawkit-clone err
is "$(cat err)" 'rawkit-clone: w.img: --hostname: "averyveryverylongname" is longer than the 15 characters a Windows computer name may have' \
	"a name longer than 15 characters: the message names it and the limit"
ok "a name longer than 15 characters: no target is created" test ! -e long.img
$C --hostname 'exactly15chars%d' w.img n{01..10}.img 2>err
is "$?" 2 "ten targets of which the tenth's name is too long (exactly15chars10): exit 2"
like "$(cat err)" '"exactly15chars10" is longer' "... the message names that one"
ok "... and no target is created" test -z "$(ls n*.img 2>/dev/null)"
$C -q --hostname sixteen-chars001 w.img s16.img 2>err
is "$?" 2 "sixteen characters: exit 2"
ok "fifteen characters are allowed" $C -q --hostname fifteen-chars01 w.img f15.img
is "$(hive_of f15.img >f15.hive && hivexget f15.hive "$CN" ComputerName)" FIFTEEN-CHARS01 "fifteen characters: set"
$C --hostname 2024 w.img digits.img 2>err
is "$?" 2 "a name of digits only: exit 2"
like "$(cat err)" 'only digits' "a name of digits only: the message says why"
is "$(sum w.img)" "$golden_sum" "the golden disk is byte-identical after the refusals"

# ---- hives rawkit cannot edit: "not done", exit 3, the target's hive as it was
# serial_only_differs A B: how many bytes of NTFS images A and B differ
# elsewhere than in the volume serial (bytes 0x48-0x4f of the boot sector and
# of its backup, the last sector)
serial_only_differs() {
	cmp -l "$1" "$2" | awk -v last=$(($(stat -c %s "$1") - 512)) '
		{ o = $1 - 1; if (!((o >= 72 && o < 80) || (o >= last + 72 && o < last + 80))) n++ }
		END { print n + 0 }'
}

# not_edited DESC DISK WHY-REGEX: a clone of DISK is made (exit 3, the
# reason on stderr) and its hive is the golden disk's, byte for byte
not_edited() {
	local desc=$1 disk=$2 why=$3 target=${2%.img}-1.img rc want
	$C -q --hostname web01 "$disk" "$target" 2>err
	rc=$?
	is "$rc" 3 "$desc: exit 3"
	like "$(cat err)" "not done: p1: Windows: the computer name is not changed: $why" "$desc: says why"
	$C -q --operations -hostname,-fs-uuids "$disk" "${target%.img}-ref.img" 2>/dev/null
	hive_of "${target%.img}-ref.img" >/dev/null && cp "$SCRATCH/.part.img" ref.part
	want=$(hive_of "$disk" | sha256sum) # (then the target's, whose volume ntfsfix checks)
	is "$(hive_of "$target" | sha256sum)" "$want" "$desc: the target's hive is not written"
	ok "$desc: the target is still a complete clone (ntfsfix -n)" ntfsfix -n "$SCRATCH/.part.img"
	is "$(serial_only_differs ref.part "$SCRATCH/.part.img")" 0 \
		"$desc: nothing but the NTFS serial differs from a clone made without the hostname operation"
}

cp --sparse=always w.img corrupt.img
head -c 65536 /dev/urandom >random.hive
put_hive corrupt.img random.hive
not_edited "random bytes for a hive" corrupt.img "hivex cannot open the SYSTEM hive"

cp --sparse=always w.img cut.img
head -c 6000 golden.hive >cut.hive
put_hive cut.img cut.hive
not_edited "a hive cut short" cut.img "hivex cannot open the SYSTEM hive"

cp SYSTEM noselect.hive
printf 'cd \\Select\ndel\ncommit\n' | hivexsh -w noselect.hive
ok "a hive without Select (hivexget agrees)" sh -c '! hivexget noselect.hive "\\Select" Current 2>/dev/null'
cp --sparse=always w.img noselect.img
put_hive noselect.img noselect.hive
not_edited "no Select key" noselect.img 'the SYSTEM hive has no Select\\Current'

cp SYSTEM select3.hive
printf 'cd \\Select\nsetval 1\nCurrent\ndword:0x00000003\ncommit\n' | hivexsh -w select3.hive
cp --sparse=always w.img select3.img
put_hive select3.img select3.hive
not_edited "Select\\Current naming a missing control set" select3.img 'the SYSTEM hive has no ControlSet003'

cp SYSTEM notcpip.hive
printf 'cd \\ControlSet002\\Services\\Tcpip\ndel\ncommit\n' | hivexsh -w notcpip.hive
cp --sparse=always w.img notcpip.img
put_hive notcpip.img notcpip.hive
not_edited "no Tcpip key" notcpip.img 'the SYSTEM hive has no ControlSet002\\Services\\Tcpip\\Parameters'

# a hive whose two sequence numbers differ: its newest changes are in its logs
python3 - SYSTEM dirty.hive <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", b, 8, struct.unpack_from("<I", b, 4)[0] + 1)
xor = 0
for at in range(0, 0x1FC, 4):
    xor ^= struct.unpack_from("<I", b, at)[0]
struct.pack_into("<I", b, 0x1FC, xor)
open(sys.argv[2], "wb").write(b)
PY
cp --sparse=always w.img dirty.img
put_hive dirty.img dirty.hive
not_edited "a hive with changes in its transaction logs" dirty.img \
	"the SYSTEM hive has changes still in its transaction logs"

# a read-only hive file: not done, also in a dry run (which must agree)
NTFS_SETUP='setfattr -n system.ntfs_attrib_be -v 0x00000021 Windows/System32/config/SYSTEM' \
	put_windows_disk ro.img SYSTEM
not_edited "a read-only hive file" ro.img "/Windows/System32/config/SYSTEM is read-only"
$C --dry-run --hostname web01 ro.img ro-dry.img >/dev/null 2>err
is "$?" 3 "a read-only hive file: --dry-run says so too (exit 3)"

# a hibernated Windows (hiberfil.sys begins "hibr"): ntfs-3g will not write it
NTFS_SETUP='{ printf hibr; head -c 4092 /dev/zero; } >hiberfil.sys' put_windows_disk hib.img SYSTEM
not_edited "a hibernated Windows" hib.img "cannot open NTFS: Windows is hibernated"

# no hive at all
mkdir -p nohive/Windows/System32 && echo kernel >nohive/Windows/System32/ntoskrnl.exe
mkdisk nohive.img 80M <<'S'
label: gpt
start=2048, size=60M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
S
put_ntfs_tree nohive.img 1 nohive
$C -q --hostname web01 nohive.img nohive-1.img 2>err
is "$?" 3 "no SYSTEM hive: exit 3"
like "$(cat err)" 'computer name is not changed: no SYSTEM hive' "no SYSTEM hive: says so"

# ---- names matched as Windows matches them: C:\WINDOWS\system32\config\system
put_windows_disk xp.img SYSTEM xp
ok "Windows XP's spelling: clone" $C -q --hostname xp01 xp.img xp1.img
hive_of xp1.img /WINDOWS/system32/config/system >xp1.hive
is "$(hivexget xp1.hive "$CN" ComputerName) $(hivexget xp1.hive "$TCP" Hostname)" "XP01 xp01" \
	"Windows XP's spelling: the hive is found and edited"
ok "Windows XP's spelling: the disk is seen as Windows (disk ids kept)" \
	test "$(sfdisk --disk-id xp1.img)" = "$(sfdisk --disk-id xp.img)"

done_testing
