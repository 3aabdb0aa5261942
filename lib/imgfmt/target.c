/* target.c --- open a copy's target safely, commit it atomically
 *
 * A file target is written as a temp file beside it and renamed into place
 * only when complete and durable, so a crash leaves either the old state or
 * the new one.  A new RBD image ("rbd:POOL/IMAGE") is staged: written and
 * edited as a new sparse file in $TMPDIR (/var/tmp), and on commit written
 * through librbd into a new sparse image under a temp name, flushed and
 * renamed into place (disk_rbd.c); the tools that edit a copy afterwards
 * (libext2fs, libfdisk, ntfs-3g, mtools, a kernel mount) work on a file.
 * A block device is opened O_EXCL (refused while mounted or
 * in use) and must be large enough before anything is written.
 */
#include "imgfmt_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <libgen.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/major.h>
#include <sys/sysmacros.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- temp files not yet committed or removed ----
 *
 * A tool killed by a signal must not leave a half-written temp file beside
 * its target.  The library installs no signal handler: it keeps the temp
 * names here so that the tool's handler can remove them through
 * imgfmt_remove_temp_files().  The handler may run at any point of the
 * code below, so a slot holds a pointer to the target's own tmp name,
 * published once the name is complete and cleared before it is freed;
 * reading it takes one atomic load and unlink(2), both async-signal-safe.
 * Slots are only changed by the thread that opens and commits targets,
 * never while another thread of the copy engine runs. */
#define TEMP_SLOTS 4096 /* targets pending at once; --jobs is at most 1024 */

static char *_Atomic temp_slots[TEMP_SLOTS];

static void temp_register(const char *tmp)
{
	for (size_t i = 0; i < TEMP_SLOTS; i++) {
		char *expected = NULL;
		if (atomic_compare_exchange_strong(&temp_slots[i], &expected, (char *)tmp))
			return;
	}
	/* all slots taken: this temp file is only removed on ordinary exits */
}

static void temp_unregister(const char *tmp)
{
	for (size_t i = 0; i < TEMP_SLOTS; i++) {
		char *expected = (char *)tmp;
		if (atomic_compare_exchange_strong(&temp_slots[i], &expected, NULL))
			return;
	}
}

void imgfmt_remove_temp_files(void)
{
	int saved = errno;

	for (size_t i = 0; i < TEMP_SLOTS; i++) {
		char *tmp = atomic_load(&temp_slots[i]);
		if (tmp)
			unlink(tmp);
	}
	errno = saved;
}

/* Is target A the source B, or a loop device over B's file? */
static int same_object(const char *path, const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	if (S_ISBLK(a->st_mode) && S_ISREG(b->st_mode) && major(a->st_rdev) == LOOP_MAJOR) {
		struct loop_info64 li;
		int fd = open(path, O_RDONLY | O_CLOEXEC), same = 0;
		if (fd >= 0 && ioctl(fd, LOOP_GET_STATUS64, &li) == 0)
			same = li.lo_device == b->st_dev && li.lo_inode == b->st_ino;
		if (fd >= 0)
			close(fd);
		return same;
	}
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int target_blockdev(struct imgfmt_target *t, uint64_t size)
{
	uint64_t have = 0;

	t->fd = open(t->path, O_WRONLY | O_EXCL | O_CLOEXEC);
	if (t->fd < 0) {
		int e = errno;
		if (e == EBUSY)
			return imgfmt_fail(t->error, -EBUSY, "device is in use (mounted or held open)");
		return imgfmt_fail(t->error, -e, "cannot open for writing: %s", strerror(e));
	}
	if (ioctl(t->fd, BLKGETSIZE64, &have) < 0)
		return imgfmt_fail(t->error, -errno, "cannot read device size: %s", strerror(errno));
	if (have < size)
		return imgfmt_fail(t->error, -ENOSPC, "device too small: %llu bytes, the source needs %llu",
				   (unsigned long long)have, (unsigned long long)size);
	t->blockdev = true;
	t->block_size = 4096;
	return 0;
}

/* Directory and base name of PATH, malloc'd. */
static int split_path(const char *path, char **dir, char **base)
{
	char *d = strdup(path), *b = strdup(path);

	*dir = d ? strdup(dirname(d)) : NULL;
	*base = b ? strdup(basename(b)) : NULL;
	free(d);
	free(b);
	if (*dir && *base)
		return 0;
	free(*dir);
	free(*base);
	return -ENOMEM;
}

static int target_file(struct imgfmt_target *t, uint64_t size, uint64_t bytes)
{
	char *dir, *base;
	struct statvfs vfs;
	struct stat st;
	int rc = 0;

	if (split_path(t->path, &dir, &base) < 0)
		return imgfmt_fail(t->error, -ENOMEM, "out of memory");
	if (asprintf(&t->tmp, "%s/.%s.rawkit-XXXXXX", dir, base) < 0) {
		t->tmp = NULL;
		rc = imgfmt_fail(t->error, -ENOMEM, "out of memory");
	} else if (statvfs(dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < bytes) {
		rc = imgfmt_fail(t->error, -ENOSPC, "not enough space in %s: %llu bytes free, the copy needs %llu", dir,
				 (unsigned long long)vfs.f_bavail * vfs.f_frsize, (unsigned long long)bytes);
	}
	free(dir);
	free(base);
	if (rc < 0)
		return rc;
	t->fd = mkostemp(t->tmp, O_CLOEXEC);
	if (t->fd < 0) {
		int e = errno;
		free(t->tmp);
		t->tmp = NULL;
		return imgfmt_fail(t->error, -e, "cannot create: %s", strerror(e));
	}
	temp_register(t->tmp);
	if (ftruncate(t->fd, (off_t)size) < 0 || fstat(t->fd, &st) < 0)
		return imgfmt_fail(t->error, -errno, "cannot size the new file: %s", strerror(errno));
	/* A file that is replaced keeps its mode and owner (as far as we may
	 * set them); a new one stays 0600: guest disks hold secrets. */
	if (t->replaces && fchmod(t->fd, t->old_mode & 07777) == 0)
		(void)!fchown(t->fd, t->old_uid, t->old_gid);
	t->fresh = true;
	t->fs_dev = st.st_dev;
	t->block_size = st.st_blksize >= 512 ? (unsigned)st.st_blksize : 4096;
	return 0;
}

/* "rbd:POOL/IMAGE" without its snapshot and options, for comparison. */
static size_t rbd_image_len(const char *spec)
{
	return 4 + strcspn(spec + 4, "@:");
}

static int target_rbd(struct imgfmt_target *t, const char *spec, unsigned flags, imgfmt_disk *source,
		      uint64_t size, uint64_t bytes)
{
	const char *dir = getenv("TMPDIR");
	int rc;

	t->size = size;
	t->rbd_replace = flags & IMGFMT_TARGET_OVERWRITE;
	if (!(t->rbd = strdup(spec)))
		return imgfmt_fail(t->error, -ENOMEM, "out of memory");
	if (source->rbd && rbd_image_len(source->path) == rbd_image_len(spec) &&
	    !strncmp(source->path, spec, rbd_image_len(spec)))
		return imgfmt_fail(t->error, -EINVAL, "target is the source disk itself");
	if ((rc = imgfmt_rbd_target_check(t->error, spec, t->rbd_replace)) < 0)
		return rc;
	if (asprintf(&t->path, "%s/rawkit-rbd", dir && dir[0] ? dir : "/var/tmp") < 0) {
		t->path = NULL;
		return imgfmt_fail(t->error, -ENOMEM, "out of memory");
	}
	if ((rc = target_file(t, size, bytes)) < 0)
		return rc;
	t->fs_dev = 0; /* never reflinked: what is written is what goes to the image */
	return 0;
}

int imgfmt_target_open(struct imgfmt_target *t, const char *path, unsigned flags, imgfmt_disk *source,
		       uint64_t size, uint64_t bytes)
{
	struct stat st, src;
	int rc;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (imgfmt_rbd_is_spec(path) && !(flags & IMGFMT_TARGET_RBD))
		return imgfmt_fail(t->error, -EROFS, "rbd: disks are read-only here");
	if (imgfmt_rbd_is_spec(path)) {
		if ((rc = target_rbd(t, path, flags, source, size, bytes)) < 0)
			imgfmt_target_abort(t);
		return rc;
	}
	/* a symlink's destination is the target: the link itself stays */
	t->path = lstat(path, &st) == 0 && S_ISLNK(st.st_mode) ? realpath(path, NULL) : strdup(path);
	if (!t->path)
		return imgfmt_fail(t->error, errno == ENOMEM ? -ENOMEM : -ENOENT, "%s",
				   errno == ENOMEM ? "out of memory" : "a symlink to nowhere");
	path = t->path;
	if (fstat(source->fd, &src) < 0)
		return imgfmt_fail(t->error, -errno, "cannot stat the source: %s", strerror(errno));
	if (stat(path, &st) == 0) {
		if (same_object(path, &st, &src))
			rc = imgfmt_fail(t->error, -EINVAL, "target is the source disk itself");
		else if (S_ISBLK(st.st_mode))
			rc = target_blockdev(t, size);
		else if (!S_ISREG(st.st_mode))
			rc = imgfmt_fail(t->error, -EINVAL, "target exists and is neither a regular file nor a block device");
		else if (!(flags & IMGFMT_TARGET_OVERWRITE))
			rc = imgfmt_fail(t->error, -EEXIST, "target exists (use --overwrite to replace it)");
		else {
			t->replaces = true;
			t->old_mode = st.st_mode;
			t->old_uid = st.st_uid;
			t->old_gid = st.st_gid;
			rc = target_file(t, size, bytes);
		}
	} else if (errno == ENOENT) {
		rc = target_file(t, size, bytes);
	} else {
		rc = imgfmt_fail(t->error, -errno, "cannot stat: %s", strerror(errno));
	}
	if (rc < 0)
		imgfmt_target_abort(t);
	return rc;
}

/* The temp file, if any, removed (and no longer a signal's to remove). */
static void tmp_remove(struct imgfmt_target *t)
{
	if (t->tmp) {
		unlink(t->tmp);
		temp_unregister(t->tmp);
	}
	free(t->tmp);
	t->tmp = NULL;
}

/* Durable in place: fsync the data, rename over the name, fsync the directory. */
int imgfmt_target_commit(struct imgfmt_target *t)
{
	char *dcopy;
	int dfd, rc = 0;

	if (t->rbd) {
		if ((rc = imgfmt_rbd_target_write(t->error, t->rbd, t->fd, t->size, t->rbd_replace)) < 0)
			return rc;
		tmp_remove(t); /* the staged copy: the image holds it now */
		free(t->rbd);
		t->rbd = NULL;
		goto done;
	}
	if (t->fd >= 0 && fsync(t->fd) < 0)
		return imgfmt_fail(t->error, -errno, "cannot flush to stable storage: %s", strerror(errno));
	if (!t->tmp)
		goto done;
	if (rename(t->tmp, t->path) < 0)
		return imgfmt_fail(t->error, -errno, "cannot move into place: %s", strerror(errno));
	temp_unregister(t->tmp);
	free(t->tmp);
	t->tmp = NULL;
	dcopy = strdup(t->path);
	if (!dcopy)
		return imgfmt_fail(t->error, -ENOMEM, "out of memory");
	dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		rc = imgfmt_fail(t->error, -errno, "cannot flush the directory: %s", strerror(errno));
	if (dfd >= 0)
		close(dfd);
	free(dcopy);
done:
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	free(t->path);
	t->path = NULL;
	return rc;
}

/* A block device written in part must not look complete: its first and
 * last MiB (partition tables, GPT backup, the first superblocks) are zeroed. */
static void wipe_ends(struct imgfmt_target *t)
{
	int fd = t->fd >= 0 ? t->fd : open(t->path, O_WRONLY | O_EXCL | O_CLOEXEC);
	uint64_t size = 0, range[2];

	if (fd < 0)
		return;
	if (ioctl(fd, BLKGETSIZE64, &size) == 0 && size >= (2u << 20)) {
		range[0] = 0, range[1] = 1u << 20;
		ioctl(fd, BLKZEROOUT, range);
		range[0] = size - (1u << 20);
		ioctl(fd, BLKZEROOUT, range);
		fsync(fd);
	}
	if (fd != t->fd)
		close(fd);
}

void imgfmt_target_abort(struct imgfmt_target *t)
{
	if (t->blockdev && t->touched && t->path)
		wipe_ends(t);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	tmp_remove(t);
	free(t->path);
	t->path = NULL;
	free(t->rbd);
	t->rbd = NULL;
}

#define ZERO_BLOCK 4096 /* granularity of hole detection */

static int write_all(struct imgfmt_target *t, const char *buf, size_t len, uint64_t off, uint64_t *written)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(t->fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return imgfmt_fail(t->error, n < 0 ? -errno : -EIO, "write error at byte %llu: %s",
					   (unsigned long long)(off + done), n < 0 ? strerror(errno) : "no progress");
		done += (size_t)n;
	}
	*written += len;
	return 0;
}

int imgfmt_target_write(struct imgfmt_target *t, const void *data, size_t len, uint64_t off, uint64_t *written,
			uint64_t *zeros)
{
	const char *buf = data;
	size_t pos = 0;

	if (!t->fresh || len == 0)
		return len ? write_all(t, buf, len, off, written) : 0;
	while (pos < len) {
		size_t run = pos, blk;
		while (run < len) {
			blk = len - run < ZERO_BLOCK ? len - run : ZERO_BLOCK;
			if (imgfmt_all_zero(buf + run, blk))
				break;
			run += blk;
		}
		if (run > pos && write_all(t, buf + pos, run - pos, off + pos, written) < 0)
			return -EIO;
		pos = run;
		while (pos < len) {
			blk = len - pos < ZERO_BLOCK ? len - pos : ZERO_BLOCK;
			if (!imgfmt_all_zero(buf + pos, blk))
				break;
			*zeros += blk;
			pos += blk;
		}
	}
	return 0;
}
