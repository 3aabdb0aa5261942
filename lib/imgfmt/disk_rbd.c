/* disk_rbd.c --- a disk that is a Ceph RBD image ("rbd:POOL/IMAGE@SNAP"), read through librbd
 *
 * Every reader of libimgfmt's own (the filesystem back ends, LVM, swap,
 * the copy engine) reads through imgfmt_disk_pread(), which comes here for
 * an RBD disk.  libfdisk and libblkid read a file descriptor and have no
 * custom I/O, so an RBD disk's fd is a "window": a sparse memory file of the
 * image's size holding only what they read to identify a disk (its first
 * and last MiB, the EBR chain of an MBR, each volume's first and last MiB,
 * an NTFS volume's first MFT records) and zeros elsewhere.  What a window
 * costs is a few MiB per volume, never a copy of the disk.  The window is
 * never read for data.
 *
 * The spec is qemu's: rbd:POOL[/NAMESPACE]/IMAGE[@SNAP][:KEY=VALUE...],
 * where id= is the client name, conf= the configuration file, and any other
 * key a Ceph option.  Without conf= the standard search applies ($CEPH_CONF,
 * /etc/ceph/ceph.conf, ...), then $CEPH_ARGS.
 */
#include "imgfmt_private.h"
#include "ceph.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { EDGE = 1 << 20, SECTOR = 512 };

struct imgfmt_rbd {
	struct ceph_conn c; /* librados, librbd; the pool */
	rbd_image_t image;
	imgfmt_extents *window; /* ranges of the image copied into disk->fd */
};

struct rbd_spec {
	char *buf; /* the spec, cut in place */
	char *pool, *ns, *image, *snap;
	struct ceph_opts opts;
};

bool imgfmt_rbd_is_spec(const char *path)
{
	return strncmp(path, "rbd:", 4) == 0;
}

/* Cut "POOL[/NS]/IMAGE[@SNAP][:opts]" into its parts. */
static int spec_parse(char *err, const char *path, struct rbd_spec *s)
{
	char *colon, *slash;

	memset(s, 0, sizeof(*s));
	s->buf = strdup(path + 4);
	if (!s->buf)
		return imgfmt_fail(err, -ENOMEM, "out of memory");
	if ((colon = strchr(s->buf, ':')))
		*colon++ = '\0';
	s->pool = s->buf;
	if ((slash = strchr(s->buf, '/'))) {
		*slash = '\0';
		s->image = slash + 1;
		if ((slash = strchr(s->image, '/'))) {
			*slash = '\0';
			s->ns = s->image;
			s->image = slash + 1;
		}
	}
	if (s->image && (s->snap = strchr(s->image, '@')))
		*s->snap++ = '\0';
	if (!s->pool[0] || !s->image || !s->image[0] || (s->snap && !s->snap[0]) || strchr(s->image, '/') ||
	    (s->ns && !s->ns[0]))
		return imgfmt_fail(err, -EINVAL, "not an RBD spec: want rbd:POOL/IMAGE[@SNAP][:id=NAME][:conf=PATH]");
	return imgfmt_ceph_options(err, &s->opts, colon);
}

/* Connect and open the spec's pool (and namespace). */
static int rbd_pool(char *err, struct imgfmt_rbd *r, const struct rbd_spec *s)
{
	return imgfmt_ceph_pool(err, &r->c, &s->opts, s->pool, s->ns, "rbd: disks");
}

/* Connect and open the image (at the snapshot) read-only, naming what is
 * missing. */
static int rbd_open_image(imgfmt_disk *disk, struct imgfmt_rbd *r, const struct rbd_spec *s)
{
	int rc = rbd_pool(disk->error, r, s);

	if (rc < 0)
		return rc;
	rc = r->c.api->rbd_open_read_only(r->c.io, s->image, &r->image, s->snap);
	if (rc == -ENOENT && s->snap && r->c.api->rbd_open_read_only(r->c.io, s->image, &r->image, NULL) == 0) {
		r->c.api->rbd_close(r->image);
		r->image = NULL;
		return disk_fail(disk, rc, "image '%s' has no snapshot '%s'", s->image, s->snap);
	}
	if (rc < 0) {
		r->image = NULL;
		return rc == -ENOENT ? disk_fail(disk, rc, "no image '%s' in pool '%s'", s->image, s->pool)
				     : disk_fail(disk, rc, "cannot open image '%s': %s", s->image, strerror(-rc));
	}
	return 0;
}

int imgfmt_rbd_pread(imgfmt_disk *disk, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = disk->rbd->c.api->rbd_read2(disk->rbd->image, off + done, len - done, (char *)buf + done,
				      LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL);
		if (n < 0)
			return disk_fail(disk, -EIO, "RBD read error at byte %llu: %s",
					 (unsigned long long)(off + done), strerror((int)-n));
		if (n == 0)
			return disk_fail(disk, -EIO, "unexpected end of the RBD image at byte %llu",
					 (unsigned long long)(off + done));
		done += (size_t)n;
	}
	return 0;
}

/* Copy disk bytes [OFF, OFF+LEN) into the window (once). */
static int window_fill(imgfmt_disk *disk, uint64_t off, uint64_t len)
{
	struct imgfmt_rbd *r = disk->rbd;
	imgfmt_extents *want, *missing;
	char *buf = NULL;
	int rc = 0;

	if (!r || off >= disk->size)
		return 0;
	if (len > disk->size - off)
		len = disk->size - off;
	want = imgfmt_extents_new();
	missing = imgfmt_extents_new();
	if (!want || !missing || imgfmt_extents_add(want, off, len) < 0 ||
	    imgfmt_extents_subtract(want, r->window, missing) < 0) {
		rc = disk_fail(disk, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; rc == 0 && i < imgfmt_extents_count(missing); i++) {
		uint64_t o, l;
		imgfmt_extents_get(missing, i, &o, &l);
		if (!(buf = buf ? buf : malloc(EDGE)))
			rc = disk_fail(disk, -ENOMEM, "out of memory");
		while (rc == 0 && l) {
			size_t n = l > EDGE ? EDGE : (size_t)l;
			rc = imgfmt_rbd_pread(disk, buf, n, o);
			if (rc == 0 && pwrite(disk->fd, buf, n, (off_t)o) != (ssize_t)n)
				rc = disk_fail(disk, -EIO, "cannot fill the RBD window: %s", strerror(errno));
			if (rc == 0 && imgfmt_extents_add(r->window, o, n) < 0)
				rc = disk_fail(disk, -ENOMEM, "out of memory");
			o += n;
			l -= n;
		}
	}
	imgfmt_extents_normalize(r->window);
out:
	free(buf);
	imgfmt_extents_free(want);
	imgfmt_extents_free(missing);
	return rc;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* An MBR's logical partitions are found by following EBR links through
 * the extended partition: put each EBR into the window so that libfdisk
 * finds the chain it follows (at most 256 links, as a guard). */
static int window_ebr_chain(imgfmt_disk *disk)
{
	unsigned char s[SECTOR];
	uint64_t ext = 0, link = 0, ebr;
	int rc;

	if ((rc = imgfmt_rbd_pread(disk, s, SECTOR, 0)) < 0 || s[510] != 0x55 || s[511] != 0xAA)
		return rc;
	for (int i = 0; i < 4 && !ext; i++) {
		unsigned char type = s[446 + 16 * i + 4];
		if (type == 0x05 || type == 0x0f || type == 0x85)
			ext = le32(s + 446 + 16 * i + 8);
	}
	for (int hops = 0; ext && hops < 256; hops++) {
		ebr = ext + link; /* both 32-bit: no overflow */
		if (ebr >= disk->size / SECTOR)
			break;
		if ((rc = window_fill(disk, ebr * SECTOR, SECTOR)) < 0 ||
		    (rc = imgfmt_rbd_pread(disk, s, SECTOR, ebr * SECTOR)) < 0)
			return rc;
		if (s[510] != 0x55 || s[511] != 0xAA || !(link = le32(s + 446 + 16 + 8)))
			break;
	}
	return 0;
}

int imgfmt_rbd_window_volume(imgfmt_disk *disk, uint64_t off, uint64_t size)
{
	uint64_t edge = size < EDGE ? size : EDGE;
	unsigned char boot[SECTOR];
	int rc;

	if (!disk->rbd)
		return 0;
	if ((rc = window_fill(disk, off, edge)) < 0 || (rc = window_fill(disk, off + size - edge, edge)) < 0)
		return rc;
	/* libblkid takes an NTFS volume's label from $Volume, the MFT's fourth record */
	if (size >= SECTOR && imgfmt_rbd_pread(disk, boot, SECTOR, off) == 0 && !memcmp(boot + 3, "NTFS    ", 8)) {
		uint64_t cluster = (uint64_t)(boot[11] | boot[12] << 8) * boot[13];
		uint64_t mft = cluster * ((uint64_t)le32(boot + 0x30) | (uint64_t)le32(boot + 0x34) << 32);
		if (cluster && mft < size)
			rc = window_fill(disk, off + mft, size - mft < (64 << 10) ? size - mft : (64 << 10));
	}
	return rc;
}

int imgfmt_rbd_open(imgfmt_disk *disk, const char *path, unsigned flags)
{
	struct imgfmt_rbd *r;
	struct rbd_spec s;
	int rc;

	if (flags & IMGFMT_OPEN_WRITE)
		return disk_fail(disk, -EROFS, "rbd: disks are read-only here");
	if ((rc = spec_parse(disk->error, path, &s)) < 0)
		goto out;
	r = disk->rbd = calloc(1, sizeof(*r));
	if (!r || !(r->window = imgfmt_extents_new())) {
		rc = disk_fail(disk, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = rbd_open_image(disk, r, &s)) < 0)
		goto out;
	if ((rc = r->c.api->rbd_get_size(r->image, &disk->size)) < 0) {
		rc = disk_fail(disk, rc, "cannot read the RBD image's size: %s", strerror(-rc));
		goto out;
	}
	disk->sector_size = SECTOR;
	if (disk->size == 0 || disk->size % SECTOR) {
		rc = disk_fail(disk, -EINVAL, "not a disk: RBD image of %llu bytes, not whole 512-byte sectors",
			       (unsigned long long)disk->size);
		goto out;
	}
	disk->fd = memfd_create("rawkit-rbd-window", MFD_CLOEXEC);
	if (disk->fd < 0 || ftruncate(disk->fd, (off_t)disk->size) < 0) {
		rc = disk_fail(disk, -errno, "cannot make the RBD window: %s", strerror(errno));
		goto out;
	}
	rc = imgfmt_rbd_window_volume(disk, 0, disk->size);
	if (rc == 0)
		rc = window_ebr_chain(disk);
out:
	free(s.buf);
	return rc;
}

/* Close what R has open: the image, the pool, the connection. */
static void rbd_disconnect(struct imgfmt_rbd *r)
{
	if (r->image)
		r->c.api->rbd_close(r->image);
	r->image = NULL;
	imgfmt_ceph_close(&r->c);
}

static void rbd_done(struct imgfmt_rbd *r, struct rbd_spec *s)
{
	rbd_disconnect(r);
	free(s->buf);
}

/* ---- snapshots (backup --snapshot): the image opened read-write for
 * rbd_snap_create()/rbd_snap_remove() alone, on a connection of their own */

/* Connect and open the image SPEC names (no @SNAP) read-write. */
static int snapshot_image(imgfmt_disk *disk, struct imgfmt_rbd *r, const char *spec, const char *snap,
			  struct rbd_spec *s)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (!imgfmt_rbd_is_spec(spec))
		return disk_fail(disk, -EINVAL, "not an RBD image (want rbd:POOL/IMAGE)");
	if ((rc = spec_parse(disk->error, spec, s)) < 0)
		return rc;
	if (s->snap)
		return disk_fail(disk, -EINVAL, "the spec already names a snapshot (@%s)", s->snap);
	if (!snap || !snap[0] || strpbrk(snap, "@/:"))
		return disk_fail(disk, -EINVAL, "not a snapshot name: '%s'", snap ? snap : "");
	if ((rc = rbd_pool(disk->error, r, s)) < 0)
		return rc;
	if ((rc = r->c.api->rbd_open(r->c.io, s->image, &r->image, NULL)) < 0) {
		r->image = NULL;
		return rc == -ENOENT ? disk_fail(disk, rc, "no image '%s' in pool '%s'", s->image, s->pool)
				     : disk_fail(disk, rc, "cannot open image '%s' for writing: %s", s->image,
						 strerror(-rc));
	}
	return 0;
}

/* Make (MAKE) or remove snapshot SNAP of the image SPEC names. */
static int snapshot_change(imgfmt_disk *disk, const char *spec, const char *snap, bool make)
{
	struct imgfmt_rbd r;
	struct rbd_spec s = { 0 };
	int rc = snapshot_image(disk, &r, spec, snap, &s);

	if (rc == 0) { /* (else reported) */
		rc = make ? r.c.api->rbd_snap_create(r.image, snap) : r.c.api->rbd_snap_remove(r.image, snap);
		if (rc == -EEXIST && make)
			disk_fail(disk, rc, "image '%s' already has a snapshot '%s'", s.image, snap);
		else if (rc == -ENOENT && !make)
			disk_fail(disk, rc, "image '%s' has no snapshot '%s'", s.image, snap);
		else if (rc < 0)
			disk_fail(disk, rc, "cannot %s snapshot '%s' of image '%s': %s", make ? "create" : "remove",
				  snap, s.image, strerror(-rc));
	}
	rbd_done(&r, &s);
	return rc;
}

int imgfmt_rbd_snapshot_create(imgfmt_disk *disk, const char *spec, const char *snap)
{
	return snapshot_change(disk, spec, snap, true);
}

int imgfmt_rbd_snapshot_remove(imgfmt_disk *disk, const char *spec, const char *snap)
{
	return snapshot_change(disk, spec, snap, false);
}

/* ---- a copy's target that is a new image (target.c stages it in a file)
 *
 * Temp images being written, for imgfmt_remove_temp_images(): a tool
 * ended by a signal asks the writers to stop (from a thread that waits for
 * signals) and waits until each has removed its temp image.  The writer
 * removes it itself: another client's rbd_remove() is refused while the
 * writer holds the image open. */
static pthread_mutex_t temp_images_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t temp_images_gone = PTHREAD_COND_INITIALIZER;
static unsigned temp_images;      /* being written */
static bool stop_writing;         /* set once: the process is ending */

static bool writing_stopped(void)
{
	bool stop;

	pthread_mutex_lock(&temp_images_lock);
	stop = stop_writing;
	pthread_mutex_unlock(&temp_images_lock);
	return stop;
}

void imgfmt_remove_temp_images(void)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30; /* a writer stuck on the cluster does not hold the process */
	pthread_mutex_lock(&temp_images_lock);
	stop_writing = true;
	while (temp_images && pthread_cond_timedwait(&temp_images_gone, &temp_images_lock, &deadline) == 0)
		;
	pthread_mutex_unlock(&temp_images_lock);
}

/* The spec of a target: an image, no snapshot. */
static int target_spec(char *err, const char *spec, struct rbd_spec *s)
{
	int rc = spec_parse(err, spec, s);

	if (rc == 0 && s->snap)
		rc = imgfmt_fail(err, -EINVAL, "a snapshot cannot be written: want rbd:POOL/IMAGE");
	return rc;
}

int imgfmt_rbd_target_check(char *err, const char *spec, bool replace)
{
	struct imgfmt_rbd r = { 0 };
	struct rbd_spec s = { 0 };
	int rc = target_spec(err, spec, &s);

	if (rc == 0)
		rc = rbd_pool(err, &r, &s);
	if (rc == 0) {
		rc = r.c.api->rbd_open_read_only(r.c.io, s.image, &r.image, NULL);
		if (rc < 0)
			r.image = NULL;
		if (rc == 0 && !replace)
			rc = imgfmt_fail(err, -EEXIST, "target exists (use --overwrite to replace it)");
		else if (rc == 0 || rc == -ENOENT)
			rc = 0;
		else
			rc = imgfmt_fail(err, rc, "cannot look at image '%s': %s", s.image, strerror(-rc));
	}
	rbd_done(&r, &s);
	return rc;
}

/* Write the data of FD in [OFF, OFF+LEN) into R's image, all-zero 4 KiB
 * blocks left out. */
static int upload_range(char *err, const struct imgfmt_rbd *r, int fd, uint64_t off, uint64_t len, char *buf)
{
	enum { CHUNK = 4 << 20, BLOCK = 4096 };

	while (len) {
		size_t n = len > CHUNK ? CHUNK : (size_t)len, pos = 0;
		ssize_t got;
		if (writing_stopped())
			return imgfmt_fail(err, -EINTR, "interrupted");
		got = pread(fd, buf, n, (off_t)off);
		if (got <= 0)
			return imgfmt_fail(err, -EIO, "cannot read the staged copy at byte %llu: %s",
					   (unsigned long long)off, got < 0 ? strerror(errno) : "end of file");
		n = (size_t)got;
		while (pos < n) {
			size_t run = pos, b;
			while (run < n && !imgfmt_all_zero(buf + run, (b = n - run < BLOCK ? n - run : BLOCK)))
				run += b;
			if (run > pos) {
				ssize_t w = r->c.api->rbd_write2(r->image, off + pos, run - pos, buf + pos, 0);
				if (w != (ssize_t)(run - pos))
					return imgfmt_fail(err, w < 0 ? (int)w : -EIO, "RBD write error at byte %llu: %s",
							   (unsigned long long)(off + pos),
							   w < 0 ? strerror((int)-w) : "short write");
			}
			pos = run;
			while (pos < n && imgfmt_all_zero(buf + pos, (b = n - pos < BLOCK ? n - pos : BLOCK)))
				pos += b;
		}
		off += n;
		len -= n;
	}
	return 0;
}

/* Every data extent of FD (SEEK_DATA/SEEK_HOLE) into R's image. */
static int upload(char *err, const struct imgfmt_rbd *r, int fd, uint64_t size)
{
	char *buf = malloc(4 << 20);
	off_t data = 0, hole;
	int rc = 0;

	if (!buf)
		return imgfmt_fail(err, -ENOMEM, "out of memory");
	while (rc == 0 && (uint64_t)data < size) {
		data = lseek(fd, data, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			rc = imgfmt_fail(err, -errno, "cannot map the staged copy: %s", strerror(errno));
			break;
		}
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		rc = upload_range(err, r, fd, (uint64_t)data, (uint64_t)(hole - data), buf);
		data = hole;
	}
	free(buf);
	return rc;
}

/* Count a temp image being written (for imgfmt_remove_temp_images()),
 * unless a stop was asked for (-EINTR); the lock is never held across a
 * call to the cluster, which may hang. */
static int temp_image_count(char *err, int delta)
{
	int rc = 0;

	pthread_mutex_lock(&temp_images_lock);
	if (delta > 0 && stop_writing)
		rc = imgfmt_fail(err, -EINTR, "interrupted");
	else
		temp_images += delta;
	if (delta < 0)
		pthread_cond_broadcast(&temp_images_gone);
	pthread_mutex_unlock(&temp_images_lock);
	return rc;
}

/* --overwrite: the image being replaced is renamed aside (*OLD) until the
 * new one has its name, so that at every moment one of them is there. */
static int move_aside(char *err, const struct imgfmt_rbd *r, const struct rbd_spec *s, char **old)
{
	int rc;

	if (asprintf(old, "%s.rawkit-old-%ld", s->image, (long)getpid()) < 0) {
		*old = NULL;
		return imgfmt_fail(err, -ENOMEM, "out of memory");
	}
	rc = r->c.api->rbd_rename(r->c.io, s->image, *old);
	if (rc == -ENOENT) { /* (nothing to replace) */
		free(*old);
		*old = NULL;
		return 0;
	}
	if (rc < 0)
		return imgfmt_fail(err, rc, "cannot move the image being replaced aside: %s", strerror(-rc));
	return 0;
}

int imgfmt_rbd_target_write(char *err, const char *spec, int fd, uint64_t size, bool replace)
{
	struct imgfmt_rbd r = { 0 };
	struct rbd_spec s = { 0 };
	char *tmp = NULL, *old = NULL;
	bool counted = false, created = false;
	int order = 0, rc = target_spec(err, spec, &s);

	if (rc == 0)
		rc = rbd_pool(err, &r, &s);
	if (rc == 0 && asprintf(&tmp, "%s.rawkit-tmp-%ld", s.image, (long)getpid()) < 0) {
		tmp = NULL;
		rc = imgfmt_fail(err, -ENOMEM, "out of memory");
	}
	if (rc == 0)
		counted = (rc = temp_image_count(err, 1)) == 0;
	if (rc == 0 && (rc = r.c.api->rbd_create2(r.c.io, tmp, size, RBD_FEATURE_LAYERING, &order)) < 0)
		rc = imgfmt_fail(err, rc, "cannot create image '%s': %s", tmp, strerror(-rc));
	created = rc == 0;
	if (rc == 0 && writing_stopped()) /* (asked for while it was being created) */
		rc = imgfmt_fail(err, -EINTR, "interrupted");
	if (rc == 0 && (rc = r.c.api->rbd_open(r.c.io, tmp, &r.image, NULL)) < 0) {
		r.image = NULL;
		rc = imgfmt_fail(err, rc, "cannot open image '%s': %s", tmp, strerror(-rc));
	}
	if (rc == 0)
		rc = upload(err, &r, fd, size);
	if (rc == 0 && (rc = r.c.api->rbd_flush(r.image)) < 0)
		rc = imgfmt_fail(err, rc, "cannot flush image '%s': %s", tmp, strerror(-rc));
	if (r.image)
		r.c.api->rbd_close(r.image);
	r.image = NULL;
	/* from here on the image is completed even if a signal asks to stop:
	 * imgfmt_remove_temp_images() waits for it */
	if (rc == 0 && writing_stopped())
		rc = imgfmt_fail(err, -EINTR, "interrupted");
	if (rc == 0 && replace)
		rc = move_aside(err, &r, &s, &old);
	if (rc == 0 && (rc = r.c.api->rbd_rename(r.c.io, tmp, s.image)) < 0)
		rc = rc == -EEXIST ? imgfmt_fail(err, rc, "target exists (created meanwhile by someone else)")
				   : imgfmt_fail(err, rc, "cannot rename '%s' to '%s': %s", tmp, s.image,
						 strerror(-rc));
	if (rc < 0 && old && r.c.api->rbd_rename(r.c.io, old, s.image) < 0) {
		/* neither name could be given back: keep both, say where */
		imgfmt_fail(err, rc, "cannot rename '%s' to '%s'; the old image is '%s', the new one '%s'", tmp, s.image,
			    old, tmp);
		created = false;
	} else if (rc < 0 && old) {
		free(old);
		old = NULL; /* back under its name */
	}
	if (rc < 0 && created)
		r.c.api->rbd_remove(r.c.io, tmp);
	if (rc == 0 && old && (rc = r.c.api->rbd_remove(r.c.io, old)) < 0)
		rc = imgfmt_fail(err, rc, "the new image is in place; the one it replaced is kept as '%s': %s%s", old,
				 strerror(-rc), rc == -ENOTEMPTY ? " (it has snapshots)" : "");
	if (counted)
		temp_image_count(err, -1);
	free(tmp);
	free(old);
	rbd_done(&r, &s);
	return rc;
}

static int diff_cb(uint64_t off, size_t len, int exists, void *arg)
{
	return exists && imgfmt_extents_add(arg, off, len) < 0 ? -ENOMEM : 0;
}

int imgfmt_rbd_data_ranges(imgfmt_disk *disk, uint64_t off, uint64_t len, imgfmt_extents *out)
{
	int rc = disk->rbd->c.api->rbd_diff_iterate2(disk->rbd->image, NULL, off, len, 0, 0, diff_cb, out);

	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) /* no object map, or the cluster refused: everything is data */
		return imgfmt_extents_add(out, off, len);
	imgfmt_extents_normalize(out);
	return 0;
}

void imgfmt_rbd_close(imgfmt_disk *disk)
{
	struct imgfmt_rbd *r = disk->rbd;

	if (!r)
		return;
	rbd_disconnect(r);
	imgfmt_extents_free(r->window);
	free(r);
	disk->rbd = NULL;
}
