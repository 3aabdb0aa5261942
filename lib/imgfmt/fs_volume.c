/* fs_volume.c --- bounded reads and writes of a filesystem's volume, for the back ends
 *
 * Its own file so that calls run one way: fs.c dispatches to the back ends
 * (fs_ext.c, fs_ntfs.c, fs_xfs*.c), which read their volume through here and
 * volio.c (an LVM logical volume through its segments).
 */
#include "imgfmt_private.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int imgfmt_fs_volume_pread(imgfmt_fs *fs, void *buf, size_t len, uint64_t off)
{
	int rc = imgfmt_volume_pread(fs->disk, fs->index, buf, len, off);

	if (rc < 0)
		fs_fail(fs, rc, "%s", imgfmt_disk_error(fs->disk));
	return rc;
}

int imgfmt_fs_volume_pwrite(imgfmt_fs *fs, const void *buf, size_t len, uint64_t off)
{
	int rc;

	if (!fs->writable)
		return fs_fail(fs, -EROFS, "the filesystem is open read-only");
	rc = imgfmt_volume_pwrite(fs->disk, fs->index, buf, len, off);
	if (rc < 0)
		fs_fail(fs, rc, "%s", imgfmt_disk_error(fs->disk));
	return rc;
}

struct lookup_ctx {
	const char *name;
	size_t len;
	uint64_t ino;
	bool found;
};

static int lookup_one(const char *name, size_t len, uint64_t ino, unsigned type, void *arg)
{
	struct lookup_ctx *l = arg;
	(void)type;

	if (len != l->len || memcmp(name, l->name, len) != 0)
		return 0;
	l->ino = ino;
	l->found = true;
	return 1;
}

int imgfmt_fs_lookup_scan(imgfmt_fs *fs, uint64_t dir, const char *name, imgfmt_dir_walk_fn walk, uint64_t *ino)
{
	struct lookup_ctx l = { name, strlen(name), 0, false };
	int rc = walk(fs, dir, lookup_one, &l);

	if (rc < 0)
		return rc;
	if (!l.found)
		return fs_fail(fs, -ENOENT, "\"%s\": no such file or directory", name);
	*ino = l.ino;
	return 0;
}
