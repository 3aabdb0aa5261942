/* initrd_frame.h --- the cpio framing of an initramfs, checked before
 * libarchive reads it (initrd_frame.c) */
#ifndef RAWKIT_INITRD_FRAME_H
#define RAWKIT_INITRD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FRAME_NAME_MAX 4096 /* the kernel's PATH_MAX: it refuses longer names */
#define FRAME_HEADER 110

/* A walk of newc cpio archives as the kernel does it, fed the bytes of a
 * stream in order: zero padding, then headers with the right magic and hex
 * fields, a name of 1..FRAME_NAME_MAX bytes and a symbolic link's target
 * no longer, each archive ending at its TRAILER!!!. */
struct frame_walk {
	int state;
	bool one;             /* stop after the first archive */
	bool trailer;         /* the entry being skipped is a trailer */
	char hdr[FRAME_HEADER + 11];
	size_t have;
	uint32_t namesize, filesize;
	uint64_t skip;        /* bytes left to skip */
	uint64_t pos;         /* bytes fed */
	uint64_t at;          /* where the current header started */
	uint64_t end;         /* ONE: where the first archive ended */
	unsigned archives;    /* complete archives */
};

/* Start a walk (ONE: stop at the first archive's end). */
void frame_init(struct frame_walk *w, bool one);
/* Feed the next LEN bytes: 0 to go on, 1 when ONE and the first archive
 * ended (W->end: its size), < 0 with ERR on malformed input (with its
 * offset). */
int frame_feed(struct frame_walk *w, const char *buf, size_t len, char *err, size_t errlen);
/* The stream ended: 0, or -EILSEQ with ERR when inside an archive. */
int frame_end(struct frame_walk *w, char *err, size_t errlen);

#endif
