/* fs.c --- open the filesystem of a volume and dispatch to its back end */
#include "imgfmt_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct imgfmt_fs_ops *const backends[] = {
	&imgfmt_fs_ext_ops,
	&imgfmt_fs_ntfs_ops,
	&imgfmt_fs_xfs_ops,
	&imgfmt_fs_vfat_ops,
};

imgfmt_fs *imgfmt_fs_new(void)
{
	return calloc(1, sizeof(imgfmt_fs));
}

/* Fail the open of FS: its message "VOLUME: why", the handle left unopened. */
static int open_failed(imgfmt_fs *fs, const struct imgfmt_volume *vol, int code)
{
	char why[IMGFMT_ERRLEN];

	memcpy(why, fs->error, sizeof(why));
	fs_fail(fs, code, "%s: %s", vol->name, why);
	fs->ops = NULL;
	fs->disk = NULL;
	fs->priv = NULL;
	return code;
}

int imgfmt_fs_open(imgfmt_fs *fs, imgfmt_disk *disk, size_t index, unsigned flags)
{
	const struct imgfmt_fs_ops *ops = NULL;
	const struct imgfmt_volume *vol;
	int rc;

	if (fs->ops)
		return fs_fail(fs, -EBUSY, "the filesystem handle is already open");
	fs->error[0] = '\0';
	if (index >= disk->nvolumes)
		return fs_fail(fs, -EINVAL, "no volume number %zu", index);
	vol = &disk->volumes[index];
	if ((flags & IMGFMT_FS_WRITE) && !disk->writable)
		return fs_fail(fs, -EROFS, "%s: the disk is open read-only", vol->name);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i]->match(vol->fstype))
			ops = backends[i];
	if (!ops)
		return fs_fail(fs, -EPROTONOSUPPORT, "%s: no filesystem rawkit can read (%s)", vol->name,
			       vol->fstype[0] ? vol->fstype : vol->probe_note);
	/* (XFS opens for writing to have its UUID set, NTFS to have a file's
	 * contents replaced, and for nothing else) */
	if ((flags & IMGFMT_FS_WRITE) && !ops->write_file && !ops->set_uuid)
		return fs_fail(fs, -EOPNOTSUPP, "%s: rawkit cannot edit %s filesystems", vol->name, vol->fstype);
	fs->ops = ops;
	fs->disk = disk;
	fs->index = index;
	fs->vol = *vol;
	fs->writable = (flags & IMGFMT_FS_WRITE) != 0;
	fs->recover_only = (flags & IMGFMT_FS_RECOVER_ONLY) != 0;
	rc = ops->open(fs);
	if (rc < 0)
		return open_failed(fs, vol, rc);
	return 0;
}

int imgfmt_disk_recover(imgfmt_disk *disk)
{
	int replayed = 0;

	if (!disk->writable)
		return disk_fail(disk, -EROFS, "the disk is open read-only");
	for (size_t i = 0; i < disk->nvolumes; i++) {
		struct imgfmt_consistency_info c;
		imgfmt_fs *fs;
		int rc;

		if (!imgfmt_fs_ext_ops.match(disk->volumes[i].fstype))
			continue;
		if (!(fs = imgfmt_fs_new()))
			return disk_fail(disk, -ENOMEM, "out of memory");
		rc = imgfmt_fs_open(fs, disk, i, IMGFMT_FS_WRITE | IMGFMT_FS_RECOVER_ONLY);
		if (rc == -ENOMEM || rc == -EIO) {
			disk_fail(disk, rc, "%s", imgfmt_fs_error(fs));
			imgfmt_fs_free(fs);
			return rc;
		}
		/* (a volume that cannot be opened is left as it is; one with
		 * nothing to replay is only read: see fs_ext.c) */
		if (rc == 0) {
			imgfmt_fs_consistency(fs, &c);
			replayed += c.state == IMGFMT_REPLAYED;
		}
		imgfmt_fs_free(fs);
	}
	disk->error[0] = 0;
	return replayed;
}

void imgfmt_fs_free(imgfmt_fs *fs)
{
	if (!fs)
		return;
	if (fs->ops)
		fs->ops->close(fs);
	free(fs);
}

/* Calls on a handle that is not open fail (libarchive's state check). */
#define FS_CHECK_OPEN(fs)                                                                           \
	do {                                                                                        \
		if (!(fs)->ops)                                                                     \
			return fs_fail((fs), -EBADF, "the filesystem is not open");                  \
	} while (0)

const char *imgfmt_fs_error(const imgfmt_fs *fs)
{
	return fs->error;
}

const char *imgfmt_fs_type(const imgfmt_fs *fs)
{
	return fs->type;
}

int imgfmt_fs_dirty(const imgfmt_fs *fs)
{
	return fs->dirty;
}

void imgfmt_fs_consistency(const imgfmt_fs *fs, struct imgfmt_consistency_info *info)
{
	*info = fs->consistency;
}

const char *imgfmt_consistency_name(enum imgfmt_consistency state)
{
	switch (state) {
	case IMGFMT_CLEAN: return "clean";
	case IMGFMT_REPLAYED: return "replayed";
	case IMGFMT_UNREPLAYABLE: return "unreplayable";
	case IMGFMT_NTFS_UNCLEAN: return "ntfs-unclean";
	case IMGFMT_XFS_LOG_DIRTY: return "xfs-log-not-replayed";
	}
	return "unknown";
}

void imgfmt_fs_sizes(const imgfmt_fs *fs, unsigned *block_size, uint64_t *total, uint64_t *free_bytes)
{
	if (block_size)
		*block_size = fs->block_size;
	if (total)
		*total = fs->total_bytes;
	if (free_bytes)
		*free_bytes = fs->free_bytes;
}

uint64_t imgfmt_fs_files(const imgfmt_fs *fs)
{
	return fs->files;
}

uint64_t imgfmt_fs_root(const imgfmt_fs *fs)
{
	return fs->root;
}

int imgfmt_fs_stat(imgfmt_fs *fs, uint64_t ino, struct imgfmt_stat *st)
{
	FS_CHECK_OPEN(fs);
	memset(st, 0, sizeof(*st));
	return fs->ops->stat(fs, ino, st);
}

static int advise_run(uint64_t disk_off, uint64_t len, uint64_t vol_off, void *arg)
{
	const imgfmt_disk *disk = arg;

	(void)vol_off;
	posix_fadvise(disk->fd, (off_t)disk_off, (off_t)len, POSIX_FADV_WILLNEED);
	return 0;
}

int imgfmt_fs_advise(imgfmt_fs *fs, uint64_t offset, uint64_t length)
{
	if (!fs->ops || offset >= fs->vol.size)
		return 0;
	if (length > fs->vol.size - offset)
		length = fs->vol.size - offset;
	imgfmt_volume_map(fs->disk, fs->index, offset, length, advise_run, fs->disk);
	return 0;
}

int imgfmt_fs_scan(imgfmt_fs *fs, imgfmt_scan_fn cb, void *arg)
{
	FS_CHECK_OPEN(fs);
	return fs->ops->scan(fs, cb, arg);
}

int imgfmt_fs_lookup(imgfmt_fs *fs, const char *path, uint64_t *ino)
{
	uint64_t cur = fs->root;
	char name[256];

	FS_CHECK_OPEN(fs);
	while (*path) {
		const char *end;
		size_t len;
		struct imgfmt_stat st;
		int rc;

		while (*path == '/')
			path++;
		if (!*path)
			break;
		end = strchr(path, '/');
		len = end ? (size_t)(end - path) : strlen(path);
		if (len >= sizeof(name))
			return fs_fail(fs, -ENAMETOOLONG, "path component longer than 255 bytes");
		memcpy(name, path, len);
		name[len] = '\0';
		path += len;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0)
			return fs_fail(fs, -EINVAL, "\"..\" is not allowed in a path");
		rc = imgfmt_fs_stat(fs, cur, &st);
		if (rc < 0)
			return rc;
		if (S_ISLNK(st.mode))
			return fs_fail(fs, -ELOOP, "a symbolic link is in the path before \"%s\"", name);
		if (!S_ISDIR(st.mode))
			return fs_fail(fs, -ENOTDIR, "not a directory before \"%s\"", name);
		rc = fs->ops->lookup_child(fs, cur, name, &cur);
		if (rc < 0)
			return rc;
	}
	*ino = cur;
	return 0;
}

int imgfmt_fs_readdir(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg)
{
	FS_CHECK_OPEN(fs);
	return fs->ops->readdir(fs, dir, cb, arg);
}

ssize_t imgfmt_fs_pread(imgfmt_fs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t offset)
{
	FS_CHECK_OPEN(fs);
	return fs->ops->pread(fs, ino, stream, buf, len, offset);
}

ssize_t imgfmt_fs_readlink(imgfmt_fs *fs, uint64_t ino, char *buf, size_t size)
{
	FS_CHECK_OPEN(fs);
	if (size == 0)
		return fs_fail(fs, -EINVAL, "no room for a link target");
	return fs->ops->readlink(fs, ino, buf, size);
}

int imgfmt_fs_xattrs(imgfmt_fs *fs, uint64_t ino, imgfmt_xattr_fn cb, void *arg)
{
	FS_CHECK_OPEN(fs);
	return fs->ops->xattrs(fs, ino, cb, arg);
}

int imgfmt_fs_streams(imgfmt_fs *fs, uint64_t ino, imgfmt_stream_fn cb, void *arg)
{
	FS_CHECK_OPEN(fs);
	return fs->ops->streams(fs, ino, cb, arg);
}

int imgfmt_fs_data_runs(imgfmt_fs *fs, uint64_t ino, imgfmt_run_fn cb, void *arg)
{
	FS_CHECK_OPEN(fs);
	return fs->ops->data_runs(fs, ino, cb, arg);
}

/* ---- editing ---- */

/* Split PATH into its directory's inode and the last component (into NAME),
 * for an edit the back end offers (CAN: its function is not NULL; WHAT
 * names it in the message when it does not). */
static int edit_parent(imgfmt_fs *fs, const char *path, bool can, const char *what, uint64_t *dir, char name[256])
{
	const char *slash = strrchr(path, '/');
	char *parent;
	size_t len;
	int rc;

	FS_CHECK_OPEN(fs);
	if (!fs->writable)
		return fs_fail(fs, -EROFS, "the filesystem is open read-only");
	if (!can)
		return fs_fail(fs, -EOPNOTSUPP, "rawkit cannot %s on %s filesystems", what, fs->type);
	if (path[0] != '/' || !slash || !slash[1])
		return fs_fail(fs, -EINVAL, "\"%s\" is not an absolute path to a file", path);
	len = strlen(slash + 1);
	if (len > 255)
		return fs_fail(fs, -ENAMETOOLONG, "file name longer than 255 bytes");
	if (!strcmp(slash + 1, ".") || !strcmp(slash + 1, ".."))
		return fs_fail(fs, -EINVAL, "\"%s\" names no file", path);
	memcpy(name, slash + 1, len + 1);
	parent = strndup(path, (size_t)(slash - path) + 1);
	if (!parent)
		return fs_fail(fs, -ENOMEM, "out of memory");
	rc = imgfmt_fs_lookup(fs, parent, dir);
	if (rc == 0) {
		struct imgfmt_stat st;
		rc = imgfmt_fs_stat(fs, *dir, &st);
		if (rc == 0 && !S_ISDIR(st.mode))
			rc = fs_fail(fs, -ENOTDIR, "%s is not a directory", parent);
	}
	free(parent);
	return rc;
}

int imgfmt_fs_write_file(imgfmt_fs *fs, const char *path, const void *data, size_t len,
			 const struct imgfmt_newfile *nf)
{
	char name[256];
	uint64_t dir;
	int rc = edit_parent(fs, path, fs->ops && fs->ops->write_file, "write files", &dir, name);

	return rc < 0 ? rc : fs->ops->write_file(fs, dir, name, data, len, nf);
}

int imgfmt_fs_append_file(imgfmt_fs *fs, const char *path, const void *data, size_t len)
{
	char name[256];
	uint64_t dir;
	int rc = edit_parent(fs, path, fs->ops && fs->ops->append_file, "append to files", &dir, name);

	return rc < 0 ? rc : fs->ops->append_file(fs, dir, name, data, len);
}

int imgfmt_fs_mkdir(imgfmt_fs *fs, const char *path, const struct imgfmt_newfile *nf)
{
	char name[256];
	uint64_t dir;
	int rc = edit_parent(fs, path, fs->ops && fs->ops->mkdir, "make directories", &dir, name);

	return rc < 0 ? rc : fs->ops->mkdir(fs, dir, name, nf);
}

int imgfmt_fs_remove(imgfmt_fs *fs, const char *path, int recursive)
{
	char name[256];
	uint64_t dir;
	int rc = edit_parent(fs, path, fs->ops && fs->ops->remove, "remove files", &dir, name);

	return rc < 0 ? rc : fs->ops->remove(fs, dir, name, recursive != 0);
}

int imgfmt_fs_set_uuid(imgfmt_fs *fs, const char *uuid)
{
	unsigned char bytes[16];

	FS_CHECK_OPEN(fs);
	if (!fs->writable)
		return fs_fail(fs, -EROFS, "the filesystem is open read-only");
	if (!fs->ops->set_uuid)
		return fs_fail(fs, -EOPNOTSUPP, "rawkit cannot set the UUID of %s filesystems", fs->type);
	if (imgfmt_uuid_parse(uuid, bytes) < 0)
		return fs_fail(fs, -EINVAL, "\"%s\" is not a UUID", uuid);
	return fs->ops->set_uuid(fs, bytes);
}

int imgfmt_fs_commit(imgfmt_fs *fs)
{
	FS_CHECK_OPEN(fs);
	if (!fs->writable)
		return 0;
	return fs->ops->commit(fs);
}
