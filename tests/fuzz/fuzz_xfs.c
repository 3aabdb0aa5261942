/* fuzz_xfs.c --- libFuzzer: crafted XFS volumes through the public API
 *
 * An XFS is at least 16 MiB, more than a fuzz input should be, and almost
 * all zeros: the input is the volume's non-zero 4 KiB blocks, each as a
 * 2-byte little-endian block number (of 4096: a 16 MiB volume) and its
 * 4096 bytes (tests/fuzz/seed.sh makes seeds from mkfs.xfs images).  The
 * volume is opened as a disk without a partition table and walked: used
 * map, fs info, scan, and the tree with stat, read, readlink, xattrs and
 * runs, all bounded.
 */
#include "fswalk.h"
#include "imgfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum { BLOCK = 4096, BLOCKS = 4096 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-xfs", MFD_CLOEXEC);
	imgfmt_disk *disk = imgfmt_disk_new();
	char path[64];

	if (fd < 0 || !disk || ftruncate(fd, (off_t)BLOCK * BLOCKS) < 0)
		abort();
	for (size_t pos = 0; pos + 2 <= size; pos += 2 + BLOCK) {
		unsigned blk = (data[pos] | data[pos + 1] << 8) % BLOCKS;
		size_t n = size - pos - 2 < BLOCK ? size - pos - 2 : BLOCK;
		if (pwrite(fd, data + pos + 2, n, (off_t)blk * BLOCK) != (ssize_t)n)
			abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (imgfmt_disk_open(disk, path, 0) == 0)
		fuzz_walk_disk(disk, true);
	imgfmt_disk_free(disk);
	close(fd);
	return 0;
}
