/* fs_volume.c --- bounded reads of a filesystem's volume, for the back ends
 *
 * Its own file so that calls run one way: fs.c dispatches to the back ends
 * (fs_ext.c, fs_ntfs.c), which read their volume through here.
 */
#include "imgfmt_private.h"

#include <errno.h>

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
