/* fs_volume.c --- bounded reads of a filesystem's volume, for the back ends
 *
 * Its own file so that calls run one way: fs.c dispatches to the back ends
 * (fs_ext.c, fs_ntfs.c, fs_xfs*.c), which read their volume through here
 * (and XFS writes its UUID through here).
 */
#include "imgfmt_private.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int imgfmt_fs_volume_pread(imgfmt_fs *fs, void *buf, size_t len, uint64_t off)
{
	int rc;

	if (off > fs->vol.size || len > fs->vol.size - off)
		return fs_fail(fs, -ERANGE, "read of %zu bytes at %llu is outside the volume (%llu bytes)", len,
			       (unsigned long long)off, (unsigned long long)fs->vol.size);
	rc = imgfmt_disk_pread(fs->disk, buf, len, fs->vol.offset + off);
	if (rc < 0)
		fs_fail(fs, rc, "%s", imgfmt_disk_error(fs->disk));
	return rc;
}

int imgfmt_fs_volume_pwrite(imgfmt_fs *fs, const void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off > fs->vol.size || len > fs->vol.size - off)
		return fs_fail(fs, -ERANGE, "write of %zu bytes at %llu is outside the volume (%llu bytes)", len,
			       (unsigned long long)off, (unsigned long long)fs->vol.size);
	if (!fs->writable || !fs->disk->writable)
		return fs_fail(fs, -EROFS, "the filesystem is open read-only");
	n = pwrite(fs->disk->fd, buf, len, (off_t)(fs->vol.offset + off));
	if (n < 0)
		return fs_fail(fs, -errno, "write at %llu: %s", (unsigned long long)off, strerror(errno));
	if ((size_t)n != len)
		return fs_fail(fs, -EIO, "short write at %llu", (unsigned long long)off);
	return 0;
}
