/* guestvol.h --- one volume of a disk opened for editing its files: through
 * libimgfmt (ext2/3/4; for a dry run any filesystem libimgfmt reads), or
 * through a kernel mount of the disk being edited (XFS: see mount.h) */
#ifndef RAWKIT_GUESTVOL_H
#define RAWKIT_GUESTVOL_H

#include "guest.h"
#include "imgfmt.h"
#include "mount.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>

struct guest_volume {
	struct guest gu;           /* the calls of guest.h work on it */
	struct guest_mount *mount; /* NULL when through libimgfmt */
};

/* Is volume V edited through a kernel mount (which needs root)?  Not for a
 * dry run: that reads through libimgfmt. */
bool guest_volume_needs_mount(const struct imgfmt_volume *v, bool dry);

/* Open volume INDEX of DISK (open for writing unless DRY; the disk file is
 * PATH) for GV->gu, its changes added to CHANGES.  An XFS volume is
 * mounted: a loop device over its byte range of PATH when it is one run of
 * the disk, else (an LV in several segments) over a FUSE file served
 * through DISK.  0, or < 0 with ERR (GV holds nothing then). */
int guest_volume_open(struct guest_volume *gv, imgfmt_disk *disk, const char *path, size_t index, bool dry,
		      struct report_list *changes, char *err, size_t errlen);

/* End the edits of GV: with RC 0 and no failure in GV->gu.err, commit them
 * (libimgfmt) or unmount (the kernel writes back; a mount is unmounted in
 * every case).  Returns RC when < 0, else 0 or < 0 with ERR ("NAME: why",
 * the first failure). */
int guest_volume_close(struct guest_volume *gv, int rc, const char *name, char *err, size_t errlen);

#endif
