#!/usr/bin/env python3
"""treecmp.py --- compare two directory trees attribute by attribute.

usage: treecmp.py [--no-owner] [--no-xattr PREFIX]... [--no-flags] [--no-special] A B

Compares, for every entry below A and B: type, mode (with setuid, setgid,
sticky), uid/gid, mtime to the nanosecond (directories too), symlink target,
device numbers, hard-link structure, the layout of holes, every extended
attribute, inode flags (chattr), and content.  Walks with directory file
descriptors, so paths longer than PATH_MAX are fine.  Prints each difference
and exits 1 if there is any.
"""
import array, fcntl, hashlib, os, stat, sys

FS_IOC_GETFLAGS = 0x80086601
FLAG_MASK = 0x10 | 0x20 | 0x40 | 0x80 | 0x4000 | 0x10000 | 0x800000  # i, a, d(nodump), A, j?, T, C


def flags(dir_fd, name, st):
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return 0
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        buf = array.array("l", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf, True)
        return buf[0] & FLAG_MASK
    except OSError:
        return 0
    finally:
        os.close(fd)


def xattrs(dir_fd, name, skip):
    path = "/proc/self/fd/%d/%s" % (dir_fd, name.decode("latin-1") if isinstance(name, bytes) else name)
    out = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for n in names:
        if any(n.startswith(p) for p in skip):
            continue
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False)
        except OSError as e:
            out[n] = "error %s" % e.errno
    return out


def layout(dir_fd, name, size):
    """Data extents (SEEK_DATA/SEEK_HOLE), in 4 KiB units."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    try:
        h = hashlib.sha256()
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            h.update(b)
        runs, pos = [], 0
        while pos < size:
            try:
                d = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            e = os.lseek(fd, d, os.SEEK_HOLE)
            runs.append((d // 4096, (e + 4095) // 4096))
            pos = e
        return h.hexdigest(), runs
    finally:
        os.close(fd)


def scan(top, opts):
    entries, links = {}, {}
    for dirpath, dirnames, filenames, dfd in os.fwalk(os.fsencode(top), follow_symlinks=False):
        rel_dir = os.path.relpath(dirpath, os.fsencode(top))
        names = [(n, True) for n in dirnames] + [(n, False) for n in filenames]
        if rel_dir == b".":
            st = os.stat(dfd)
            entries[b"."] = describe(dfd, b".", st, opts, is_root=True)
        for n, _ in names:
            st = os.stat(n, dir_fd=dfd, follow_symlinks=False)
            rel = n if rel_dir == b"." else rel_dir + b"/" + n
            entries[rel] = describe(dfd, n, st, opts)
            if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
                links.setdefault((st.st_dev, st.st_ino), []).append(rel)
    groups = sorted(sorted(g) for g in links.values())
    return entries, groups


def describe(dfd, name, st, opts, is_root=False):
    d = {"type": stat.S_IFMT(st.st_mode), "mode": oct(stat.S_IMODE(st.st_mode))}
    if not opts["no_owner"]:
        d["owner"] = (st.st_uid, st.st_gid)
    if not stat.S_ISLNK(st.st_mode) and not is_root:
        d["mtime"] = st.st_mtime_ns
    if stat.S_ISLNK(st.st_mode):
        d["target"] = os.readlink(name, dir_fd=dfd)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        d["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
    if stat.S_ISREG(st.st_mode):
        d["size"] = st.st_size
        d["sha256"], d["data"] = layout(dfd, name, st.st_size)
    if not is_root:
        d["xattrs"] = xattrs(dfd, name, opts["skip_xattr"])
        if not opts["no_flags"]:
            d["flags"] = flags(dfd, name, st)
    return d


def main():
    args = sys.argv[1:]
    opts = {"no_owner": False, "skip_xattr": [], "no_flags": False, "no_special": False}
    while args and args[0].startswith("--"):
        a = args.pop(0)
        if a == "--no-owner":
            opts["no_owner"] = True
        elif a == "--no-xattr":
            opts["skip_xattr"].append(args.pop(0))
        elif a == "--no-flags":
            opts["no_flags"] = True
        elif a == "--no-special":
            opts["no_special"] = True
    a, b = args
    ea, ga = scan(a, opts)
    eb, gb = scan(b, opts)
    diffs = 0
    for k in sorted(set(ea) | set(eb)):
        if opts["no_special"] and ((k in ea and ea[k]["type"] in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK))
                                   or (k in eb and eb[k]["type"] in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK))):
            continue
        if k not in ea or k not in eb:
            print("%r: only in %s" % (k, a if k in ea else b))
            diffs += 1
            continue
        for field in sorted(set(ea[k]) | set(eb[k])):
            if ea[k].get(field) != eb[k].get(field):
                print("%r: %s: %r != %r" % (k, field, ea[k].get(field), eb[k].get(field)))
                diffs += 1
    if ga != gb:
        print("hard links differ: %r != %r" % (ga, gb))
        diffs += 1
    print("%d entries compared, %d differences" % (len(ea), diffs))
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
