/* fuzz_vfat.c --- libFuzzer: crafted FAT volumes through the public API
 *
 * The input is a FAT12/16/32 volume itself, without a partition table
 * (tests/fuzz/seed.sh makes seeds with mkfs.fat and mtools: long names, a
 * fragmented file, attributes).  It is opened as a disk and walked as
 * fuzz_disk does, and scanned too (fs_vfat.c's scan is a tree walk of its
 * own, each directory once): chain loops, directories pointing at
 * themselves or an ancestor, clusters past the end must end cleanly.
 */
#include "fswalk.h"
#include "imgfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-vfat", MFD_CLOEXEC);
	imgfmt_disk *disk = imgfmt_disk_new();
	char path[64];

	if (fd < 0 || !disk || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (imgfmt_disk_open(disk, path, IMGFMT_OPEN_NO_TABLE) == 0)
		fuzz_walk_disk(disk, true);
	imgfmt_disk_free(disk);
	close(fd);
	return 0;
}
