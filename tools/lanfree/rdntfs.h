/* rdntfs.h --- restore-disk's NTFS partitions: made by mkntfs, filled through ntfs-3g (rdntfs.c) */
#ifndef RAWKIT_RDNTFS_H
#define RAWKIT_RDNTFS_H

#include "lanfree.h"

/* One NTFS partition of the recorded shape, as restore-disk places it. */
struct ntfs_part {
	const char *name;      /* its volume in the generation ("p2") */
	const char *label;     /* its recorded label ("": none) */
	json_t *params;        /* the shape's: sector_bytes, cluster_bytes, serial */
	uint64_t start, size;  /* bytes, on the target */
	/* the shape's boot areas and their bytes: its "ntfs_boot_code" */
	json_t *boot_areas;
	const unsigned char *boot;
	size_t boot_len;
	uint64_t files, bytes; /* out: what the fill restored */
};

/* Whether PARAMS (the shape's, borrowed) can be remade here: 0, or -1
 * with why not in WHY (damaged parameters; mkntfs, ntfslabel, ntfs-3g or
 * /dev/fuse missing). */
int rdntfs_check(json_t *params, char *why, size_t whylen);

/* Is P's recorded boot code (if any) sound?  0, or -1 reported: checked
 * before anything is written. */
int rdntfs_check_boot(const struct ntfs_part *p);
/* Make P's NTFS in the target PATH (an image or a device) through a loop
 * device: mkntfs with the recorded sector and cluster size, label and the
 * partition's start as its hidden sectors, then the recorded serial by
 * ntfslabel, then the recorded boot code (when the backup kept it) around
 * mkntfs's BPB.  SPEC not NULL: then fill it with that generation's files of
 * P->name through an ntfs-3g mount (restore.c's ntfs mode); a restore that
 * warned sets *STATUS to RAWKIT_EXIT_WARNINGS.  0, or -1 reported under
 * OBJECT. */
int rdntfs_make(const char *path, struct ntfs_part *p, const char *spec, const struct restore_disk_opts *o,
		const char *object, int *status);


#endif
