/* initrd_frame.h --- the cpio framing of an initramfs, checked before
 * libarchive reads it (initrd_frame.c) */
#ifndef RAWKIT_INITRD_FRAME_H
#define RAWKIT_INITRD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The next bytes of the stream into BUF (up to LEN): the count, 0 at its
 * end, < 0 on an error. */
typedef ssize_t (*frame_more_fn)(void *ctx, char *buf, size_t len);

#define FRAME_NAME_MAX 4096 /* the kernel's PATH_MAX: it refuses longer names */

/* Walk the newc cpio archives of a byte stream as the kernel does: zero
 * padding, then headers with the right magic and hex fields and a name of
 * 1..FRAME_NAME_MAX bytes, each archive ending at its TRAILER!!!.  ONE:
 * stop after the first archive, its end (from the stream's start) in *END.
 * Returns the archives met, or < 0 with ERR (-EILSEQ: malformed, with its
 * offset). */
int initrd_frames(frame_more_fn more, void *ctx, bool one, uint64_t *end, char *err, size_t errlen);

#endif
