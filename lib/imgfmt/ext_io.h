/* ext_io.h --- libext2fs io_manager over an imgfmt volume (see ext_io.c) */
#ifndef IMGFMT_EXT_IO_H
#define IMGFMT_EXT_IO_H

#include <ext2fs/ext2fs.h>

struct imgfmt_disk;

extern io_manager imgfmt_ext_io_manager;

/* Name the volume the next ext2fs_open2(..., imgfmt_ext_io_manager, ...)
 * on this thread will read. */
void imgfmt_ext_io_prepare(struct imgfmt_disk *disk, uint64_t offset, uint64_t size);

#endif
