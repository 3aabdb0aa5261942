/* fswalk.h --- what the filesystem fuzz targets do with a disk they opened */
#ifndef FUZZ_FSWALK_H
#define FUZZ_FSWALK_H

#include "imgfmt.h"

#include <stdbool.h>

/* The used map, then every volume's filesystem: (SCAN) the inode scan, and
 * the tree from the root with stat, read, runs, readlink, xattrs, streams
 * and a lookup by name of the root's entries, all bounded (200 nodes, depth
 * 8, 64 KiB read per file) so that a crafted loop cannot hang. */
void fuzz_walk_disk(imgfmt_disk *disk, bool scan);

#endif
