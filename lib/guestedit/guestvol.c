/* guestvol.c --- one volume of a disk opened for editing its files
 *
 * ext2/3/4 are edited by libimgfmt itself; XFS has no userspace writer, so
 * its files are edited through the kernel's driver on a mount of the disk
 * being edited (never of a source: the caller hands over the copy).  A dry
 * run reads through libimgfmt only, whatever the filesystem.
 */
#include "guestvol.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool guest_volume_needs_mount(const struct imgfmt_volume *v, bool dry)
{
	return !dry && !strcmp(v->fstype, "xfs");
}

static int open_mounted(struct guest_volume *gv, imgfmt_disk *disk, const char *path, size_t index,
			const struct imgfmt_volume *v, struct report_list *changes, char *err, size_t errlen)
{
	int rc;

	if (v->segments <= 1)
		rc = guest_mount_range(&gv->mount, path, v->offset, v->size, v->fstype, err, errlen);
	else
		rc = guest_mount_volume(&gv->mount, disk, index, v->fstype, err, errlen);
	if (rc < 0)
		return rc;
	gv->gu = guest_reporting_root(guest_mount_root(gv->mount), false, changes);
	return 0;
}

int guest_volume_open(struct guest_volume *gv, imgfmt_disk *disk, const char *path, size_t index, bool dry,
		      struct report_list *changes, char *err, size_t errlen)
{
	struct imgfmt_volume v;
	imgfmt_fs *fs;
	int rc;

	memset(gv, 0, sizeof(*gv));
	if ((rc = imgfmt_disk_volume(disk, index, &v)) < 0) {
		snprintf(err, errlen, "%s", imgfmt_disk_error(disk));
		return rc;
	}
	if (guest_volume_needs_mount(&v, dry))
		return open_mounted(gv, disk, path, index, &v, changes, err, errlen);
	fs = imgfmt_fs_new();
	rc = fs ? imgfmt_fs_open(fs, disk, index, dry ? 0 : IMGFMT_FS_WRITE) : -ENOMEM;
	if (rc < 0) {
		snprintf(err, errlen, "%s", fs ? imgfmt_fs_error(fs) : strerror(-rc));
		imgfmt_fs_free(fs);
		return rc;
	}
	gv->gu = guest_reporting(fs, dry, changes);
	return 0;
}

int guest_volume_close(struct guest_volume *gv, int rc, const char *name, char *err, size_t errlen)
{
	struct guest *gu = &gv->gu;
	char why[512] = "";
	int end = 0;

	if (gv->mount)
		end = guest_mount_close(gv->mount, why, sizeof(why));
	else if (rc == 0 && !gu->dry && (end = imgfmt_fs_commit(gu->fs)) < 0)
		snprintf(why, sizeof(why), "%s", imgfmt_fs_error(gu->fs));
	if (rc < 0 || gu->err[0])
		snprintf(err, errlen, "%s: %s", name,
			 gu->err[0] ? gu->err : gu->fs ? imgfmt_fs_error(gu->fs) : strerror(-rc));
	else if (end < 0)
		snprintf(err, errlen, "%s: %s", name, why);
	imgfmt_fs_free(gu->fs);
	gv->mount = NULL;
	gu->fs = NULL;
	return rc < 0 ? rc : gu->err[0] ? -EIO : end;
}
