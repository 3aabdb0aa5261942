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
	if (disk->rbd)
		return imgfmt_rbd_data_ranges(disk, off, len, out);
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

/* Add volume bytes [OFF, OFF+LEN) of one volume, as disk ranges, to an extents list. */
static int add_mapped(uint64_t disk_off, uint64_t len, uint64_t vol_off, void *arg)
{
	(void)vol_off;
	return imgfmt_extents_add(arg, disk_off, len) < 0 ? -ENOMEM : 0;
}

/* Add the free ranges of volume INDEX (absolute offsets, bounded by the
 * volume and mapped through an LV's segments, so that a crafted filesystem
 * cannot free its neighbours' bytes) to FREE_RANGES.  Returns a note: NULL
 * when the allocation was read. */
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
	if (disk->pv_free && disk->pv_free[index]) {
		/* an LVM PV: the extents no LV holds; the LVs speak for the rest */
		for (size_t i = 0; i < imgfmt_extents_count(disk->pv_free[index]); i++) {
			uint64_t off, len;
			imgfmt_extents_get(disk->pv_free[index], i, &off, &len);
			if (imgfmt_extents_add(free_ranges, off, len) < 0)
				return strdup("out of memory");
		}
		return NULL;
	}
	if (disk->maps && disk->maps[index] && disk->maps[index]->refused)
		return strdup(v->probe_note);
	if (!strcmp(v->fstype, "swap")) {
		/* Linux swap keeps its header in the first page; the rest is scratch. */
		if (imgfmt_swap_probe(disk, index, &header, &version) < 0)
			return strdup("swap: no header found, copied whole");
		if (imgfmt_volume_map(disk, index, header, v->size - header, add_mapped, free_ranges) < 0)
			return strdup("out of memory");
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
			if (imgfmt_volume_map(disk, index, off, len, add_mapped, free_ranges) < 0) {
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

/* Whether volume J (an LV) has bytes inside volume I. */
static bool lv_inside(const imgfmt_disk *disk, size_t j, size_t i)
{
	const struct imgfmt_volmap *m = disk->maps ? disk->maps[j] : NULL;
	const struct imgfmt_volume *v = &disk->volumes[i];

	if (!m || j == i)
		return false;
	for (size_t s = 0; s < m->nsegs; s++)
		for (uint32_t k = 0; k < m->segs[s].stripes; k++)
			if (m->segs[s].area[k].offset >= v->offset && m->segs[s].area[k].offset - v->offset < v->size)
				return true;
	return false;
}

int imgfmt_used_parts(imgfmt_disk *disk, int volume, imgfmt_extents *fs_used, imgfmt_extents *data)
{
	imgfmt_extents *all = imgfmt_extents_new(), *free_ranges = imgfmt_extents_new();
	int rc = -ENOMEM;

	if (!all || !free_ranges) {
		disk_fail(disk, rc, "out of memory");
		goto out;
	}
	if (volume >= 0 && (size_t)volume >= disk->nvolumes) {
		rc = disk_fail(disk, -EINVAL, "no volume number %d", volume);
		goto out;
	}
	/* the bytes in question: the disk, a partition, or an LV's runs */
	if (volume < 0)
		rc = imgfmt_extents_add(all, 0, disk->size) < 0 ? -ENOMEM : 0;
	else if (disk->maps && disk->maps[volume] && disk->maps[volume]->refused)
		rc = 0; /* nothing can be read: nothing to copy */
	else
		rc = imgfmt_volume_map(disk, (size_t)volume, 0, disk->volumes[volume].size, add_mapped, all);
	if (rc < 0) {
		rc = disk_fail(disk, -ENOMEM, "out of memory");
		goto out;
	}
	imgfmt_extents_normalize(all);
	/* the volumes inside: a PV's free extents and its LVs' free blocks */
	for (size_t i = 0; i < disk->nvolumes; i++) {
		if (volume >= 0 && (size_t)volume != i && !lv_inside(disk, i, (size_t)volume))
			continue;
		free(disk->used_notes[i]);
		disk->used_notes[i] = volume_free(disk, i, free_ranges);
	}
	imgfmt_extents_normalize(free_ranges);
	imgfmt_extents_clear(data);
	if (imgfmt_extents_subtract(all, free_ranges, fs_used) < 0) {
		rc = disk_fail(disk, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < imgfmt_extents_count(all); i++) {
		uint64_t off, len;
		imgfmt_extents_get(all, i, &off, &len);
		if (imgfmt_image_data_ranges(disk, off, len, data) < 0) {
			rc = disk_fail(disk, -ENOMEM, "out of memory");
			goto out;
		}
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
