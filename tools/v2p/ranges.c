/* ranges.c --- the used bytes of a disk inside a window, a chunk at a time */
#include "v2p.h"

#include <errno.h>
#include <stdlib.h>

int v2p_each_used(imgfmt_disk *disk, uint64_t from, uint64_t to, size_t chunk, v2p_chunk_fn fn, void *arg)
{
	imgfmt_extents *used = NULL;
	int rc = imgfmt_disk_used(disk, -1, &used);

	for (size_t i = 0; rc == 0 && i < imgfmt_extents_count(used); i++) {
		uint64_t off, len;
		imgfmt_extents_get(used, i, &off, &len);
		if (off >= to || off + len <= from)
			continue;
		if (off < from)
			len -= from - off, off = from;
		if (off + len > to)
			len = to - off;
		while (len && rc == 0) {
			size_t n = len > chunk ? chunk : (size_t)len;
			rc = fn(off, n, arg);
			off += n;
			len -= n;
		}
	}
	imgfmt_extents_free(used);
	return rc;
}
