/* initrd.h --- read an initramfs: its archives and entries (initrd.c), and
 * which drivers it (or the kernel itself) holds */
#ifndef RAWKIT_INITRD_H
#define RAWKIT_INITRD_H

#include "guest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct archive;

/* Reads LEN bytes at OFFSET of the initramfs file; returns the count (0 at
 * its end) or < 0. */
typedef ssize_t (*initrd_pread_fn)(void *src, void *buf, size_t len, uint64_t offset);

/* One entry as the walk meets it: PATH without a leading "/" or "./". */
struct initrd_entry {
	const char *path;
	unsigned mode;
	uint64_t size;
	unsigned archive; /* which of the file's archives (0: the first) */
};

/* Called per entry; it may read the entry's data from A with
 * archive_read_data().  0 goes on; < 0 stops the walk, which returns it. */
typedef int (*initrd_entry_fn)(void *arg, struct archive *a, const struct initrd_entry *e);

/* What the walk learned of the file's layout. */
struct initrd_layout {
	unsigned archives;   /* cpio archives, early (uncompressed) ones included */
	int compression;     /* ARCHIVE_FILTER_* of the compressed part; ARCHIVE_FILTER_NONE when none */
	char compression_name[16];
};

#define INITRD_MAX_ARCHIVES 16

/* Walk every entry of every archive of the SIZE-byte initramfs SRC, as the
 * kernel unpacks it: uncompressed cpio archives, zero padding between
 * them, then a compressed part that may itself hold several archives (one
 * after the other in the decompressed stream, or in concatenated frames).
 * LAYOUT may be NULL.  0, or < 0 with ERR (-EILSEQ: not an initramfs or
 * damaged). */
int initrd_walk(initrd_pread_fn pread, void *src, uint64_t size, initrd_entry_fn fn, void *arg,
		struct initrd_layout *layout, char *err, size_t errlen);

/* The same for an initramfs held in memory (DATA, LEN bytes). */
int initrd_walk_memory(const void *data, size_t len, initrd_entry_fn fn, void *arg, struct initrd_layout *layout,
		       char *err, size_t errlen);

/* "kernel/drivers/block/virtio_blk.ko.zst" -> "virtio_blk" ('-' read as
 * '_'); false when PATH is not a module file. */
bool initrd_module_name(const char *path, char *out, size_t size);

/* Which of NAMES (modules) the initramfs at PATH in GU holds: FOUND[i] set
 * per name.  < 0 when the initramfs cannot be read (ERR). */
int initrd_check(struct guest *gu, const char *path, const char *const *names, size_t n, bool *found, char *err,
		 size_t errlen);
/* Also set FOUND[i] for the NAMES kernel VERSION has built in (the root
 * filesystem's /lib/modules/VERSION/modules.builtin). */
void initrd_builtin(struct guest *gu, const char *version, const char *const *names, size_t n, bool *found);

#endif
