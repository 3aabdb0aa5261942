/* probe.c --- identify what a volume holds through libblkid */
#include "imgfmt_private.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void probe_value(blkid_probe pr, const char *key, char *dst, size_t size)
{
	const char *val = NULL;

	if (blkid_probe_lookup_value(pr, key, &val, NULL) == 0 && val)
		snprintf(dst, size, "%s", val);
}

int imgfmt_probe_volume(imgfmt_disk *disk, struct imgfmt_volume *vol)
{
	blkid_probe pr;
	int rc;

	if (vol->container) {
		snprintf(vol->probe_note, sizeof(vol->probe_note), "extended partition");
		return 0;
	}
	pr = blkid_new_probe();
	if (!pr)
		return disk_fail(disk, -ENOMEM, "out of memory");
	if (blkid_probe_set_device(pr, disk->fd, (blkid_loff_t)vol->offset, (blkid_loff_t)vol->size) != 0) {
		blkid_free_probe(pr);
		return disk_fail(disk, -EIO, "%s: cannot set up probing", vol->name);
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL);
	/* A partition table libfdisk could not read still deserves a name. */
	blkid_probe_enable_partitions(pr, vol->partno == 0);
	rc = blkid_do_safeprobe(pr);
	if (rc == 0) {
		probe_value(pr, "TYPE", vol->fstype, sizeof(vol->fstype));
		probe_value(pr, "UUID", vol->fs_uuid, sizeof(vol->fs_uuid));
		probe_value(pr, "LABEL", vol->fs_label, sizeof(vol->fs_label));
		if (!vol->fstype[0]) {
			char pttype[32] = "";
			probe_value(pr, "PTTYPE", pttype, sizeof(pttype));
			snprintf(vol->probe_note, sizeof(vol->probe_note),
				 pttype[0] ? "partition table of type %s, not supported" : "unknown content", pttype);
		}
	} else if (rc == 1) {
		snprintf(vol->probe_note, sizeof(vol->probe_note), "no filesystem signature");
	} else if (rc == -2) {
		snprintf(vol->probe_note, sizeof(vol->probe_note), "ambivalent: several filesystem signatures");
	} else {
		snprintf(vol->probe_note, sizeof(vol->probe_note), "probe failed (unreadable?)");
	}
	blkid_free_probe(pr);
	return 0;
}
