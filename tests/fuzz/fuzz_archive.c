/* fuzz_archive.c --- libFuzzer: rawkit-lanfree's readers on arbitrary bytes
 *
 * Input: one byte choosing the compression (zstd, gzip, none), two bytes
 * giving the entry's offset inside its first frame, then the archive file.
 * unpack_entry() must fail cleanly on anything that is not a valid framed
 * pax archive.  The same bytes also go through the catalog's xattr blob
 * decoder.
 */
#include "lanfree.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int sink(const void *buf, size_t len, uint64_t offset, void *arg)
{
	(void)buf, (void)offset;
	*(uint64_t *)arg += len;
	return 0;
}

static int count_xattr(const char *name, size_t name_len, const void *value, size_t size, void *arg)
{
	(void)name, (void)name_len, (void)value, (void)size;
	(*(int *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum compression comps[] = { COMP_ZSTD, COMP_GZIP, COMP_NONE };
	char path[64], err[400];
	struct unpack_info info;
	uint64_t got = 0;
	int fd, n = 0;

	xattr_blob_each(data, size, count_xattr, &n);
	if (size < 3)
		return 0;
	fd = memfd_create("fuzz-archive", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data + 3, size - 3) != (ssize_t)(size - 3))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	unpack_entry(path, comps[data[0] % 3], 0, (uint64_t)(data[1] | data[2] << 8), sink, &got, &info, err,
		     sizeof(err));
	close(fd);
	return 0;
}
