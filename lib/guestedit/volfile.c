/* volfile.c --- one volume of a disk served as a file through FUSE
 *
 * An LV in several segments is not one byte range of the disk, so a loop
 * device cannot be put over it directly (and device-mapper may not be
 * there).  This serves it as the single file "volume" of a FUSE filesystem
 * run by a thread of this process (libfuse3), whose reads and writes go
 * through imgfmt_volume_pread()/imgfmt_volume_pwrite(): bounded by the
 * volume, mapped through its segments.  The file can then be loop-mounted.
 */
#define FUSE_USE_VERSION 31
#include "volfile.h"
#include "mount.h"

#include <errno.h>
#include <fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define FILE_NAME "volume"
#define STOP_WAIT_S 10 /* the FUSE thread to end after the unmount */

struct volfile {
	imgfmt_disk *disk;
	size_t index;
	uint64_t size;
	struct fuse *fuse;
	pthread_t thread;
	bool running, mounted;
	char dir[256];
	char path[300];
	dev_t dev;               /* of the FUSE mount: its connection in /sys/fs/fuse */
	pthread_mutex_t lock;    /* FAILED and FIRST_ERROR, written by the FUSE thread */
	unsigned failed;
	char first_error[256];
};

static struct volfile *self(void)
{
	return fuse_get_context()->private_data;
}

static int io_failed(struct volfile *vf, const char *what, uint64_t off)
{
	pthread_mutex_lock(&vf->lock);
	if (!vf->failed++)
		snprintf(vf->first_error, sizeof(vf->first_error), "%s at %llu: %s", what, (unsigned long long)off,
			 imgfmt_disk_error(vf->disk));
	pthread_mutex_unlock(&vf->lock);
	return -EIO;
}

static int vf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0700;
		st->st_nlink = 2;
	} else if (!strcmp(path, "/" FILE_NAME)) {
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = (off_t)self()->size;
		st->st_blocks = (blkcnt_t)(self()->size / 512);
	} else {
		return -ENOENT;
	}
	return 0;
}

static int vf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	(void)off, (void)fi, (void)flags;
	if (strcmp(path, "/"))
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, FILE_NAME, NULL, 0, 0);
	return 0;
}

static int vf_open(const char *path, struct fuse_file_info *fi)
{
	(void)fi;
	return strcmp(path, "/" FILE_NAME) ? -ENOENT : 0;
}

/* The part of LEN bytes at OFF inside the volume. */
static size_t clamp(const struct volfile *vf, size_t len, off_t off)
{
	if (off < 0 || (uint64_t)off >= vf->size)
		return 0;
	return (uint64_t)len > vf->size - (uint64_t)off ? (size_t)(vf->size - (uint64_t)off) : len;
}

static int vf_read(const char *path, char *buf, size_t len, off_t off, struct fuse_file_info *fi)
{
	struct volfile *vf = self();
	size_t n = clamp(vf, len, off);
	(void)path, (void)fi;

	if (n && imgfmt_volume_pread(vf->disk, vf->index, buf, n, (uint64_t)off) < 0)
		return io_failed(vf, "read", (uint64_t)off);
	return (int)n;
}

static int vf_write(const char *path, const char *buf, size_t len, off_t off, struct fuse_file_info *fi)
{
	struct volfile *vf = self();
	size_t n = clamp(vf, len, off);
	(void)path, (void)fi;

	if (len && !n)
		return -ENOSPC; /* the volume does not grow */
	if (imgfmt_volume_pwrite(vf->disk, vf->index, buf, n, (uint64_t)off) < 0)
		return io_failed(vf, "write", (uint64_t)off);
	return (int)n;
}

static int vf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct volfile *vf = self();
	(void)path, (void)datasync, (void)fi;

	return imgfmt_disk_sync(vf->disk) < 0 ? io_failed(vf, "fsync", 0) : 0;
}

static int vf_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)path, (void)fi;
	return (uint64_t)size == self()->size ? 0 : -EPERM;
}

static const struct fuse_operations ops = {
	.getattr = vf_getattr,
	.readdir = vf_readdir,
	.open = vf_open,
	.read = vf_read,
	.write = vf_write,
	.fsync = vf_fsync,
	.truncate = vf_truncate,
};

static void *serve(void *arg)
{
	struct volfile *vf = arg;
	sigset_t all;

	sigfillset(&all); /* signals are the main thread's (its handlers clean up) */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	fuse_loop(vf->fuse);
	return NULL;
}

static void free_vf(struct volfile *vf)
{
	if (vf->fuse) {
		if (vf->mounted)
			fuse_unmount(vf->fuse);
		guest_mount_unregister(vf->dir);
		fuse_destroy(vf->fuse);
	}
	if (vf->dir[0])
		rmdir(vf->dir);
	pthread_mutex_destroy(&vf->lock);
	free(vf);
}

int volfile_start(struct volfile **out, imgfmt_disk *disk, size_t index, const char **path, char *err,
		  size_t errlen)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct imgfmt_volume v;
	struct volfile *vf;
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	int rc;

	*out = NULL;
	if (imgfmt_disk_volume(disk, index, &v) < 0) {
		snprintf(err, errlen, "no volume number %zu", index);
		return -EINVAL;
	}
	if (!(vf = calloc(1, sizeof(*vf)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&vf->lock, NULL);
	vf->disk = disk;
	vf->index = index;
	vf->size = v.size;
	if (!tmp || tmp[0] != '/' || strlen(tmp) > 200)
		tmp = "/tmp";
	snprintf(vf->dir, sizeof(vf->dir), "%s/rawkit-volume.XXXXXX", tmp);
	if (!mkdtemp(vf->dir)) {
		rc = -errno;
		snprintf(err, errlen, "cannot make a directory in %s: %s", tmp, strerror(errno));
		vf->dir[0] = '\0';
		goto fail;
	}
	snprintf(vf->path, sizeof(vf->path), "%s/" FILE_NAME, vf->dir);
	rc = -ENOMEM;
	if (fuse_opt_add_arg(&args, "rawkit") < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, "fsname=rawkit-volume,subtype=rawkit") < 0 ||
	    !(vf->fuse = fuse_new(&args, &ops, sizeof(ops), vf))) {
		snprintf(err, errlen, "%s: cannot start a FUSE filesystem", v.name);
		goto fail;
	}
	rc = -EIO;
	if (fuse_mount(vf->fuse, vf->dir) < 0) {
		snprintf(err, errlen, "%s: cannot mount a FUSE filesystem on %s (is /dev/fuse there?)", v.name, vf->dir);
		goto fail;
	}
	vf->mounted = true;
	guest_mount_register(vf->dir);
	if ((rc = -pthread_create(&vf->thread, NULL, serve, vf)) < 0) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(-rc));
		goto fail;
	}
	vf->running = true;
	if (stat(vf->dir, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", vf->dir, strerror(errno));
		volfile_stop(vf, err + strlen(err), 0);
		fuse_opt_free_args(&args);
		return rc;
	}
	vf->dev = st.st_dev;
	fuse_opt_free_args(&args);
	*path = vf->path;
	*out = vf;
	return 0;
fail:
	fuse_opt_free_args(&args);
	free_vf(vf);
	return rc;
}

/* End a connection the unmount left alive (the file still held). */
static void abort_connection(dev_t dev)
{
	char path[80];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", minor(dev));
	if ((f = fopen(path, "w"))) {
		fputs("1", f);
		fclose(f);
	}
}

int volfile_stop(struct volfile *vf, char *err, size_t errlen)
{
	int rc = 0;

	if (!vf)
		return 0;
	if (vf->running) {
		struct timespec until;
		fuse_exit(vf->fuse);
		fuse_unmount(vf->fuse); /* the thread's read of /dev/fuse ends with the connection */
		vf->mounted = false;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += STOP_WAIT_S;
		if (pthread_timedjoin_np(vf->thread, NULL, &until) != 0) {
			abort_connection(vf->dev);
			pthread_join(vf->thread, NULL);
		}
	}
	if (vf->failed) {
		rc = -EIO;
		if (errlen)
			snprintf(err, errlen, "%u failed reads or writes of the volume, the first: %s", vf->failed,
				 vf->first_error);
	}
	free_vf(vf);
	return rc;
}
