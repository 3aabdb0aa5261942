/* ext_io.h --- libext2fs io_manager over an imgfmt volume (see ext_io.c) */
#ifndef IMGFMT_EXT_IO_H
#define IMGFMT_EXT_IO_H

#include <ext2fs/ext2fs.h>

struct imgfmt_disk;
struct ext_overlay;

extern io_manager imgfmt_ext_io_manager;

/* Name the volume the next ext2fs_open2(..., imgfmt_ext_io_manager, ...)
 * on this thread will read, and the journal OVERLAY its reads go through
 * (NULL: none; see fs_ext_journal.c; a channel with one is read-only). */
void imgfmt_ext_io_prepare(struct imgfmt_disk *disk, size_t index, uint64_t size,
			   const struct ext_overlay *overlay);

/* fs_ext_journal.c: BUF holds LEN bytes read at volume offset OFF; replace
 * the blocks the journal holds newer copies of.  0 or a negative errno. */
int imgfmt_ext_overlay_patch(const struct ext_overlay *ov, void *buf, size_t len, uint64_t off);

#endif
