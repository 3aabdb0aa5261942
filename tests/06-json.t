#!/bin/bash
# --json: every command of the five tools prints one object whose keys are
# the ones doc/json.md names for it (tests/lib/json_vocab.py reads the
# page's tables), on success and on failure; names that are not UTF-8 come
# back byte for byte through the documented rule.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

L=rawkit-lanfree

# vocab COMMAND FILE [STATUS], right after the command: its output to check
# against doc/json.md, and its exit status against "status" (all at the
# end, in one python: it starts slowly).  RC overrides $? (a pipeline's).
: >vocab.list
vocab() {
	local rc=$?
	echo "$1 $2 ${RC:-$rc} ${3:-}" >>vocab.list
}

# A GPT disk: ext4 with the usual files, a name that is not UTF-8 and one in
# the escape range; a swap.
make_tree tree
touch "tree/data/$(printf 'latin1-\351t\351')" "tree/data/$(printf 'pua-\356\276\200')"
mkdisk d.img 96M <<'S' || { echo "Bail out! cannot partition"; exit 1; }
label: gpt
start=2048, size=64M, type=L
size=16M, type=S
S
put_ext4 d.img 1 -d tree || { echo "Bail out! cannot make the filesystem"; exit 1; }
put_fs swap d.img 2 || { echo "Bail out! cannot make the swap"; exit 1; }

# ---- rawkit-info
rawkit-info --json d.img >info.json
vocab info info.json done

# ---- rawkit-lanfree: every subcommand
$L init repo --json >init.json
vocab init init.json done
$L backup repo d.img --name g --level full --json >backup.json 2>backup.err
vocab backup backup.json
$L backup repo d.img --name g --json >backup2.json 2>/dev/null
$L list repo --json >list.json
vocab list list.json done
is "$(python3 -c 'import json; print(len(json.load(open("list.json"))["generations"]))')" 2 "list: both generations"
$L ls repo g@1 --json >ls-vol.json
vocab ls ls-vol.json done
$L ls repo g@1 p1/data --json >ls.json
vocab ls ls.json done
is "$(python3 -c '
import json, os, sys
sys.path.insert(0, sys.argv[1])
def name_bytes(s):
    return b"".join(bytes([ord(c) - 0xEF00]) if 0xEF80 <= ord(c) <= 0xEFFF else c.encode() for c in s)
got = sorted(name_bytes(e["name"]) for e in json.load(open("ls.json"))["entries"])
print(got == sorted(os.listdir(b"tree/data")))' "$TESTS_DIR/lib")" True \
	"ls: every name, UTF-8 or not, comes back byte for byte through doc/json.md's rule"
$L find repo g '*/file.txt' --json >find.json
vocab find find.json done
$L diff repo g --json >diff.json
vocab diff diff.json done
$L restore repo g@1 p1/etc --to r --json >restore.json 2>/dev/null
vocab restore restore.json
$L export repo g@1 --to export.tar --json >export.json 2>/dev/null
vocab export export.json
$L export repo g@1 --to - --json 2>export-stdout.json >/dev/null
vocab export export-stdout.json
$L verify repo --json >verify.json
vocab verify verify.json done
$L verify repo g@1 --against d.img --json >verify-against.json 2>/dev/null
vocab verify verify-against.json
$L prune repo g --keep-last 1 --dry-run --json >prune-dry.json
vocab prune prune-dry.json done
$L prune repo g --keep-last 1 --json >prune.json
vocab prune prune.json done

# ---- rawkit-clone
rawkit-clone --json --hostname c1 d.img c1.img >clone.json 2>/dev/null
vocab clone clone.json
rawkit-clone --json --dry-run d.img c2.img >clone-dry.json 2>/dev/null
vocab clone clone-dry.json

# ---- rawkit-p2v: capture, in place, send | receive
rawkit-p2v --json --no-rebuild d.img v.img >capture.json 2>/dev/null
vocab capture capture.json
rawkit-p2v --json --in-place --no-rebuild v.img >in-place.json 2>/dev/null
vocab in-place in-place.json
rawkit-p2v send --json d.img 2>send.err | rawkit-p2v receive --json --no-convert recv.img >receive.json 2>/dev/null
rcs=("${PIPESTATUS[@]}")
grep '^{' send.err >send.json
RC=${rcs[0]} vocab send send.json
RC=${rcs[1]} vocab receive receive.json

# ---- rawkit-v2p: onto a larger disk
truncate -s 128M big.img
rawkit-v2p --drivers ahci,nvme,sd_mod --json d.img big.img >v2p.json 2>v2p.err
vocab v2p v2p.json
rawkit-v2p --drivers ahci,nvme,sd_mod --dry-run --json d.img big2.img >v2p-dry.json 2>/dev/null
vocab v2p v2p-dry.json

# ---- failures: still one object, status failed (exit 1), the error in it
rawkit-info --json missing.img >f-info.json 2>/dev/null
vocab info f-info.json failed
like "$(python3 -c 'import json; e=json.load(open("f-info.json"))["error"]; print(e["object"], e["message"])')" \
	'^missing.img .*No such file' "info: the error names the disk and says why"
$L list norepo --json >f-list.json 2>/dev/null
vocab list f-list.json failed
$L ls repo g@1 p1/nothing-here --json >f-ls.json 2>/dev/null
vocab ls f-ls.json failed
rawkit-clone --json missing.img t.img >f-clone.json 2>/dev/null
vocab clone f-clone.json failed
rawkit-p2v --json missing.img t.img >f-p2v.json 2>/dev/null
vocab capture f-p2v.json failed
rawkit-v2p --drivers ahci --json missing.img big.img >f-v2p.json 2>/dev/null
vocab v2p f-v2p.json failed

# ---- every output against doc/json.md's tables
python3 "$TESTS_DIR/lib/json_vocab.py" "$TESTS_DIR/../doc/json.md" --batch vocab.list >vocab.out
is "$(wc -l <vocab.out)" "$(wc -l <vocab.list)" "every output was checked"
while IFS=$'\t' read -r what problems; do
	is "$problems" "" "$what: one object, the keys and rules of doc/json.md"
done <vocab.out

done_testing
