/* fuzz_disk.c --- libFuzzer: arbitrary bytes opened as a raw disk and walked
 *
 * Every parser libimgfmt drives (libfdisk, libblkid, libext2fs, libntfs-3g)
 * sees the input through the public API: open, used map, then each
 * filesystem's tree with stat, read, readlink, xattrs, streams and runs.
 * Work per input is bounded so that a crafted directory loop cannot hang.
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
	int fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	imgfmt_disk *disk = imgfmt_disk_new();
	char path[64];

	if (fd < 0 || !disk || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (imgfmt_disk_open(disk, path, 0) == 0)
		fuzz_walk_disk(disk, false);
	imgfmt_disk_free(disk);
	close(fd);
	return 0;
}
