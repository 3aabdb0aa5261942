#!/usr/bin/env python3
# json_vocab.py --- check one --json output against doc/json.md's tables
#
# usage: json_vocab.py DOC COMMAND OUTPUT [EXPECTED-STATUS]
#        json_vocab.py DOC --batch LIST  (lines "COMMAND OUTPUT EXIT-STATUS [STATUS]";
#        prints "COMMAND OUTPUT<TAB>problems; ..." per line, nothing after the tab
#        if none; "status" must match the exit status: 0 done, 3 warnings, 1/2 failed)
# OUTPUT must hold exactly one line, one JSON object, whose keys are those
# doc/json.md lists for COMMAND (every "always" key present, no key the page
# does not list), following the page's rules: status/warnings/error, _bytes
# and _ns integers, _iso strings.  Prints what is wrong; exit 1 if anything.
import json
import re
import sys

TRAILER = {"command": "always", "status": "always", "warnings": "always", "warnings[].object": "always",
           "warnings[].message": "always", "error": "failed", "error.object": "failed", "error.message": "failed"}


def parse_doc(path):
    """{command: {keypath: when}}, and the vocabulary {key: type}."""
    commands, vocab, current, section = {}, {}, None, None
    for line in open(path, encoding="utf-8"):
        if line.startswith("## "):
            section, current = line[3:].strip(), None
        elif line.startswith("### ") and section == "Commands":
            current = re.findall(r"`([^`]+)`", line)
            for c in current:
                commands.setdefault(c, {})
        m = re.match(r"\| `([^`]+)` \| ([^|]+) \|", line)
        if not m:
            continue
        if section == "Vocabulary":
            if m.group(1) in vocab:
                print(f"doc: {m.group(1)} named twice in the vocabulary")
            vocab[m.group(1)] = m.group(2).strip()
        elif section == "Commands" and current:
            for c in current:
                commands[c][m.group(1)] = m.group(2).strip()
    return commands, vocab


def paths(value, prefix=""):
    """Every key path of VALUE: a.b for objects, a[].b for arrays of objects."""
    if isinstance(value, dict):
        for k, v in value.items():
            p = prefix + ("." if prefix else "") + k
            yield p, v
            yield from paths(v, p)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict):
                yield from paths(v, prefix + "[]")


def parent_present(obj, path):
    """The object a documented path lives in exists here (non-null, array non-empty)."""
    parts = re.split(r"(\[\]|\.)", path)
    nodes = [obj]
    for part in parts[:-1]:
        if part == "." or part == "":
            continue
        nxt = []
        for n in nodes:
            if part == "[]":
                nxt += [e for e in n if isinstance(e, dict)] if isinstance(n, list) else []
            elif isinstance(n, dict) and isinstance(n.get(part), (dict, list)):
                nxt.append(n[part])
        nodes = nxt
    return nodes


def check(doc, command, output, want_status=None):
    commands, vocab = parse_doc(doc)
    bad = []
    for c, keys in commands.items():
        for k in keys:
            leaf = re.split(r"\[\]\.|\.", k)[-1]
            if leaf not in vocab:
                bad.append(f"doc: {c}: {k}: {leaf} is not in the vocabulary")
    if command not in commands:
        return bad + [f"doc: no table for {command}"]
    text = open(output, encoding="utf-8", errors="surrogateescape").read()
    lines = text.splitlines()
    if len(lines) != 1:
        return bad + [f"{len(lines)} lines of output, not one"]
    try:
        obj = json.loads(lines[0])
    except ValueError as e:
        return bad + [f"not JSON: {e}"]
    if not isinstance(obj, dict):
        return bad + ["not an object"]
    documented = dict(TRAILER)
    documented.update(commands[command])
    if obj.get("command") != command:
        bad.append(f"command is {obj.get('command')!r}, not {command!r}")
    status = obj.get("status")
    if status not in ("done", "warnings", "failed"):
        bad.append(f"status {status!r}")
    if want_status and status != want_status:
        bad.append(f"status {status!r}, not {want_status!r}")
    if list(obj)[-3:] != ["status", "warnings", "error"] and list(obj)[-2:] != ["status", "warnings"]:
        bad.append("the trailer (status, warnings, error) is not last")
    if status == "failed" and not isinstance(obj.get("error"), dict):
        bad.append("failed without an error object")
    if status != "failed" and "error" in obj:
        bad.append("an error although not failed")
    if not isinstance(obj.get("warnings"), list) or any(not isinstance(w, dict) for w in obj.get("warnings", [])):
        bad.append("warnings is not a list of objects")
    seen = set()
    for p, v in paths(obj):
        seen.add(p)
        if p not in documented:
            bad.append(f"{p}: not in doc/json.md for {command}")
        leaf = re.split(r"\[\]\.|\.", p)[-1]
        if (leaf.endswith("_bytes") or leaf.endswith("_ns")) and not (isinstance(v, int) and not isinstance(v, bool)):
            bad.append(f"{p}: {v!r} is not an integer")
        if leaf.endswith("_iso") and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(v)):
            bad.append(f"{p}: {v!r} is not an ISO time")
    # every "always" key of the command is there, wherever its parent is
    own = set(commands[command])
    if status == "failed" and not (own & set(obj)):
        return bad  # failed before the report: only the trailer
    for k, when in documented.items():
        if when != "always":
            continue
        leaf = re.split(r"\[\]\.|\.", k)[-1]
        for parent in parent_present(obj, k):
            if isinstance(parent, dict) and leaf not in parent:
                bad.append(f"{k}: missing")
                break
    return bad


if __name__ == "__main__":
    if sys.argv[2] == "--batch":  # one interpreter for every output (python starts slowly)
        for line in open(sys.argv[3]):
            command, output, rc, *want = line.split()
            problems = check(sys.argv[1], command, output, *want)
            status = {"0": "done", "3": "warnings", "1": "failed", "2": "failed"}.get(rc, f"exit {rc}")
            if want == ["failed"] and rc != "1":
                problems.append(f"exit status {rc}, not 1")
            if not problems and json.load(open(output))["status"] != status:
                problems.append(f"exit status {rc} but status {json.load(open(output))['status']!r}")
            print(f"{command} {output}\t" + "; ".join(dict.fromkeys(problems)))
        sys.exit(0)
    problems = list(dict.fromkeys(check(*sys.argv[1:5])))
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
