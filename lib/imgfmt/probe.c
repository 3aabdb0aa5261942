/* probe.c --- identify what a volume holds through libblkid */
#include "imgfmt_private.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void probe_value(blkid_probe pr, const char *key, char *dst, size_t size)
{
	const char *val = NULL;

	if (blkid_probe_lookup_value(pr, key, &val, NULL) == 0 && val)
		snprintf(dst, size, "%s", val);
}

/* Probe VOL's bytes, which are at OFFSET of FD. */
static int probe_fd(imgfmt_disk *disk, int fd, uint64_t offset, struct imgfmt_volume *vol)
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
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)offset, (blkid_loff_t)vol->size) != 0) {
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
	imgfmt_fd_readahead_on(fd);
	return 0;
}

int imgfmt_probe_volume(imgfmt_disk *disk, struct imgfmt_volume *vol)
{
	int rc = vol->container ? 0 : imgfmt_rbd_window_volume(disk, vol->offset, vol->size);

	if (rc < 0)
		return rc;
	return probe_fd(disk, disk->fd, vol->offset, vol);
}

/* An LV in several runs: libblkid reads a file descriptor, so it is given
 * a sparse memory file of the LV's size holding the LV's first and last MiB
 * (where signatures live), read through the LV's map. */
int imgfmt_probe_lv(imgfmt_disk *disk, size_t index)
{
	struct imgfmt_volume *v = &disk->volumes[index];
	enum { EDGE = 1 << 20 };
	uint64_t head = v->size < EDGE ? v->size : EDGE, tail_at = v->size - (v->size < EDGE ? v->size : EDGE);
	int fd, rc = 0;
	char *buf;

	if (imgfmt_volume_contiguous(disk, index))
		return imgfmt_probe_volume(disk, v);
	buf = malloc(EDGE);
	fd = memfd_create("rawkit-lv-probe", MFD_CLOEXEC);
	if (!buf || fd < 0 || ftruncate(fd, (off_t)v->size) < 0) {
		snprintf(v->probe_note, sizeof(v->probe_note), "probe failed: %s", !buf ? "out of memory" : strerror(errno));
		rc = !buf ? disk_fail(disk, -ENOMEM, "out of memory") : 0;
		goto out;
	}
	if (imgfmt_volume_pread(disk, index, buf, (size_t)head, 0) < 0 || pwrite(fd, buf, (size_t)head, 0) != (ssize_t)head ||
	    imgfmt_volume_pread(disk, index, buf, (size_t)(v->size - tail_at), tail_at) < 0 ||
	    pwrite(fd, buf, (size_t)(v->size - tail_at), (off_t)tail_at) != (ssize_t)(v->size - tail_at)) {
		snprintf(v->probe_note, sizeof(v->probe_note), "probe failed (unreadable?)");
		goto out;
	}
	rc = probe_fd(disk, fd, 0, v);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}
