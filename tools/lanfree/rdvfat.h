/* rdvfat.h --- restore-disk's EFI system partition: filled with mtools (rdvfat.c) */
#ifndef RAWKIT_RDVFAT_H
#define RAWKIT_RDVFAT_H

#include "lanfree.h"

/* Fill the FAT filesystem made at byte START of PATH (an image or a
 * device) with generation SPEC's files of volume NAME: restored by
 * restore.c into a scratch directory, copied in by mcopy (names, contents,
 * modification times), the FAT attributes kept as user.fat_attrib put back
 * by mattrib.  No mount: neither a vfat driver nor a loop device is needed.
 * What was restored goes to *FILES, *BYTES; a restore or an attribute that
 * warned sets *STATUS to RAWKIT_EXIT_WARNINGS.  0, or -1 reported under
 * OBJECT. */
int rdvfat_fill(const char *path, const char *name, uint64_t start, const char *spec,
		const struct restore_disk_opts *o, const char *object, uint64_t *files, uint64_t *bytes, int *status);

#endif
