#!/usr/bin/env python3
"""clonecmp.py GOLDEN_DIR CLONE_DIR CHANGED_LIST REMOVED_LIST

Compare a clone's tree with the golden tree (both from debugfs rdump):
every file is byte-identical with the same mode, except the paths listed
in CHANGED_LIST (must exist, may differ) and REMOVED_LIST (must be gone,
whole subtrees for directories).  Prints one line per problem; exit 1 if
there is any.
"""
import os
import stat
import sys


def walk(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = os.lstat(p)
    return out


def read_list(path):
    with open(path) as f:
        return {l.strip().lstrip("/") for l in f if l.strip()}


def main():
    golden, clone = sys.argv[1], sys.argv[2]
    changed, removed = read_list(sys.argv[3]), read_list(sys.argv[4])
    g, c = walk(golden), walk(clone)
    problems = []

    def is_removed(rel):
        return any(rel == r or rel.startswith(r + "/") for r in removed)

    for rel, st in sorted(g.items()):
        if is_removed(rel):
            if rel in c:
                problems.append("still there: /" + rel)
            continue
        if rel not in c:
            problems.append("missing: /" + rel)
            continue
        if stat.S_IMODE(st.st_mode) != stat.S_IMODE(c[rel].st_mode) or stat.S_IFMT(st.st_mode) != stat.S_IFMT(c[rel].st_mode):
            problems.append("mode differs: /%s %o %o" % (rel, st.st_mode, c[rel].st_mode))
        if rel in changed or not stat.S_ISREG(st.st_mode):
            continue
        with open(os.path.join(golden, rel), "rb") as a, open(os.path.join(clone, rel), "rb") as b:
            if a.read() != b.read():
                problems.append("contents differ: /" + rel)
    for rel in sorted(set(c) - set(g)):
        if rel not in changed:
            problems.append("new: /" + rel)
    for rel in sorted(changed):
        if rel not in c:
            problems.append("changed file missing: /" + rel)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
