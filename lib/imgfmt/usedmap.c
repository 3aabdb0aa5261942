/* usedmap.c --- which bytes of a disk hold data worth copying */
#include "imgfmt_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int imgfmt_image_data_ranges(imgfmt_disk *disk, uint64_t off, uint64_t len, imgfmt_extents *out)
{
	uint64_t end = off + len, pos = off;

	if (disk->blockdev)
		return imgfmt_extents_add(out, off, len);
	while (pos < end) {
		off_t data = lseek(disk->fd, (off_t)pos, SEEK_DATA), hole;
		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0) /* no SEEK_DATA here: everything is data */
			return imgfmt_extents_add(out, pos, end - pos);
		if ((uint64_t)data >= end)
			break;
		hole = lseek(disk->fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > end)
			hole = (off_t)end;
		if (imgfmt_extents_add(out, (uint64_t)data, (uint64_t)(hole - data)))
			return -ENOMEM;
		pos = (uint64_t)hole;
	}
	return 0;
}

/* Add the free ranges of volume INDEX (absolute offsets, clamped to the
 * volume so that a crafted filesystem cannot free its neighbours' bytes)
 * to FREE_RANGES.  Returns a note: NULL when the allocation was read. */
static char *volume_free(imgfmt_disk *disk, size_t index, imgfmt_extents *free_ranges)
{
	const struct imgfmt_volume *v = &disk->volumes[index];
	imgfmt_extents *mine;
	imgfmt_fs *fs = NULL;
	char note[IMGFMT_ERRLEN + 64];
	unsigned header;
	int version, rc;

	if (v->container)
		return NULL; /* its logical partitions speak for it */
	if (!strcmp(v->fstype, "swap")) {
		/* Linux swap keeps its header in the first page; the rest is scratch. */
		if (imgfmt_swap_probe(disk, v, &header, &version) < 0)
			return strdup("swap: no header found, copied whole");
		imgfmt_extents_add(free_ranges, v->offset + header, v->size - header);
		return NULL;
	}
	fs = imgfmt_fs_new();
	if (!fs)
		return strdup("out of memory");
	if (imgfmt_fs_open(fs, disk, index, 0) < 0) {
		snprintf(note, sizeof(note), "%s", v->fstype[0] ? fs->error : v->probe_note);
		imgfmt_fs_free(fs);
		return strdup(note[0] ? note : "unknown content");
	}
	if (imgfmt_fs_dirty(fs)) {
		snprintf(note, sizeof(note), "%s not cleanly unmounted: copied whole", fs->type);
		imgfmt_fs_free(fs);
		return strdup(note);
	}
	if (fs->consistency.state == IMGFMT_REPLAYED)
		disk->replayed = true; /* a copy gets the replay written (copy.c) */
	mine = imgfmt_extents_new();
	rc = mine ? fs->ops->free_space(fs, mine) : fs_fail(fs, -ENOMEM, "out of memory");
	if (rc < 0) {
		snprintf(note, sizeof(note), "%s: %s", fs->type, fs->error);
	} else {
		for (size_t i = 0; i < imgfmt_extents_count(mine); i++) {
			uint64_t off, len;
			imgfmt_extents_get(mine, i, &off, &len);
			if (off >= v->size)
				continue;
			if (len > v->size - off)
				len = v->size - off;
			if (imgfmt_extents_add(free_ranges, v->offset + off, len) < 0) {
				rc = -ENOMEM;
				snprintf(note, sizeof(note), "out of memory");
				break;
			}
		}
	}
	imgfmt_extents_free(mine);
	imgfmt_fs_free(fs);
	return rc < 0 ? strdup(note) : NULL;
}

int imgfmt_used_parts(imgfmt_disk *disk, int volume, imgfmt_extents *fs_used, imgfmt_extents *data)
{
	imgfmt_extents *all = imgfmt_extents_new(), *free_ranges = imgfmt_extents_new();
	uint64_t start = 0, len = disk->size;
	int rc = -ENOMEM;

	if (!all || !free_ranges) {
		disk_fail(disk, rc, "out of memory");
		goto out;
	}
	if (volume >= 0) {
		if ((size_t)volume >= disk->nvolumes) {
			rc = disk_fail(disk, -EINVAL, "no volume number %d", volume);
			goto out;
		}
		start = disk->volumes[volume].offset;
		len = disk->volumes[volume].size;
	}
	for (size_t i = 0; i < disk->nvolumes; i++) {
		if (volume >= 0 && (size_t)volume != i)
			continue;
		free(disk->used_notes[i]);
		disk->used_notes[i] = volume_free(disk, i, free_ranges);
	}
	imgfmt_extents_normalize(free_ranges);
	imgfmt_extents_clear(data);
	if (imgfmt_extents_add(all, start, len) < 0 || imgfmt_extents_subtract(all, free_ranges, fs_used) < 0 ||
	    imgfmt_image_data_ranges(disk, start, len, data) < 0) {
		disk_fail(disk, rc, "out of memory");
		goto out;
	}
	rc = 0;
out:
	imgfmt_extents_free(all);
	imgfmt_extents_free(free_ranges);
	return rc;
}

int imgfmt_disk_used(imgfmt_disk *disk, int volume, imgfmt_extents **out)
{
	imgfmt_extents *fs_used = imgfmt_extents_new(), *data = imgfmt_extents_new();
	imgfmt_extents *used = imgfmt_extents_new();
	int rc = -ENOMEM;

	*out = NULL;
	if (!fs_used || !data || !used)
		rc = disk_fail(disk, rc, "out of memory");
	else if ((rc = imgfmt_used_parts(disk, volume, fs_used, data)) == 0 &&
		 (rc = imgfmt_extents_intersect(fs_used, data, used)) < 0)
		disk_fail(disk, rc, "out of memory");
	if (rc == 0) {
		*out = used;
		used = NULL;
	}
	imgfmt_extents_free(fs_used);
	imgfmt_extents_free(data);
	imgfmt_extents_free(used);
	return rc;
}

const char *imgfmt_disk_used_note(const imgfmt_disk *disk, size_t volume)
{
	if (volume >= disk->nvolumes || !disk->used_notes || !disk->used_notes[volume])
		return "";
	return disk->used_notes[volume];
}
