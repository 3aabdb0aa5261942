/* convert.h --- make a Linux guest boot on other hardware: virtual (P2V) or
 * physical (V2P).  Shared by rawkit-p2v and rawkit-v2p.
 *
 * - Block device names of the disk's own partitions in fstab, crypttab,
 *   GRUB (root=, resume=), BLS entries and resume settings become UUID=
 *   references, stable on any hardware.
 * - MAC address pinning and persistent-net udev rules go; the report names
 *   the interfaces whose names may change.
 * - The files of an ext root or /boot are edited through libimgfmt, those
 *   of an XFS one through a kernel mount of the disk being converted (root
 *   only); a dry run reads both through libimgfmt.
 * - Every initramfs is checked (libarchive) for the storage drivers the new
 *   hardware needs; when they are missing the guest's own modules are
 *   injected (inject.h: one archive appended, no VM), or, when that is
 *   refused or asked for, the initramfs is rebuilt with the guest's own tool
 *   (update-initramfs, dracut) inside a libguestfs appliance, never with
 *   this host's programs on the guest's files.
 */
#ifndef RAWKIT_CONVERT_H
#define RAWKIT_CONVERT_H

#include "imgfmt.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>

enum convert_to { CONVERT_TO_VIRTUAL, CONVERT_TO_PHYSICAL };

/* What is done to an initramfs that lacks drivers (--rebuild=). */
enum convert_rebuild {
	CONVERT_REBUILD_INJECT,    /* inject; the appliance for what injection refuses */
	CONVERT_REBUILD_APPLIANCE, /* the guest's own tool in a libguestfs appliance */
	CONVERT_REBUILD_NONE,      /* report only */
};

#define CONVERT_MAX_DRIVERS 32 /* drivers checked in an initramfs */

struct convert_opts {
	enum convert_to to;
	bool dry_run;
	const char *const *drivers; /* needed in the initramfs (module names) */
	size_t ndrivers;
	const char *const *extras;  /* injected along when the kernel has them, not required */
	size_t nextras;
	enum convert_rebuild rebuild;
};

struct convert_report {
	struct report_list changes;  /* what was changed, where */
	struct report_list checks;   /* what an admin should check */
	struct report_list not_done; /* what could not be done: the exit status is 3 */
	bool linux_found;
};

/* Convert the guest on the disk at PATH (an image file or a block device
 * nobody else holds open).  A dry run reads only and reports.  Returns 0
 * (what could not be done is in R->not_done) or < 0 with ERR on a failure
 * that left the disk as it was or, past the first edit, unfinished. */
int convert_guest(const char *path, const struct convert_opts *o, struct convert_report *r, char *err,
		  size_t errlen);
void convert_report_free(struct convert_report *r);

/* A guest whose root or /boot is XFS has its files edited through a kernel
 * mount, which needs root.  For a tool to call on the disk it will convert
 * (or the one it copies from: the same volumes) before its first write:
 * -EPERM with one line in ERR when not root and O is not a dry run; 0
 * otherwise (convert_guest() refuses too, before its first edit). */
int convert_check_privileges(imgfmt_disk *disk, const struct convert_opts *o, char *err, size_t errlen);

#endif
