/* disk.c --- open a raw disk (image file, block device, partition, LV, RBD image) */
#include "imgfmt_private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* O_DIRECT reads (imgfmt_disk_read_direct()): at least this long, buffer,
 * offset and length multiples of the alignment (4 KiB suits every file
 * and device but those of larger sectors, which refuse it: then cached) */
#define DIRECT_MIN (128u << 10)
#define DIRECT_ALIGN 4096u

imgfmt_disk *imgfmt_disk_new(void)
{
	imgfmt_disk *disk = calloc(1, sizeof(*disk));

	if (disk)
		disk->fd = disk->dfd = -1;
	return disk;
}

static void disk_reset(imgfmt_disk *disk)
{
	if (disk->fd >= 0)
		close(disk->fd);
	disk->fd = -1;
	if (disk->dfd >= 0)
		close(disk->dfd);
	disk->dfd = -1;
	disk->direct = disk->direct_refused = false;
	imgfmt_rbd_close(disk);
	free(disk->path);
	disk->path = NULL;
	free(disk->warnings);
	disk->warnings = NULL;
	imgfmt_lvm_free_volumes(disk);
	free(disk->volumes);
	disk->volumes = NULL;
	if (disk->used_notes)
		for (size_t i = 0; i < disk->nvolumes; i++)
			free(disk->used_notes[i]);
	free(disk->used_notes);
	disk->used_notes = NULL;
	disk->nvolumes = 0;
	disk->label[0] = disk->id[0] = '\0';
}

void imgfmt_disk_free(imgfmt_disk *disk)
{
	if (!disk)
		return;
	disk_reset(disk);
	free(disk);
}

const char *imgfmt_disk_error(const imgfmt_disk *disk)
{
	return disk->error;
}

const char *imgfmt_disk_path(const imgfmt_disk *disk)
{
	return disk->path ? disk->path : "";
}

uint64_t imgfmt_disk_size(const imgfmt_disk *disk)
{
	return disk->size;
}

unsigned imgfmt_disk_sector_size(const imgfmt_disk *disk)
{
	return disk->sector_size;
}

int imgfmt_disk_is_blockdev(const imgfmt_disk *disk)
{
	return disk->blockdev;
}

int imgfmt_disk_is_rbd(const imgfmt_disk *disk)
{
	return disk->rbd != NULL;
}

const char *imgfmt_disk_label(const imgfmt_disk *disk)
{
	return disk->label;
}

const char *imgfmt_disk_id(const imgfmt_disk *disk)
{
	return disk->id;
}

const char *imgfmt_disk_warnings(const imgfmt_disk *disk)
{
	return disk->warnings ? disk->warnings : "";
}

/* Size and sector size of the open file or device; refuse what is not a
 * disk, and (CHECK_FORMAT) an image of another format, by its name. */
static int disk_measure(imgfmt_disk *disk, bool check_format)
{
	const char *format;
	struct stat st;

	if (fstat(disk->fd, &st) < 0)
		return disk_fail(disk, -errno, "cannot stat: %s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return disk_fail(disk, -EISDIR, "not a disk: is a directory");
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0;
		if (ioctl(disk->fd, BLKGETSIZE64, &disk->size) < 0)
			return disk_fail(disk, -errno, "cannot read device size: %s", strerror(errno));
		if (ioctl(disk->fd, BLKSSZGET, &ssz) < 0 || ssz < 512)
			ssz = 512;
		disk->sector_size = (unsigned)ssz;
		disk->blockdev = true;
	} else if (S_ISREG(st.st_mode)) {
		disk->size = (uint64_t)st.st_size;
		disk->sector_size = 512;
	} else {
		return disk_fail(disk, -ENODEV, "not a disk: neither a regular file nor a block device");
	}
	if (check_format && (format = imgfmt_container_format(disk->fd, disk->size)))
		return disk_fail(disk, -EMEDIUMTYPE,
				 "is a %s image; rawkit reads raw disks: convert it with qemu-img convert -O raw first",
				 format);
	if (disk->size == 0)
		return disk_fail(disk, -EINVAL, "not a disk: empty (0 bytes)");
	if (disk->size % 512)
		return disk_fail(disk, -EINVAL,
				 "not a disk: size %llu is not a whole number of 512-byte sectors (truncated image?)",
				 (unsigned long long)disk->size);
	return 0;
}

/* Partitions must lie inside the disk and must not overlap (except an
 * extended container and the logical partitions inside it). */
static int disk_check_layout(imgfmt_disk *disk)
{
	for (size_t i = 0; i < disk->nvolumes; i++) {
		const struct imgfmt_volume *v = &disk->volumes[i];
		if (v->offset > disk->size || v->size > disk->size - v->offset)
			return disk_fail(disk, -ERANGE,
					 "partition %u ends at byte %llu but the disk has only %llu bytes (truncated image?)",
					 v->partno, (unsigned long long)(v->offset + v->size),
					 (unsigned long long)disk->size);
		for (size_t j = 0; j < i; j++) {
			const struct imgfmt_volume *w = &disk->volumes[j];
			if (v->container || w->container)
				continue;
			if (v->offset < w->offset + w->size && w->offset < v->offset + v->size)
				return disk_fail(disk, -EINVAL, "partitions %u and %u overlap", w->partno, v->partno);
		}
	}
	return 0;
}

/* Open PATH, a file or a block device, as DISK's fd. */
static int disk_open_file(imgfmt_disk *disk, const char *path, unsigned flags)
{
	int oflags = O_CLOEXEC | ((flags & IMGFMT_OPEN_WRITE) ? O_RDWR : O_RDONLY);
	struct stat st;

	/* O_EXCL on a block device fails with EBUSY while it is mounted or in use. */
	if ((flags & IMGFMT_OPEN_WRITE) && stat(path, &st) == 0 && S_ISBLK(st.st_mode))
		oflags |= O_EXCL;
	disk->fd = open(path, oflags);
	if (disk->fd < 0) {
		if (errno == EBUSY)
			return disk_fail(disk, -EBUSY, "cannot open for writing: device is in use (mounted or held open)");
		return disk_fail(disk, -errno, "cannot open: %s", strerror(errno));
	}
	disk->writable = flags & IMGFMT_OPEN_WRITE;
	/* A disk about to get a new table (a target) may hold anything. */
	return disk_measure(disk, !(flags & IMGFMT_OPEN_NO_TABLE));
}

int imgfmt_disk_open(imgfmt_disk *disk, const char *path, unsigned flags)
{
	int rc;

	disk_reset(disk);
	disk->error[0] = '\0';
	disk->path = strdup(path);
	if (!disk->path)
		return disk_fail(disk, -ENOMEM, "out of memory");
	if (imgfmt_rbd_is_spec(path))
		rc = imgfmt_rbd_open(disk, path, flags);
	else
		rc = disk_open_file(disk, path, flags);
	if (rc == 0)
		rc = (flags & IMGFMT_OPEN_NO_TABLE) ? imgfmt_ptable_none(disk) : imgfmt_ptable_read(disk);
	if (rc == 0)
		rc = disk_check_layout(disk);
	for (size_t i = 0; rc == 0 && i < disk->nvolumes; i++)
		rc = imgfmt_probe_volume(disk, &disk->volumes[i]);
	if (rc == 0 && !(flags & IMGFMT_OPEN_NO_TABLE))
		rc = imgfmt_lvm_add_volumes(disk);
	if (rc == 0) {
		disk->used_notes = calloc(disk->nvolumes, sizeof(char *));
		if (!disk->used_notes)
			rc = disk_fail(disk, -ENOMEM, "out of memory");
	}
	if (rc < 0) {
		char keep[IMGFMT_ERRLEN];
		memcpy(keep, disk->error, sizeof(keep));
		disk_reset(disk);
		memcpy(disk->error, keep, sizeof(keep));
	}
	return rc;
}

void imgfmt_disk_read_direct(imgfmt_disk *disk, int on)
{
	char self[64];

	/* Opened once, when first asked for, from the open descriptor (the
	 * path may name something else by now: a rotated file, a moved
	 * symlink).  Where O_DIRECT is refused, or the disk is written, reads
	 * stay cached. */
	if (on && disk->dfd < 0 && !disk->direct_refused && disk->fd >= 0 && !disk->writable && !disk->rbd) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", disk->fd);
		disk->dfd = open(self, O_RDONLY | O_DIRECT | O_CLOEXEC);
		disk->direct_refused = disk->dfd < 0;
	}
	disk->direct = on && disk->dfd >= 0 && !disk->direct_refused;
}

/* While imgfmt_disk_read_direct() is on, a large read whose buffer,
 * offset and length are aligned comes straight from the disk: the page
 * cache is neither filled nor read.  True when done so; false: read it
 * through the cache (which also says what went wrong, if anything). */
static bool direct_pread(imgfmt_disk *disk, void *buf, size_t len, uint64_t offset)
{
	size_t done = 0;

	if (!disk->direct || len < DIRECT_MIN || ((uintptr_t)buf | offset | len) % DIRECT_ALIGN)
		return false;
	while (done < len) {
		ssize_t n = pread(disk->dfd, (char *)buf + done, len - done, (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && done == 0) {
			/* the alignment this file or device wants is larger: never again */
			disk->direct = false;
			disk->direct_refused = true;
			return false;
		}
		if (n <= 0 || (size_t)n % DIRECT_ALIGN) /* an error, or the end: the cached read says which */
			return false;
		done += (size_t)n;
	}
	return true;
}

int imgfmt_disk_pread(imgfmt_disk *disk, void *buf, size_t len, uint64_t offset)
{
	size_t done = 0;

	if (disk->fd < 0)
		return disk_fail(disk, -EBADF, "disk is not open");
	if (offset > disk->size || len > disk->size - offset)
		return disk_fail(disk, -ERANGE, "read of %zu bytes at %llu is past the end of the disk (%llu bytes)",
				 len, (unsigned long long)offset, (unsigned long long)disk->size);
	if (disk->rbd)
		return imgfmt_rbd_pread(disk, buf, len, offset);
	if (direct_pread(disk, buf, len, offset))
		return 0;
	while (done < len) {
		ssize_t n = pread(disk->fd, (char *)buf + done, len - done, (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return disk_fail(disk, -EIO, "read error at byte %llu: %s",
					 (unsigned long long)(offset + done), strerror(errno));
		if (n == 0)
			return disk_fail(disk, -EIO, "unexpected end of disk at byte %llu (disk shrank while open?)",
					 (unsigned long long)(offset + done));
		done += (size_t)n;
	}
	return 0;
}

size_t imgfmt_disk_volume_count(const imgfmt_disk *disk)
{
	return disk->nvolumes;
}

int imgfmt_disk_volume(const imgfmt_disk *disk, size_t index, struct imgfmt_volume *out)
{
	if (index >= disk->nvolumes)
		return -EINVAL;
	*out = disk->volumes[index];
	return 0;
}

int imgfmt_disk_find_volume(const imgfmt_disk *disk, const char *name)
{
	for (size_t i = 0; i < disk->nvolumes; i++)
		if (strcmp(disk->volumes[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}
