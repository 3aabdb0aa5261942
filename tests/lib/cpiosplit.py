#!/usr/bin/env python3
"""cpiosplit.py FILE DIR: split an uncompressed initramfs (newc cpio
archives one after the other, zero padding between) into DIR/1.cpio,
DIR/2.cpio...: for the tests, an independent reading of the layout the
kernel unpacks (as unmkinitramfs and linux/lib/earlycpio.c walk it)."""
import os
import sys

data = open(sys.argv[1], "rb").read()
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
pos, n = 0, 0
while pos < len(data):
    while pos < len(data) and data[pos] == 0:
        pos += 1
    if pos >= len(data):
        break
    start = pos
    while True:
        if data[pos:pos + 6] not in (b"070701", b"070702"):
            sys.exit("cpiosplit: no newc header at byte %d" % pos)
        filesize = int(data[pos + 54:pos + 62], 16)
        namesize = int(data[pos + 94:pos + 102], 16)
        name = data[pos + 110:pos + 110 + namesize - 1]
        pos = (pos + 110 + namesize + 3) & ~3
        pos = (pos + filesize + 3) & ~3
        if name == b"TRAILER!!!":
            break
    n += 1
    with open(os.path.join(out, "%d.cpio" % n), "wb") as f:
        f.write(data[start:pos])
print(n)
