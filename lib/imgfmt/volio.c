/* volio.c --- reads and writes inside one volume of a disk
 *
 * A partition is one run of the disk; an LVM logical volume is a list of
 * segments, linear or striped, on its physical volumes (lvm_disk.c).  Every
 * access to a volume's bytes by a filesystem back end goes through here, so
 * that it is bounded by the volume and lands where the LV's map says.
 */
#include "imgfmt_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool imgfmt_volume_contiguous(const imgfmt_disk *disk, size_t index)
{
	const struct imgfmt_volmap *m = disk->maps ? disk->maps[index] : NULL;

	return !m || (!m->refused && m->nsegs == 1 && m->segs[0].stripes == 1);
}

/* The segment of MAP holding volume byte OFF (segments are sorted and
 * contiguous from 0). */
static const struct imgfmt_lvm_seg *seg_at(const struct imgfmt_volmap *map, uint64_t off)
{
	size_t lo = 0, hi = map->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct imgfmt_lvm_seg *s = &map->segs[mid];
		if (off < s->start)
			hi = mid;
		else if (off - s->start >= s->length)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

int imgfmt_volume_map(imgfmt_disk *disk, size_t index, uint64_t off, uint64_t len, imgfmt_volmap_fn cb, void *arg)
{
	const struct imgfmt_volume *v;
	const struct imgfmt_volmap *map;
	int rc;

	if (index >= disk->nvolumes)
		return disk_fail(disk, -EINVAL, "no volume number %zu", index);
	v = &disk->volumes[index];
	if (off > v->size || len > v->size - off)
		return disk_fail(disk, -ERANGE, "%s: %llu bytes at %llu are outside the volume (%llu bytes)", v->name,
				 (unsigned long long)len, (unsigned long long)off, (unsigned long long)v->size);
	map = disk->maps ? disk->maps[index] : NULL;
	if (!map)
		return len ? cb(v->offset + off, len, off, arg) : 0;
	if (map->refused)
		return disk_fail(disk, -ENOTSUP, "%s: %s", v->name, v->probe_note);
	while (len) {
		const struct imgfmt_lvm_seg *s = seg_at(map, off);
		uint64_t rel, run, at;

		if (!s)
			return disk_fail(disk, -EIO, "%s: byte %llu is in no segment", v->name, (unsigned long long)off);
		rel = off - s->start;
		run = s->length - rel;
		if (s->stripes <= 1) {
			at = s->area[0].offset + rel;
		} else {
			uint64_t chunk = rel / s->stripe_size, row = chunk / s->stripes;
			unsigned k = (unsigned)(chunk % s->stripes);
			uint64_t within = rel % s->stripe_size;
			at = s->area[k].offset + row * s->stripe_size + within;
			if (run > s->stripe_size - within)
				run = s->stripe_size - within;
		}
		if (run > len)
			run = len;
		if ((rc = cb(at, run, off, arg)) != 0)
			return rc;
		off += run;
		len -= run;
	}
	return 0;
}

struct rw {
	imgfmt_disk *disk;
	char *buf;
	uint64_t base;
	bool write;
};

static int rw_run(uint64_t disk_off, uint64_t len, uint64_t vol_off, void *arg)
{
	struct rw *rw = arg;
	char *p = rw->buf + (vol_off - rw->base);
	size_t done = 0;

	if (!rw->write)
		return imgfmt_disk_pread(rw->disk, p, (size_t)len, disk_off);
	if (disk_off > rw->disk->size || len > rw->disk->size - disk_off)
		return disk_fail(rw->disk, -ERANGE, "write of %llu bytes at %llu is past the end of the disk",
				 (unsigned long long)len, (unsigned long long)disk_off);
	while (done < len) {
		ssize_t n = pwrite(rw->disk->fd, p + done, (size_t)len - done, (off_t)(disk_off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return disk_fail(rw->disk, n < 0 ? -errno : -EIO, "write error at byte %llu: %s",
					 (unsigned long long)(disk_off + done), n < 0 ? strerror(errno) : "short write");
		done += (size_t)n;
	}
	return 0;
}

int imgfmt_volume_pread(imgfmt_disk *disk, size_t index, void *buf, size_t len, uint64_t offset)
{
	struct rw rw = { disk, buf, offset, false };

	if (disk->fd < 0)
		return disk_fail(disk, -EBADF, "disk is not open");
	return imgfmt_volume_map(disk, index, offset, len, rw_run, &rw);
}

int imgfmt_volume_ref_read(void *arg, void *buf, size_t len, uint64_t off)
{
	struct imgfmt_volume_ref *r = arg;

	return imgfmt_volume_pread(r->disk, r->index, buf, len, off);
}

int imgfmt_volume_pwrite(imgfmt_disk *disk, size_t index, const void *buf, size_t len, uint64_t off)
{
	struct rw rw = { disk, (char *)buf, off, true };

	if (disk->fd < 0)
		return disk_fail(disk, -EBADF, "disk is not open");
	if (!disk->writable)
		return disk_fail(disk, -EROFS, "the disk is open read-only");
	return imgfmt_volume_map(disk, index, off, len, rw_run, &rw);
}
