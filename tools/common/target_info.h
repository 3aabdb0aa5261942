/* target_info.h --- a disk a tool is about to overwrite: its size, and what it holds */
#ifndef RAWKIT_TARGET_INFO_H
#define RAWKIT_TARGET_INFO_H

#include <stddef.h>
#include <stdint.h>

/* The room a filesystem shrunk to fit a target keeps beyond its data
 * (MIN bytes): a twentieth and 8 MiB (rawkit-v2p, restore-disk). */
#define TARGET_SHRINK_SLACK(min) ((min) / 20 + 8 * 1024ull * 1024)

/* TARGET, a block device: opened O_EXCL (refused while mounted or held
 * open), its size and logical sector size (SECTOR may be NULL); 0, or -1
 * with why in ERR. */
int target_blockdev_size(const char *target, uint64_t *bytes, unsigned *sector, char *err, size_t errlen);

/* What TARGET holds, in words ("a gpt partition table (p1 ext4 "root",
 * p2 swap)", "a ext4 signature"), "" when libblkid sees nothing. */
void target_holds(const char *target, char *out, size_t size);

#endif
